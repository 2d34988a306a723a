package main

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/klpcheck/klpcheck/conflict"
	"github.com/klpcheck/klpcheck/elfscan"
	"github.com/klpcheck/klpcheck/livepatch"
	"github.com/klpcheck/klpcheck/plan"
	"github.com/klpcheck/klpcheck/report"
	"github.com/klpcheck/klpcheck/target"
)

func TestLoadCheckTargetWithoutInputs(t *testing.T) {
	ct := loadCheckTarget(nil, nil, "testdata/unused-filter-functions")

	if ct.target != nil || ct.info != nil || ct.status != exitClean {
		t.Errorf("loadCheckTarget() = target %v, info %v, status %d; want no target", ct.target, ct.info, ct.status)
	}
}

func TestLoadCheckTargetOrder(t *testing.T) {
	filter := filepath.Join(t.TempDir(), "available_filter_functions")
	if err := os.WriteFile(filter, []byte("cmdline_proc_show\nloadavg_proc_show\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	planFile, err := plan.Parse([]byte("targets:\n  - path: System.map-6.1\n    expect: 5a3c1b0e4f2d6a7b8c9d0e1\n"), "testdata/target/plan.yaml")
	if err != nil {
		t.Fatal(err)
	}

	ct := loadCheckTarget(planFile, []string{"testdata/target/Module.symvers-6.1"}, filter)

	if ct.status != exitClean || len(ct.errors) != 0 {
		t.Fatalf("status %d, errors %+v; want none", ct.status, ct.errors)
	}
	wantInputs := []report.TargetInput{
		{Path: "testdata/target/System.map-6.1", Kind: "system-map"},
		{Path: "testdata/target/Module.symvers-6.1", Kind: "module-symvers"},
		{Path: filter, Kind: "filter-functions"},
	}
	if diff := cmp.Diff(wantInputs, ct.info.Inputs); diff != "" {
		t.Errorf("inputs mismatch (-want +got):\n%s", diff)
	}
	wantExpect := []conflict.TargetExpectation{{Path: "testdata/target/System.map-6.1", Expect: "5a3c1b0e4f2d6a7b8c9d0e1", Where: "testdata/target/plan.yaml:3", File: "testdata/target/plan.yaml", Line: 3}}
	if diff := cmp.Diff(wantExpect, ct.expect); diff != "" {
		t.Errorf("expectations mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadCheckTargetUnreadable(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "System.map")

	ct := loadCheckTarget(nil, []string{missing, "testdata/target/System.map-6.1"}, "")

	if ct.status != exitInputError {
		t.Errorf("status = %d, want %d", ct.status, exitInputError)
	}
	if len(ct.errors) != 1 || ct.errors[0].File != missing {
		t.Errorf("errors = %+v, want one for %s", ct.errors, missing)
	}
	if ct.target == nil || ct.target.Vmlinux == nil {
		t.Errorf("the readable input was not used")
	}
}

func TestTargetInputError(t *testing.T) {
	t.Run("text line", func(t *testing.T) {
		err := &target.Error{Path: "System.map", Line: 2, Err: errors.New(`invalid address "zz"`)}

		got := targetInputError(err)

		want := report.InputError{File: "System.map", Line: 2, Reason: `line 2: invalid address "zz"`}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("targetInputError mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("ELF section offset", func(t *testing.T) {
		err := &target.Error{Path: "vmlinux", Section: "__ksymtab", Offset: 0x2140, HasOffset: true, Err: errors.New("read exports: section __ksymtab+0x2140: name offset past the end")}

		got := targetInputError(err)

		want := report.InputError{File: "vmlinux", Section: "__ksymtab", Offset: 0x2140, HasOffset: true, Reason: "read exports: section __ksymtab+0x2140: name offset past the end"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("targetInputError mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestApplyTargetRelease(t *testing.T) {
	ct := checkTarget{target: &target.Target{Release: "6.1.0-57-amd64", ReleaseFrom: "/lib/modules/6.1.0-57-amd64"}}

	t.Run("no release given", func(t *testing.T) {
		var s checkSettings
		if err := s.applyTargetRelease(ct, nil); err != nil {
			t.Fatal(err)
		}

		if s.kernel.Release != "6.1.0-57-amd64" || s.kernelFrom != "target input /lib/modules/6.1.0-57-amd64" {
			t.Errorf("kernel %q from %q, want the target's release", s.kernel.Release, s.kernelFrom)
		}
	})
	t.Run("same release given", func(t *testing.T) {
		s := checkSettings{kernel: livepatch.ParseVermagic("6.1.0-57-amd64"), kernelFrom: "--kernel"}
		if err := s.applyTargetRelease(ct, []releaseClaim{{"6.1.0-57-amd64", "--kernel"}}); err != nil {
			t.Fatal(err)
		}
		if s.kernelFrom != "--kernel" || len(s.notes) != 0 {
			t.Errorf("kernel from %q, notes %q; want --kernel and no notes", s.kernelFrom, s.notes)
		}
	})
	t.Run("other releases given", func(t *testing.T) {
		s := checkSettings{kernel: livepatch.ParseVermagic("6.1.0-56-amd64"), kernelFrom: "--kernel"}
		claims := []releaseClaim{
			{"6.1.0-56-amd64", "--kernel"},
			{"6.1.0-57-amd64", "the plan's kernel (plan.yaml:2)"},
			{"6.12.118+deb12-amd64", "the live snapshot snap"},
		}

		err := s.applyTargetRelease(ct, claims)

		want := "--kernel names kernel release 6.1.0-56-amd64, but target input /lib/modules/6.1.0-57-amd64 is from release 6.1.0-57-amd64: give the target files of 6.1.0-56-amd64\n" +
			"the live snapshot snap names kernel release 6.12.118+deb12-amd64, but target input /lib/modules/6.1.0-57-amd64 is from release 6.1.0-57-amd64: give the target files of 6.12.118+deb12-amd64"
		if err == nil || err.Error() != want {
			t.Errorf("error\n\t%v\nwant\n\t%s", err, want)
		}
	})
	t.Run("target inputs of two releases", func(t *testing.T) {
		conflict := &target.Error{Path: "b.ko", Err: &target.ReleaseError{Release: "6.1.0-58-amd64", Other: "6.1.0-57-amd64", OtherFrom: "a.ko"}}
		var s checkSettings

		err := s.applyTargetRelease(checkTarget{target: ct.target, conflicts: []error{conflict}}, nil)

		want := "b.ko: release 6.1.0-58-amd64 differs from release 6.1.0-57-amd64 of target input a.ko; all target inputs must come from one kernel build"
		if err == nil || err.Error() != want {
			t.Errorf("error\n\t%v\nwant\n\t%s", err, want)
		}
	})
}

// TestLoadCheckTargetReleaseConflict loads two modules of different
// releases: the second is a conflict, neither an input error nor a loaded
// input.
func TestLoadCheckTargetReleaseConflict(t *testing.T) {
	first, second := "../../testdata/modules/6.1/target/klpc_target.ko", "../../testdata/modules/6.12/target/klpc_target.ko"

	ct := loadCheckTarget(nil, []string{first, second}, "")

	if ct.status != exitClean || len(ct.errors) != 0 {
		t.Errorf("status %d, errors %+v; want no input error", ct.status, ct.errors)
	}
	var releaseErr *target.ReleaseError
	if len(ct.conflicts) != 1 || !errors.As(ct.conflicts[0], &releaseErr) {
		t.Fatalf("conflicts = %v, want one *target.ReleaseError", ct.conflicts)
	}
	wantInputs := []report.TargetInput{{Path: first, Kind: "module"}}
	if diff := cmp.Diff(wantInputs, ct.info.Inputs); diff != "" {
		t.Errorf("inputs mismatch (-want +got):\n%s", diff)
	}
}

// TestTrialKallsymsIsKallsyms reads the guest's /proc/kallsyms lines the
// way trial does: they have the format of System.map, but the notes of the
// prediction name /proc/kallsyms, which they come from.
func TestTrialKallsymsIsKallsyms(t *testing.T) {
	kallsyms, err := writeGuestKallsyms(t.TempDir(), []string{
		"ffffffff81100000 T klp_enable_patch",
		"ffffffff814105a0 t loadavg_proc_show",
	})
	if err != nil {
		t.Fatal(err)
	}
	opts := trialOptions{modulesDir: "../../testdata/modules/6.1/target"}

	tg, _, _ := loadTrialTargets(opts, nil, kallsyms)

	if tg.Vmlinux == nil || tg.Vmlinux.Kind != target.KindKallsyms {
		t.Fatalf("vmlinux symbols = %+v, want those of kind %s", tg.Vmlinux, target.KindKallsyms)
	}
	m, err := elfscan.Open("../../testdata/modules/6.1/klpc_g.ko")
	if err != nil {
		t.Fatal(err)
	}
	res := conflict.Check(conflict.Plan{Kernel: conflict.KernelInfo{Target: tg}, Patches: []conflict.Patch{{Module: m}}})
	want := "not-ftraceable not checked for vmlinux: /proc/kallsyms has no ftrace records"
	if !slices.Contains(res.Notes, want) {
		t.Errorf("notes %q lack %q", res.Notes, want)
	}
}
