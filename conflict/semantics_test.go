package conflict

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/klpcheck/klpcheck/livepatch"
)

func TestTagZeroPatchesStack(t *testing.T) {
	a := module("klpc_a", vmlinux("f", "g"))
	b := module("klpc_b", vmlinux("g"))

	res := Check(Plan{Semantics: Tag, Patches: []Patch{tagged(a, 0), tagged(b, 0)}})

	checkFindings(t, res,
		want{Rule: "stack-order-dependent", Severity: SeverityWarning, Step: 1, Module: "klpc_a", Object: "vmlinux", Function: "g", Related: []string{"klpc_b"}},
		want{Rule: "func-overlap", Severity: SeverityWarning, Step: 2, Module: "klpc_b", Object: "vmlinux", Function: "g", Related: []string{"klpc_a"}},
	)
}

func TestTagZeroAgainstTaggedRefused(t *testing.T) {
	a := module("klpc_a", vmlinux("f"))
	b := module("klpc_b", vmlinux("f"))

	res := Check(Plan{Semantics: Tag, Patches: []Patch{tagged(a, 0), tagged(b, 3)}})

	checkFindings(t, res, want{Rule: "set-conflict", Severity: SeverityError, Step: 2, Module: "klpc_b", Object: "vmlinux", Function: "f", Related: []string{"klpc_a"}})
	checkRefused(t, res, 2, "EINVAL", "set-conflict")
}

func TestTagReplacesOnlyItsTag(t *testing.T) {
	team1 := module("klpc_team1_v1", vmlinux("f", "g"))
	team2 := module("klpc_team2", vmlinux("h"))
	team1v2 := module("klpc_team1_v2", vmlinux("f"))

	res := Check(Plan{Semantics: Tag, Patches: []Patch{tagged(team1, 1), tagged(team2, 2), tagged(team1v2, 1)}})

	checkFindings(t, res, want{
		Rule: "replace-reverts", Severity: SeverityWarning, Step: 3, Module: "klpc_team1_v2",
		Object: "vmlinux", Function: "g", Related: []string{"klpc_team1_v1"},
	})
	if diff := cmp.Diff([]string{"klpc_team1_v1"}, res.Steps[2].Disabled); diff != "" {
		t.Errorf("disabled mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"vmlinux:f,1=klpc_team1_v2", "vmlinux:h,1=klpc_team2"}, effectiveMap(res)); diff != "" {
		t.Errorf("effective map mismatch (-want +got):\n%s", diff)
	}
}

func TestTagStates(t *testing.T) {
	t.Run("same tag must carry", func(t *testing.T) {
		a := withStates(module("klpc_a", vmlinux("f")), livepatch.State{ID: 7, Version: 2})
		b := module("klpc_b", vmlinux("f"))
		res := Check(Plan{Semantics: Tag, Patches: []Patch{tagged(a, 1), tagged(b, 1)}})

		checkFindings(t, res, want{Rule: "state-incompatible", Severity: SeverityError, Step: 2, Module: "klpc_b", Related: []string{"klpc_a"}})
		checkRefused(t, res, 2, "EINVAL", "state-incompatible")
	})
	t.Run("other tag may not reuse", func(t *testing.T) {
		a := withStates(module("klpc_a", vmlinux("f")), livepatch.State{ID: 7, Version: 1})
		b := withStates(module("klpc_b", vmlinux("g")), livepatch.State{ID: 7, Version: 1})
		res := Check(Plan{Semantics: Tag, Patches: []Patch{tagged(a, 1), tagged(b, 2)}})

		checkFindings(t, res, want{Rule: "state-set-conflict", Severity: SeverityError, Step: 2, Module: "klpc_b", Related: []string{"klpc_a"}})
		checkRefused(t, res, 2, "EINVAL", "state-set-conflict")
	})
	t.Run("tag 0 against a tagged state", func(t *testing.T) {
		a := withStates(module("klpc_a", vmlinux("f")), livepatch.State{ID: 7, Version: 1})
		b := withStates(module("klpc_b", vmlinux("g")), livepatch.State{ID: 7, Version: 4})
		res := Check(Plan{Semantics: Tag, Patches: []Patch{tagged(a, 5), tagged(b, 0)}})

		checkFindings(t, res, want{Rule: "state-set-conflict", Severity: SeverityError, Step: 2, Module: "klpc_b", Related: []string{"klpc_a"}})
	})
	t.Run("tag 0 pair follows mainline", func(t *testing.T) {
		a := withStates(module("klpc_a", vmlinux("f")), livepatch.State{ID: 7, Version: 2})
		b := module("klpc_b", vmlinux("g"))
		res := Check(Plan{Semantics: Tag, Patches: []Patch{tagged(a, 0), tagged(b, 0)}})
		checkFindings(t, res)
	})
}

func TestReplaceSetEveryPatchReplacesItsSet(t *testing.T) {
	a := module("klpc_a", vmlinux("f"))
	b := module("klpc_b", vmlinux("g"))
	c := module("klpc_c", vmlinux("h"))

	res := Check(Plan{Semantics: ReplaceSet, Patches: []Patch{tagged(a, 0), tagged(b, 1), tagged(c, 0)}})

	checkFindings(t, res, want{
		Rule: "replace-reverts", Severity: SeverityWarning, Step: 3, Module: "klpc_c",
		Object: "vmlinux", Function: "f", Related: []string{"klpc_a"},
	})
	if diff := cmp.Diff([]string{"vmlinux:g,1=klpc_b", "vmlinux:h,1=klpc_c"}, effectiveMap(res)); diff != "" {
		t.Errorf("effective map mismatch (-want +got):\n%s", diff)
	}
}

func TestReplaceSetOverlapRefused(t *testing.T) {
	a := module("klpc_a", obj("vmlinux", fnAt("f", 0)))
	b := module("klpc_b", obj("vmlinux", fnAt("f", 1)))

	res := Check(Plan{Semantics: ReplaceSet, Patches: []Patch{tagged(a, 0), tagged(b, 0x10)}})

	checkFindings(t, res, want{Rule: "set-conflict", Severity: SeverityError, Step: 2, Module: "klpc_b", Object: "vmlinux", Function: "f", Related: []string{"klpc_a"}})
	checkRefused(t, res, 2, "EINVAL", "set-conflict")
	if len(res.Findings) == 1 {
		checkMessage(t, res.Findings[0], "klpc_b (set 16) is refused", "klpc_a (set 0)")
	}
}

func TestReplaceSetStates(t *testing.T) {
	t.Run("same set must carry", func(t *testing.T) {
		a := withStates(module("klpc_a", vmlinux("f")), livepatch.State{ID: 3, Version: 1})
		b := module("klpc_b", vmlinux("f"))
		res := Check(Plan{Semantics: ReplaceSet, Patches: []Patch{tagged(a, 2), tagged(b, 2)}})

		checkFindings(t, res, want{Rule: "state-incompatible", Severity: SeverityError, Step: 2, Module: "klpc_b", Related: []string{"klpc_a"}})
	})
	t.Run("other set may not reuse", func(t *testing.T) {
		a := withStates(module("klpc_a", vmlinux("f")), livepatch.State{ID: 3, Version: 1})
		b := withStates(module("klpc_b", vmlinux("g")), livepatch.State{ID: 3, Version: 1})
		res := Check(Plan{Semantics: ReplaceSet, Patches: []Patch{tagged(a, 2), tagged(b, 0)}})

		checkFindings(t, res, want{Rule: "state-set-conflict", Severity: SeverityError, Step: 2, Module: "klpc_b", Related: []string{"klpc_a"}})
	})
}

func TestReplaceSetEmptyPatchRevertsItsSet(t *testing.T) {
	a := module("klpc_a", vmlinux("f"))
	b := module("klpc_b", vmlinux("g"))
	e := module("klpc_empty")

	res := Check(Plan{Semantics: ReplaceSet, Patches: []Patch{tagged(a, 1), tagged(b, 2), tagged(e, 1)}})

	checkFindings(t, res,
		want{Rule: "replace-reverts", Severity: SeverityWarning, Step: 3, Module: "klpc_empty", Object: "vmlinux", Function: "f", Related: []string{"klpc_a"}},
		want{Rule: "empty-replace", Severity: SeverityNote, Step: 3, Module: "klpc_empty", Related: []string{"klpc_a"}},
	)
	if len(res.Findings) == 2 {
		checkMessage(t, res.Findings[1], "every active patch of set 1")
	}
}

func TestUnknownLiveTagNotChecked(t *testing.T) {
	live := &LiveState{Order: OrderStackOrder, Patches: []LivePatch{livePatch("klpc_live", Unknown, "f")}}
	n := module("klpc_n", vmlinux("f"))

	res := Check(Plan{Semantics: Tag, Live: live, Patches: []Patch{tagged(n, 1)}})

	checkFindings(t, res, want{
		Rule: "func-overlap", Severity: SeverityWarning, Step: 1, Module: "klpc_n",
		Object: "vmlinux", Function: "f", Related: []string{"klpc_live"},
	})
	checkNote(t, res, "set-conflict: klpc_n patches vmlinux:f like klpc_live, whose tag is unknown; not checked")
	checkNote(t, res, "klpc_n (tag 1) may replace klpc_live, whose replace mode is unknown")
}

func TestUnknownSemanticsFallsBack(t *testing.T) {
	res := Check(Plan{Semantics: "bool"})
	if res.Semantics != Mainline {
		t.Errorf("semantics = %q, want mainline", res.Semantics)
	}
	checkNote(t, res, `unknown semantics "bool"`)
}
