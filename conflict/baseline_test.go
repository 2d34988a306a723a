package conflict

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// overlapFinding is a func-overlap finding as Check reports it.
func overlapFinding() Finding {
	return Finding{
		RuleID:    "KLP0201",
		Rule:      "func-overlap",
		Severity:  SeverityWarning,
		Message:   "vmlinux:cmdline_proc_show is also patched by klpc_a and klpc_c",
		Module:    "klpc_b",
		Path:      "build/klpc_b.ko",
		Object:    "vmlinux",
		Function:  "cmdline_proc_show",
		HasSympos: true,
		Step:      2,
		Related: []Related{
			{Module: "klpc_c", Path: "build/klpc_c.ko", Note: "its cmdline_proc_show is shadowed"},
			{Module: "klpc_a", Path: "build/klpc_a.ko"},
		},
	}
}

func TestFingerprint(t *testing.T) {
	base := overlapFinding()
	want := Fingerprint(base)

	// The fingerprint is stored in baseline files and SARIF logs, so its
	// value must not change without a new BaselineSchemaVersion.
	const pinned = "c824db2f90ba14250b8fbfe5e363fde13e47ebc36c95a1fd9125642770f8aba3"
	if want != pinned {
		t.Errorf("Fingerprint = %s, want %s; a change needs a new baseline schema version", want, pinned)
	}

	sameFingerprint := map[string]func(*Finding){
		"message":         func(f *Finding) { f.Message = "reworded" },
		"path":            func(f *Finding) { f.Path = "renamed/klpc_b.ko" },
		"step":            func(f *Finding) { f.Step = 7 },
		"severity":        func(f *Finding) { f.Severity = SeverityError },
		"related order":   func(f *Finding) { f.Related[0], f.Related[1] = f.Related[1], f.Related[0] },
		"related paths":   func(f *Finding) { f.Related[0].Path, f.Related[1].Note = "", "changed" },
		"repeated module": func(f *Finding) { f.Related = append(f.Related, Related{Module: "klpc_a"}) },
		"suppression":     func(f *Finding) { f.Suppressed = &Suppressed{Kind: SuppressedByPlan, Reason: "r"} },
		"sympos 0 for 1":  func(f *Finding) { f.Sympos = 1 - f.Sympos },
	}
	for name, change := range sameFingerprint {
		f := overlapFinding()
		change(&f)
		if got := Fingerprint(f); got != want {
			t.Errorf("fingerprint changed with %s: %s, want %s", name, got, want)
		}
	}

	newFingerprint := map[string]func(*Finding){
		"rule":            func(f *Finding) { f.RuleID = "KLP0301" },
		"module":          func(f *Finding) { f.Module = "klpc_other" },
		"object":          func(f *Finding) { f.Object = "ext4" },
		"function":        func(f *Finding) { f.Function = "meminfo_proc_show" },
		"sympos":          func(f *Finding) { f.Sympos = 2 },
		"no sympos":       func(f *Finding) { f.HasSympos = false },
		"related removed": func(f *Finding) { f.Related = f.Related[:1] },
		"related renamed": func(f *Finding) { f.Related[0].Module = "klpc_d" },
		"no related":      func(f *Finding) { f.Related = nil },
	}
	for name, change := range newFingerprint {
		f := overlapFinding()
		change(&f)
		if Fingerprint(f) == want {
			t.Errorf("fingerprint did not change with %s", name)
		}
	}
}

// Gate findings have no module, object or function, so only their message
// distinguishes two of them.
func TestFingerprintOfGateFindings(t *testing.T) {
	a := gateFinding(suppressionStale, "plan.yaml", 10, "suppressions[0] (plan.yaml:10) matched no finding")
	b := gateFinding(suppressionStale, "plan.yaml", 16, "suppressions[1] (plan.yaml:16) matched no finding")
	if Fingerprint(a) == Fingerprint(b) {
		t.Error("two suppression-stale findings share a fingerprint")
	}
}

func TestNewBaseline(t *testing.T) {
	second := overlapFinding()
	second.Step = 5
	second.Message = "the same overlap, reported again"
	module := Finding{RuleID: "KLP0106", Rule: "replace-unknown", Severity: SeverityWarning, Message: "unknown", Module: "klpc_a", Step: 1}
	planSuppressed := overlapFinding()
	planSuppressed.Module = "klpc_planned"
	planSuppressed.Suppressed = &Suppressed{Kind: SuppressedByPlan, Reason: "accepted", File: "plan.yaml", Line: 3}
	baselined := module
	baselined.Module = "klpc_old"
	baselined.Suppressed = &Suppressed{Kind: SuppressedByBaseline, File: "old.json"}
	gate := gateFinding(suppressionStale, "plan.yaml", 10, "suppressions[0] matched no finding")

	b := NewBaseline("new.json", []Finding{overlapFinding(), module, second, planSuppressed, baselined, gate})

	want := Baseline{File: "new.json", Entries: []BaselineEntry{
		{Fingerprint: Fingerprint(module), Count: 1, RuleID: "KLP0106", Rule: "replace-unknown", Module: "klpc_a", Related: []string{}},
		{Fingerprint: Fingerprint(overlapFinding()), Count: 2, RuleID: "KLP0201", Rule: "func-overlap", Module: "klpc_b",
			Object: "vmlinux", Function: "cmdline_proc_show", HasSympos: true, Related: []string{"klpc_a", "klpc_c"}},
		{Fingerprint: Fingerprint(baselined), Count: 1, RuleID: "KLP0106", Rule: "replace-unknown", Module: "klpc_old", Related: []string{}},
	}}
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("NewBaseline (-want +got):\n%s", diff)
	}
}

func TestApplyBaseline(t *testing.T) {
	overlap := overlapFinding()
	other := overlapFinding()
	other.Function = "meminfo_proc_show"
	removed := overlapFinding()
	removed.Module = "klpc_removed"
	baseline := NewBaseline("klpcheck-baseline.json", []Finding{overlap, removed})
	recorded := &Suppressed{Kind: SuppressedByBaseline, Reason: "recorded in the baseline klpcheck-baseline.json", File: "klpcheck-baseline.json"}

	t.Run("hit", func(t *testing.T) {
		res := Result{Findings: []Finding{overlap, removed}}
		ApplyBaseline(&res, baseline)
		for i, f := range res.Findings {
			if diff := cmp.Diff(recorded, f.Suppressed); diff != "" {
				t.Errorf("finding %d Suppressed (-want +got):\n%s", i, diff)
			}
		}
		if len(res.Findings) != 2 {
			t.Errorf("got findings beyond the two recorded:\n%s", messages(res.Findings))
		}
	})

	t.Run("miss", func(t *testing.T) {
		res := Result{Findings: []Finding{overlap, other, removed, overlap}}
		ApplyBaseline(&res, baseline)
		suppressed := []bool{}
		for _, f := range res.Findings {
			suppressed = append(suppressed, f.Suppressed != nil)
		}
		// other is new, and the second overlap goes beyond the count of 1.
		if diff := cmp.Diff([]bool{true, false, true, false}, suppressed); diff != "" {
			t.Errorf("suppressed findings (-want +got):\n%s", diff)
		}
	})

	t.Run("disappeared entry", func(t *testing.T) {
		res := Result{Findings: []Finding{overlap}}
		ApplyBaseline(&res, baseline)
		want := []Finding{{
			RuleID: "KLP0703", Rule: "baseline-stale", Severity: SeverityNote, Path: "klpcheck-baseline.json",
			Message: "baseline entry findings[1] (KLP0201 func-overlap of klpc_removed for vmlinux:cmdline_proc_show,0) in klpcheck-baseline.json matched no finding: write the baseline again with --write-baseline",
		}}
		if diff := cmp.Diff(want, res.Findings[1:]); diff != "" {
			t.Errorf("gate findings (-want +got):\n%s", diff)
		}
	})

	t.Run("fewer than the count", func(t *testing.T) {
		twice := NewBaseline("b.json", []Finding{overlap, overlap})
		res := Result{Findings: []Finding{overlap}}
		ApplyBaseline(&res, twice)
		if len(res.Findings) != 2 {
			t.Fatalf("want the finding and one baseline-stale finding, got:\n%s", messages(res.Findings))
		}
		checkMessage(t, res.Findings[1], "findings[0]", "matched 1 of its 2 findings")
	})

	t.Run("plan suppression first", func(t *testing.T) {
		byPlan := &Suppressed{Kind: SuppressedByPlan, Reason: "accepted", File: "plan.yaml", Line: 4}
		f := overlap
		f.Suppressed = byPlan
		res := Result{Findings: []Finding{f, removed}}
		ApplyBaseline(&res, baseline)
		if res.Findings[0].Suppressed != byPlan {
			t.Errorf("Suppressed = %+v, want the plan suppression", res.Findings[0].Suppressed)
		}
		if len(res.Findings) != 3 || res.Findings[2].Rule != "baseline-stale" {
			t.Errorf("want a baseline-stale finding for the entry the plan took, got:\n%s", messages(res.Findings))
		}
	})
}

func TestBaselineEncode(t *testing.T) {
	module := Finding{RuleID: "KLP0106", Rule: "replace-unknown", Module: "klpc_a"}
	b := NewBaseline("b.json", []Finding{overlapFinding(), module})

	var buf bytes.Buffer
	if err := b.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	want := `{
  "schema_version": 2,
  "findings": [
    {
      "fingerprint": "` + Fingerprint(module) + `",
      "count": 1,
      "id": "KLP0106",
      "name": "replace-unknown",
      "module": "klpc_a",
      "object": null,
      "function": null,
      "sympos": null,
      "related": []
    },
    {
      "fingerprint": "` + Fingerprint(overlapFinding()) + `",
      "count": 1,
      "id": "KLP0201",
      "name": "func-overlap",
      "module": "klpc_b",
      "object": "vmlinux",
      "function": "cmdline_proc_show",
      "sympos": 0,
      "related": [
        "klpc_a",
        "klpc_c"
      ]
    }
  ]
}
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("Encode (-want +got):\n%s", diff)
	}

	decoded, err := DecodeBaseline(buf.Bytes(), "b.json")
	if err != nil {
		t.Fatalf("DecodeBaseline: %v", err)
	}
	if diff := cmp.Diff(b, decoded); diff != "" {
		t.Errorf("DecodeBaseline(Encode(b)) (-want +got):\n%s", diff)
	}
}

func TestEncodeEmptyBaseline(t *testing.T) {
	var buf bytes.Buffer
	if err := NewBaseline("b.json", nil).Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"schema_version\": 2,\n  \"findings\": []\n}\n"; buf.String() != want {
		t.Errorf("Encode = %q, want %q", buf.String(), want)
	}
}

func TestDecodeBaselineErrors(t *testing.T) {
	fp := strings.Repeat("ab", 32)
	tests := []struct {
		name, data, want string
	}{
		{"not JSON", `schema_version: 1`, "b.json: invalid baseline: invalid character 's' looking for beginning of value"},
		{"trailing data", `{"schema_version": 2, "findings": []} {}`, "b.json: invalid baseline: data after the JSON object"},
		{"list", `[]`, "b.json: invalid baseline: json: cannot unmarshal array into Go value of type conflict.baselineJSON"},
		{"no schema version", `{"findings": []}`, "b.json: unsupported baseline schema_version 0: this klpcheck reads version 2; write the baseline again with --write-baseline"},
		{"earlier schema version", `{"schema_version": 1, "findings": []}`, "b.json: unsupported baseline schema_version 1: this klpcheck reads version 2; write the baseline again with --write-baseline"},
		{"later schema version", `{"schema_version": 3, "findings": []}`, "b.json: unsupported baseline schema_version 3: this klpcheck reads version 2; write the baseline again with --write-baseline"},
		{
			"bad entries",
			`{"schema_version": 2, "findings": [{"fingerprint": "ABC", "count": 1}, {"fingerprint": "` + fp + `", "count": 0}]}`,
			"b.json: findings[0]: invalid fingerprint \"ABC\": want 64 lowercase hex digits as --write-baseline writes them\n" +
				"b.json: findings[1]: invalid count 0: want 1 or more",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeBaseline([]byte(tt.data), "b.json")
			if err == nil || err.Error() != tt.want {
				t.Errorf("DecodeBaseline error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestDecodeBaselineIgnoresUnknownKeys(t *testing.T) {
	fp := strings.Repeat("0f", 32)
	data := `{"schema_version": 2, "written_by": "a later klpcheck", "findings": [{"fingerprint": "` + fp + `", "count": 3, "id": "KLP0201", "first_seen": "2026-09-01"}]}`
	b, err := DecodeBaseline([]byte(data), "b.json")
	if err != nil {
		t.Fatal(err)
	}
	want := Baseline{File: "b.json", Entries: []BaselineEntry{{Fingerprint: fp, Count: 3, RuleID: "KLP0201"}}}
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("DecodeBaseline (-want +got):\n%s", diff)
	}
}
