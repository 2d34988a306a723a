package report

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/klpcheck/klpcheck/conflict"
)

// CheckSchemaVersion is the schema_version of check JSON output. It changes
// only when a field is removed, renamed or changes meaning; new fields may
// appear in any version. docs/json-check.md describes every field.
const CheckSchemaVersion = 1

// The types below are the check JSON wire format. Lists are never nil, so
// that they encode as [] and not null. A value that can be absent is a
// pointer that encodes as null. That applies to strings such as a finding's
// function, and to numbers for which 0 is a valid value, such as sympos.
// Skipped files share their wire type with inspect JSON, and input errors
// add a line to inspect's error.

type checkJSON struct {
	SchemaVersion int              `json:"schema_version"`
	Semantics     string           `json:"semantics"`
	Kernel        *kernelJSON      `json:"kernel"`
	Target        *targetJSON      `json:"target"`
	Counts        checkCountsJSON  `json:"counts"`
	Findings      []findingJSON    `json:"findings"`
	Effective     []effectiveJSON  `json:"effective"`
	Steps         []stepJSON       `json:"steps"`
	Skipped       []skippedJSON    `json:"skipped"`
	Errors        []checkErrorJSON `json:"errors"`
	Notes         []string         `json:"notes"`
}

type kernelJSON struct {
	Release string `json:"release"`
	From    string `json:"from"`
}

// checkErrorJSON is an input error of check: the error of inspect JSON,
// and the line of a text input, which only check reads.
type checkErrorJSON struct {
	*inputErrorJSON
	Line *int `json:"line"`
}

type checkCountsJSON struct {
	Error      int `json:"error"`
	Warning    int `json:"warning"`
	Note       int `json:"note"`
	Suppressed int `json:"suppressed"`
}

type findingJSON struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Severity   string          `json:"severity"`
	Message    string          `json:"message"`
	Module     *string         `json:"module"`
	Path       *string         `json:"path"`
	Object     *string         `json:"object"`
	Function   *string         `json:"function"`
	Sympos     *uint64         `json:"sympos"`
	Step       *int            `json:"step"`
	Line       *int            `json:"line"`
	Related    []relatedJSON   `json:"related"`
	Suppressed *suppressedJSON `json:"suppressed"`
}

type suppressedJSON struct {
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
	File   string `json:"file"`
	Line   *int   `json:"line"`
}

type relatedJSON struct {
	Module string  `json:"module"`
	Path   *string `json:"path"`
	Note   *string `json:"note"`
}

type effectiveJSON struct {
	Object     string `json:"object"`
	Function   string `json:"function"`
	Sympos     uint64 `json:"sympos"`
	Module     string `json:"module"`
	Transition bool   `json:"transition"`
}

type stepJSON struct {
	Index     *int           `json:"index"`
	Module    string         `json:"module"`
	Path      *string        `json:"path"`
	Live      bool           `json:"live"`
	Mode      modeJSON       `json:"mode"`
	Refused   bool           `json:"refused"`
	Errno     *string        `json:"errno"`
	RefusedBy *string        `json:"refused_by"`
	Patched   []patchedJSON  `json:"patched"`
	Reverted  []revertedJSON `json:"reverted"`
	Disabled  []string       `json:"disabled"`
}

type modeJSON struct {
	Replace bool   `json:"replace"`
	Value   uint32 `json:"value"`
	Source  string `json:"source"`
}

type patchedJSON struct {
	Object   string  `json:"object"`
	Function string  `json:"function"`
	Sympos   uint64  `json:"sympos"`
	Previous *string `json:"previous"`
}

type revertedJSON struct {
	Object   string  `json:"object"`
	Function string  `json:"function"`
	Sympos   uint64  `json:"sympos"`
	Module   *string `json:"module"`
}

// WriteCheckJSON renders c as one indented JSON document, described in
// docs/json-check.md.
func WriteCheckJSON(w io.Writer, c Check) error {
	res := c.Result
	counts := severityCounts(res.Findings)
	doc := checkJSON{
		SchemaVersion: CheckSchemaVersion,
		Semantics:     string(res.Semantics),
		Target:        targetToJSON(c.Target),
		Counts: checkCountsJSON{
			Error:      counts[conflict.SeverityError],
			Warning:    counts[conflict.SeverityWarning],
			Note:       counts[conflict.SeverityNote],
			Suppressed: suppressedCount(res.Findings),
		},
		Findings:  make([]findingJSON, 0, len(res.Findings)),
		Effective: make([]effectiveJSON, 0, len(res.Effective)),
		Steps:     make([]stepJSON, 0, len(res.Steps)),
		Skipped:   make([]skippedJSON, 0, len(c.Skipped)),
		Errors:    make([]checkErrorJSON, 0, len(c.Errors)),
		Notes:     nonNil(res.Notes),
	}

	if c.Kernel != "" {
		doc.Kernel = &kernelJSON{Release: c.Kernel, From: c.KernelFrom}
	}
	for _, f := range res.Findings {
		doc.Findings = append(doc.Findings, findingToJSON(f))
	}
	for _, e := range res.Effective {
		doc.Effective = append(doc.Effective, effectiveJSON{
			Object:     e.Object,
			Function:   e.Function,
			Sympos:     e.Sympos,
			Module:     e.Module,
			Transition: e.Transition,
		})
	}
	for _, s := range res.Steps {
		doc.Steps = append(doc.Steps, stepToJSON(s))
	}
	for _, s := range c.Skipped {
		doc.Skipped = append(doc.Skipped, skippedJSON{Path: s.Path, Reason: s.Reason})
	}
	for _, e := range c.Errors {
		entry := checkErrorJSON{inputErrorJSON: inputErrorToJSON(&e)}
		if e.Line > 0 {
			line := e.Line
			entry.Line = &line
		}
		doc.Errors = append(doc.Errors, entry)
	}

	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// Demangled Rust and C++ names contain < and >, which would otherwise
	// be written as \u003c and \u003e.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write check JSON: %w", err)
	}
	return nil
}

func findingToJSON(f conflict.Finding) findingJSON {
	out := findingJSON{
		ID:       f.RuleID,
		Name:     f.Rule,
		Severity: f.Severity.String(),
		Message:  f.Message,
		Module:   optional(f.Module),
		Path:     optional(f.Path),
		Object:   optional(f.Object),
		Function: optional(f.Function),
		Related:  make([]relatedJSON, 0, len(f.Related)),
	}
	if f.HasSympos {
		sympos := f.Sympos
		out.Sympos = &sympos
	}
	if f.Step > 0 {
		step := f.Step
		out.Step = &step
	}
	if f.Line > 0 {
		line := f.Line
		out.Line = &line
	}
	if s := f.Suppressed; s != nil {
		out.Suppressed = &suppressedJSON{Kind: s.Kind, Reason: s.Reason, File: s.File}
		if s.Line > 0 {
			line := s.Line
			out.Suppressed.Line = &line
		}
	}
	for _, r := range f.Related {
		out.Related = append(out.Related, relatedJSON{
			Module: r.Module,
			Path:   optional(r.Path),
			Note:   optional(r.Note),
		})
	}
	return out
}

func stepToJSON(s conflict.Step) stepJSON {
	out := stepJSON{
		Module: s.Module,
		Path:   optional(s.Path),
		Live:   s.Live,
		Mode: modeJSON{
			Replace: s.Mode.Replace,
			Value:   s.Mode.Value,
			Source:  s.Mode.Source,
		},
		Refused:   s.Refused,
		Errno:     optional(s.Errno),
		RefusedBy: optional(s.RefusedBy),
		Patched:   make([]patchedJSON, 0, len(s.Patched)),
		Reverted:  make([]revertedJSON, 0, len(s.Reverted)),
		Disabled:  nonNil(s.Disabled),
	}
	// Live patches are not plan steps, so they get no index that a
	// finding's step could refer to.
	if !s.Live {
		index := s.Index
		out.Index = &index
	}
	for _, ref := range s.Patched {
		out.Patched = append(out.Patched, patchedJSON{Object: ref.Object, Function: ref.Function, Sympos: ref.Sympos, Previous: optional(ref.Previous)})
	}
	for _, ref := range s.Reverted {
		out.Reverted = append(out.Reverted, revertedJSON{
			Object:   ref.Object,
			Function: ref.Function,
			Sympos:   ref.Sympos,
			Module:   optional(ref.Module),
		})
	}
	return out
}
