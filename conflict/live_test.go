package conflict

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLiveOrderFromProcModulesNoted(t *testing.T) {
	live := &LiveState{
		Order:   OrderProcModules,
		Patches: []LivePatch{livePatch("klpc_one", No, "f"), livePatch("klpc_two", No, "g")},
	}

	res := Check(Plan{Live: live})

	checkFindings(t, res)
	checkNote(t, res, "the order of the live patches comes from /proc/modules")
}

func TestLiveReplaceTransitionCompletes(t *testing.T) {
	old := livePatch("klpc_old", No, "f")
	upgrade := livePatch("klpc_new", Yes, "g")
	upgrade.Transition = true
	live := &LiveState{Order: OrderStackOrder, Patches: []LivePatch{old, upgrade}}

	res := Check(Plan{Live: live})

	checkFindings(t, res)
	checkNote(t, res, "live patch klpc_new is a replace patch in transition")
	if diff := cmp.Diff([]string{"vmlinux:g,1=klpc_new (transition)"}, effectiveMap(res)); diff != "" {
		t.Errorf("effective map mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"klpc_old"}, res.Steps[1].Disabled); diff != "" {
		t.Errorf("disabled mismatch (-want +got):\n%s", diff)
	}
}

// TestLiveReplaceTransitionNops maps the file of a replace patch in
// transition whose sysfs also lists the nop it added for f: the nop is not
// one of its functions, so f reverts when the transition completes.
func TestLiveReplaceTransitionNops(t *testing.T) {
	old := livePatch("klpc_old", No, "f")
	upgrade := livePatch("klpc_new", Yes, "f", "g")
	upgrade.Transition = true
	live := &LiveState{Order: OrderStackOrder, Patches: []LivePatch{old, upgrade}}
	file := Patch{Module: module("klpc_new", vmlinux("g")), LiveName: "klpc_new"}

	res := Check(Plan{Live: live, Patches: []Patch{file}})

	checkFindings(t, res)
	if diff := cmp.Diff([]string{"vmlinux:g,1=klpc_new (transition)"}, effectiveMap(res)); diff != "" {
		t.Errorf("effective map mismatch (-want +got):\n%s", diff)
	}
}

func TestLiveDisableTransitionCompletes(t *testing.T) {
	leaving := livePatch("klpc_leaving", No, "f")
	leaving.Enabled, leaving.Transition = false, true
	live := &LiveState{Order: OrderStackOrder, Patches: []LivePatch{livePatch("klpc_base", Yes, "f"), leaving}}

	res := Check(Plan{Live: live})

	checkNote(t, res, "live patch klpc_leaving is being disabled")
	if diff := cmp.Diff([]string{"vmlinux:f,1=klpc_base"}, effectiveMap(res)); diff != "" {
		t.Errorf("effective map mismatch (-want +got):\n%s", diff)
	}
}

func TestLiveUnknownModeTransitionKeepsOlder(t *testing.T) {
	busy := livePatch("klpc_busy", Unknown, "g")
	busy.Transition = true
	live := &LiveState{Order: OrderStackOrder, Patches: []LivePatch{livePatch("klpc_old", No, "f"), busy}}

	res := Check(Plan{Live: live})

	checkNote(t, res, "live patch klpc_busy is in transition and its replace mode is unknown")
	if diff := cmp.Diff([]string{"vmlinux:f,1=klpc_old", "vmlinux:g,1=klpc_busy (transition)"}, effectiveMap(res)); diff != "" {
		t.Errorf("effective map mismatch (-want +got):\n%s", diff)
	}
}

func TestLiveInactiveEntryLeftOut(t *testing.T) {
	stale := livePatch("klpc_stale", No, "f")
	stale.Enabled = false
	live := &LiveState{Order: OrderStackOrder, Patches: []LivePatch{stale}}

	res := Check(Plan{Live: live, Patches: []Patch{nonReplace(module("klpc_n", vmlinux("f")))}})

	checkFindings(t, res)
	checkNote(t, res, "live patch klpc_stale is neither enabled nor in transition")
}

func TestLiveNameWithoutLivePatch(t *testing.T) {
	m := module("klpc_m", vmlinux("f"))

	res := Check(Plan{Patches: []Patch{{Module: m, LiveName: "klpc_m"}}})

	checkFindings(t, res)
	if len(res.Steps) != 0 {
		t.Errorf("steps = %+v, want none: the entry describes a live patch", res.Steps)
	}
	checkNote(t, res, "maps klpc_m.ko to live patch klpc_m, which is not active on the host")
}

func TestLiveFileModeUsedBefore611(t *testing.T) {
	// sysfs before 6.11 has no replace attribute, so the mode comes from
	// the plan entry that maps the file.
	live := &LiveState{Order: OrderStackOrder, Patches: []LivePatch{livePatch("klpc_cumulative", Unknown, "f")}}
	file := module("klpc_cumulative", vmlinux("f"))
	hotfix := module("klpc_hotfix", vmlinux("f"))

	res := Check(Plan{Live: live, Patches: []Patch{
		{Module: file, Mode: Mode{Replace: true, Value: 1, Source: "plan"}, ModeKnown: true, LiveName: "klpc_cumulative"},
		nonReplace(hotfix),
	}})

	checkFindings(t, res, want{
		Rule: "override-cumulative", Severity: SeverityWarning, Step: 2, Module: "klpc_hotfix",
		Object: "vmlinux", Function: "f", Related: []string{"klpc_cumulative"},
	})
	if got := res.Steps[0]; got.Path != "klpc_cumulative.ko" || got.Mode.Source != "plan" {
		t.Errorf("live step = %+v, want the file's path and the plan's mode", got)
	}
}

func TestLiveModeConflictNoted(t *testing.T) {
	live := &LiveState{Order: OrderStackOrder, Patches: []LivePatch{livePatch("klpc_live", No, "f")}}
	file := module("klpc_live", vmlinux("f"))

	res := Check(Plan{Live: live, Patches: []Patch{
		{Module: file, Mode: Mode{Replace: true, Value: 1, Source: "data"}, ModeKnown: true, LiveName: "klpc_live"},
	}})

	checkNote(t, res, "live patch klpc_live runs as non-replace but its file klpc_live.ko gives replace")
}

func TestLiveFileFunctionsDifferNoted(t *testing.T) {
	live := &LiveState{Order: OrderStackOrder, Patches: []LivePatch{livePatch("klpc_live", Yes, "f")}}
	file := module("klpc_live", vmlinux("f", "g"))

	res := Check(Plan{Live: live, Patches: []Patch{{Module: file, LiveName: "klpc_live"}}})

	checkNote(t, res, "the functions of live patch klpc_live in sysfs differ from those in its file klpc_live.ko")
	if diff := cmp.Diff([]string{"vmlinux:f,1=klpc_live"}, effectiveMap(res)); diff != "" {
		t.Errorf("effective map mismatch (-want +got):\n%s", diff)
	}
}

func TestLivePartlyShadowedUnknownModeNoted(t *testing.T) {
	live := &LiveState{Order: OrderStackOrder, Patches: []LivePatch{livePatch("klpc_live", Unknown, "f", "g")}}
	n := module("klpc_n", vmlinux("g"))

	res := Check(Plan{Live: live, Patches: []Patch{nonReplace(n)}})

	checkFindings(t, res, want{
		Rule: "func-overlap", Severity: SeverityWarning, Step: 1, Module: "klpc_n",
		Object: "vmlinux", Function: "g", Related: []string{"klpc_live"},
	})
	checkNote(t, res, "stack-order-dependent: klpc_live is partly shadowed by later patches; not checked because its replace mode is unknown")
}

// TestLiveReplaceTransitionNoOverlap starts from a live replace patch in
// transition over the patch it replaces: both list f, but the upgrade
// disables the old patch when it completes, so f is no overlap.
func TestLiveReplaceTransitionNoOverlap(t *testing.T) {
	old := livePatch("klpc_old", No, "f")
	upgrade := livePatch("klpc_new", Yes, "f")
	upgrade.Transition = true
	live := &LiveState{Order: OrderStackOrder, Patches: []LivePatch{old, upgrade}}

	res := Check(Plan{Live: live})

	checkFindings(t, res)
	if diff := cmp.Diff([]string{"vmlinux:f,1=klpc_new (transition)"}, effectiveMap(res)); diff != "" {
		t.Errorf("effective map mismatch (-want +got):\n%s", diff)
	}
}

// TestLiveTagFromReplaceAttribute reads a live patch's tag from its
// replace attribute, which the replace-tag proposal makes a u32.
func TestLiveTagFromReplaceAttribute(t *testing.T) {
	team := livePatch("klpc_team", Yes, "f")
	team.ReplaceValue = 3
	live := &LiveState{Order: OrderStackOrder, Patches: []LivePatch{team}}
	other := tagged(module("klpc_other", vmlinux("f")), 5)

	res := Check(Plan{Semantics: Tag, Live: live, Patches: []Patch{other}})

	checkFindings(t, res, want{Rule: "set-conflict", Severity: SeverityError, Step: 1, Module: "klpc_other", Object: "vmlinux", Function: "f", Related: []string{"klpc_team"}})
	checkRefused(t, res, 1, "EINVAL", "set-conflict")
}

// TestLiveUnknownSetStates notes the state check that a live patch of
// unknown set leaves open.
func TestLiveUnknownSetStates(t *testing.T) {
	unknown := livePatch("klpc_live", Unknown, "f")
	live := &LiveState{Order: OrderStackOrder, Patches: []LivePatch{unknown}}

	res := Check(Plan{Semantics: ReplaceSet, Live: live, Patches: []Patch{tagged(module("klpc_new", vmlinux("g")), 0)}})

	checkNote(t, res, "state-incompatible: klpc_new is not checked against klpc_live, whose set is unknown")
}
