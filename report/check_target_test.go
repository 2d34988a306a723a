package report

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klpcheck/klpcheck/conflict"
)

// targetCheck is a check against a System.map and a Module.symvers, with
// the "not checked" notes that such inputs give.
func targetCheck() Check {
	return Check{
		Result: conflict.Result{
			Semantics: conflict.Mainline,
			Findings: []conflict.Finding{{
				RuleID:    "KLP0601",
				Rule:      "symbol-not-found",
				Severity:  conflict.SeverityError,
				Message:   "target vmlinux has no symbol klpc_no_such_function: the load fails with -EINVAL (\"symbol 'klpc_no_such_function' not found in symbol table\")",
				Module:    "klpc_missing",
				Path:      "modules/klpc_missing.ko",
				Object:    "vmlinux",
				Function:  "klpc_no_such_function",
				HasSympos: true,
				Step:      1,
			}},
			Steps: []conflict.Step{{Index: 1, Module: "klpc_missing", Path: "modules/klpc_missing.ko", Mode: conflict.Mode{Source: "data"}, Refused: true, Errno: "EINVAL", RefusedBy: "symbol-not-found"}},
			Notes: []string{"not-ftraceable not checked for vmlinux: System.map has no ftrace records"},
		},
		Target: &TargetInfo{
			Release:     "6.1.0-57-amd64",
			ReleaseFrom: "target/System.map-6.1.0-57-amd64",
			Inputs: []TargetInput{
				{Path: "target/System.map-6.1.0-57-amd64", Kind: "system-map"},
				{Path: "target/Module.symvers", Kind: "module-symvers"},
			},
		},
		Rules: checkRules(),
	}
}

func TestCheckTargetGolden(t *testing.T) {
	for _, format := range []Format{FormatText, FormatJSON} {
		t.Run(string(format), func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteCheck(&buf, format, targetCheck()); err != nil {
				t.Fatalf("WriteCheck: %v", err)
			}
			compareGolden(t, filepath.Join("testdata", "check", "target."+string(format)), buf.Bytes())
		})
	}
}

func TestCheckTargetReleaseUnknown(t *testing.T) {
	c := targetCheck()
	c.Target.Release, c.Target.ReleaseFrom = "", ""

	var buf bytes.Buffer
	if err := WriteCheckText(&buf, c); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf.Bytes(), []byte("\nTarget kernel: release unknown\n")) {
		t.Errorf("text output lacks the unknown release:\n%s", buf.String())
	}

	doc := decodeJSON(t, writeJSONTo, c)
	target, ok := doc["target"].(map[string]any)
	if !ok {
		t.Fatalf("target = %#v, want an object", doc["target"])
	}
	if target["release"] != nil {
		t.Errorf("target.release = %#v, want null", target["release"])
	}
}

func TestCheckJSONWithoutTarget(t *testing.T) {
	doc := decodeJSON(t, writeJSONTo, emptyCheck())
	target, present := doc["target"]
	if !present || target != nil {
		t.Errorf("target = %#v (present %v), want null", target, present)
	}
}

func TestCheckTargetNoInputRead(t *testing.T) {
	c := targetCheck()
	c.Target.Inputs = nil

	var buf bytes.Buffer
	if err := WriteCheckText(&buf, c); err != nil {
		t.Fatal(err)
	}
	want := "Target kernel: 6.1.0-57-amd64 (from target/System.map-6.1.0-57-amd64)\n  no target input could be read\n\n"
	if !strings.Contains(buf.String(), want) {
		t.Errorf("text output lacks %q:\n%s", want, buf.String())
	}
}

// TestCheckTextFindingsNoneWithNotes checks the line that replaces the
// findings when there are none, with and without simulation notes.
func TestCheckTextFindingsNoneWithNotes(t *testing.T) {
	for _, tt := range []struct {
		notes []string
		want  string
	}{
		{nil, "\nFindings: none\n"},
		{[]string{"a"}, "\nFindings: none, but the simulation note below says what was assumed or not checked\n"},
		{[]string{"a", "b"}, "\nFindings: none, but the 2 simulation notes below say what was assumed or not checked\n"},
	} {
		c := targetCheck()
		c.Result.Findings, c.Result.Notes = nil, tt.notes

		var buf bytes.Buffer
		if err := WriteCheckText(&buf, c); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), tt.want) {
			t.Errorf("with %d notes, text output lacks %q:\n%s", len(tt.notes), tt.want, buf.String())
		}
	}
}

// TestCheckTextRepeatedModule checks that a finding names its step when
// two plan steps load modules of the same name, and only then.
func TestCheckTextRepeatedModule(t *testing.T) {
	finding := func(step int) conflict.Finding {
		return conflict.Finding{RuleID: "KLP0601", Rule: "symbol-not-found", Severity: conflict.SeverityError, Message: "m", Module: "klpc_multi", Step: step}
	}
	c := targetCheck()
	c.Result.Findings = []conflict.Finding{finding(1), finding(2), {RuleID: "KLP0601", Rule: "symbol-not-found", Severity: conflict.SeverityError, Message: "m", Module: "klpc_missing", Step: 3}}
	c.Result.Steps = []conflict.Step{
		{Index: 1, Module: "klpc_multi", Path: "6.12/klpc_multi.ko"},
		{Index: 2, Module: "klpc_multi", Path: "6.1/klpc_multi.ko"},
		{Index: 3, Module: "klpc_missing", Path: "6.1/klpc_missing.ko"},
	}

	var buf bytes.Buffer
	if err := WriteCheckText(&buf, c); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"  error KLP0601 symbol-not-found: klpc_multi (step 1): m\n",
		"  error KLP0601 symbol-not-found: klpc_multi (step 2): m\n",
		"  error KLP0601 symbol-not-found: klpc_missing: m\n",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, buf.String())
		}
	}
}
