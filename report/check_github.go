package report

// GitHub Actions workflow commands, which the runner turns into annotations
// on the pull request and the run summary without a SARIF upload. A command
// is a line of its own on standard output, such as
// "::error file=PATH,line=N,title=TITLE::MESSAGE", with warning and notice
// in place of error.
//
// The escaping is that of the actions/toolkit core package (escapeData and
// escapeProperty in packages/core/src/command.ts), which the runner
// reverses: %, CR and LF everywhere, and also ":" and "," in property
// values, where they would end the value.
//
// GitHub limits how many annotations of one step and one job it shows.
// Findings are written in klpcheck's order, so with many findings only the
// first ones of each severity appear; the SARIF output has all of them.

import (
	"io"
	"strconv"
	"strings"

	"github.com/klpcheck/klpcheck/conflict"
)

// FormatGitHub is GitHub Actions workflow commands. Only klpcheck check
// writes it.
const FormatGitHub Format = "github"

// WriteCheckGitHub renders c as GitHub Actions workflow commands: one
// annotation per input error and per finding that is not suppressed, where
// an error finding becomes ::error, a warning ::warning, and a note or a
// finding of severity none ::notice. Plain log lines follow for the
// suppressed findings, the simulation notes and the summary. Each plain
// line starts with a fixed word, so that a name read from a module file
// can never start a workflow command.
func WriteCheckGitHub(w io.Writer, c Check) error {
	out := &errWriter{w: w}

	for _, e := range c.Errors {
		props := []githubProperty{{"file", e.File}}
		if e.Line > 0 {
			props = append(props, githubProperty{"line", strconv.Itoa(e.Line)})
		}
		props = append(props, githubProperty{"title", "klpcheck: input could not be analysed"})
		writeGitHubCommand(out, "error", props, displayString(e.Reason))
	}

	for _, f := range c.Result.Findings {
		if f.Suppressed != nil {
			continue
		}
		writeGitHubCommand(out, githubCommand(f.Severity), githubLocation(f, c.findingFile(f)), githubMessage(f))
	}

	for _, f := range c.Result.Findings {
		if s := f.Suppressed; s != nil {
			out.printf("Suppressed: %s %s %s: %s (%s)\n", f.Severity, displayString(f.RuleID), displayString(f.Rule),
				displayString(findingSubject(f)), displayString(suppressionText(s)))
		}
	}
	for _, note := range c.Result.Notes {
		out.printf("Note: %s\n", displayString(note))
	}
	out.printf("%s\n", summaryText(c))
	return out.err
}

// githubProperty is one key=value property of a workflow command.
type githubProperty struct {
	key, value string
}

// githubCommand returns the workflow command for a severity.
func githubCommand(s conflict.Severity) string {
	switch s {
	case conflict.SeverityError:
		return "error"
	case conflict.SeverityWarning:
		return "warning"
	}
	return "notice"
}

// githubLocation returns the file, line and title properties of a
// finding's annotation. The file is the module file, or the plan file for
// a finding without one, and is left out when neither is known.
func githubLocation(f conflict.Finding, file string) []githubProperty {
	var props []githubProperty
	if file != "" {
		props = append(props, githubProperty{"file", file})
		if f.Line > 0 && file == f.Path {
			props = append(props, githubProperty{"line", strconv.Itoa(f.Line)})
		}
	}
	return append(props, githubProperty{"title", f.RuleID + " " + f.Rule})
}

// githubMessage returns the annotation text of a finding: the subject and
// message on the first line, as the text output writes them, then one line
// per related patch whose part in the finding is described.
func githubMessage(f conflict.Finding) string {
	lines := []string{findingSubject(f)}
	for _, r := range f.Related {
		if r.Note != "" {
			lines = append(lines, "- "+displayString(r.Module)+": "+displayString(r.Note))
		}
	}
	return strings.Join(lines, "\n")
}

// findingSubject returns "module: object:function,sympos: message (related:
// a, b)" without the parts a finding does not have.
func findingSubject(f conflict.Finding) string {
	var parts []string
	if f.Module != "" {
		parts = append(parts, displayString(f.Module)+":")
	}
	if name := findingFunction(f); name != "" {
		parts = append(parts, displayString(name)+":")
	}
	parts = append(parts, displayString(f.Message))
	if len(f.Related) > 0 {
		names := make([]string, len(f.Related))
		for i, r := range f.Related {
			names[i] = displayString(r.Module)
		}
		parts = append(parts, "(related: "+strings.Join(names, ", ")+")")
	}
	return strings.Join(parts, " ")
}

// suppressionText returns what accepted a finding, for example "suppressed
// by plan.yaml:12: the fix moved to klpc_base" or "recorded in the
// baseline klpcheck-baseline.json".
func suppressionText(s *conflict.Suppressed) string {
	if s.Kind == conflict.SuppressedByBaseline {
		return "recorded in the baseline " + s.File
	}
	where := s.File
	if s.Line > 0 {
		where += ":" + strconv.Itoa(s.Line)
	}
	return "suppressed by " + where + ": " + s.Reason
}

// writeGitHubCommand writes one workflow command line. Properties with an
// empty value are left out.
func writeGitHubCommand(out *errWriter, command string, props []githubProperty, message string) {
	var b strings.Builder
	b.WriteString("::" + command)
	sep := " "
	for _, p := range props {
		if p.value == "" {
			continue
		}
		b.WriteString(sep + p.key + "=" + githubEscapeProperty(p.value))
		sep = ","
	}
	b.WriteString("::" + githubEscapeData(message))
	out.printf("%s\n", b.String())
}

// WriteGitHubConfigError writes an ::error command for a configuration
// error that stops klpcheck check before any report, such as an invalid
// plan. file and line place it when they are known; line 0 leaves it out.
func WriteGitHubConfigError(w io.Writer, file string, line int, message string) error {
	out := &errWriter{w: w}
	var props []githubProperty
	if file != "" {
		props = append(props, githubProperty{"file", file})
	}
	if line > 0 {
		props = append(props, githubProperty{"line", strconv.Itoa(line)})
	}
	props = append(props, githubProperty{"title", "klpcheck: invalid configuration"})
	writeGitHubCommand(out, "error", props, message)
	return out.err
}

// githubEscapeData escapes a command's message.
func githubEscapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// githubEscapeProperty escapes a property value, in which a colon or comma
// would otherwise end the value.
func githubEscapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
