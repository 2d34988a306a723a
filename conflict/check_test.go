package conflict

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/klpcheck/klpcheck/livepatch"
)

// The acceptance cases: each plan must give exactly these findings.

func TestCheckOverlapNewestWins(t *testing.T) {
	a := module("klpc_a", vmlinux("cmdline_proc_show"))
	b := module("klpc_b", vmlinux("cmdline_proc_show"))

	res := Check(Plan{Patches: []Patch{nonReplace(a), nonReplace(b)}})

	checkFindings(t, res, want{
		Rule: "func-overlap", Severity: SeverityWarning, Step: 2, Module: "klpc_b",
		Object: "vmlinux", Function: "cmdline_proc_show", Related: []string{"klpc_a"},
	})
	if len(res.Findings) == 1 {
		checkMessage(t, res.Findings[0], "klpc_b's code runs")
	}
	if diff := cmp.Diff([]string{"vmlinux:cmdline_proc_show,1=klpc_b"}, effectiveMap(res)); diff != "" {
		t.Errorf("effective map mismatch (-want +got):\n%s", diff)
	}
}

func TestCheckReplaceRevertsAndDisables(t *testing.T) {
	a := module("klpc_a", vmlinux("f"))
	c := module("klpc_c", vmlinux("g"))

	res := Check(Plan{Patches: []Patch{nonReplace(a), replace(c)}})

	checkFindings(t, res,
		want{Rule: "replace-reverts", Severity: SeverityWarning, Step: 2, Module: "klpc_c", Object: "vmlinux", Function: "f", Related: []string{"klpc_a"}},
		want{Rule: "replace-disables", Severity: SeverityWarning, Step: 2, Module: "klpc_c", Related: []string{"klpc_a"}},
	)
	if len(res.Findings) == 2 {
		checkMessage(t, res.Findings[0], "fix of klpc_a is lost")
	}

	wantStep := Step{
		Index:    2,
		Module:   "klpc_c",
		Path:     "klpc_c.ko",
		Mode:     Mode{Replace: true, Value: 1, Source: "plan"},
		Patched:  []FuncRef{{Object: "vmlinux", Function: "g", Module: "klpc_c"}},
		Reverted: []FuncRef{{Object: "vmlinux", Function: "f", Module: "klpc_a"}},
		Disabled: []string{"klpc_a"},
	}
	if diff := cmp.Diff(wantStep, res.Steps[1]); diff != "" {
		t.Errorf("step 2 mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"vmlinux:g,1=klpc_c"}, effectiveMap(res)); diff != "" {
		t.Errorf("effective map mismatch (-want +got):\n%s", diff)
	}
}

func TestCheckTagConflictRefusesLater(t *testing.T) {
	a := module("klpc_a", vmlinux("cmdline_proc_show"))
	b := module("klpc_b", vmlinux("cmdline_proc_show"))

	res := Check(Plan{Semantics: Tag, Patches: []Patch{tagged(a, 1), tagged(b, 2)}})

	checkFindings(t, res, want{
		Rule: "set-conflict", Severity: SeverityError, Step: 2, Module: "klpc_b",
		Object: "vmlinux", Function: "cmdline_proc_show", Related: []string{"klpc_a"},
	})
	checkLoaded(t, res, 1)
	checkRefused(t, res, 2, "EINVAL", "set-conflict")
	if diff := cmp.Diff([]string{"vmlinux:cmdline_proc_show,1=klpc_a"}, effectiveMap(res)); diff != "" {
		t.Errorf("effective map mismatch (-want +got):\n%s", diff)
	}
}

func TestCheckStateVersionDowngrade(t *testing.T) {
	a := withStates(module("klpc_a", vmlinux("f")), livepatch.State{ID: 7, Version: 2})
	b := withStates(module("klpc_b", vmlinux("f")), livepatch.State{ID: 7, Version: 1})

	res := Check(Plan{Patches: []Patch{nonReplace(a), replace(b)}})

	checkFindings(t, res, want{
		Rule: "state-incompatible", Severity: SeverityError, Step: 2, Module: "klpc_b", Related: []string{"klpc_a"},
	})
	checkRefused(t, res, 2, "EINVAL", "state-incompatible")
	if diff := cmp.Diff([]string{"vmlinux:f,1=klpc_a"}, effectiveMap(res)); diff != "" {
		t.Errorf("effective map mismatch (-want +got):\n%s", diff)
	}
}

func TestCheckPartlyShadowedPatch(t *testing.T) {
	a := module("klpc_a", vmlinux("f", "g"))
	b := module("klpc_b", vmlinux("g"))

	res := Check(Plan{Patches: []Patch{nonReplace(a), nonReplace(b)}})

	checkFindings(t, res,
		want{Rule: "stack-order-dependent", Severity: SeverityWarning, Step: 1, Module: "klpc_a", Object: "vmlinux", Function: "g", Related: []string{"klpc_b"}},
		want{Rule: "func-overlap", Severity: SeverityWarning, Step: 2, Module: "klpc_b", Object: "vmlinux", Function: "g", Related: []string{"klpc_a"}},
	)
	if len(res.Findings) == 2 {
		checkMessage(t, res.Findings[0], "its vmlinux:g is shadowed by klpc_b", "its vmlinux:f still runs")
	}
}

func TestCheckStartsFromLiveState(t *testing.T) {
	n := module("klpc_n", vmlinux("g"))
	live := &LiveState{
		Order:   OrderStackOrder,
		Patches: []LivePatch{livePatch("klpc_live", Yes, "f")},
	}

	res := Check(Plan{Live: live, Patches: []Patch{nonReplace(n)}})

	checkFindings(t, res)
	if diff := cmp.Diff([]string{"vmlinux:f,1=klpc_live", "vmlinux:g,1=klpc_n"}, effectiveMap(res)); diff != "" {
		t.Errorf("effective map mismatch (-want +got):\n%s", diff)
	}
	wantSteps := []Step{
		{Module: "klpc_live", Live: true, Mode: Mode{Replace: true, Value: 1, Source: "live"},
			Patched: []FuncRef{{Object: "vmlinux", Function: "f", Sympos: 1, Module: "klpc_live"}}},
		{Index: 1, Module: "klpc_n", Path: "klpc_n.ko", Mode: Mode{Source: "plan"},
			Patched: []FuncRef{{Object: "vmlinux", Function: "g", Module: "klpc_n"}}},
	}
	if diff := cmp.Diff(wantSteps, res.Steps); diff != "" {
		t.Errorf("steps mismatch (-want +got):\n%s", diff)
	}
}

func TestCheckLiveReplacedByPlan(t *testing.T) {
	r := module("klpc_r", vmlinux("g"))
	live := &LiveState{
		Order:   OrderStackOrder,
		Patches: []LivePatch{livePatch("klpc_hotfix", No, "f")},
	}

	res := Check(Plan{Live: live, Patches: []Patch{replace(r)}})

	checkFindings(t, res,
		want{Rule: "replace-reverts", Severity: SeverityWarning, Step: 1, Module: "klpc_r", Object: "vmlinux", Function: "f", Related: []string{"klpc_hotfix"}},
		want{Rule: "replace-disables", Severity: SeverityWarning, Step: 1, Module: "klpc_r", Related: []string{"klpc_hotfix"}},
	)
	if diff := cmp.Diff([]string{"vmlinux:g,1=klpc_r"}, effectiveMap(res)); diff != "" {
		t.Errorf("effective map mismatch (-want +got):\n%s", diff)
	}
}

func TestCheckLiveOverlapIsStepZero(t *testing.T) {
	live := &LiveState{
		Order: OrderStackOrder,
		Patches: []LivePatch{
			livePatch("klpc_one", No, "f"),
			livePatch("klpc_two", No, "f"),
		},
	}

	res := Check(Plan{Live: live})

	checkFindings(t, res, want{
		Rule: "func-overlap", Severity: SeverityWarning, Step: 0, Module: "klpc_two",
		Object: "vmlinux", Function: "f", Related: []string{"klpc_one"},
	})
}

func TestCheckFindingsSorted(t *testing.T) {
	a := module("klpc_a", vmlinux("f", "g", "h"))
	b := module("klpc_b", vmlinux("h", "g"))
	c := module("klpc_c", obj("ext4", fn("ext4_attr_store")))

	res := Check(Plan{Patches: []Patch{nonReplace(a), nonReplace(b), replace(c)}})

	checkFindings(t, res,
		want{Rule: "func-overlap", Severity: SeverityWarning, Step: 2, Module: "klpc_b", Object: "vmlinux", Function: "g", Related: []string{"klpc_a"}},
		want{Rule: "func-overlap", Severity: SeverityWarning, Step: 2, Module: "klpc_b", Object: "vmlinux", Function: "h", Related: []string{"klpc_a"}},
		want{Rule: "replace-reverts", Severity: SeverityWarning, Step: 3, Module: "klpc_c", Object: "vmlinux", Function: "f", Related: []string{"klpc_a"}},
		want{Rule: "replace-reverts", Severity: SeverityWarning, Step: 3, Module: "klpc_c", Object: "vmlinux", Function: "g", Related: []string{"klpc_a", "klpc_b"}},
		want{Rule: "replace-reverts", Severity: SeverityWarning, Step: 3, Module: "klpc_c", Object: "vmlinux", Function: "h", Related: []string{"klpc_a", "klpc_b"}},
		want{Rule: "replace-disables", Severity: SeverityWarning, Step: 3, Module: "klpc_c", Related: []string{"klpc_a", "klpc_b"}},
	)
}

func TestCheckEmptyPlan(t *testing.T) {
	res := Check(Plan{})

	checkFindings(t, res)
	if res.Semantics != Mainline {
		t.Errorf("semantics = %q, want %q", res.Semantics, Mainline)
	}
	if len(res.Steps) != 0 || len(res.Effective) != 0 || len(res.Notes) != 0 {
		t.Errorf("empty plan gave steps %v, effective %v, notes %q", res.Steps, res.Effective, res.Notes)
	}
}

func TestStepPatchedPrevious(t *testing.T) {
	a := module("klpc_a", vmlinux("f", "g"))
	b := module("klpc_b", vmlinux("g"))
	c := module("klpc_c", vmlinux("f", "h"))

	res := Check(Plan{Patches: []Patch{nonReplace(a), nonReplace(b), replace(c)}})

	want := []FuncRef{
		{Object: "vmlinux", Function: "f", Module: "klpc_c", Previous: "klpc_a"},
		{Object: "vmlinux", Function: "h", Module: "klpc_c"},
	}
	if diff := cmp.Diff(want, res.Steps[2].Patched); diff != "" {
		t.Errorf("step 3 patched (-want +got):\n%s", diff)
	}
	wantB := []FuncRef{{Object: "vmlinux", Function: "g", Module: "klpc_b", Previous: "klpc_a"}}
	if diff := cmp.Diff(wantB, res.Steps[1].Patched); diff != "" {
		t.Errorf("step 2 patched (-want +got):\n%s", diff)
	}
}
