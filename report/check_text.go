package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/klpcheck/klpcheck/conflict"
	"github.com/klpcheck/klpcheck/livepatch"
)

// textWidth is the terminal width, in columns, that check text output is
// wrapped to. Messages, notes and function lists wrap at spaces. A word
// longer than the line, such as a long path, is never cut, and neither is a
// row of the effective function table.
const textWidth = 100

// severityGroups is the order and title of the finding groups in text
// output. Severity none only appears when a caller passes findings that a
// configuration turned off.
var severityGroups = []struct {
	severity conflict.Severity
	title    string
}{
	{conflict.SeverityError, "Errors"},
	{conflict.SeverityWarning, "Warnings"},
	{conflict.SeverityNote, "Notes"},
	{conflict.SeverityNone, "Findings with severity none"},
}

// WriteCheckText renders c as text for a terminal. It writes the findings
// grouped by severity, then what each step patched, reverted or disabled
// and which loads the kernel would refuse. The effective function map
// follows as a table like that of kpatch list, then the simulation notes,
// the skipped and failed files, and a summary line with the counts.
func WriteCheckText(w io.Writer, c Check) error {
	out := &errWriter{w: w}
	res := c.Result

	out.printf("Semantics: %s\n", displayString(string(res.Semantics)))
	if c.Target == nil && c.Kernel != "" {
		out.printf("Target kernel: %s (from %s)\n", displayString(c.Kernel), displayString(c.KernelFrom))
	}
	writeTargetText(out, c.Target, c.Kernel, c.KernelFrom)

	writeFindingsText(out, res.Findings, len(res.Notes), repeatedModules(res.Steps))
	writeStepsText(out, res.Semantics, res.Steps)
	writeEffectiveText(out, res.Effective)

	if len(res.Notes) > 0 {
		out.printf("\nSimulation notes (%d)\n", len(res.Notes))
		for _, note := range res.Notes {
			writeWrapped(out, "  - ", "    ", displayString(note))
		}
	}

	if len(c.Skipped) > 0 {
		out.printf("\nSkipped (%d)\n", len(c.Skipped))
		for _, s := range c.Skipped {
			writeWrapped(out, "  ", "    ", displayString(s.Path)+": "+displayString(s.Reason))
		}
	}

	if len(c.Errors) > 0 {
		out.printf("\nFailed (%d)\n", len(c.Errors))
		for _, e := range c.Errors {
			writeWrapped(out, "  ", "    ", displayString(e.File)+": "+displayString(e.Reason))
		}
	}

	out.printf("\n")
	writeWrapped(out, "", "  ", summaryText(c))
	return out.err
}

// writeFindingsText writes one titled group per severity that has findings,
// keeping the order of the findings inside each group. Suppressed findings
// follow in a group of their own. Without findings it writes one line,
// which points to the simulation notes when there are any, because a note
// may say that a rule could not check something. repeated holds the module
// names that more than one plan step loads.
func writeFindingsText(out *errWriter, findings []conflict.Finding, notes int, repeated map[string]bool) {
	if len(findings) == 0 {
		switch {
		case notes == 1:
			out.printf("\nFindings: none, but the simulation note below says what was assumed or not checked\n")
		case notes > 1:
			out.printf("\nFindings: none, but the %d simulation notes below say what was assumed or not checked\n", notes)
		default:
			out.printf("\nFindings: none\n")
		}
		return
	}

	for _, group := range severityGroups {
		var members []conflict.Finding
		for _, f := range findings {
			if f.Severity == group.severity && f.Suppressed == nil {
				members = append(members, f)
			}
		}
		if len(members) == 0 {
			continue
		}

		out.printf("\n%s (%d)\n", group.title, len(members))
		for _, f := range members {
			writeFindingText(out, f, repeated)
		}
	}
	writeSuppressedText(out, findings, repeated)
}

// repeatedModules returns the module names that more than one plan step
// loads, such as the same patch built for two kernels. Their findings
// name the step, since the name alone does not tell them apart.
func repeatedModules(steps []conflict.Step) map[string]bool {
	seen := map[string]bool{}
	repeated := map[string]bool{}
	for _, s := range steps {
		if s.Live {
			continue
		}
		if seen[s.Module] {
			repeated[s.Module] = true
		}
		seen[s.Module] = true
	}
	return repeated
}

// writeFindingText writes a finding as
// "error KLP0204 set-conflict: module: object:function,sympos: message
// (related: module, ...)", followed by a "- module: note" item for each
// related patch whose part in the finding is described. The module is
// written as "module (step N)" when it is in repeated.
func writeFindingText(out *errWriter, f conflict.Finding, repeated map[string]bool) {
	var line strings.Builder
	line.Grow(256)
	line.WriteString(f.Severity.String())
	line.WriteString(" ")
	line.WriteString(displayString(f.RuleID))
	line.WriteString(" ")
	line.WriteString(displayString(f.Rule))
	line.WriteString(":")
	if f.Module != "" {
		line.WriteString(" ")
		line.WriteString(displayString(f.Module))
		if repeated[f.Module] && f.Step > 0 {
			line.WriteString(" (step ")
			line.WriteString(strconv.Itoa(f.Step))
			line.WriteString(")")
		}
		line.WriteString(":")
	}
	if name := findingFunction(f); name != "" {
		line.WriteString(" ")
		line.WriteString(displayString(name))
		line.WriteString(":")
	}
	line.WriteString(" ")
	line.WriteString(displayString(f.Message))

	if len(f.Related) > 0 {
		line.WriteString(" (related: ")
		for i, r := range f.Related {
			if i > 0 {
				line.WriteString(", ")
			}
			line.WriteString(displayString(r.Module))
		}
		line.WriteString(")")
	}
	writeWrapped(out, "  ", "      ", line.String())

	for _, r := range f.Related {
		if r.Note == "" {
			continue
		}
		writeWrapped(out, "    - ", "      ", displayString(r.Module)+": "+displayString(r.Note))
	}
}

// writeSuppressedText writes the suppressed findings, in their order, each
// followed by the suppression or baseline that accepted it.
func writeSuppressedText(out *errWriter, findings []conflict.Finding, repeated map[string]bool) {
	var suppressed []conflict.Finding
	for _, f := range findings {
		if f.Suppressed != nil {
			suppressed = append(suppressed, f)
		}
	}
	if len(suppressed) == 0 {
		return
	}

	out.printf("\nSuppressed (%d)\n", len(suppressed))
	for _, f := range suppressed {
		writeFindingText(out, f, repeated)
		writeWrapped(out, "    ", "      ", displayString(suppressionText(f.Suppressed)))
	}
}

// writeStepsText writes what each step did: live patches first, then the
// plan steps in load order.
func writeStepsText(out *errWriter, semantics conflict.Semantics, steps []conflict.Step) {
	if len(steps) == 0 {
		out.printf("\nSteps: none\n")
		return
	}

	out.printf("\nSteps (%d)\n", len(steps))
	for _, s := range steps {
		writeStepText(out, semantics, s)
	}
}

// writeStepText writes a heading with the step, module, file and replace
// mode, then one line each for the refusal and the patched, reverted and
// disabled lists that are not empty.
func writeStepText(out *errWriter, semantics conflict.Semantics, s conflict.Step) {
	head := "step " + strconv.Itoa(s.Index) + ": "
	if s.Live {
		head = "live: "
	}
	head += displayString(s.Module)
	if s.Path != "" {
		head += " (" + displayString(s.Path) + ")"
	}
	head += ", " + modeText(semantics, s.Mode)
	writeWrapped(out, "  ", "      ", head)

	if s.Refused {
		out.printf("    refused:  %s\n", refusalText(s))
	}

	if len(s.Patched) > 0 {
		names := make([]string, len(s.Patched))
		for i, ref := range s.Patched {
			names[i] = displayString(livepatch.FuncName(ref.Object, ref.Function, ref.Sympos, true))
			if ref.Previous != "" {
				names[i] += " (was " + displayString(ref.Previous) + ")"
			}
		}
		writeWrapped(out, "    patched:  ", "              ", strings.Join(names, " "))
	}

	if len(s.Reverted) > 0 {
		names := make([]string, len(s.Reverted))
		for i, ref := range s.Reverted {
			names[i] = displayString(livepatch.FuncName(ref.Object, ref.Function, ref.Sympos, true))
			if ref.Module != "" {
				names[i] += " (was " + displayString(ref.Module) + ")"
			}
		}
		writeWrapped(out, "    reverted: ", "              ", strings.Join(names, " "))
	}

	if len(s.Disabled) > 0 {
		writeWrapped(out, "    disabled: ", "              ", displayJoin(s.Disabled, " "))
	}

	if !s.Refused && len(s.Patched) == 0 && len(s.Reverted) == 0 && len(s.Disabled) == 0 {
		out.printf("    changes no function\n")
	}
}

// modeText describes a replace mode under the given semantics, with where
// the simulation took it from, for example "replace set 2 (from plan)".
func modeText(semantics conflict.Semantics, m conflict.Mode) string {
	var mode string
	switch semantics {
	case conflict.Mainline:
		mode = "no replace"
		if m.Replace {
			mode = "replace"
		}
	case conflict.Tag:
		mode = "replace tag " + strconv.FormatUint(uint64(m.Value), 10)
		if m.Value == 0 {
			mode = "no replace (tag 0)"
		}
	case conflict.ReplaceSet:
		mode = "replace set " + strconv.FormatUint(uint64(m.Value), 10)
	default:
		mode = fmt.Sprintf("replace %t, value %d", m.Replace, m.Value)
	}

	switch m.Source {
	case "":
		// conflict leaves Source empty for a live patch whose sysfs has no
		// replace attribute (kernels before 6.11) and no mapped module file.
		return "replace mode unknown"
	case "assumed":
		return mode + " (assumed)"
	}
	return mode + " (from " + displayString(m.Source) + ")"
}

// refusalText describes a refused load, for example "EINVAL (rule
// set-conflict)".
func refusalText(s conflict.Step) string {
	text := displayString(s.Errno)
	if text == "" {
		text = "load fails"
	}
	if s.RefusedBy != "" {
		text += " (rule " + displayString(s.RefusedBy) + ")"
	}
	return text
}

// writeEffectiveText writes the final function map as a table of object,
// function and sympos against the module whose code runs, like the table of
// kpatch list.
func writeEffectiveText(out *errWriter, effective []conflict.EffectiveFunc) {
	if len(effective) == 0 {
		out.printf("\nEffective functions: none\n")
		return
	}

	rows := make([][]string, len(effective))
	for i, e := range effective {
		module := displayString(e.Module)
		if e.Transition {
			module += " (in transition)"
		}
		rows[i] = []string{
			displayString(e.Object),
			displayString(e.Function),
			strconv.FormatUint(e.Sympos, 10),
			module,
		}
	}

	out.printf("\nEffective functions (%d)\n", len(effective))
	writeTable(out, "  ", []string{"OBJECT", "FUNCTION", "SYMPOS", "MODULE"}, rows)
}

// summaryText returns the closing line with the finding counts, the number
// of live patches, plan steps and refused loads, and the number of skipped
// and failed files.
func summaryText(c Check) string {
	counts := severityCounts(c.Result.Findings)

	var live, planned, refused int
	for _, s := range c.Result.Steps {
		if s.Live {
			live++
		} else {
			planned++
		}
		if s.Refused {
			refused++
		}
	}

	findings := []string{
		plural(counts[conflict.SeverityError], "error", "errors"),
		plural(counts[conflict.SeverityWarning], "warning", "warnings"),
		plural(counts[conflict.SeverityNote], "note", "notes"),
	}
	if n := counts[conflict.SeverityNone]; n > 0 {
		findings = append(findings, plural(n, "finding with severity none", "findings with severity none"))
	}
	if n := suppressedCount(c.Result.Findings); n > 0 {
		findings = append(findings, strconv.Itoa(n)+" suppressed")
	}

	return fmt.Sprintf("Summary: %s; %s, %s, %d refused; %d skipped, %d failed",
		strings.Join(findings, ", "),
		plural(live, "live patch", "live patches"),
		plural(planned, "plan step", "plan steps"),
		refused,
		len(c.Skipped),
		len(c.Errors))
}

// plural returns n followed by the singular or plural noun.
func plural(n int, singular, pluralForm string) string {
	if n == 1 {
		return "1 " + singular
	}
	return strconv.Itoa(n) + " " + pluralForm
}

// writeWrapped writes text as lines of at most textWidth columns, breaking
// at spaces. The first line starts with first and later lines with indent.
// A word longer than a line gets a line of its own. Each word goes straight
// to out, because a check report wraps one message per finding and building
// the lines as strings first was a sixth of a 1,000-module check's CPU time.
func writeWrapped(out *errWriter, first, indent, text string) {
	out.writeString(first)
	limit := textWidth - len(first)
	lineLen := -1 // runes on the current line, -1 before its first word
	for word := range strings.FieldsSeq(text) {
		n := utf8.RuneCountInString(word)
		switch {
		case lineLen < 0:
			lineLen = n
		case lineLen+1+n > limit:
			out.writeString("\n")
			out.writeString(indent)
			limit = textWidth - len(indent)
			lineLen = n
		default:
			out.writeString(" ")
			lineLen += 1 + n
		}
		out.writeString(word)
	}
	out.writeString("\n")
}
