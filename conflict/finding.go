package conflict

import (
	"fmt"
	"strings"
)

// Severity ranks findings. The numeric values order them and are not part
// of any output format, which always uses the names.
type Severity int

const (
	SeverityNone Severity = iota
	SeverityNote
	SeverityWarning
	SeverityError
)

// String returns the lowercase name used in flags and output.
func (s Severity) String() string {
	switch s {
	case SeverityNote:
		return "note"
	case SeverityWarning:
		return "warning"
	case SeverityError:
		return "error"
	}
	return "none"
}

// ParseSeverity parses a severity name as written in --fail-on and in plan
// files: error, warning, note or none.
func ParseSeverity(name string) (Severity, error) {
	switch strings.ToLower(name) {
	case "error":
		return SeverityError, nil
	case "warning":
		return SeverityWarning, nil
	case "note":
		return SeverityNote, nil
	case "none":
		return SeverityNone, nil
	}
	return SeverityNone, fmt.Errorf("invalid severity %q: want error, warning, note or none", name)
}

// Finding is one problem a rule found in a plan. Findings are attributed to
// the module whose load causes or suffers the problem: for a refused load,
// the later module.
type Finding struct {
	// RuleID is the stable ID (KLP and four digits) and Rule the kebab-case
	// name of the rule that reported it.
	RuleID   string
	Rule     string
	Severity Severity
	// Message is a lowercase sentence naming the subject and the clash.
	Message string

	// Module is the module name and Path the file it was read from (empty
	// for a patch known only from the live state). A finding of a gate rule
	// has no module, and its Path is the plan or baseline file. A finding
	// about an expect value of the plan has the plan file as its Path.
	Module string
	Path   string
	// Object, Function and Sympos name the function concerned; Function is
	// empty for a finding about a whole module or object. Sympos is as
	// stored in Module's patch.
	Object    string
	Function  string
	Sympos    uint64
	HasSympos bool

	// Step is the 1-based plan step that loads Module, or 0 for a finding
	// about the live state or the plan as a whole.
	Step int
	// Line is the 1-based line in Path of the suppression that a gate
	// finding is about, or of the expect value that a finding compares
	// with the file. It is 0 for every other finding.
	Line int

	// Related lists every other patch involved, in load order.
	Related []Related

	// Suppressed is set when a suppression in the plan file or a baseline
	// entry accepts the finding. Suppressed findings do not count towards
	// --fail-on.
	Suppressed *Suppressed
}

// Related is another patch that takes part in a finding.
type Related struct {
	Module string
	Path   string
	// Note describes its part, for example "its cmdline_proc_show is shadowed".
	Note string
}
