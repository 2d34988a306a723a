package conflict

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/klpcheck/klpcheck/livepatch"
)

// BaselineSchemaVersion is the schema_version of baseline files. It changes
// when a field is removed or renamed, or when the fingerprint is computed
// differently, because old entries would then match nothing. Version 2
// hashes sympos 0 as 1.
const BaselineSchemaVersion = 2

// Baseline is a set of accepted findings, identified by fingerprint, that
// --write-baseline records and --baseline accepts in later runs.
type Baseline struct {
	// File is the file the baseline was read from or is written to, for
	// messages and Suppressed.File.
	File    string
	Entries []BaselineEntry
}

// BaselineEntry is one fingerprint with the number of findings that had it.
// Only Fingerprint and Count take part in matching. The other fields are
// written so that a reviewer of the baseline file can see what it accepts.
type BaselineEntry struct {
	Fingerprint string
	Count       int

	RuleID    string
	Rule      string
	Module    string
	Object    string
	Function  string
	Sympos    uint64
	HasSympos bool
	// Related are the sorted, distinct module names of Finding.Related.
	Related []string
}

var baselineStale = &Rule{
	ID:       "KLP0703",
	Name:     "baseline-stale",
	Severity: SeverityNote,
	Title:    "a baseline entry matches fewer findings than it records",
	Doc: `Reports an entry of the --baseline file that matched fewer findings than its count:
the finding was fixed, or its rule, module, object, function, sympos or related modules
changed. The entry accepts nothing today, but a later finding with the same fingerprint
would pass without review.`,
	Fix:  `Write the baseline again with --write-baseline and commit the smaller file.`,
	gate: true,
}

// Fingerprint returns the hex SHA-256 that identifies a finding across
// runs. It covers the rule ID, the module name, the object, the function,
// the sympos and the sorted names of the related modules. It leaves out
// paths, steps and the message, so that renaming or moving a module file,
// reordering the plan or rewording a message keeps the fingerprint. For a
// finding of a gate rule it also covers the message, the only field that
// distinguishes two such findings. Gate findings never enter a baseline.
func Fingerprint(f Finding) string {
	return fingerprintFields(f.RuleID, f.Module, f.Object, f.Function, symposText(f.Sympos, f.HasSympos), relatedNames(f.Related), gateMessage(f))
}

// fingerprintFields hashes the fingerprint fields, separated by NUL bytes,
// which no ELF name contains. The number of related modules comes before
// their names, so that lists of different lengths never hash alike.
func fingerprintFields(ruleID, module, object, function, sympos string, related []string, message string) string {
	parts := []string{ruleID, module, object, function, sympos, strconv.Itoa(len(related))}
	parts = append(parts, related...)
	if message != "" {
		parts = append(parts, message)
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])
}

// symposText returns the sympos as sysfs shows it, so that a function
// stored with sympos 0 and one stored with 1, which name the same symbol
// when it is unique, keep one fingerprint. kpatch-build and klp-build
// store different values for the same patch, and a live patch read from
// sysfs shows only the second.
func symposText(sympos uint64, has bool) string {
	if !has {
		return ""
	}
	return strconv.FormatUint(livepatch.SysfsSympos(sympos), 10)
}

// relatedNames returns the distinct module names of related, sorted.
func relatedNames(related []Related) []string {
	names := make([]string, 0, len(related))
	for _, r := range related {
		names = append(names, r.Module)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func gateMessage(f Finding) string {
	if isGateRule(f.RuleID) {
		return f.Message
	}
	return ""
}

// NewBaseline records the findings that are not suppressed, or that a
// baseline suppressed, leaving out the findings of the gate rules. Findings
// with the same fingerprint share one entry with their count. Entries are
// sorted by module, rule ID, object, function, sympos and related modules,
// so that the file changes little when the plan is reordered.
func NewBaseline(file string, findings []Finding) Baseline {
	b := Baseline{File: file}
	index := map[string]int{}
	for _, f := range findings {
		if isGateRule(f.RuleID) || (f.Suppressed != nil && f.Suppressed.Kind != SuppressedByBaseline) {
			continue
		}
		fp := Fingerprint(f)
		if i, ok := index[fp]; ok {
			b.Entries[i].Count++
			continue
		}
		index[fp] = len(b.Entries)
		b.Entries = append(b.Entries, BaselineEntry{
			Fingerprint: fp,
			Count:       1,
			RuleID:      f.RuleID,
			Rule:        f.Rule,
			Module:      f.Module,
			Object:      f.Object,
			Function:    f.Function,
			Sympos:      f.Sympos,
			HasSympos:   f.HasSympos,
			Related:     relatedNames(f.Related),
		})
	}

	slices.SortFunc(b.Entries, func(x, y BaselineEntry) int {
		return cmp.Or(
			cmp.Compare(x.Module, y.Module),
			cmp.Compare(x.RuleID, y.RuleID),
			cmp.Compare(x.Object, y.Object),
			cmp.Compare(x.Function, y.Function),
			cmp.Compare(symposText(x.Sympos, x.HasSympos), symposText(y.Sympos, y.HasSympos)),
			slices.Compare(x.Related, y.Related),
			cmp.Compare(x.Fingerprint, y.Fingerprint),
		)
	})
	return b
}

// ApplyBaseline marks as suppressed the findings of res whose fingerprint
// an entry of b records, up to the entry's count, in the order of
// res.Findings. Findings beyond the count are new and stay unsuppressed. It
// then appends a baseline-stale finding for each entry that matched fewer
// findings than its count. Findings that are already suppressed and those
// of the gate rules are left alone.
func ApplyBaseline(res *Result, b Baseline) {
	entries := map[string][]int{}
	for i, e := range b.Entries {
		entries[e.Fingerprint] = append(entries[e.Fingerprint], i)
	}
	matched := make([]int, len(b.Entries))

	for fi := range res.Findings {
		f := &res.Findings[fi]
		if f.Suppressed != nil || isGateRule(f.RuleID) {
			continue
		}
		for _, i := range entries[Fingerprint(*f)] {
			if matched[i] < b.Entries[i].Count {
				matched[i]++
				f.Suppressed = &Suppressed{Kind: SuppressedByBaseline, Reason: "recorded in the baseline " + b.File, File: b.File}
				break
			}
		}
	}

	for i, e := range b.Entries {
		if matched[i] < e.Count {
			res.Findings = append(res.Findings, staleBaselineEntry(b.File, i, e, matched[i]))
		}
	}
}

// staleBaselineEntry returns the baseline-stale finding for entry i of the
// baseline file, which matched found findings.
func staleBaselineEntry(file string, i int, e BaselineEntry, found int) Finding {
	subject := e.RuleID
	if e.Rule != "" {
		subject += " " + e.Rule
	}
	if e.Module != "" {
		subject += " of " + e.Module
	}
	if e.Function != "" || e.Object != "" {
		subject += " for " + livepatch.FuncName(e.Object, e.Function, e.Sympos, e.HasSympos)
	}

	result := "matched no finding"
	if found > 0 {
		result = fmt.Sprintf("matched %d of its %d findings", found, e.Count)
	}
	msg := fmt.Sprintf("baseline entry findings[%d] (%s) in %s %s: write the baseline again with --write-baseline", i, subject, file, result)
	return gateFinding(baselineStale, file, 0, msg)
}

// The types below are the baseline file format: one JSON object with
// schema_version and the list of entries. Absent strings and sympos are
// null, lists are never null, and keys are those of check JSON findings.

type baselineJSON struct {
	SchemaVersion int                 `json:"schema_version"`
	Findings      []baselineEntryJSON `json:"findings"`
}

type baselineEntryJSON struct {
	Fingerprint string   `json:"fingerprint"`
	Count       int      `json:"count"`
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Module      *string  `json:"module"`
	Object      *string  `json:"object"`
	Function    *string  `json:"function"`
	Sympos      *uint64  `json:"sympos"`
	Related     []string `json:"related"`
}

// Encode writes b as an indented JSON document.
func (b Baseline) Encode(w io.Writer) error {
	doc := baselineJSON{SchemaVersion: BaselineSchemaVersion, Findings: make([]baselineEntryJSON, 0, len(b.Entries))}
	for _, e := range b.Entries {
		entry := baselineEntryJSON{
			Fingerprint: e.Fingerprint,
			Count:       e.Count,
			ID:          e.RuleID,
			Name:        e.Rule,
			Module:      optionalString(e.Module),
			Object:      optionalString(e.Object),
			Function:    optionalString(e.Function),
			Related:     append([]string{}, e.Related...),
		}
		if e.HasSympos {
			sympos := e.Sympos
			entry.Sympos = &sympos
		}
		doc.Findings = append(doc.Findings, entry)
	}

	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write baseline: %w", err)
	}
	return nil
}

func optionalString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// fingerprintPattern matches a fingerprint as Fingerprint writes it.
var fingerprintPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// DecodeBaseline parses a baseline file read from file. Keys it does not
// know are ignored, so that a baseline written by a later klpcheck with the
// same schema version still reads. Every problem is returned, joined, each
// prefixed with file and the entry.
func DecodeBaseline(data []byte, file string) (Baseline, error) {
	var doc baselineJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return Baseline{}, fmt.Errorf("%s: invalid baseline: %w", file, err)
	}
	if dec.More() {
		return Baseline{}, fmt.Errorf("%s: invalid baseline: data after the JSON object", file)
	}
	if doc.SchemaVersion != BaselineSchemaVersion {
		return Baseline{}, fmt.Errorf("%s: unsupported baseline schema_version %d: this klpcheck reads version %d; write the baseline again with --write-baseline",
			file, doc.SchemaVersion, BaselineSchemaVersion)
	}

	b := Baseline{File: file}
	var errs []error
	for i, e := range doc.Findings {
		where := fmt.Sprintf("%s: findings[%d]", file, i)
		if !fingerprintPattern.MatchString(e.Fingerprint) {
			errs = append(errs, fmt.Errorf("%s: invalid fingerprint %q: want 64 lowercase hex digits as --write-baseline writes them", where, e.Fingerprint))
		}
		if e.Count < 1 {
			errs = append(errs, fmt.Errorf("%s: invalid count %d: want 1 or more", where, e.Count))
		}
		entry := BaselineEntry{
			Fingerprint: e.Fingerprint,
			Count:       e.Count,
			RuleID:      e.ID,
			Rule:        e.Name,
			Module:      deref(e.Module),
			Object:      deref(e.Object),
			Function:    deref(e.Function),
			Related:     e.Related,
		}
		if e.Sympos != nil {
			entry.Sympos, entry.HasSympos = *e.Sympos, true
		}
		b.Entries = append(b.Entries, entry)
	}
	if len(errs) > 0 {
		return Baseline{}, errors.Join(errs...)
	}
	return b, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
