package conflict

import "fmt"

// pass is the handle a rule's check receives: read access to the
// simulation, and the methods to report. Rules never print. They report
// findings, refuse loads and add notes through the pass.
type pass struct {
	rule *Rule
	s    *simulation
	// step is the plan entry being checked, 0 for live patches and the
	// final checks.
	step int
}

// report adds a finding from the rule. The rule's ID and name are filled
// in, the step too when f.Step is 0, and the rule's default severity when
// f.Severity is SeverityNone.
func (p *pass) report(f Finding) {
	f.RuleID, f.Rule = p.rule.ID, p.rule.Name
	if f.Severity == SeverityNone {
		f.Severity = p.rule.Severity
	}
	if f.Step == 0 {
		f.Step = p.step
	}
	p.s.findings = append(p.s.findings, f)
}

// refuse records that the kernel fails the current load with errno, such
// as "EINVAL". Only checkModule and checkLoad may refuse.
func (p *pass) refuse(errno string) {
	p.s.refusals = append(p.s.refusals, refusal{rule: p.rule, errno: errno})
}

// notef adds a plan-wide note, such as a check that could not be made.
func (p *pass) notef(format string, args ...any) {
	p.s.notef("%s: %s", p.rule.Name, fmt.Sprintf(format, args...))
}

// sem returns the semantics of the simulation.
func (p *pass) sem() Semantics { return p.s.sem }

// related returns the Related entry for a patch.
func related(ps *patchState, note string) Related {
	return Related{Module: ps.name, Path: ps.path, Note: note}
}

// moduleFinding returns a finding about a whole plan module.
func moduleFinding(c *candidate, msg string) Finding {
	return Finding{Message: msg, Module: c.state.name, Path: c.state.path}
}

// funcFinding returns a finding about a function, attributed to ps.
func funcFinding(ps *patchState, fn patchFunc, msg string) Finding {
	return Finding{
		Message:   msg,
		Module:    ps.name,
		Path:      ps.path,
		Object:    fn.key.Object,
		Function:  fn.key.Function,
		Sympos:    fn.raw,
		HasSympos: true,
		Step:      ps.step,
	}
}

// names joins patch names for a message: "A", "A and B", "A, B and C".
func names(patches []*patchState) string {
	out := ""
	for i, p := range patches {
		switch {
		case i == 0:
		case i == len(patches)-1:
			out += " and "
		default:
			out += ", "
		}
		out += p.name
	}
	return out
}
