package conflict

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/klpcheck/klpcheck/livepatch"
)

func TestOverrideCumulative(t *testing.T) {
	r := module("klpc_cumulative", vmlinux("f", "g"))
	h := module("klpc_hotfix", vmlinux("f"))

	res := Check(Plan{Patches: []Patch{replace(r), nonReplace(h)}})

	checkFindings(t, res, want{
		Rule: "override-cumulative", Severity: SeverityWarning, Step: 2, Module: "klpc_hotfix",
		Object: "vmlinux", Function: "f", Related: []string{"klpc_cumulative"},
	})
	if diff := cmp.Diff([]string{"vmlinux:f,1=klpc_hotfix", "vmlinux:g,1=klpc_cumulative"}, effectiveMap(res)); diff != "" {
		t.Errorf("effective map mismatch (-want +got):\n%s", diff)
	}
}

func TestOverrideCumulativeOnlyUnderMainline(t *testing.T) {
	a := module("klpc_a", vmlinux("f"))
	b := module("klpc_b", vmlinux("f"))

	// Under the tag semantics the same pair is a refused conflict.
	res := Check(Plan{Semantics: Tag, Patches: []Patch{tagged(a, 1), tagged(b, 0)}})

	checkFindings(t, res, want{
		Rule: "set-conflict", Severity: SeverityError, Step: 2, Module: "klpc_b",
		Object: "vmlinux", Function: "f", Related: []string{"klpc_a"},
	})
}

func TestStackOrderWholeShadowIsOverlapOnly(t *testing.T) {
	a := module("klpc_a", vmlinux("f"))
	b := module("klpc_b", vmlinux("f", "g"))

	res := Check(Plan{Patches: []Patch{nonReplace(a), nonReplace(b)}})

	checkFindings(t, res, want{
		Rule: "func-overlap", Severity: SeverityWarning, Step: 2, Module: "klpc_b",
		Object: "vmlinux", Function: "f", Related: []string{"klpc_a"},
	})
}

func TestReplaceOfReplaceIsUpgrade(t *testing.T) {
	r1 := module("klpc_v1", vmlinux("f", "g"))
	r2 := module("klpc_v2", vmlinux("f"))

	res := Check(Plan{Patches: []Patch{replace(r1), replace(r2)}})

	checkFindings(t, res, want{
		Rule: "replace-reverts", Severity: SeverityWarning, Step: 2, Module: "klpc_v2",
		Object: "vmlinux", Function: "g", Related: []string{"klpc_v1"},
	})
	if diff := cmp.Diff([]string{"klpc_v1"}, res.Steps[1].Disabled); diff != "" {
		t.Errorf("disabled mismatch (-want +got):\n%s", diff)
	}
}

func TestReplaceKeepsCarriedFunctions(t *testing.T) {
	r1 := module("klpc_v1", vmlinux("f"), obj("ext4", fn("ext4_attr_store")))
	r2 := module("klpc_v2", obj("ext4", fn("ext4_attr_store")), vmlinux("f", "g"))

	res := Check(Plan{Patches: []Patch{replace(r1), replace(r2)}})

	checkFindings(t, res)
}

func TestEmptyReplace(t *testing.T) {
	a := module("klpc_a", vmlinux("f"))
	e := module("klpc_revert_all")

	res := Check(Plan{Patches: []Patch{nonReplace(a), replace(e)}})

	checkFindings(t, res,
		want{Rule: "replace-reverts", Severity: SeverityWarning, Step: 2, Module: "klpc_revert_all", Object: "vmlinux", Function: "f", Related: []string{"klpc_a"}},
		want{Rule: "replace-disables", Severity: SeverityWarning, Step: 2, Module: "klpc_revert_all", Related: []string{"klpc_a"}},
		want{Rule: "empty-replace", Severity: SeverityNote, Step: 2, Module: "klpc_revert_all", Related: []string{"klpc_a"}},
	)
	if len(res.Effective) != 0 {
		t.Errorf("effective map = %q, want empty", effectiveMap(res))
	}
}

func TestEmptyNonReplaceIsQuiet(t *testing.T) {
	res := loadOne(module("klpc_callbacks_only", livepatch.Object{Name: "ext4"}))
	checkFindings(t, res)
}

func TestSymposZeroOne(t *testing.T) {
	tests := []struct {
		name     string
		kernel   KernelInfo
		severity Severity
		refused  bool
	}{
		{"target lacks the commit", KernelInfo{SymposMatch: No}, SeverityError, true},
		{"target has the commit", KernelInfo{SymposMatch: Yes}, SeverityNote, false},
		{"target unknown", KernelInfo{}, SeverityWarning, false},
		{"target 6.19 from the table", KernelInfo{Version: release(6, 19, 2, "6.19.2")}, SeverityNote, false},
		{"target 6.6.119 not in the table", KernelInfo{Version: release(6, 6, 119, "6.6.119")}, SeverityWarning, false},
		{"user answer wins over the table", KernelInfo{Version: release(6, 19, 2, "6.19.2"), SymposMatch: No}, SeverityError, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := module("klpc_klpbuild", obj("vmlinux", fnAt("show_cpuinfo", 0)))
			upgrade := module("klpc_kpatch", obj("vmlinux", fnAt("show_cpuinfo", 1)))

			res := Check(Plan{Kernel: tt.kernel, Patches: []Patch{replace(old), replace(upgrade)}})

			checkFindings(t, res, want{
				Rule: "sympos-zero-one", Severity: tt.severity, Step: 2, Module: "klpc_kpatch",
				Object: "vmlinux", Function: "show_cpuinfo", Related: []string{"klpc_klpbuild"},
			})
			if tt.refused {
				checkRefused(t, res, 2, "EEXIST", "sympos-zero-one")
			} else {
				checkLoaded(t, res, 2)
			}
		})
	}
}

func TestSymposZeroOneNeedsReplace(t *testing.T) {
	a := module("klpc_a", obj("vmlinux", fnAt("f", 0)))
	b := module("klpc_b", obj("vmlinux", fnAt("f", 1)))

	res := Check(Plan{Kernel: KernelInfo{SymposMatch: No}, Patches: []Patch{nonReplace(a), nonReplace(b)}})

	checkFindings(t, res, want{
		Rule: "func-overlap", Severity: SeverityWarning, Step: 2, Module: "klpc_b",
		Object: "vmlinux", Function: "f", Related: []string{"klpc_a"},
	})
}

func TestSymposZeroOneLiveWithoutFile(t *testing.T) {
	live := &LiveState{Order: OrderStackOrder, Patches: []LivePatch{livePatch("klpc_live", Yes, "f")}}
	r := module("klpc_r", obj("vmlinux", fnAt("f", 1)))

	res := Check(Plan{Kernel: KernelInfo{SymposMatch: No}, Live: live, Patches: []Patch{replace(r)}})

	checkFindings(t, res)
	checkNote(t, res, "sympos-zero-one: klpc_r stores sympos 1 for vmlinux:f, and sysfs shows klpc_live's as 1")
}

func TestSymposZeroOneLiveWithFile(t *testing.T) {
	live := &LiveState{Order: OrderStackOrder, Patches: []LivePatch{livePatch("klpc_live", Yes, "f")}}
	file := module("klpc_live_build", obj("vmlinux", fnAt("f", 0)))
	r := module("klpc_r", obj("vmlinux", fnAt("f", 1)))

	res := Check(Plan{
		Kernel:  KernelInfo{SymposMatch: No},
		Live:    live,
		Patches: []Patch{{Module: file, LiveName: "klpc_live"}, replace(r)},
	})

	checkFindings(t, res, want{
		Rule: "sympos-zero-one", Severity: SeverityError, Step: 2, Module: "klpc_r",
		Object: "vmlinux", Function: "f", Related: []string{"klpc_live"},
	})
	checkRefused(t, res, 2, "EEXIST", "sympos-zero-one")
}

func TestStateIncompatible(t *testing.T) {
	tests := []struct {
		name  string
		later Patch
		want  []want
	}{
		{
			name:  "replace lacks the state",
			later: replace(module("klpc_b", vmlinux("f"))),
			want:  []want{{Rule: "state-incompatible", Severity: SeverityError, Step: 2, Module: "klpc_b", Related: []string{"klpc_a"}}},
		},
		{
			name:  "non-replace downgrades the state",
			later: nonReplace(withStates(module("klpc_b", vmlinux("g")), livepatch.State{ID: 7, Version: 1})),
			want:  []want{{Rule: "state-incompatible", Severity: SeverityError, Step: 2, Module: "klpc_b", Related: []string{"klpc_a"}}},
		},
		{
			name:  "non-replace without the state",
			later: nonReplace(module("klpc_b", vmlinux("g"))),
		},
		{
			name:  "replace carries a higher version",
			later: replace(withStates(module("klpc_b", vmlinux("f")), livepatch.State{ID: 7, Version: 3})),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := withStates(module("klpc_a", vmlinux("f")), livepatch.State{ID: 7, Version: 2})
			res := Check(Plan{Patches: []Patch{replace(a), tt.later}})
			checkFindings(t, res, tt.want...)
		})
	}
}

func TestStateIncompatibleLive(t *testing.T) {
	live := &LiveState{Order: OrderStackOrder, Patches: []LivePatch{livePatch("klpc_live", Yes, "f")}}
	r := module("klpc_r", vmlinux("f"))

	t.Run("without the file", func(t *testing.T) {
		res := Check(Plan{Live: live, Patches: []Patch{replace(r)}})

		checkFindings(t, res)
		checkNote(t, res, "state-incompatible: klpc_r is not checked against live patch klpc_live")
	})
	t.Run("with the file", func(t *testing.T) {
		file := withStates(module("klpc_live", vmlinux("f")), livepatch.State{ID: 9, Version: 1})
		res := Check(Plan{Live: live, Patches: []Patch{{Module: file, LiveName: "klpc_live"}, replace(r)}})

		checkFindings(t, res, want{Rule: "state-incompatible", Severity: SeverityError, Step: 2, Module: "klpc_r", Related: []string{"klpc_live"}})
	})
}

func TestModuleNameClash(t *testing.T) {
	t.Run("twice in the plan", func(t *testing.T) {
		a := module("klpc_a", vmlinux("f"))
		res := Check(Plan{Patches: []Patch{nonReplace(a), nonReplace(module("klpc_a", vmlinux("g")))}})

		checkFindings(t, res, want{Rule: "module-name-clash", Severity: SeverityError, Step: 2, Module: "klpc_a", Related: []string{"klpc_a"}})
		checkRefused(t, res, 2, "EEXIST", "module-name-clash")
	})
	t.Run("replaced earlier in the plan", func(t *testing.T) {
		v1 := module("livepatch_cve", vmlinux("f"))
		r := module("klpc_cumulative", vmlinux("f"))
		v2 := module("livepatch_cve", vmlinux("g"))
		res := Check(Plan{Patches: []Patch{replace(v1), replace(r), replace(v2)}})

		checkFindings(t, res, want{Rule: "module-name-clash", Severity: SeverityError, Step: 3, Module: "livepatch_cve", Related: []string{"livepatch_cve"}})
		checkRefused(t, res, 3, "EEXIST", "module-name-clash")
	})
	t.Run("removed first", func(t *testing.T) {
		v1 := module("livepatch_cve", vmlinux("f"))
		r := module("klpc_cumulative", vmlinux("f"))
		v2 := replace(module("livepatch_cve", vmlinux("f")))
		v2.RemoveFirst = []string{"livepatch_cve"}
		res := Check(Plan{Patches: []Patch{replace(v1), replace(r), v2}})

		checkFindings(t, res)
		checkLoaded(t, res, 3)
	})
	t.Run("removing an active patch fails", func(t *testing.T) {
		a := module("klpc_a", vmlinux("f"))
		b := nonReplace(module("klpc_b", vmlinux("g")))
		b.RemoveFirst = []string{"klpc_a"}
		res := Check(Plan{Patches: []Patch{nonReplace(a), b}})

		checkFindings(t, res)
		checkNote(t, res, "rmmod klpc_a before step 2 fails")
	})
	t.Run("disabled module on the host", func(t *testing.T) {
		live := &LiveState{Modules: []LoadedModule{{Name: "livepatch_cve", Livepatch: true}, {Name: "ext4"}}}
		res := Check(Plan{Live: live, Patches: []Patch{replace(module("livepatch_cve", vmlinux("f")))}})

		checkFindings(t, res, want{Rule: "module-name-clash", Severity: SeverityError, Step: 1, Module: "livepatch_cve", Related: []string{"livepatch_cve"}})
		if len(res.Findings) == 1 {
			checkMessage(t, res.Findings[0], "still loaded on the host, disabled or replaced")
		}
	})
	t.Run("disabled module on the host removed first", func(t *testing.T) {
		live := &LiveState{Modules: []LoadedModule{{Name: "livepatch_cve", Livepatch: true, RefcountKnown: true}}}
		p := replace(module("livepatch_cve", vmlinux("f")))
		p.RemoveFirst = []string{"livepatch_cve"}
		res := Check(Plan{Live: live, Patches: []Patch{p}})

		checkFindings(t, res)
		checkLoaded(t, res, 1)
	})
	t.Run("forced module on the host keeps its reference", func(t *testing.T) {
		live := &LiveState{Modules: []LoadedModule{{Name: "livepatch_cve", Livepatch: true, Refcount: 1, RefcountKnown: true}}}
		p := replace(module("livepatch_cve", vmlinux("f")))
		p.RemoveFirst = []string{"livepatch_cve"}
		res := Check(Plan{Live: live, Patches: []Patch{p}})

		checkFindings(t, res, want{Rule: "module-name-clash", Severity: SeverityError, Step: 1, Module: "livepatch_cve", Related: []string{"livepatch_cve"}})
		checkRefused(t, res, 1, "EEXIST", "module-name-clash")
		checkNote(t, res, "rmmod livepatch_cve before step 1 fails: /proc/modules shows a reference count of 1")
	})
	t.Run("active on the host", func(t *testing.T) {
		live := &LiveState{Order: OrderStackOrder, Patches: []LivePatch{livePatch("livepatch_cve", Yes, "f")}}
		res := Check(Plan{Live: live, Patches: []Patch{replace(module("livepatch_cve", vmlinux("f")))}})

		checkFindings(t, res, want{Rule: "module-name-clash", Severity: SeverityError, Step: 1, Module: "livepatch_cve", Related: []string{"livepatch_cve"}})
	})
	t.Run("refused earlier entry frees nothing", func(t *testing.T) {
		bad := module("klpc_a", vmlinux("f"))
		bad.Livepatch = false
		res := Check(Plan{Patches: []Patch{nonReplace(bad), nonReplace(module("klpc_a", vmlinux("f")))}})

		checkFindings(t, res, want{Rule: "metadata-invalid", Severity: SeverityError, Step: 1, Module: "klpc_a"})
		checkLoaded(t, res, 2)
	})
}

func TestTransitionBusy(t *testing.T) {
	busy := livePatch("klpc_busy", No, "f")
	busy.Transition = true
	live := &LiveState{Order: OrderStackOrder, Patches: []LivePatch{busy}}
	a := module("klpc_a", vmlinux("g"))
	b := module("klpc_b", vmlinux("h"))

	res := Check(Plan{Live: live, Patches: []Patch{nonReplace(a), nonReplace(b)}})

	checkFindings(t, res, want{Rule: "transition-busy", Severity: SeverityError, Step: 1, Module: "klpc_a", Related: []string{"klpc_busy"}})
	checkLoaded(t, res, 1)
	wantMap := []string{"vmlinux:f,1=klpc_busy (transition)", "vmlinux:g,1=klpc_a", "vmlinux:h,1=klpc_b"}
	if diff := cmp.Diff(wantMap, effectiveMap(res)); diff != "" {
		t.Errorf("effective map mismatch (-want +got):\n%s", diff)
	}
}

func TestSymposZeroOneNops(t *testing.T) {
	a := module("klpc_klpbuild", obj("vmlinux", fnAt("show_cpuinfo", 0)))
	b := module("klpc_kpatch", obj("vmlinux", fnAt("show_cpuinfo", 1)))
	n := module("klpc_cumulative", obj("vmlinux", fnAt("meminfo_proc_show", 0)))

	t.Run("target lacks the commit", func(t *testing.T) {
		res := Check(Plan{Kernel: KernelInfo{SymposMatch: No}, Patches: []Patch{nonReplace(a), nonReplace(b), replace(n)}})

		checkFindings(t, res,
			want{Rule: "func-overlap", Severity: SeverityWarning, Step: 2, Module: "klpc_kpatch", Object: "vmlinux", Function: "show_cpuinfo", Related: []string{"klpc_klpbuild"}},
			want{Rule: "sympos-zero-one", Severity: SeverityError, Step: 3, Module: "klpc_cumulative", Object: "vmlinux", Function: "show_cpuinfo", Related: []string{"klpc_klpbuild", "klpc_kpatch"}},
		)
		checkRefused(t, res, 3, "EEXIST", "sympos-zero-one")
		for _, f := range res.Findings {
			if f.Rule != "sympos-zero-one" {
				continue
			}
			want := "klpc_cumulative leaves out vmlinux:show_cpuinfo, which klpc_klpbuild stores with sympos 0 and klpc_kpatch with sympos 1, so klp_add_nops adds a nop for each: the target kernel lacks commit 139560e8b973 (set by the user), so the two nops both want show_cpuinfo,1 and the load fails with -EEXIST"
			if f.Message != want {
				t.Errorf("message:\n got %q\nwant %q", f.Message, want)
			}
		}
	})
	t.Run("target has the commit", func(t *testing.T) {
		res := Check(Plan{Kernel: KernelInfo{SymposMatch: Yes}, Patches: []Patch{nonReplace(a), nonReplace(b), replace(n)}})
		checkLoaded(t, res, 3)
	})
	t.Run("same sympos", func(t *testing.T) {
		c := module("klpc_other", obj("vmlinux", fnAt("show_cpuinfo", 0)))
		res := Check(Plan{Kernel: KernelInfo{SymposMatch: No}, Patches: []Patch{nonReplace(a), nonReplace(c), replace(n)}})
		checkLoaded(t, res, 3)
	})
}
