package main

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/klpcheck/klpcheck/conflict"
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
	planFile, err := plan.Parse([]byte("targets:\n  - path: System.map-6.1\n    expect: 5a3c1b0e4f2d6a7b8c9d0e1f\n"), "testdata/target/plan.yaml")
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
	wantExpect := []conflict.TargetExpectation{{Path: "testdata/target/System.map-6.1", Expect: "5a3c1b0e4f2d6a7b8c9d0e1f", Where: "testdata/target/plan.yaml:3"}}
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
	err := &target.Error{Path: "System.map", Line: 2, Err: errors.New(`invalid address "zz"`)}

	got := targetInputError(err)

	want := report.InputError{File: "System.map", Reason: `line 2: invalid address "zz"`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("targetInputError mismatch (-want +got):\n%s", diff)
	}
}

func TestApplyTargetRelease(t *testing.T) {
	tg := &target.Target{Release: "6.1.0-57-amd64", ReleaseFrom: "/lib/modules/6.1.0-57-amd64"}

	t.Run("no release given", func(t *testing.T) {
		var s checkSettings
		s.applyTargetRelease(tg)

		if s.kernel.Release != "6.1.0-57-amd64" || s.kernelFrom != "target input /lib/modules/6.1.0-57-amd64" {
			t.Errorf("kernel %q from %q, want the target's release", s.kernel.Release, s.kernelFrom)
		}
	})
	t.Run("another release given", func(t *testing.T) {
		s := checkSettings{kernel: livepatch.ParseVermagic("6.1.0-56-amd64"), kernelFrom: "--kernel"}
		s.applyTargetRelease(tg)

		want := []string{"the target kernel 6.1.0-56-amd64 from --kernel differs from the release 6.1.0-57-amd64 of target input /lib/modules/6.1.0-57-amd64: the simulation uses 6.1.0-56-amd64, and the target rules check against the files"}
		if diff := cmp.Diff(want, s.notes); diff != "" {
			t.Errorf("notes mismatch (-want +got):\n%s", diff)
		}
		if s.kernel.Release != "6.1.0-56-amd64" {
			t.Errorf("kernel = %q, want the one given", s.kernel.Release)
		}
	})
}
