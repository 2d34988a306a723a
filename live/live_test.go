package live

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ptr[T any](v T) *T { return &v }

func vmlinux(funcs ...string) Object {
	o := Object{Name: "vmlinux"}
	for _, f := range funcs {
		o.Funcs = append(o.Funcs, Func{Name: f, Sympos: 1})
	}
	return o
}

// klpcMultiExt4 is the ext4 object of klpc_multi, as sysfs lists it.
var klpcMultiExt4 = Object{Name: "ext4", Funcs: []Func{
	{Name: "ext4_es_is_delayed", Sympos: 2},
	{Name: "ext4_statfs", Sympos: 1},
}}

const procModulesNote = "patch order taken from proc/modules, newest module first (no stack_order files, kernels before 6.14)"

func TestReadScenarios(t *testing.T) {
	tests := []struct {
		dir  string
		want *State
	}{
		{
			dir: "testdata/stack-order-6.16",
			want: &State{
				KernelRelease: "6.16.12+deb13-amd64",
				Patches: []Patch{
					{Name: "klpc_cumulative", Enabled: true, Replace: ptr(true), ReplaceValue: ptr(uint32(1)), StackOrder: 1, Objects: []Object{vmlinux("cmdline_proc_show", "uptime_proc_show")}},
					{Name: "klpc_overlap_a", Enabled: true, Replace: ptr(false), ReplaceValue: ptr(uint32(0)), StackOrder: 2, Objects: []Object{vmlinux("cmdline_proc_show")}},
					{Name: "klpc_overlap_b", Enabled: true, Replace: ptr(false), ReplaceValue: ptr(uint32(0)), StackOrder: 3, Objects: []Object{vmlinux("cmdline_proc_show")}},
				},
				OrderSource: OrderStackOrder,
				Modules: []Module{
					{Name: "klpc_overlap_b", Taint: "OEK", State: "Live", Refcount: 1, RefcountKnown: true},
					{Name: "klpc_overlap_a", Taint: "OEK", State: "Live", Refcount: 1, RefcountKnown: true},
					{Name: "klpc_cumulative", Taint: "OEK", State: "Live", Refcount: 1, RefcountKnown: true},
					{Name: "nft_chain_nat", State: "Live", Refcount: 3, RefcountKnown: true},
					{Name: "nf_nat", State: "Live", Refcount: 1, RefcountKnown: true},
					{Name: "nf_tables", State: "Live", Refcount: 27, RefcountKnown: true},
					{Name: "virtio_net", State: "Live", Refcount: 0, RefcountKnown: true},
					{Name: "net_failover", State: "Live", Refcount: 1, RefcountKnown: true},
					{Name: "failover", State: "Live", Refcount: 1, RefcountKnown: true},
					{Name: "virtio_blk", State: "Live", Refcount: 3, RefcountKnown: true},
				},
				FilterFunctions: "testdata/stack-order-6.16/sys/kernel/tracing/available_filter_functions",
			},
		},
		{
			dir: "testdata/proc-modules-6.1",
			want: &State{
				KernelRelease: "6.1.0-57-amd64",
				Patches: []Patch{
					{Name: "klpc_overlap_a", Enabled: true, StackOrder: 1, Objects: []Object{vmlinux("cmdline_proc_show")}},
					{Name: "klpc_multi", Enabled: true, StackOrder: 2, Objects: []Object{klpcMultiExt4, vmlinux("cmdline_proc_show", "version_proc_show")}},
				},
				OrderSource: OrderProcModules,
				Modules: []Module{
					{Name: "klpc_multi", Taint: "OEK", State: "Live", Refcount: 1, RefcountKnown: true},
					{Name: "klpc_overlap_a", Taint: "OEK", State: "Live", Refcount: 1, RefcountKnown: true},
					{Name: "ext4", State: "Live", Refcount: 2, RefcountKnown: true},
					{Name: "crc16", State: "Live", Refcount: 1, RefcountKnown: true},
					{Name: "mbcache", State: "Live", Refcount: 1, RefcountKnown: true},
					{Name: "jbd2", State: "Live", Refcount: 1, RefcountKnown: true},
					{Name: "virtio_blk", State: "Live", Refcount: 3, RefcountKnown: true},
				},
				Notes: []string{procModulesNote},
			},
		},
		{
			dir: "testdata/transition-6.12",
			want: &State{
				KernelRelease: "6.12.118+deb12-amd64",
				Patches: []Patch{
					{Name: "klpc_multi", Enabled: true, Replace: ptr(false), ReplaceValue: ptr(uint32(0)), StackOrder: 1, Objects: []Object{klpcMultiExt4, vmlinux("cmdline_proc_show", "version_proc_show")}},
					// The ext4 object and version_proc_show are the nops
					// of the replace transition.
					{Name: "klpc_cumulative", Enabled: true, Transition: true, Replace: ptr(true), ReplaceValue: ptr(uint32(1)), StackOrder: 2, Objects: []Object{klpcMultiExt4, vmlinux("cmdline_proc_show", "uptime_proc_show", "version_proc_show")}},
				},
				OrderSource: OrderProcModules,
				Modules: []Module{
					{Name: "klpc_cumulative", Taint: "OEK", State: "Live", Refcount: 1, RefcountKnown: true},
					{Name: "klpc_multi", Taint: "OEK", State: "Live", Refcount: 1, RefcountKnown: true},
					{Name: "ext4", State: "Live", Refcount: 2, RefcountKnown: true},
					{Name: "crc16", State: "Live", Refcount: 1, RefcountKnown: true},
					{Name: "mbcache", State: "Live", Refcount: 1, RefcountKnown: true},
					{Name: "jbd2", State: "Live", Refcount: 1, RefcountKnown: true},
					{Name: "virtio_blk", State: "Live", Refcount: 3, RefcountKnown: true},
				},
				Notes: []string{procModulesNote},
			},
		},
		{
			dir: "testdata/replaced-loaded-6.16",
			want: &State{
				KernelRelease: "6.16.12+deb13-amd64",
				Patches: []Patch{
					{Name: "klpc_states", Enabled: true, Replace: ptr(true), ReplaceValue: ptr(uint32(1)), StackOrder: 1, Objects: []Object{vmlinux("cmdline_proc_show")}},
					{Name: "klpc_overlap_b", Enabled: true, Replace: ptr(false), ReplaceValue: ptr(uint32(0)), StackOrder: 2, Objects: []Object{vmlinux("cmdline_proc_show")}},
				},
				OrderSource: OrderStackOrder,
				Modules: []Module{
					{Name: "klpc_overlap_b", Taint: "OEK", State: "Live", Refcount: 1, RefcountKnown: true},
					{Name: "klpc_states", Taint: "OEK", State: "Live", Refcount: 1, RefcountKnown: true},
					{Name: "klpc_overlap_a", Taint: "OEK", State: "Live", Refcount: 0, RefcountKnown: true},
					{Name: "virtio_net", State: "Live", Refcount: 0, RefcountKnown: true},
					{Name: "net_failover", State: "Live", Refcount: 1, RefcountKnown: true},
					{Name: "failover", State: "Live", Refcount: 1, RefcountKnown: true},
					{Name: "virtio_blk", State: "Live", Refcount: 3, RefcountKnown: true},
				},
			},
		},
	}

	for _, tt := range tests {
		t.Run(filepath.Base(tt.dir), func(t *testing.T) {
			got, err := Read(tt.dir)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Read mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInactiveLivepatchModules(t *testing.T) {
	tests := []struct {
		dir  string
		want []Module
	}{
		{dir: "testdata/stack-order-6.16", want: nil},
		{dir: "testdata/proc-modules-6.1", want: nil},
		{dir: "testdata/transition-6.12", want: nil},
		{dir: "testdata/replaced-loaded-6.16", want: []Module{{Name: "klpc_overlap_a", Taint: "OEK", State: "Live", Refcount: 0, RefcountKnown: true}}},
	}

	for _, tt := range tests {
		t.Run(filepath.Base(tt.dir), func(t *testing.T) {
			s, err := Read(tt.dir)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, s.InactiveLivepatchModules()); diff != "" {
				t.Errorf("InactiveLivepatchModules mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadNotes(t *testing.T) {
	tests := []struct {
		name   string
		base   string
		change func(t *testing.T, dir string)
		want   []string
	}{
		{
			name: "taint file differs from proc/modules",
			base: "stack-order-6.16",
			change: func(t *testing.T, dir string) {
				writeFile(t, dir, "sys/module/klpc_overlap_a/taint", "POEK\n")
			},
			want: []string{`module klpc_overlap_a: sys/module/klpc_overlap_a/taint has taint flags "POEK" but proc/modules shows "OEK"; using "POEK"`},
		},
		{
			name: "taint file missing",
			base: "stack-order-6.16",
			change: func(t *testing.T, dir string) {
				removeFile(t, dir, "sys/module/klpc_overlap_a/taint")
			},
			want: nil,
		},
		{
			name: "active patch without K",
			base: "stack-order-6.16",
			change: func(t *testing.T, dir string) {
				writeFile(t, dir, "sys/module/klpc_overlap_a/taint", "OE\n")
				replaceInFile(t, dir, "proc/modules", "0xffffffffc0b45000 (OEK)", "0xffffffffc0b45000 (OE)")
			},
			want: []string{"module klpc_overlap_a of active patch klpc_overlap_a lacks the livepatch taint flag K"},
		},
		{
			name: "active patch not in proc/modules",
			base: "stack-order-6.16",
			change: func(t *testing.T, dir string) {
				replaceInFile(t, dir, "proc/modules", "klpc_overlap_a 12288 1 - Live 0xffffffffc0b45000 (OEK)\n", "")
			},
			want: []string{"patch klpc_overlap_a is active but its module is not in proc/modules"},
		},
		{
			name: "two patches in transition",
			base: "stack-order-6.16",
			change: func(t *testing.T, dir string) {
				writeFile(t, dir, "sys/kernel/livepatch/klpc_overlap_a/transition", "1\n")
				writeFile(t, dir, "sys/kernel/livepatch/klpc_overlap_b/transition", "1\n")
			},
			want: []string{"patches klpc_overlap_a, klpc_overlap_b are all in transition; the kernel allows one transition at a time"},
		},
		{
			name: "disabled and not in transition",
			base: "stack-order-6.16",
			change: func(t *testing.T, dir string) {
				writeFile(t, dir, "sys/kernel/livepatch/klpc_overlap_b/enabled", "0\n")
			},
			want: []string{"patch klpc_overlap_b is disabled and not in transition; the kernel removes such a patch from sys/kernel/livepatch right away"},
		},
		{
			name: "gap in stack_order",
			base: "stack-order-6.16",
			change: func(t *testing.T, dir string) {
				writeFile(t, dir, "sys/kernel/livepatch/klpc_overlap_b/stack_order", "4\n")
			},
			want: []string{"stack_order values of the 3 patches are not 1 to 3; the snapshot was probably taken while a patch was removed"},
		},
		{
			name: "no transition file",
			base: "proc-modules-6.1",
			change: func(t *testing.T, dir string) {
				removeFile(t, dir, "sys/kernel/livepatch/klpc_multi/transition")
			},
			want: []string{
				"patch klpc_multi has no transition file (kernels before 4.12); taken as not in transition",
				procModulesNote,
			},
		},
		{
			name: "no livepatch directory",
			base: "proc-modules-6.1",
			change: func(t *testing.T, dir string) {
				if err := os.RemoveAll(filepath.Join(dir, "sys/kernel/livepatch")); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{"sys/kernel/livepatch is missing, as on a kernel built without CONFIG_LIVEPATCH; no patch is active"},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyScenario(t, tt.base)
			tt.change(t, dir)

			s, err := Read(dir)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, s.Notes); diff != "" {
				t.Errorf("Notes mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadWithoutLivepatchDirectory(t *testing.T) {
	dir := copyScenario(t, "proc-modules-6.1")
	if err := os.RemoveAll(filepath.Join(dir, "sys/kernel/livepatch")); err != nil {
		t.Fatal(err)
	}

	s, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Patches) != 0 {
		t.Errorf("Patches = %+v, want none", s.Patches)
	}
	if s.OrderSource != "" {
		t.Errorf("OrderSource = %q, want empty", s.OrderSource)
	}
	want := []Module{
		{Name: "klpc_multi", Taint: "OEK", State: "Live", Refcount: 1, RefcountKnown: true},
		{Name: "klpc_overlap_a", Taint: "OEK", State: "Live", Refcount: 1, RefcountKnown: true},
	}
	if diff := cmp.Diff(want, s.InactiveLivepatchModules()); diff != "" {
		t.Errorf("InactiveLivepatchModules mismatch (-want +got):\n%s", diff)
	}
}

// TestReadProposalAttributes reads a replace tag in the replace file, as
// the replace-tag proposal reuses it, and the replace_set file of the
// replace-set proposal.
func TestReadProposalAttributes(t *testing.T) {
	dir := copyScenario(t, "stack-order-6.16")
	writeFile(t, dir, "sys/kernel/livepatch/klpc_overlap_a/replace", "7\n")
	writeFile(t, dir, "sys/kernel/livepatch/klpc_overlap_b/replace_set", "4294967295\n")

	s, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}

	if got := s.Patches[1]; *got.Replace != true || *got.ReplaceValue != 7 || got.ReplaceSet != nil {
		t.Errorf("klpc_overlap_a: replace %v, value %v, set %v; want true, 7, nil", *got.Replace, *got.ReplaceValue, got.ReplaceSet)
	}
	if got := s.Patches[2]; got.ReplaceSet == nil || *got.ReplaceSet != 4294967295 {
		t.Errorf("klpc_overlap_b: replace_set %v, want 4294967295", got.ReplaceSet)
	}
}

func TestReadSkipsUnknownFiles(t *testing.T) {
	dir := copyScenario(t, "stack-order-6.16")
	writeFile(t, dir, "sys/kernel/livepatch/klpc_overlap_a/force", "")
	writeFile(t, dir, "sys/kernel/livepatch/klpc_overlap_a/vmlinux/patched", "1\n")
	writeFile(t, dir, "sys/kernel/livepatch/klpc_overlap_a/vmlinux/cmdline_proc_show,1/extra", "x\n")
	writeFile(t, dir, "sys/kernel/livepatch/.gitkeep", "")

	s, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := Patch{Name: "klpc_overlap_a", Enabled: true, Replace: ptr(false), ReplaceValue: ptr(uint32(0)), StackOrder: 2, Objects: []Object{vmlinux("cmdline_proc_show")}}
	if diff := cmp.Diff(want, s.Patches[1]); diff != "" {
		t.Errorf("Patches[1] mismatch (-want +got):\n%s", diff)
	}
}

func TestReadFunctionOrder(t *testing.T) {
	dir := copyScenario(t, "stack-order-6.16")
	obj := "sys/kernel/livepatch/klpc_overlap_a/vmlinux/"
	for _, name := range []string{"foo.isra.0,10", "foo.isra.0,2", "a,b,3"} {
		if err := os.Mkdir(filepath.Join(dir, obj+name), 0o755); err != nil {
			t.Fatal(err)
		}
	}

	s, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []Func{
		{Name: "a,b", Sympos: 3},
		{Name: "cmdline_proc_show", Sympos: 1},
		{Name: "foo.isra.0", Sympos: 2},
		{Name: "foo.isra.0", Sympos: 10},
	}
	if diff := cmp.Diff(want, s.Patches[1].Objects[0].Funcs); diff != "" {
		t.Errorf("Funcs mismatch (-want +got):\n%s", diff)
	}
}

func TestReadErrors(t *testing.T) {
	long := strings.Repeat("m", 56)
	tests := []struct {
		name   string
		base   string
		change func(t *testing.T, dir string)
		want   string
	}{
		{
			name:   "missing release",
			base:   "stack-order-6.16",
			change: func(t *testing.T, dir string) { removeFile(t, dir, "proc/sys/kernel/osrelease") },
			want:   "read snapshot $DIR: read kernel release: open $DIR/proc/sys/kernel/osrelease: no such file or directory",
		},
		{
			name:   "empty release",
			base:   "stack-order-6.16",
			change: func(t *testing.T, dir string) { writeFile(t, dir, "proc/sys/kernel/osrelease", "\n") },
			want:   `read snapshot $DIR: read kernel release: $DIR/proc/sys/kernel/osrelease: invalid kernel release ""`,
		},
		{
			name:   "missing proc/modules",
			base:   "stack-order-6.16",
			change: func(t *testing.T, dir string) { removeFile(t, dir, "proc/modules") },
			want:   "read snapshot $DIR: read modules: open $DIR/proc/modules: no such file or directory",
		},
		{
			name: "proc/modules line with too few fields",
			base: "proc-modules-6.1",
			change: func(t *testing.T, dir string) {
				replaceInFile(t, dir, "proc/modules", "virtio_blk 24576 3 - Live 0xffffffffc06e5000\n", "virtio_blk 24576\n")
			},
			want: `read snapshot $DIR: read modules: $DIR/proc/modules:7: expected 6 or 7 fields (name size refcount users state address [taint]), got 2 in "virtio_blk 24576"`,
		},
		{
			name: "proc/modules state",
			base: "proc-modules-6.1",
			change: func(t *testing.T, dir string) {
				replaceInFile(t, dir, "proc/modules", "3 - Live 0xffffffffc06e5000", "3 - Gone 0xffffffffc06e5000")
			},
			want: `read snapshot $DIR: read modules: $DIR/proc/modules:7: module virtio_blk: invalid state "Gone": expected Live, Loading or Unloading`,
		},
		{
			name: "proc/modules taint without parentheses",
			base: "proc-modules-6.1",
			change: func(t *testing.T, dir string) {
				replaceInFile(t, dir, "proc/modules", "0xffffffffc0a3f000 (OEK)", "0xffffffffc0a3f000 OEK")
			},
			want: `read snapshot $DIR: read modules: $DIR/proc/modules:1: module klpc_multi: invalid taint field "OEK": expected flags in parentheses`,
		},
		{
			name: "proc/modules path in name",
			base: "proc-modules-6.1",
			change: func(t *testing.T, dir string) {
				replaceInFile(t, dir, "proc/modules", "crc16 16384", "../../crc16 16384")
			},
			want: `read snapshot $DIR: read modules: $DIR/proc/modules:4: invalid module name "../../crc16": contains '/' or NUL`,
		},
		{
			name: "proc/modules lists a module twice",
			base: "proc-modules-6.1",
			change: func(t *testing.T, dir string) {
				replaceInFile(t, dir, "proc/modules", "crc16 16384", "jbd2 16384")
			},
			want: "read snapshot $DIR: read modules: $DIR/proc/modules: module jbd2 is listed twice",
		},
		{
			name:   "lower-case taint file",
			base:   "proc-modules-6.1",
			change: func(t *testing.T, dir string) { writeFile(t, dir, "sys/module/klpc_multi/taint", "oek\n") },
			want:   `read snapshot $DIR: read modules: $DIR/sys/module/klpc_multi/taint: invalid taint flags "oek": expected upper-case letters`,
		},
		{
			name:   "missing enabled",
			base:   "stack-order-6.16",
			change: func(t *testing.T, dir string) { removeFile(t, dir, "sys/kernel/livepatch/klpc_overlap_a/enabled") },
			want:   "read snapshot $DIR: read livepatch directory: $DIR/sys/kernel/livepatch/klpc_overlap_a/enabled: missing; every patch directory has one",
		},
		{
			name: "enabled out of range",
			base: "stack-order-6.16",
			change: func(t *testing.T, dir string) {
				writeFile(t, dir, "sys/kernel/livepatch/klpc_overlap_a/enabled", "2\n")
			},
			want: "read snapshot $DIR: read livepatch directory: $DIR/sys/kernel/livepatch/klpc_overlap_a/enabled: invalid value 2: expected 0 or 1",
		},
		{
			name: "transition not a number",
			base: "stack-order-6.16",
			change: func(t *testing.T, dir string) {
				writeFile(t, dir, "sys/kernel/livepatch/klpc_overlap_a/transition", "no\n")
			},
			want: `read snapshot $DIR: read livepatch directory: $DIR/sys/kernel/livepatch/klpc_overlap_a/transition: invalid value "no": expected a decimal number`,
		},
		{
			name: "replace with spaces",
			base: "stack-order-6.16",
			change: func(t *testing.T, dir string) {
				writeFile(t, dir, "sys/kernel/livepatch/klpc_overlap_a/replace", " 1\n")
			},
			want: `read snapshot $DIR: read livepatch directory: $DIR/sys/kernel/livepatch/klpc_overlap_a/replace: invalid value " 1": expected an unsigned 32-bit decimal number`,
		},
		{
			name: "stack_order zero",
			base: "stack-order-6.16",
			change: func(t *testing.T, dir string) {
				writeFile(t, dir, "sys/kernel/livepatch/klpc_overlap_a/stack_order", "0\n")
			},
			want: "read snapshot $DIR: read livepatch directory: $DIR/sys/kernel/livepatch/klpc_overlap_a/stack_order: invalid value 0: positions start at 1",
		},
		{
			name: "function directory without sympos",
			base: "stack-order-6.16",
			change: func(t *testing.T, dir string) {
				mkdir(t, dir, "sys/kernel/livepatch/klpc_overlap_a/vmlinux/uptime_proc_show")
			},
			want: `read snapshot $DIR: read livepatch directory: $DIR/sys/kernel/livepatch/klpc_overlap_a/vmlinux/uptime_proc_show: invalid function directory name: "uptime_proc_show" has no ',<sympos>' suffix`,
		},
		{
			name: "function directory with sympos 0",
			base: "stack-order-6.16",
			change: func(t *testing.T, dir string) {
				mkdir(t, dir, "sys/kernel/livepatch/klpc_overlap_a/vmlinux/uptime_proc_show,0")
			},
			want: `read snapshot $DIR: read livepatch directory: $DIR/sys/kernel/livepatch/klpc_overlap_a/vmlinux/uptime_proc_show,0: invalid function directory name: sympos 0 in "uptime_proc_show,0": the kernel shows an old_sympos of 0 as 1`,
		},
		{
			name: "function directory with signed sympos",
			base: "stack-order-6.16",
			change: func(t *testing.T, dir string) {
				mkdir(t, dir, "sys/kernel/livepatch/klpc_overlap_a/vmlinux/uptime_proc_show,+2")
			},
			want: `read snapshot $DIR: read livepatch directory: $DIR/sys/kernel/livepatch/klpc_overlap_a/vmlinux/uptime_proc_show,+2: invalid function directory name: sympos "+2" in "uptime_proc_show,+2" is not a decimal number`,
		},
		{
			name:   "function directory without name",
			base:   "stack-order-6.16",
			change: func(t *testing.T, dir string) { mkdir(t, dir, "sys/kernel/livepatch/klpc_overlap_a/vmlinux/,1") },
			want:   `read snapshot $DIR: read livepatch directory: $DIR/sys/kernel/livepatch/klpc_overlap_a/vmlinux/,1: invalid function directory name: ",1" has an empty function name`,
		},
		{
			name:   "object name too long",
			base:   "stack-order-6.16",
			change: func(t *testing.T, dir string) { mkdir(t, dir, "sys/kernel/livepatch/klpc_overlap_a/"+long) },
			want:   "read snapshot $DIR: read livepatch directory: $DIR/sys/kernel/livepatch/klpc_overlap_a/" + long + ": invalid object directory name: longer than 55 bytes, which klp_init_object rejects",
		},
		{
			name:   "patch name too long",
			base:   "stack-order-6.16",
			change: func(t *testing.T, dir string) { writeFile(t, dir, "sys/kernel/livepatch/"+long+"/enabled", "1\n") },
			want:   `read snapshot $DIR: read livepatch directory: $DIR/sys/kernel/livepatch/` + long + `: invalid patch directory name: invalid module name "` + long + `": longer than 55 bytes`,
		},
		{
			name:   "file in livepatch directory",
			base:   "stack-order-6.16",
			change: func(t *testing.T, dir string) { writeFile(t, dir, "sys/kernel/livepatch/klpc_notes", "x\n") },
			want:   "read snapshot $DIR: read livepatch directory: $DIR/sys/kernel/livepatch/klpc_notes: unexpected regular file; the kernel creates only patch directories here",
		},
		{
			name: "symbolic link in livepatch directory",
			base: "stack-order-6.16",
			change: func(t *testing.T, dir string) {
				if err := os.Symlink("klpc_overlap_a", filepath.Join(dir, "sys/kernel/livepatch/klpc_link")); err != nil {
					t.Fatal(err)
				}
			},
			want: "read snapshot $DIR: read livepatch directory: $DIR/sys/kernel/livepatch/klpc_link: unexpected symbolic link; the kernel creates only patch directories here",
		},
		{
			name: "duplicate stack_order",
			base: "stack-order-6.16",
			change: func(t *testing.T, dir string) {
				writeFile(t, dir, "sys/kernel/livepatch/klpc_overlap_b/stack_order", "2\n")
			},
			want: "read snapshot $DIR: order patches: $DIR/sys/kernel/livepatch: patches klpc_overlap_a and klpc_overlap_b both have stack_order 2; the snapshot was probably taken while a patch was removed, so take it again",
		},
		{
			name:   "stack_order on some patches only",
			base:   "stack-order-6.16",
			change: func(t *testing.T, dir string) { removeFile(t, dir, "sys/kernel/livepatch/klpc_overlap_b/stack_order") },
			want:   "read snapshot $DIR: order patches: $DIR/sys/kernel/livepatch: stack_order exists for klpc_cumulative, klpc_overlap_a but not for klpc_overlap_b; a kernel has it for every patch or for none",
		},
		{
			name: "patch missing from proc/modules without stack_order",
			base: "proc-modules-6.1",
			change: func(t *testing.T, dir string) {
				replaceInFile(t, dir, "proc/modules", "klpc_multi 16384 1 - Live 0xffffffffc0a3f000 (OEK)\n", "")
			},
			want: "read snapshot $DIR: order patches: patch klpc_multi is active but its module is not in $DIR/proc/modules, so the patch order is unknown (no stack_order files)",
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyScenario(t, tt.base)
			tt.change(t, dir)

			s, err := Read(dir)
			if err == nil {
				t.Fatalf("Read succeeded with %+v, want an error", s)
			}
			want := strings.ReplaceAll(tt.want, "$DIR", dir)
			if err.Error() != want {
				t.Errorf("Read error:\n got  %s\n want %s", err, want)
			}
		})
	}
}

func TestReadNotADirectory(t *testing.T) {
	_, err := Read("testdata/stack-order-6.16/proc/modules")
	want := "read snapshot: testdata/stack-order-6.16/proc/modules is not a directory"
	if err == nil || err.Error() != want {
		t.Errorf("Read error = %v, want %q", err, want)
	}
}

func TestParseProcModules(t *testing.T) {
	data := `klpc_states 12288 0 - Loading 0x0000000000000000 (OEK+)
klpc_overlap_a 12288 0 - Unloading 0x0000000000000000 (OEK-)
ext4 1040384 2 - Live 0xffffffffc0731000
jbd2 192512 1 ext4, Live 0xffffffffc06f1000
crc32c_intel 24576 - - Live 0xffffffffc06e0000
klpc_forced 12288 1 [permanent], Live 0xffffffffc06d0000 (OEK)
`
	got, err := parseProcModules([]byte(data), "proc/modules")
	if err != nil {
		t.Fatal(err)
	}

	want := []procModule{
		{Name: "klpc_states", State: "Loading", Taint: "OEK", RefcountKnown: true},
		{Name: "klpc_overlap_a", State: "Unloading", Taint: "OEK", RefcountKnown: true},
		{Name: "ext4", State: "Live", Refcount: 2, RefcountKnown: true},
		{Name: "jbd2", State: "Live", Refcount: 1, RefcountKnown: true},
		{Name: "crc32c_intel", State: "Live"},
		{Name: "klpc_forced", State: "Live", Taint: "OEK", Refcount: 1, RefcountKnown: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseProcModules mismatch (-want +got):\n%s", diff)
	}
}

func TestParseProcModulesEmpty(t *testing.T) {
	got, err := parseProcModules(nil, "proc/modules")
	if err != nil {
		t.Fatal(err)
	}
	if got != nil {
		t.Errorf("parseProcModules(nil) = %+v, want nil", got)
	}
}

// copyScenario copies testdata/<name> into a new temporary directory and
// returns it.
func copyScenario(t *testing.T, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	if err := os.CopyFS(dst, os.DirFS(filepath.Join("testdata", name))); err != nil {
		t.Fatal(err)
	}
	return dst
}

func writeFile(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func removeFile(t *testing.T, dir, rel string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, rel)); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, dir, rel string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, rel), 0o755); err != nil {
		t.Fatal(err)
	}
}

// replaceInFile replaces the one occurrence of old in a file.
func replaceInFile(t *testing.T, dir, rel, old, new string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(data), old) != 1 {
		t.Fatalf("%s contains %q %d times, want once", rel, old, strings.Count(string(data), old))
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// listTree returns every file of a tree with its content, and every
// directory with a trailing '/', keyed by slash-separated relative path.
func listTree(t *testing.T, root string) map[string]string {
	t.Helper()
	tree := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			tree[rel+"/"] = ""
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		tree[rel] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}
