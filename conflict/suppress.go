package conflict

import (
	"fmt"
	"strings"
)

// The gate step runs after Check. It decides which findings fail a run:
// ApplySuppressions accepts the findings that the plan file suppresses, and
// ApplyBaseline those recorded in a baseline file. Accepted findings stay in
// the result, marked with Finding.Suppressed. Problems with the suppressions
// and the baseline themselves are findings of the gate rules, whose IDs are
// KLP07xx.

// gateIDPrefix starts the IDs of the gate rules.
const gateIDPrefix = "KLP07"

// Kinds of Suppressed.Kind.
const (
	// SuppressedByPlan is a suppression in the plan file.
	SuppressedByPlan = "plan"
	// SuppressedByBaseline is an entry of a baseline file.
	SuppressedByBaseline = "baseline"
)

// Suppressed records why a finding is accepted. A suppressed finding is
// still reported, but it does not count towards --fail-on.
type Suppressed struct {
	// Kind is SuppressedByPlan or SuppressedByBaseline.
	Kind string
	// Reason is the reason the suppression gives, or for a baseline a
	// sentence that names the file.
	Reason string
	// File is the plan or baseline file. Line is the 1-based line of the
	// suppression in the plan file, and 0 for a baseline.
	File string
	Line int
}

// Suppression is one entry of the suppressions list of a plan file. It
// accepts the findings of Rule that match Module, Object and Function, for
// Reason. An empty Module, Object or Function matches any value, and a
// value matches only the exact name.
type Suppression struct {
	// Rule is a rule ID or name, as LookupRule takes it.
	Rule     string
	Module   string
	Object   string
	Function string
	Reason   string

	// File is the plan file, Index the 0-based position of the entry in
	// its suppressions list, and Line the line of the entry. KeyLines maps
	// each key given to its line.
	File     string
	Index    int
	Line     int
	KeyLines map[string]int
}

var suppressionInvalid = &Rule{
	ID:       "KLP0701",
	Name:     "suppression-invalid",
	Severity: SeverityError,
	Title:    "a suppression in the plan file cannot be applied",
	Doc: `Reports a suppression of the plan file that klpcheck does not apply: it has no
reason, it has no rule, its rule is neither the name nor the ID of a klpcheck rule, or it
names a gate rule (KLP07xx), which cannot be suppressed. The finding names the entry, the
key at fault and its line. The findings that the suppression was meant to accept still
count towards --fail-on.`,
	Fix: `Name the rule as klpcheck rules lists it, and give a reason that says why the
findings are accepted and until when, or delete the suppression.`,
	gate: true,
}

var suppressionStale = &Rule{
	ID:       "KLP0702",
	Name:     "suppression-stale",
	Severity: SeverityWarning,
	Title:    "a suppression in the plan file matches no finding",
	Doc: `Reports a valid suppression that matched no finding of the run. Once the conflict
it was written for is gone, a suppression left in the plan would accept the next finding of
the same kind without review. A suppression of a rule that does not run under the semantics
of the run is not reported, because the plan may be checked under other semantics too.`,
	Fix: `Delete the suppression. If the finding still occurs under another module, object
or function name, correct the suppression to match it.`,
	gate: true,
}

// ApplySuppressions marks the findings of res that a valid suppression
// matches. It then appends, in entry order, a suppression-invalid finding
// for each problem with an entry and a suppression-stale finding for each
// valid entry that matched nothing. A finding that several suppressions
// match takes the first, and each of them counts as used. Findings that
// are already suppressed and findings of the gate rules are left alone.
func ApplySuppressions(res *Result, suppressions []Suppression) {
	rules := make([]*Rule, len(suppressions))
	var invalid [][]Finding
	for i, s := range suppressions {
		var problems []Finding
		rules[i], problems = resolveSuppression(s)
		invalid = append(invalid, problems)
	}

	used := make([]bool, len(suppressions))
	for fi := range res.Findings {
		f := &res.Findings[fi]
		if f.Suppressed != nil || isGateRule(f.RuleID) {
			continue
		}
		for i, s := range suppressions {
			if rules[i] == nil || !s.matches(rules[i], f) {
				continue
			}
			used[i] = true
			if f.Suppressed == nil {
				f.Suppressed = &Suppressed{Kind: SuppressedByPlan, Reason: s.Reason, File: s.File, Line: s.Line}
			}
		}
	}

	for i, s := range suppressions {
		res.Findings = append(res.Findings, invalid[i]...)
		if rules[i] != nil && !used[i] && rules[i].appliesTo(res.Semantics) {
			res.Findings = append(res.Findings, staleSuppression(s, rules[i]))
		}
	}
}

// resolveSuppression returns the rule a suppression names. When the
// suppression cannot be applied, it returns nil and one suppression-invalid
// finding per problem.
func resolveSuppression(s Suppression) (*Rule, []Finding) {
	var problems []Finding
	where := fmt.Sprintf("suppressions[%d]", s.Index)

	if strings.TrimSpace(s.Reason) == "" {
		problems = append(problems, gateFinding(suppressionInvalid, s.File, s.Line,
			fmt.Sprintf("%s (%s) has no reason: a suppression must say why its findings are accepted", where, position(s.File, s.Line))))
	}

	var rule *Rule
	ruleLine := s.line("rule")
	switch r, found := LookupRule(s.Rule); {
	case s.Rule == "":
		problems = append(problems, gateFinding(suppressionInvalid, s.File, s.Line,
			fmt.Sprintf("%s (%s) has no rule: name the rule to suppress, for example func-overlap or KLP0201", where, position(s.File, s.Line))))
	case !found:
		problems = append(problems, gateFinding(suppressionInvalid, s.File, ruleLine,
			fmt.Sprintf("%s.rule (%s) names no rule: %q is neither a rule name nor a rule ID; klpcheck rules lists them", where, position(s.File, ruleLine), s.Rule)))
	case r.gate:
		problems = append(problems, gateFinding(suppressionInvalid, s.File, ruleLine,
			fmt.Sprintf("%s.rule (%s) names %s %s, a rule of the gate itself, which cannot be suppressed: fix the suppression or baseline it reports on", where, position(s.File, ruleLine), r.ID, r.Name)))
	default:
		rule = r
	}

	if len(problems) > 0 {
		return nil, problems
	}
	return rule, nil
}

// matches reports whether s, whose rule is r, accepts f.
func (s Suppression) matches(r *Rule, f *Finding) bool {
	return f.RuleID == r.ID &&
		(s.Module == "" || s.Module == f.Module) &&
		(s.Object == "" || s.Object == f.Object) &&
		(s.Function == "" || s.Function == f.Function)
}

// line returns the line of a key of s, or the line of the entry when the
// key is not given.
func (s Suppression) line(key string) int {
	if line, ok := s.KeyLines[key]; ok {
		return line
	}
	return s.Line
}

// staleSuppression returns the suppression-stale finding for s.
func staleSuppression(s Suppression, r *Rule) Finding {
	subject := r.Name + " finding"
	var match []string
	for _, m := range []struct{ key, value string }{{"module", s.Module}, {"object", s.Object}, {"function", s.Function}} {
		if m.value != "" {
			match = append(match, m.key+" "+m.value)
		}
	}
	if len(match) > 0 {
		subject += " of " + strings.Join(match, ", ")
	}
	return gateFinding(suppressionStale, s.File, s.Line,
		fmt.Sprintf("suppressions[%d] (%s) matched no finding: the run reported no %s; delete the suppression", s.Index, position(s.File, s.Line), subject))
}

// gateFinding returns a finding of a gate rule about line of file.
func gateFinding(r *Rule, file string, line int, msg string) Finding {
	return Finding{RuleID: r.ID, Rule: r.Name, Severity: r.Severity, Message: msg, Path: file, Line: line}
}

// position returns "file:line", or only the file when line is 0.
func position(file string, line int) string {
	if line == 0 {
		return file
	}
	return fmt.Sprintf("%s:%d", file, line)
}

// isGateRule reports whether id is the ID of a gate rule.
func isGateRule(id string) bool {
	r, ok := LookupRule(id)
	return ok && r.gate
}
