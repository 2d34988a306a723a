package conflict

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// overlapResult checks a plan in which klpc_b overlaps klpc_a on
// cmdline_proc_show and klpc_c overlaps nothing, which gives one
// func-overlap warning on klpc_b.
func overlapResult(t *testing.T) Result {
	t.Helper()
	res := Check(Plan{Patches: []Patch{
		nonReplace(module("klpc_a", vmlinux("cmdline_proc_show"))),
		nonReplace(module("klpc_b", vmlinux("cmdline_proc_show"))),
		nonReplace(module("klpc_c", vmlinux("meminfo_proc_show"))),
	}})
	checkFindings(t, res, want{Rule: "func-overlap", Severity: SeverityWarning, Step: 2, Module: "klpc_b", Object: "vmlinux", Function: "cmdline_proc_show", Related: []string{"klpc_a"}})
	return res
}

// suppression returns a plan suppression at line 10+index of plan.yaml,
// with its rule key on the next line.
func suppression(index int, rule, module, object, function, reason string) Suppression {
	line := 10 + 6*index
	s := Suppression{Rule: rule, Module: module, Object: object, Function: function, Reason: reason,
		File: "plan.yaml", Index: index, Line: line, KeyLines: map[string]int{}}
	if rule != "" {
		s.KeyLines["rule"] = line + 1
	}
	return s
}

func TestSuppressionMatches(t *testing.T) {
	tests := []struct {
		name       string
		s          Suppression
		suppressed bool
	}{
		{"rule name only", suppression(0, "func-overlap", "", "", "", "accepted"), true},
		{"rule ID", suppression(0, "KLP0201", "", "", "", "accepted"), true},
		{"ID in lowercase", suppression(0, "klp0201", "", "", "", "accepted"), true},
		{"module, object and function", suppression(0, "func-overlap", "klpc_b", "vmlinux", "cmdline_proc_show", "accepted"), true},
		{"other rule", suppression(0, "replace-reverts", "klpc_b", "", "", "accepted"), false},
		{"other module", suppression(0, "func-overlap", "klpc_a", "", "", "accepted"), false},
		{"other object", suppression(0, "func-overlap", "", "ext4", "", "accepted"), false},
		{"other function", suppression(0, "func-overlap", "", "", "version_proc_show", "accepted"), false},
		{"prefix of the function", suppression(0, "func-overlap", "", "", "cmdline", "accepted"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := overlapResult(t)
			ApplySuppressions(&res, []Suppression{tt.s})

			got := res.Findings[0].Suppressed
			if !tt.suppressed {
				if got != nil {
					t.Errorf("finding suppressed by %+v, want not suppressed", got)
				}
				return
			}
			want := &Suppressed{Kind: SuppressedByPlan, Reason: "accepted", File: "plan.yaml", Line: 10}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Suppressed (-want +got):\n%s", diff)
			}
			if len(res.Findings) != 1 {
				t.Errorf("got %d findings, want only the suppressed one:\n%s", len(res.Findings), messages(res.Findings))
			}
		})
	}
}

func TestSuppressionInvalid(t *testing.T) {
	tests := []struct {
		name string
		s    Suppression
		want []Finding
	}{
		{
			name: "missing reason",
			s:    suppression(0, "func-overlap", "klpc_b", "", "", ""),
			want: []Finding{{RuleID: "KLP0701", Rule: "suppression-invalid", Severity: SeverityError, Path: "plan.yaml", Line: 10,
				Message: "suppressions[0] (plan.yaml:10) has no reason: a suppression must say why its findings are accepted"}},
		},
		{
			name: "blank reason",
			s:    suppression(1, "func-overlap", "klpc_b", "", "", " \t"),
			want: []Finding{{RuleID: "KLP0701", Rule: "suppression-invalid", Severity: SeverityError, Path: "plan.yaml", Line: 16,
				Message: "suppressions[1] (plan.yaml:16) has no reason: a suppression must say why its findings are accepted"}},
		},
		{
			name: "missing rule",
			s:    suppression(0, "", "klpc_b", "", "", "accepted"),
			want: []Finding{{RuleID: "KLP0701", Rule: "suppression-invalid", Severity: SeverityError, Path: "plan.yaml", Line: 10,
				Message: "suppressions[0] (plan.yaml:10) has no rule: name the rule to suppress, for example func-overlap or KLP0201"}},
		},
		{
			name: "unknown rule",
			s:    suppression(0, "func-overlp", "klpc_b", "", "", "accepted"),
			want: []Finding{{RuleID: "KLP0701", Rule: "suppression-invalid", Severity: SeverityError, Path: "plan.yaml", Line: 11,
				Message: `suppressions[0].rule (plan.yaml:11) names no rule: "func-overlp" is neither a rule name nor a rule ID; klpcheck rules lists them`}},
		},
		{
			name: "gate rule",
			s:    suppression(0, "suppression-stale", "", "", "", "accepted"),
			want: []Finding{{RuleID: "KLP0701", Rule: "suppression-invalid", Severity: SeverityError, Path: "plan.yaml", Line: 11,
				Message: "suppressions[0].rule (plan.yaml:11) names KLP0702 suppression-stale, a rule of the gate itself, which cannot be suppressed: fix the suppression or baseline it reports on"}},
		},
		{
			name: "unknown rule and no reason",
			s:    suppression(0, "KLP0999", "", "", "", ""),
			want: []Finding{
				{RuleID: "KLP0701", Rule: "suppression-invalid", Severity: SeverityError, Path: "plan.yaml", Line: 10,
					Message: "suppressions[0] (plan.yaml:10) has no reason: a suppression must say why its findings are accepted"},
				{RuleID: "KLP0701", Rule: "suppression-invalid", Severity: SeverityError, Path: "plan.yaml", Line: 11,
					Message: `suppressions[0].rule (plan.yaml:11) names no rule: "KLP0999" is neither a rule name nor a rule ID; klpcheck rules lists them`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := overlapResult(t)
			ApplySuppressions(&res, []Suppression{tt.s})

			if res.Findings[0].Suppressed != nil {
				t.Errorf("an invalid suppression was applied: %+v", res.Findings[0].Suppressed)
			}
			if diff := cmp.Diff(tt.want, res.Findings[1:]); diff != "" {
				t.Errorf("gate findings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSuppressionStale(t *testing.T) {
	res := overlapResult(t)
	ApplySuppressions(&res, []Suppression{
		suppression(0, "func-overlap", "klpc_b", "", "", "accepted until the next cumulative patch"),
		suppression(1, "replace-reverts", "klpc_c", "ext4", "ext4_statfs", "the ext4 fix was reverted upstream"),
		suppression(2, "func-overlap", "", "", "", "not stale: matches the finding that suppressions[0] took"),
		// set-conflict runs only under replace-set, so under mainline a
		// suppression of it cannot match and is not stale.
		suppression(3, "set-conflict", "klpc_c", "", "", "for checks of this plan under replace-set"),
	})

	if got := res.Findings[0].Suppressed; got == nil || got.Line != 10 {
		t.Errorf("finding suppressed by %+v, want the first matching suppression, line 10", got)
	}
	want := []Finding{{
		RuleID: "KLP0702", Rule: "suppression-stale", Severity: SeverityWarning, Path: "plan.yaml", Line: 16,
		Message: "suppressions[1] (plan.yaml:16) matched no finding: the run reported no replace-reverts finding of module klpc_c, object ext4, function ext4_statfs; delete the suppression",
	}}
	if diff := cmp.Diff(want, res.Findings[1:]); diff != "" {
		t.Errorf("gate findings (-want +got):\n%s", diff)
	}
}

func TestSuppressionSkipsSuppressedAndGateFindings(t *testing.T) {
	res := overlapResult(t)
	byBaseline := &Suppressed{Kind: SuppressedByBaseline, Reason: "recorded in the baseline b.json", File: "b.json"}
	res.Findings[0].Suppressed = byBaseline
	res.Findings = append(res.Findings, gateFinding(baselineStale, "b.json", 0, "baseline entry findings[0] matched no finding"))

	ApplySuppressions(&res, []Suppression{suppression(0, "func-overlap", "", "", "", "accepted")})

	if res.Findings[0].Suppressed != byBaseline {
		t.Errorf("Suppressed = %+v, want the baseline's, which came first", res.Findings[0].Suppressed)
	}
	if res.Findings[1].Suppressed != nil {
		t.Errorf("gate finding suppressed by %+v", res.Findings[1].Suppressed)
	}
	if len(res.Findings) != 3 || res.Findings[2].Rule != "suppression-stale" {
		t.Errorf("want a suppression-stale finding after the two others, got:\n%s", messages(res.Findings))
	}
}

func TestValidateGateRules(t *testing.T) {
	check := func(*pass) {}
	gateRule := func() *Rule {
		return &Rule{
			ID: "KLP0799", Name: "gate-rule", Severity: SeverityNote,
			Title: "a title", Doc: "Detects.", Fix: "Fix it.", gate: true,
		}
	}
	tests := []struct {
		name   string
		modify func(r *Rule)
		want   string
	}{
		{"gate rule with a check", func(r *Rule) { r.checkFinal = check }, "a gate rule must have no check function"},
		{"gate rule outside KLP07xx", func(r *Rule) { r.ID = "KLP0699" }, "IDs KLP07xx are for the gate rules"},
		{"KLP07xx rule with a check", func(r *Rule) { r.gate, r.checkFinal = false, check; r.Kernel = "Behaves." }, "IDs KLP07xx are for the gate rules"},
		{"gate rule with a Kernel fragment", func(r *Rule) { r.Kernel = "none" }, "Kernel must end with a full sentence"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gateRule()
			tt.modify(r)
			err := validateRules([]*Rule{r})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("validateRules() = %v, want an error containing %q", err, tt.want)
			}
		})
	}

	if err := validateRules([]*Rule{gateRule()}); err != nil {
		t.Errorf("validateRules(gate rule without Kernel) = %v, want nil", err)
	}
}

func TestGateRuleExplanationHasNoKernelSection(t *testing.T) {
	r, ok := LookupRule("suppression-invalid")
	if !ok {
		t.Fatal("suppression-invalid is not registered")
	}
	text := r.Explanation()
	if strings.Contains(text, "Kernel behaviour") {
		t.Errorf("Explanation() of a gate rule has a Kernel behaviour section:\n%s", text)
	}
	if !strings.Contains(text, "How to fix it") {
		t.Errorf("Explanation() lacks How to fix it:\n%s", text)
	}
}
