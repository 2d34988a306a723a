package report

// SARIF 2.1.0 output for GitHub code scanning and other SARIF viewers.
//
// Consumer quirks that shape this file, with where each is recorded:
//
//   - Other SARIF producers report that GitHub code scanning rejects the
//     whole upload when a result has no location, with the error
//     "locationFromSarifResult: expected at least one location". A finding
//     about a live patch or the plan as a whole has no module file, so it is
//     placed on the plan file (Check.PlanPath), else on the file of a
//     related patch, else on the live snapshot's proc/modules.
//   - GitHub resolves a relative artifact URI against the repository root,
//     so module paths should be relative to it. klpcheck writes the path it
//     was given, with forward slashes and percent-encoding, and marks it
//     with uriBaseId %SRCROOT%. An absolute path becomes a file:// URI,
//     which GitHub cannot place in the repository.
//   - When partialFingerprints is missing, GitHub's upload-sarif action
//     computes a fingerprint from the source lines around the result, which
//     for a binary .ko hashes arbitrary bytes (GitHub's "SARIF support for
//     code scanning" page). Every result therefore carries the fingerprint
//     that baselines use (conflict.Fingerprint): the rule, module, object,
//     function, sympos and related module names, so an alert survives a
//     rebuild or rename of the module file.
//   - A suppressed finding stays in the log with a suppressions entry of
//     kind external, because the plan file or the baseline accepted it,
//     not a comment in the analysed file.
//     NOTE: users of other SARIF producers report that GitHub code
//     scanning shows such results as open alerts; this has not been tried
//     with klpcheck.
//   - GitHub and the VS Code SARIF viewer show relatedLocations only when
//     the result message links them as [text](id), and GitHub then shows
//     only the linked file, not the location's message. The message text
//     therefore names every related patch with its part in the finding, and
//     links those that have a file. GitHub strips Markdown from result
//     messages except for such links.
//   - GitHub renders help.markdown with every line break as a hard break,
//     so paragraphs are written as single lines. The VS Code viewer shows
//     only shortDescription and fullDescription, not help, so
//     fullDescription carries what the rule detects.
//   - SARIF requires a rule's name to differ from its id, which the
//     kebab-case rule name always does.
//   - GitHub ignores the tool's informationUri and version.
//
// The staticcheck SARIF writer (dominikh/go-tools, lintcmd/sarif.go)
// records the last four points.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/klpcheck/klpcheck/conflict"
)

const (
	// sarifSchemaURI is the OASIS SARIF 2.1.0 schema with errata 01, the
	// version kept in report/testdata/sarif for the schema test.
	sarifSchemaURI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	sarifVersion   = "2.1.0"

	sarifToolName       = "klpcheck"
	sarifInformationURI = "https://github.com/klpcheck/klpcheck"

	// sarifFingerprintKey names klpcheck's entry in partialFingerprints.
	// The version suffix changes if the hashed fields ever change, so that
	// consumers do not match old and new hashes. Version 2 added the
	// related module names, and version 3 hashes sympos 0 as 1.
	sarifFingerprintKey = "klpcheckFinding/v3"
)

// The types below are the subset of the SARIF 2.1.0 object model that
// klpcheck writes. Lists that SARIF defines are never nil, so that they
// encode as [] and not null.

type sarifLog struct {
	Version string     `json:"version"`
	Schema  string     `json:"$schema"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool          `json:"tool"`
	Invocations []sarifInvocation  `json:"invocations"`
	Results     []sarifResult      `json:"results"`
	Properties  sarifRunProperties `json:"properties"`
}

type sarifRunProperties struct {
	Semantics string `json:"semantics"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Version        string      `json:"version,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string             `json:"id"`
	Name                 string             `json:"name"`
	ShortDescription     sarifMultiformat   `json:"shortDescription"`
	FullDescription      sarifMultiformat   `json:"fullDescription"`
	Help                 sarifMultiformat   `json:"help"`
	DefaultConfiguration sarifConfiguration `json:"defaultConfiguration"`
}

type sarifMultiformat struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifConfiguration struct {
	Level string `json:"level"`
}

type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications"`
}

type sarifNotification struct {
	Level     string          `json:"level"`
	Message   sarifMessage    `json:"message"`
	Locations []sarifLocation `json:"locations"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID              string                `json:"ruleId"`
	RuleIndex           int                   `json:"ruleIndex"`
	Level               string                `json:"level"`
	Message             sarifMessage          `json:"message"`
	Locations           []sarifLocation       `json:"locations"`
	RelatedLocations    []sarifLocation       `json:"relatedLocations"`
	PartialFingerprints map[string]string     `json:"partialFingerprints"`
	Suppressions        []sarifSuppression    `json:"suppressions"`
	Properties          sarifResultProperties `json:"properties"`
}

// sarifSuppression is the reason a result is accepted. An empty suppressions
// array states that a result is not suppressed, where a missing one would
// mean unknown.
type sarifSuppression struct {
	Kind          string         `json:"kind"`
	Status        string         `json:"status"`
	Justification string         `json:"justification"`
	Location      *sarifLocation `json:"location,omitempty"`
}

type sarifResultProperties struct {
	Module string `json:"module,omitempty"`
	Step   int    `json:"step,omitempty"`
}

type sarifLocation struct {
	ID               *int                   `json:"id,omitempty"`
	PhysicalLocation *sarifPhysicalLocation `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogicalLocation `json:"logicalLocations"`
	Message          *sarifMessage          `json:"message,omitempty"`
}

type sarifPhysicalLocation struct {
	ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	Region           *sarifRegion          `json:"region,omitempty"`
}

// sarifRegion is a line of a text file, such as the plan file line of a
// gate finding or of a suppression, or a byte of a binary file. SARIF
// counts both from the start of the file: lines from 1, bytes from 0.
type sarifRegion struct {
	StartLine  int     `json:"startLine,omitempty"`
	ByteOffset *uint64 `json:"byteOffset,omitempty"`
}

type sarifArtifactLocation struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifLogicalLocation struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

// WriteCheckSARIF renders c as a SARIF 2.1.0 log with one run, whose driver
// lists every rule of c.Rules. Each finding becomes a result placed on its
// module file, with the object and function as logical locations and the
// related patches as related locations. Input errors, skipped files and
// simulation notes become tool execution notifications.
func WriteCheckSARIF(w io.Writer, c Check) error {
	rules, ruleIndex := sarifRules(c.Rules)

	results := make([]sarifResult, 0, len(c.Result.Findings))
	for _, f := range c.Result.Findings {
		index, ok := ruleIndex[f.RuleID]
		if !ok {
			// A finding of a rule missing from c.Rules still needs a
			// descriptor for ruleIndex to point at.
			index = len(rules)
			ruleIndex[f.RuleID] = index
			rules = append(rules, sarifUnknownRule(f))
		}
		results = append(results, sarifResultFor(f, index, c.findingFile(f)))
	}

	log := sarifLog{
		Version: sarifVersion,
		Schema:  sarifSchemaURI,
		Runs: []sarifRun{{
			Tool: sarifTool{Driver: sarifDriver{
				Name:           sarifToolName,
				InformationURI: sarifInformationURI,
				Version:        c.Version,
				Rules:          rules,
			}},
			Invocations: []sarifInvocation{{
				// An input that could not be analysed means the check
				// did not cover the whole plan.
				ExecutionSuccessful:        len(c.Errors) == 0,
				ToolExecutionNotifications: sarifNotifications(c),
			}},
			Results:    results,
			Properties: sarifRunProperties{Semantics: string(c.Result.Semantics)},
		}},
	}

	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(log); err != nil {
		return fmt.Errorf("write check SARIF: %w", err)
	}
	return nil
}

// sarifRules returns the rule descriptors in registry order and the index
// of each rule ID among them.
func sarifRules(rules []*conflict.Rule) ([]sarifRule, map[string]int) {
	out := make([]sarifRule, 0, len(rules))
	index := make(map[string]int, len(rules))
	for _, r := range rules {
		index[r.ID] = len(out)
		out = append(out, sarifRuleFor(r))
	}
	return out, index
}

func sarifRuleFor(r *conflict.Rule) sarifRule {
	// SARIF requires every text property to be non-empty.
	short := r.Title
	if short == "" {
		short = r.Name
	}
	full := docPlainText(r.Doc)
	if full == "" {
		full = short
	}

	return sarifRule{
		ID:               r.ID,
		Name:             r.Name,
		ShortDescription: sarifMultiformat{Text: short},
		FullDescription:  sarifMultiformat{Text: full},
		Help: sarifMultiformat{
			Text:     ruleHelpText(r),
			Markdown: ruleHelpMarkdown(r),
		},
		DefaultConfiguration: sarifConfiguration{Level: sarifLevel(r.Severity)},
	}
}

// sarifUnknownRule returns a descriptor for a rule that a finding names but
// the registry passed in lacks, built from the finding's rule ID, name and
// severity.
func sarifUnknownRule(f conflict.Finding) sarifRule {
	name := f.Rule
	if name == "" || name == f.RuleID {
		name = "unknown-rule"
	}
	text := "rule " + f.RuleID + " is not in the rule registry"
	return sarifRule{
		ID:                   f.RuleID,
		Name:                 name,
		ShortDescription:     sarifMultiformat{Text: text},
		FullDescription:      sarifMultiformat{Text: text},
		Help:                 sarifMultiformat{Text: text},
		DefaultConfiguration: sarifConfiguration{Level: sarifLevel(f.Severity)},
	}
}

// ruleHelpText returns the plain-text help of a rule: a heading line, the
// default severity and semantics, then each documentation section with
// one line per paragraph.
func ruleHelpText(r *conflict.Rule) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s\n", r.ID, r.Name, r.Title)
	fmt.Fprintf(&b, "Default severity: %s. Semantics: %s.", r.Severity, ruleSemanticsText(r))
	for _, s := range ruleSections(r) {
		fmt.Fprintf(&b, "\n\n%s:\n%s", s.title, docPlainText(s.text))
	}
	return b.String()
}

// ruleHelpMarkdown returns the help of a rule as GitHub Flavored Markdown,
// with the documentation escaped so that names such as __klp_objects or
// *patch render as written.
func ruleHelpMarkdown(r *conflict.Rule) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s %s**: %s\n\n", markdownEscape(r.ID), markdownEscape(r.Name), markdownEscape(r.Title))
	fmt.Fprintf(&b, "Default severity: %s. Semantics: %s.", r.Severity, markdownEscape(ruleSemanticsText(r)))
	for _, s := range ruleSections(r) {
		fmt.Fprintf(&b, "\n\n**%s**", s.title)
		for _, para := range docParagraphs(s.text) {
			b.WriteString("\n\n")
			for i, item := range para {
				if i > 0 {
					b.WriteString("\n")
				}
				if rest, ok := strings.CutPrefix(item, "- "); ok {
					b.WriteString("- " + markdownEscape(rest))
					continue
				}
				b.WriteString(markdownEscape(item))
			}
		}
	}
	return b.String()
}

// docPlainText returns documentation with each paragraph on one line,
// paragraphs separated by a blank line and list items on lines of their
// own.
func docPlainText(text string) string {
	paragraphs := docParagraphs(text)
	lines := make([]string, len(paragraphs))
	for i, para := range paragraphs {
		lines[i] = strings.Join(para, "\n")
	}
	return strings.Join(lines, "\n\n")
}

// markdownEscape puts a backslash before every character that GitHub
// Flavored Markdown could read as formatting. Paragraphs are single lines,
// so characters that only matter at the start of a line are escaped
// everywhere too.
func markdownEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>|~#+!", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func sarifLevel(s conflict.Severity) string {
	switch s {
	case conflict.SeverityError:
		return "error"
	case conflict.SeverityWarning:
		return "warning"
	case conflict.SeverityNote:
		return "note"
	}
	return "none"
}

// sarifResultFor converts one finding, placed on file (Check.findingFile),
// with the object and the function as logical locations. GitHub code
// scanning rejects a result whose locations have no physical location.
func sarifResultFor(f conflict.Finding, ruleIndex int, file string) sarifResult {
	message := sarifLinkText(f.Message)
	if f.Path == "" {
		// The location no longer names the module, so the message does.
		if f.Module != "" {
			message = sarifLinkText(f.Module) + ": " + message
		}
	}

	locations := []sarifLocation{}
	logical := sarifFunctionLocations(f)
	if file != "" || len(logical) > 0 {
		physical := sarifFileLocation(file)
		if physical != nil && f.Line > 0 && file == f.Path {
			physical.Region = &sarifRegion{StartLine: f.Line}
		}
		locations = append(locations, sarifLocation{
			PhysicalLocation: physical,
			LogicalLocations: logical,
		})
	}

	related := make([]sarifLocation, 0, len(f.Related))
	mentions := make([]string, 0, len(f.Related))
	for i, r := range f.Related {
		id := i + 1
		related = append(related, sarifRelatedLocation(id, r))
		mentions = append(mentions, sarifRelatedMention(id, r))
	}
	if len(mentions) > 0 {
		message += " (related: " + strings.Join(mentions, "; ") + ")"
	}

	return sarifResult{
		RuleID:              f.RuleID,
		RuleIndex:           ruleIndex,
		Level:               sarifLevel(f.Severity),
		Message:             sarifMessage{Text: message},
		Locations:           locations,
		RelatedLocations:    related,
		PartialFingerprints: map[string]string{sarifFingerprintKey: conflict.Fingerprint(f)},
		Suppressions:        sarifSuppressions(f),
		Properties:          sarifResultProperties{Module: f.Module, Step: f.Step},
	}
}

// sarifFunctionLocations returns the object of a finding as a logical
// location of kind module, followed by its function, whose fully qualified
// name is "object:function,sympos".
func sarifFunctionLocations(f conflict.Finding) []sarifLogicalLocation {
	locations := []sarifLogicalLocation{}
	if f.Object != "" {
		locations = append(locations, sarifLogicalLocation{Name: f.Object, FullyQualifiedName: f.Object, Kind: "module"})
	}
	if f.Function != "" {
		locations = append(locations, sarifLogicalLocation{Name: f.Function, FullyQualifiedName: findingFunction(f), Kind: "function"})
	}
	return locations
}

// sarifRelatedLocation returns the related location with the given id: the
// related module's file, or the module name as a logical location for a
// patch known only from the live state.
func sarifRelatedLocation(id int, r conflict.Related) sarifLocation {
	text := r.Module
	if r.Note != "" {
		text += ": " + r.Note
	}

	loc := sarifLocation{
		ID:               &id,
		PhysicalLocation: sarifFileLocation(r.Path),
		LogicalLocations: []sarifLogicalLocation{},
		Message:          &sarifMessage{Text: text},
	}
	if r.Path == "" {
		loc.LogicalLocations = append(loc.LogicalLocations, sarifLogicalLocation{Name: r.Module, FullyQualifiedName: r.Module, Kind: "module"})
	}
	return loc
}

// sarifRelatedMention returns how the result message names a related
// patch: an embedded link to its location when it has a file, so that
// GitHub shows it, followed by its part in the finding.
func sarifRelatedMention(id int, r conflict.Related) string {
	mention := r.Module
	if r.Path != "" {
		mention = "[" + sarifLinkText(r.Module) + "](" + strconv.Itoa(id) + ")"
	}
	if r.Note != "" {
		mention += ": " + r.Note
	}
	return mention
}

// sarifLinkText escapes the characters that SARIF requires escaped in the
// text of an embedded link in a plain-text message: backslash and square
// brackets.
func sarifLinkText(s string) string {
	return strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`).Replace(s)
}

// sarifFileLocation returns the physical location of a file, or nil for an
// empty path.
func sarifFileLocation(file string) *sarifPhysicalLocation {
	if file == "" {
		return nil
	}
	return &sarifPhysicalLocation{ArtifactLocation: sarifArtifact(file)}
}

// sarifFileLocations returns a one-element location list for a file, or an
// empty list for an empty path.
func sarifFileLocations(file string) []sarifLocation {
	if file == "" {
		return []sarifLocation{}
	}
	return []sarifLocation{{PhysicalLocation: sarifFileLocation(file), LogicalLocations: []sarifLogicalLocation{}}}
}

// sarifErrorLocations returns the location of an input error: its file,
// with the line of a text input, or the byte offset when it counts from
// the start of the file. An offset inside an ELF section is left to the
// message, because SARIF has no region relative to a section.
func sarifErrorLocations(e InputError) []sarifLocation {
	locations := sarifFileLocations(e.File)
	if len(locations) == 0 {
		return locations
	}
	switch {
	case e.Line > 0:
		locations[0].PhysicalLocation.Region = &sarifRegion{StartLine: e.Line}
	case e.HasOffset && e.Section == "":
		offset := e.Offset
		locations[0].PhysicalLocation.Region = &sarifRegion{ByteOffset: &offset}
	}
	return locations
}

// sarifArtifact converts a file path to an artifact location. A relative
// path becomes a relative URI reference with forward slashes, against the
// source root; an absolute path becomes a file URI.
func sarifArtifact(file string) sarifArtifactLocation {
	if filepath.IsAbs(file) {
		slashed := filepath.ToSlash(file)
		// A Windows path such as C:/x needs a leading slash in a file URI.
		if !strings.HasPrefix(slashed, "/") {
			slashed = "/" + slashed
		}
		return sarifArtifactLocation{URI: (&url.URL{Scheme: "file", Path: slashed}).String()}
	}

	clean := path.Clean(filepath.ToSlash(file))
	return sarifArtifactLocation{
		URI:       (&url.URL{Path: clean}).String(),
		URIBaseID: "%SRCROOT%",
	}
}

// sarifSuppressions returns the suppressions of a result: none for a
// finding that counts, or one accepted external suppression, placed on the
// plan file line or the baseline file that accepted it.
func sarifSuppressions(f conflict.Finding) []sarifSuppression {
	s := f.Suppressed
	if s == nil {
		return []sarifSuppression{}
	}

	out := sarifSuppression{Kind: "external", Status: "accepted", Justification: s.Reason}
	if physical := sarifFileLocation(s.File); physical != nil {
		if s.Line > 0 {
			physical.Region = &sarifRegion{StartLine: s.Line}
		}
		out.Location = &sarifLocation{PhysicalLocation: physical, LogicalLocations: []sarifLogicalLocation{}}
	}
	return []sarifSuppression{out}
}

// sarifNotifications returns the input errors, then the skipped files,
// then the simulation notes, as tool execution notifications of level
// error, note and note.
func sarifNotifications(c Check) []sarifNotification {
	out := make([]sarifNotification, 0, len(c.Errors)+len(c.Skipped)+len(c.Result.Notes))
	for _, e := range c.Errors {
		out = append(out, sarifNotification{
			Level:     "error",
			Message:   sarifMessage{Text: e.File + ": " + e.Reason},
			Locations: sarifErrorLocations(e),
		})
	}
	for _, s := range c.Skipped {
		out = append(out, sarifNotification{
			Level:     "note",
			Message:   sarifMessage{Text: s.Path + ": skipped: " + s.Reason},
			Locations: sarifFileLocations(s.Path),
		})
	}
	for _, note := range c.Result.Notes {
		out = append(out, sarifNotification{
			Level:     "note",
			Message:   sarifMessage{Text: note},
			Locations: []sarifLocation{},
		})
	}
	return out
}
