package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/klpcheck/klpcheck/conflict"
	"github.com/klpcheck/klpcheck/live"
	"github.com/klpcheck/klpcheck/livepatch"
	"github.com/klpcheck/klpcheck/plan"
)

func TestParseKernelRelease(t *testing.T) {
	got, err := parseKernelRelease("6.1.0-57-amd64")
	if err != nil {
		t.Fatal(err)
	}
	want := livepatch.KernelVersion{Major: 6, Minor: 1, Patch: 0, Release: "6.1.0-57-amd64"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseKernelRelease (-want +got):\n%s", diff)
	}
}

func TestParseKernelReleaseInvalid(t *testing.T) {
	for _, release := range []string{"", "amd64", "6.1.0 SMP", "-6.1"} {
		if v, err := parseKernelRelease(release); err == nil {
			t.Errorf("parseKernelRelease(%q) = %+v, want an error", release, v)
		}
	}
}

func TestFindingsStatus(t *testing.T) {
	findings := []conflict.Finding{{Severity: conflict.SeverityNote}, {Severity: conflict.SeverityWarning}}
	tests := []struct {
		failOn conflict.Severity
		want   int
	}{
		{conflict.SeverityError, exitClean},
		{conflict.SeverityWarning, exitFindings},
		{conflict.SeverityNote, exitFindings},
		{conflict.SeverityNone, exitClean},
	}
	for _, tt := range tests {
		if got := findingsStatus(findings, tt.failOn); got != tt.want {
			t.Errorf("findingsStatus(note and warning, fail-on %s) = %d, want %d", tt.failOn, got, tt.want)
		}
	}
}

func TestFindingsStatusNoFindings(t *testing.T) {
	if got := findingsStatus(nil, conflict.SeverityNote); got != exitClean {
		t.Errorf("findingsStatus(nil, note) = %d, want %d", got, exitClean)
	}
}

func TestResolveCheckSettingsDefaults(t *testing.T) {
	got, err := resolveCheckSettings(checkOptions{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := checkSettings{semantics: conflict.Mainline, failOn: conflict.SeverityError}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(checkSettings{})); diff != "" {
		t.Errorf("resolveCheckSettings (-want +got):\n%s", diff)
	}
}

func TestResolveCheckSettingsFromPlan(t *testing.T) {
	f := &plan.File{
		Name:      "plan.yaml",
		Semantics: "replace-set",
		FailOn:    "note",
		Kernel:    "6.12.0-1-amd64",
		Live:      "snapshots/web01",
		Lines:     map[string]int{"semantics": 1, "fail_on": 2, "kernel": 3, "live": 4},
	}
	got, err := resolveCheckSettings(checkOptions{}, f)
	if err != nil {
		t.Fatal(err)
	}
	want := checkSettings{
		semantics:    conflict.ReplaceSet,
		failOn:       conflict.SeverityNote,
		kernel:       livepatch.KernelVersion{Major: 6, Minor: 12, Release: "6.12.0-1-amd64"},
		kernelFrom:   "the plan file",
		liveDir:      "snapshots/web01",
		liveFromPlan: true,
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(checkSettings{})); diff != "" {
		t.Errorf("resolveCheckSettings (-want +got):\n%s", diff)
	}
}

func TestResolveCheckSettingsFlagsOverridePlan(t *testing.T) {
	f := &plan.File{
		Name:      "plan.yaml",
		Semantics: "replace-set",
		FailOn:    "note",
		Kernel:    "6.12.0-1-amd64",
		Live:      "snapshots/web01",
	}
	none := conflict.SeverityNone
	kernel := livepatch.KernelVersion{Major: 6, Minor: 1, Release: "6.1.0-57-amd64"}
	opts := checkOptions{semantics: conflict.Tag, failOn: &none, kernel: &kernel, liveDir: "snap"}

	got, err := resolveCheckSettings(opts, f)
	if err != nil {
		t.Fatal(err)
	}
	want := checkSettings{
		semantics:  conflict.Tag,
		failOn:     conflict.SeverityNone,
		kernel:     kernel,
		kernelFrom: "--kernel",
		liveDir:    "snap",
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(checkSettings{})); diff != "" {
		t.Errorf("resolveCheckSettings (-want +got):\n%s", diff)
	}
}

func TestResolveCheckSettingsPlanKernelInvalid(t *testing.T) {
	f := &plan.File{Name: "plan.yaml", Kernel: "trixie", Lines: map[string]int{"kernel": 3}}
	_, err := resolveCheckSettings(checkOptions{}, f)
	want := `plan.yaml:3: invalid kernel release "trixie": want a release as uname -r prints it, for example 6.1.0-57-amd64`
	if err == nil || err.Error() != want {
		t.Errorf("resolveCheckSettings error = %v, want %s", err, want)
	}
}

func TestPlanEntryMode(t *testing.T) {
	yes, no := true, false
	var tag3, set0 uint32 = 3, 0
	fromData := &livepatch.Module{Name: "klpc_a", Replace: livepatch.Replace{Known: true, Value: 1, Width: 1, Source: livepatch.ReplaceFromData}}
	unknown := &livepatch.Module{Name: "klpc_b", Replace: livepatch.Replace{Source: livepatch.ReplaceUnknown}}
	f := &plan.File{Name: "plan.yaml"}

	tests := []struct {
		name      string
		entry     plan.Patch
		semantics conflict.Semantics
		module    *livepatch.Module
		wantMode  conflict.Mode
		wantKnown bool
		wantNote  string
	}{
		{
			name:      "mainline replace true",
			entry:     plan.Patch{Replace: &yes},
			semantics: conflict.Mainline,
			module:    unknown,
			wantMode:  conflict.Mode{Replace: true, Value: 1, Source: "plan"},
			wantKnown: true,
		},
		{
			name:      "mainline replace false overrides file",
			entry:     plan.Patch{Replace: &no},
			semantics: conflict.Mainline,
			module:    fromData,
			wantMode:  conflict.Mode{Source: "plan"},
			wantKnown: true,
		},
		{
			name:      "tag",
			entry:     plan.Patch{Tag: &tag3, Set: &set0},
			semantics: conflict.Tag,
			module:    fromData,
			wantMode:  conflict.Mode{Replace: true, Value: 3, Source: "plan"},
			wantKnown: true,
		},
		{
			name:      "replace-set set 0",
			entry:     plan.Patch{Tag: &tag3, Set: &set0},
			semantics: conflict.ReplaceSet,
			module:    fromData,
			wantMode:  conflict.Mode{Value: 0, Source: "plan"},
			wantKnown: true,
		},
		{
			name:      "no key falls back to file",
			entry:     plan.Patch{},
			semantics: conflict.Tag,
			module:    fromData,
			wantMode:  conflict.Mode{Replace: true, Value: 1, Source: "data"},
			wantKnown: true,
		},
		{
			name:      "no key and unknown file",
			entry:     plan.Patch{},
			semantics: conflict.Mainline,
			module:    unknown,
		},
		{
			name:      "keys of other semantics",
			entry:     plan.Patch{Tag: &tag3, Set: &set0, Line: 5},
			semantics: conflict.Mainline,
			module:    fromData,
			wantMode:  conflict.Mode{Replace: true, Value: 1, Source: "data"},
			wantKnown: true,
			wantNote:  "plan.yaml:5: patches[2] gives tag and set, which mainline semantics do not use: the replace mode of klpc_a is read from the module file",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mode, known, note := planEntryMode(f, 2, tt.entry, tt.semantics, tt.module)
			if diff := cmp.Diff(tt.wantMode, mode); diff != "" {
				t.Errorf("mode (-want +got):\n%s", diff)
			}
			if known != tt.wantKnown {
				t.Errorf("known = %v, want %v", known, tt.wantKnown)
			}
			if note != tt.wantNote {
				t.Errorf("note = %q, want %q", note, tt.wantNote)
			}
		})
	}
}

func TestConvertLiveStateStackOrder(t *testing.T) {
	state, err := live.Read("../../live/testdata/replaced-loaded-6.16")
	if err != nil {
		t.Fatal(err)
	}
	got := convertLiveState(state)
	want := &conflict.LiveState{
		Patches: []conflict.LivePatch{
			{
				Name: "klpc_states", Enabled: true, Replace: conflict.Yes, ReplaceValue: 1, StackOrder: 1,
				Objects: []conflict.LiveObject{{Name: "vmlinux", Funcs: []conflict.LiveFunc{{Name: "cmdline_proc_show", Sympos: 1}}}},
			},
			{
				Name: "klpc_overlap_b", Enabled: true, Replace: conflict.No, StackOrder: 2,
				Objects: []conflict.LiveObject{{Name: "vmlinux", Funcs: []conflict.LiveFunc{{Name: "cmdline_proc_show", Sympos: 1}}}},
			},
		},
		Order: conflict.OrderStackOrder,
		Modules: []conflict.LoadedModule{
			{Name: "klpc_overlap_b", Livepatch: true, Refcount: 1, RefcountKnown: true},
			{Name: "klpc_states", Livepatch: true, Refcount: 1, RefcountKnown: true},
			{Name: "klpc_overlap_a", Livepatch: true, Refcount: 0, RefcountKnown: true},
			{Name: "virtio_net", Refcount: 0, RefcountKnown: true},
			{Name: "net_failover", Refcount: 1, RefcountKnown: true},
			{Name: "failover", Refcount: 1, RefcountKnown: true},
			{Name: "virtio_blk", Refcount: 3, RefcountKnown: true},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("convertLiveState (-want +got):\n%s", diff)
	}
}

func TestConvertLiveStateProcModules(t *testing.T) {
	state, err := live.Read("../../live/testdata/proc-modules-6.1")
	if err != nil {
		t.Fatal(err)
	}
	got := convertLiveState(state)

	// Without stack_order files the order comes from proc/modules, and
	// conflict.LivePatch.StackOrder stays 0 because the kernel showed none.
	want := &conflict.LiveState{
		Patches: []conflict.LivePatch{
			{
				Name: "klpc_overlap_a", Enabled: true, Replace: conflict.Unknown,
				Objects: []conflict.LiveObject{{Name: "vmlinux", Funcs: []conflict.LiveFunc{{Name: "cmdline_proc_show", Sympos: 1}}}},
			},
			{
				Name: "klpc_multi", Enabled: true, Replace: conflict.Unknown,
				Objects: []conflict.LiveObject{
					{Name: "ext4", Funcs: []conflict.LiveFunc{{Name: "ext4_es_is_delayed", Sympos: 2}, {Name: "ext4_statfs", Sympos: 1}}},
					{Name: "vmlinux", Funcs: []conflict.LiveFunc{{Name: "cmdline_proc_show", Sympos: 1}, {Name: "version_proc_show", Sympos: 1}}},
				},
			},
		},
		Order: conflict.OrderProcModules,
		Modules: []conflict.LoadedModule{
			{Name: "klpc_multi", Livepatch: true, Refcount: 1, RefcountKnown: true},
			{Name: "klpc_overlap_a", Livepatch: true, Refcount: 1, RefcountKnown: true},
			{Name: "ext4", Refcount: 2, RefcountKnown: true},
			{Name: "crc16", Refcount: 1, RefcountKnown: true},
			{Name: "mbcache", Refcount: 1, RefcountKnown: true},
			{Name: "jbd2", Refcount: 1, RefcountKnown: true},
			{Name: "virtio_blk", Refcount: 3, RefcountKnown: true},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("convertLiveState (-want +got):\n%s", diff)
	}
}

func TestApplyLiveRelease(t *testing.T) {
	state := &live.State{KernelRelease: "6.1.0-57-amd64"}

	var s checkSettings
	s.applyLiveRelease(state)
	want := livepatch.KernelVersion{Major: 6, Minor: 1, Release: "6.1.0-57-amd64"}
	if diff := cmp.Diff(want, s.kernel); diff != "" {
		t.Errorf("kernel without flag or plan (-want +got):\n%s", diff)
	}
	if s.kernelFrom != "the live snapshot" {
		t.Errorf("kernelFrom = %q, want %q", s.kernelFrom, "the live snapshot")
	}
	if len(s.notes) != 0 {
		t.Errorf("notes = %q, want none", s.notes)
	}
}

func TestApplyLiveReleaseDiffers(t *testing.T) {
	flagKernel := livepatch.KernelVersion{Major: 6, Minor: 12, Release: "6.12.0-1-amd64"}
	s := checkSettings{kernel: flagKernel, kernelFrom: "--kernel", liveDir: "snap"}
	s.applyLiveRelease(&live.State{KernelRelease: "6.1.0-57-amd64"})

	if diff := cmp.Diff(flagKernel, s.kernel); diff != "" {
		t.Errorf("kernel (-want +got):\n%s", diff)
	}
	want := []string{"the target kernel 6.12.0-1-amd64 from --kernel differs from the release 6.1.0-57-amd64 of the live snapshot snap: the simulation uses 6.12.0-1-amd64"}
	if diff := cmp.Diff(want, s.notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
}

func TestResolveCheckSettingsSymposMatch(t *testing.T) {
	no := false
	f := &plan.File{Name: "plan.yaml", SymposMatch: &no}

	fromPlan, err := resolveCheckSettings(checkOptions{}, f)
	if err != nil {
		t.Fatal(err)
	}
	if fromPlan.symposMatch != conflict.No {
		t.Errorf("from the plan: symposMatch = %s, want no", fromPlan.symposMatch)
	}

	fromFlag, err := resolveCheckSettings(checkOptions{symposMatch: conflict.Yes}, f)
	if err != nil {
		t.Fatal(err)
	}
	if fromFlag.symposMatch != conflict.Yes {
		t.Errorf("flag over plan: symposMatch = %s, want yes", fromFlag.symposMatch)
	}
}
