package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/klpcheck/klpcheck/conflict"
)

// gateCheck is the fixture of the gate step: a finding that counts, one
// suppressed by the plan and one by a baseline, findings of two gate rules,
// an input error and a note. Names and messages carry the characters that
// workflow commands escape.
func gateCheck() Check {
	rules := checkRules()
	for _, id := range []string{"KLP0701", "KLP0703"} {
		r, ok := conflict.LookupRule(id)
		if !ok {
			panic("gate rule " + id + " is not registered")
		}
		rules = append(rules, r)
	}

	return Check{
		Result: conflict.Result{
			Semantics: conflict.Mainline,
			Findings: []conflict.Finding{
				{
					RuleID:    "KLP0301",
					Rule:      "replace-reverts",
					Severity:  conflict.SeverityWarning,
					Message:   "vmlinux:version_proc_show reverts to the original code: 100% of klpc_multi's fix is lost",
					Module:    "klpc_cumulative",
					Path:      "build/klpc_cumulative,v2:rc1.ko",
					Object:    "vmlinux",
					Function:  "version_proc_show",
					HasSympos: true,
					Step:      3,
					Related:   []conflict.Related{{Module: "klpc_multi", Note: "its fix for version_proc_show is lost"}},
				},
				{
					RuleID:    "KLP0301",
					Rule:      "replace-reverts",
					Severity:  conflict.SeverityWarning,
					Message:   "ext4:ext4_statfs reverts to the original code",
					Module:    "klpc_cumulative",
					Path:      "build/klpc_cumulative.ko",
					Object:    "ext4",
					Function:  "ext4_statfs",
					HasSympos: true,
					Step:      3,
					Suppressed: &conflict.Suppressed{
						Kind:   conflict.SuppressedByPlan,
						Reason: "the ext4 fix was reverted upstream",
						File:   "plan.yaml",
						Line:   12,
					},
				},
				{
					RuleID:   "KLP0105",
					Rule:     "replace-unknown",
					Severity: conflict.SeverityNote,
					Message:  "klpc_fs does not state its replace mode",
					Module:   "klpc_fs",
					Path:     "build/klpc_fs.ko",
					Step:     4,
					Suppressed: &conflict.Suppressed{
						Kind:   conflict.SuppressedByBaseline,
						Reason: "recorded in the baseline klpcheck-baseline.json",
						File:   "klpcheck-baseline.json",
					},
				},
				{
					RuleID:   "KLP0701",
					Rule:     "suppression-invalid",
					Severity: conflict.SeverityError,
					Message:  "suppressions[1] (plan.yaml:17) has no reason: a suppression must say why its findings are accepted",
					Path:     "plan.yaml",
					Line:     17,
				},
				{
					RuleID:   "KLP0703",
					Rule:     "baseline-stale",
					Severity: conflict.SeverityNote,
					Message:  "baseline entry findings[0] (KLP0201 func-overlap of klpc_g for vmlinux:loadavg_proc_show,0) in klpcheck-baseline.json matched no finding: write the baseline again with --write-baseline",
					Path:     "klpcheck-baseline.json",
				},
			},
			Notes: []string{"live snapshot snap: patch order taken from proc/modules"},
		},
		Errors: []InputError{{File: "build/broken.ko", Reason: "read ELF header: unexpected EOF"}},
		Rules:  rules,
	}
}

func TestGitHubEscape(t *testing.T) {
	tests := []struct {
		in, data, property string
	}{
		{"plain text", "plain text", "plain text"},
		{"100%", "100%25", "100%25"},
		{"%0A stays text", "%250A stays text", "%250A stays text"},
		{"two\nlines\r\n", "two%0Alines%0D%0A", "two%0Alines%0D%0A"},
		{"a,b:c", "a,b:c", "a%2Cb%3Ac"},
		{"::error::x", "::error::x", "%3A%3Aerror%3A%3Ax"},
	}
	for _, tt := range tests {
		if got := githubEscapeData(tt.in); got != tt.data {
			t.Errorf("githubEscapeData(%q) = %q, want %q", tt.in, got, tt.data)
		}
		if got := githubEscapeProperty(tt.in); got != tt.property {
			t.Errorf("githubEscapeProperty(%q) = %q, want %q", tt.in, got, tt.property)
		}
	}
}

func TestGitHubAnnotations(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteCheckGitHub(&buf, gateCheck()); err != nil {
		t.Fatal(err)
	}

	var commands []string
	for _, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		if strings.HasPrefix(line, "::") {
			commands = append(commands, line)
		}
	}
	want := []string{
		"::error file=build/broken.ko,title=klpcheck%3A input could not be analysed::read ELF header: unexpected EOF",
		"::warning file=build/klpc_cumulative%2Cv2%3Arc1.ko,title=KLP0301 replace-reverts::klpc_cumulative: vmlinux:version_proc_show,0: vmlinux:version_proc_show reverts to the original code: 100%25 of klpc_multi's fix is lost (related: klpc_multi)%0A- klpc_multi: its fix for version_proc_show is lost",
		"::error file=plan.yaml,line=17,title=KLP0701 suppression-invalid::suppressions[1] (plan.yaml:17) has no reason: a suppression must say why its findings are accepted",
		"::notice file=klpcheck-baseline.json,title=KLP0703 baseline-stale::baseline entry findings[0] (KLP0201 func-overlap of klpc_g for vmlinux:loadavg_proc_show,0) in klpcheck-baseline.json matched no finding: write the baseline again with --write-baseline",
	}
	if diff := cmp.Diff(want, commands); diff != "" {
		t.Errorf("workflow commands (-want +got):\n%s", diff)
	}
}

func TestGitHubFindingWithoutFile(t *testing.T) {
	c := emptyCheck()
	c.Result.Findings = []conflict.Finding{{
		RuleID:   "KLP0230",
		Rule:     "object-not-loaded",
		Severity: conflict.SeverityWarning,
		Message:  "ext4 is not loaded",
		Module:   "klpc_live",
	}}

	tests := []struct {
		planPath string
		want     string
	}{
		{"", "::warning title=KLP0230 object-not-loaded::klpc_live: ext4 is not loaded\n"},
		{"deploy/plan.yaml", "::warning file=deploy/plan.yaml,title=KLP0230 object-not-loaded::klpc_live: ext4 is not loaded\n"},
	}
	for _, tt := range tests {
		c.PlanPath = tt.planPath
		var buf bytes.Buffer
		if err := WriteCheckGitHub(&buf, c); err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(buf.String(), "\n")
		if got := first + "\n"; got != tt.want {
			t.Errorf("plan %q: first line = %q, want %q", tt.planPath, got, tt.want)
		}
	}
}

// A name read from a module file must not start a workflow command of its
// own, neither in an annotation nor on a plain log line.
func TestGitHubHostileNames(t *testing.T) {
	c := emptyCheck()
	hostile := "evil\n::error file=x::injected\r\n"
	c.Result.Findings = []conflict.Finding{
		{RuleID: "KLP0230", Rule: "object-not-loaded", Severity: conflict.SeverityWarning, Message: "not loaded", Module: hostile, Path: hostile},
		{
			RuleID: "KLP0230", Rule: "object-not-loaded", Severity: conflict.SeverityWarning, Message: "not loaded", Module: hostile,
			Suppressed: &conflict.Suppressed{Kind: conflict.SuppressedByPlan, Reason: hostile, File: "plan.yaml", Line: 3},
		},
	}
	c.Result.Notes = []string{hostile}

	var buf bytes.Buffer
	if err := WriteCheckGitHub(&buf, c); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d lines, want 4 (annotation, suppressed, note, summary):\n%s", len(lines), buf.String())
	}
	for i, line := range lines[1:] {
		if strings.HasPrefix(line, "::") {
			t.Errorf("plain line %d starts a workflow command: %q", i+2, line)
		}
	}
	wantAnnotation := `::warning file=evil%0A%3A%3Aerror file=x%3A%3Ainjected%0D%0A,title=KLP0230 object-not-loaded::"evil\n::error file=x::injected\r\n": not loaded`
	if lines[0] != wantAnnotation {
		t.Errorf("annotation = %q, want %q", lines[0], wantAnnotation)
	}
}

func TestGitHubWriteErrors(t *testing.T) {
	counter := &failingWriter{okWrites: 1 << 30}
	if err := WriteCheckGitHub(counter, gateCheck()); err != nil {
		t.Fatal(err)
	}
	for ok := 0; ok < counter.calls; ok++ {
		if err := WriteCheckGitHub(&failingWriter{okWrites: ok}, gateCheck()); err == nil {
			t.Errorf("write %d of %d failing: got no error", ok+1, counter.calls)
		}
	}
}
