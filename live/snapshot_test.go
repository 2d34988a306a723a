package live

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSnapshotRoundTrip takes a snapshot of each committed snapshot, used
// as a root tree. The committed trees hold exactly the files Snapshot
// writes, so the copy must equal the original.
func TestSnapshotRoundTrip(t *testing.T) {
	scenarios := []string{"stack-order-6.16", "proc-modules-6.1", "transition-6.12", "replaced-loaded-6.16"}
	for _, name := range scenarios {
		t.Run(name, func(t *testing.T) {
			root := filepath.Join("testdata", name)
			out := filepath.Join(t.TempDir(), "snap")
			if err := Snapshot(root, out); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(listTree(t, root), listTree(t, out)); diff != "" {
				t.Errorf("snapshot differs from its source (-source +snapshot):\n%s", diff)
			}
		})
	}
}

// hostTree writes a fake host root: the files a snapshot takes plus the
// neighbours it must leave alone.
func hostTree(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "host")
	files := map[string]string{
		"proc/sys/kernel/osrelease": "6.16.12+deb13-amd64\n",
		"proc/sys/kernel/hostname":  "web01\n",
		"proc/cmdline":              "BOOT_IMAGE=/vmlinuz root=/dev/vda1\n",
		"proc/modules": "klpc_overlap_a 12288 1 - Live 0x0000000000000000 (OEK)\n" +
			"klpc_multi 16384 1 - Live 0x0000000000000000 (OEK)\n" +
			"ext4 1126400 1 - Live 0x0000000000000000\n",
		"sys/module/klpc_overlap_a/taint":      "OEK\n",
		"sys/module/klpc_overlap_a/refcnt":     "1\n",
		"sys/module/klpc_overlap_a/srcversion": "5A3C1B0E4F2D6A7B8C9D0E1\n",
		"sys/module/klpc_multi/taint":          "OEK\n",
		"sys/module/ext4/taint":                "\n",
		"sys/module/printk/parameters/time":    "Y\n",

		"sys/kernel/livepatch/klpc_multi/enabled":             "1\n",
		"sys/kernel/livepatch/klpc_multi/transition":          "0\n",
		"sys/kernel/livepatch/klpc_multi/force":               "",
		"sys/kernel/livepatch/klpc_multi/replace":             "0\n",
		"sys/kernel/livepatch/klpc_multi/stack_order":         "1\n",
		"sys/kernel/livepatch/klpc_multi/vmlinux/patched":     "1\n",
		"sys/kernel/livepatch/klpc_multi/ext4/patched":        "1\n",
		"sys/kernel/livepatch/klpc_overlap_a/enabled":         "1\n",
		"sys/kernel/livepatch/klpc_overlap_a/transition":      "0\n",
		"sys/kernel/livepatch/klpc_overlap_a/force":           "",
		"sys/kernel/livepatch/klpc_overlap_a/replace":         "0\n",
		"sys/kernel/livepatch/klpc_overlap_a/stack_order":     "2\n",
		"sys/kernel/livepatch/klpc_overlap_a/vmlinux/patched": "1\n",
		"sys/kernel/tracing/available_filter_functions":       "cmdline_proc_show\nversion_proc_show\n",
		"sys/kernel/tracing/enabled_functions":                "cmdline_proc_show (1) R I\n",
		"sys/kernel/debug/tracing/available_filter_functions": "ignored\n",
	}
	for rel, content := range files {
		writeFile(t, root, rel, content)
	}
	for _, rel := range []string{
		"sys/kernel/livepatch/klpc_multi/vmlinux/cmdline_proc_show,1",
		"sys/kernel/livepatch/klpc_multi/vmlinux/version_proc_show,1",
		"sys/kernel/livepatch/klpc_multi/ext4/ext4_statfs,1",
		"sys/kernel/livepatch/klpc_multi/ext4/ext4_es_is_delayed,2",
		"sys/kernel/livepatch/klpc_overlap_a/vmlinux/cmdline_proc_show,1",
		// An object whose functions are all gone, as for a callbacks-only
		// object.
		"sys/kernel/livepatch/klpc_overlap_a/xfs",
		"sys/module/klpc_multi/holders",
	} {
		mkdir(t, root, rel)
	}
	// The kernel's force attribute is write-only.
	for _, patch := range []string{"klpc_multi", "klpc_overlap_a"} {
		if err := os.Chmod(filepath.Join(root, "sys/kernel/livepatch", patch, "force"), 0o200); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestSnapshotHostTree(t *testing.T) {
	root := hostTree(t)
	out := filepath.Join(t.TempDir(), "snap")
	if err := Snapshot(root, out); err != nil {
		t.Fatal(err)
	}

	want := map[string]string{
		"proc/":                     "",
		"proc/sys/":                 "",
		"proc/sys/kernel/":          "",
		"proc/sys/kernel/osrelease": "6.16.12+deb13-amd64\n",
		"proc/modules": "klpc_overlap_a 12288 1 - Live 0x0000000000000000 (OEK)\n" +
			"klpc_multi 16384 1 - Live 0x0000000000000000 (OEK)\n" +
			"ext4 1126400 1 - Live 0x0000000000000000\n",
		"sys/":                            "",
		"sys/module/":                     "",
		"sys/module/klpc_overlap_a/":      "",
		"sys/module/klpc_overlap_a/taint": "OEK\n",
		"sys/module/klpc_multi/":          "",
		"sys/module/klpc_multi/taint":     "OEK\n",
		"sys/module/ext4/":                "",
		"sys/module/ext4/taint":           "\n",

		"sys/kernel/":                                      "",
		"sys/kernel/livepatch/":                            "",
		"sys/kernel/livepatch/klpc_multi/":                 "",
		"sys/kernel/livepatch/klpc_multi/enabled":          "1\n",
		"sys/kernel/livepatch/klpc_multi/transition":       "0\n",
		"sys/kernel/livepatch/klpc_multi/replace":          "0\n",
		"sys/kernel/livepatch/klpc_multi/stack_order":      "1\n",
		"sys/kernel/livepatch/klpc_multi/vmlinux/":         "",
		"sys/kernel/livepatch/klpc_multi/ext4/":            "",
		"sys/kernel/livepatch/klpc_overlap_a/":             "",
		"sys/kernel/livepatch/klpc_overlap_a/enabled":      "1\n",
		"sys/kernel/livepatch/klpc_overlap_a/transition":   "0\n",
		"sys/kernel/livepatch/klpc_overlap_a/replace":      "0\n",
		"sys/kernel/livepatch/klpc_overlap_a/stack_order":  "2\n",
		"sys/kernel/livepatch/klpc_overlap_a/vmlinux/":     "",
		"sys/kernel/livepatch/klpc_overlap_a/xfs/":         "",
		"sys/kernel/livepatch/klpc_overlap_a/xfs/.gitkeep": "",

		"sys/kernel/tracing/":                           "",
		"sys/kernel/tracing/available_filter_functions": "cmdline_proc_show\nversion_proc_show\n",
	}
	for _, rel := range []string{
		"sys/kernel/livepatch/klpc_multi/vmlinux/cmdline_proc_show,1",
		"sys/kernel/livepatch/klpc_multi/vmlinux/version_proc_show,1",
		"sys/kernel/livepatch/klpc_multi/ext4/ext4_statfs,1",
		"sys/kernel/livepatch/klpc_multi/ext4/ext4_es_is_delayed,2",
		"sys/kernel/livepatch/klpc_overlap_a/vmlinux/cmdline_proc_show,1",
	} {
		want[rel+"/"] = ""
		want[rel+"/.gitkeep"] = ""
	}

	if diff := cmp.Diff(want, listTree(t, out)); diff != "" {
		t.Errorf("snapshot tree mismatch (-want +got):\n%s", diff)
	}

	s, err := Read(out)
	if err != nil {
		t.Fatal(err)
	}
	wantState := &State{
		KernelRelease: "6.16.12+deb13-amd64",
		Patches: []Patch{
			{Name: "klpc_multi", Enabled: true, Replace: ptr(false), ReplaceValue: ptr(uint32(0)), StackOrder: 1, Objects: []Object{klpcMultiExt4, vmlinux("cmdline_proc_show", "version_proc_show")}},
			{Name: "klpc_overlap_a", Enabled: true, Replace: ptr(false), ReplaceValue: ptr(uint32(0)), StackOrder: 2, Objects: []Object{vmlinux("cmdline_proc_show"), {Name: "xfs"}}},
		},
		OrderSource: OrderStackOrder,
		Modules: []Module{
			{Name: "klpc_overlap_a", Taint: "OEK", State: "Live", Refcount: 1, RefcountKnown: true},
			{Name: "klpc_multi", Taint: "OEK", State: "Live", Refcount: 1, RefcountKnown: true},
			{Name: "ext4", State: "Live", Refcount: 1, RefcountKnown: true},
		},
		FilterFunctions: filepath.Join(out, "sys/kernel/tracing/available_filter_functions"),
	}
	if diff := cmp.Diff(wantState, s); diff != "" {
		t.Errorf("Read of the snapshot mismatch (-want +got):\n%s", diff)
	}
}

func TestSnapshotMinimalHost(t *testing.T) {
	root := filepath.Join(t.TempDir(), "host")
	writeFile(t, root, "proc/sys/kernel/osrelease", "6.1.0-57-amd64\n")
	writeFile(t, root, "proc/modules", "")
	mkdir(t, root, "sys/kernel/livepatch")

	out := filepath.Join(t.TempDir(), "snap")
	if err := Snapshot(root, out); err != nil {
		t.Fatal(err)
	}

	want := map[string]string{
		"proc/":                         "",
		"proc/sys/":                     "",
		"proc/sys/kernel/":              "",
		"proc/sys/kernel/osrelease":     "6.1.0-57-amd64\n",
		"proc/modules":                  "",
		"sys/":                          "",
		"sys/kernel/":                   "",
		"sys/kernel/livepatch/":         "",
		"sys/kernel/livepatch/.gitkeep": "",
	}
	if diff := cmp.Diff(want, listTree(t, out)); diff != "" {
		t.Errorf("snapshot tree mismatch (-want +got):\n%s", diff)
	}

	s, err := Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&State{KernelRelease: "6.1.0-57-amd64"}, s); diff != "" {
		t.Errorf("Read of the snapshot mismatch (-want +got):\n%s", diff)
	}
}

func TestSnapshotIntoEmptyDirectory(t *testing.T) {
	out := t.TempDir()
	if err := Snapshot("testdata/replaced-loaded-6.16", out); err != nil {
		t.Fatal(err)
	}

	info, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o755 {
		t.Errorf("snapshot directory mode = %v, want 0755", info.Mode().Perm())
	}
	if _, err := Read(out); err != nil {
		t.Error(err)
	}
}

func TestSnapshotErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, root string)
		want   string
	}{
		{
			name:   "missing release",
			change: func(t *testing.T, root string) { removeFile(t, root, "proc/sys/kernel/osrelease") },
			want:   "snapshot $ROOT: copy kernel release: lstat $ROOT/proc/sys/kernel/osrelease: no such file or directory",
		},
		{
			name:   "missing proc/modules",
			change: func(t *testing.T, root string) { removeFile(t, root, "proc/modules") },
			want:   "snapshot $ROOT: copy modules: lstat $ROOT/proc/modules: no such file or directory",
		},
		{
			name: "module name leaving sys/module",
			change: func(t *testing.T, root string) {
				writeFile(t, root, "proc/modules", "../../../etc 12288 1 - Live 0x0000000000000000\n")
			},
			want: `snapshot $ROOT: copy modules: $ROOT/proc/modules:1: invalid module name "../../../etc": contains '/' or NUL`,
		},
		{
			name: "symbolic link as taint file",
			change: func(t *testing.T, root string) {
				removeFile(t, root, "sys/module/ext4/taint")
				if err := os.Symlink("/etc/hostname", filepath.Join(root, "sys/module/ext4/taint")); err != nil {
					t.Fatal(err)
				}
			},
			want: "snapshot $ROOT: copy modules: $ROOT/sys/module/ext4/taint: unexpected symbolic link; expected a regular file",
		},
		{
			name: "symbolic link as patch directory",
			change: func(t *testing.T, root string) {
				if err := os.Symlink("/etc", filepath.Join(root, "sys/kernel/livepatch/klpc_link")); err != nil {
					t.Fatal(err)
				}
			},
			want: "snapshot $ROOT: copy livepatch directory: $ROOT/sys/kernel/livepatch/klpc_link: unexpected symbolic link; the kernel creates only patch directories here",
		},
		{
			name: "symbolic link as object directory",
			change: func(t *testing.T, root string) {
				if err := os.Symlink("/etc", filepath.Join(root, "sys/kernel/livepatch/klpc_multi/etc")); err != nil {
					t.Fatal(err)
				}
			},
			want: "snapshot $ROOT: copy livepatch directory: $ROOT/sys/kernel/livepatch/klpc_multi/etc: unexpected symbolic link in a patch directory",
		},
		{
			name: "symbolic link as livepatch directory",
			change: func(t *testing.T, root string) {
				if err := os.RemoveAll(filepath.Join(root, "sys/kernel/livepatch")); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink("/etc", filepath.Join(root, "sys/kernel/livepatch")); err != nil {
					t.Fatal(err)
				}
			},
			want: "snapshot $ROOT: copy livepatch directory: $ROOT/sys/kernel/livepatch: unexpected symbolic link; expected a directory",
		},
		{
			name:   "patch removed while copying",
			change: func(t *testing.T, root string) { removeFile(t, root, "sys/kernel/livepatch/klpc_overlap_a/enabled") },
			want:   "snapshot $ROOT: copy livepatch directory: lstat $ROOT/sys/kernel/livepatch/klpc_overlap_a/enabled: no such file or directory; the patch may have been removed while the snapshot was taken, so take it again",
		},
		{
			name: "function directory with sympos 0",
			change: func(t *testing.T, root string) {
				mkdir(t, root, "sys/kernel/livepatch/klpc_multi/vmlinux/meminfo_proc_show,0")
			},
			want: `snapshot $ROOT: copy livepatch directory: $ROOT/sys/kernel/livepatch/klpc_multi/vmlinux/meminfo_proc_show,0: invalid function directory name: sympos 0 in "meminfo_proc_show,0": the kernel shows an old_sympos of 0 as 1`,
		},
		{
			name: "named pipe as attribute",
			change: func(t *testing.T, root string) {
				removeFile(t, root, "sys/kernel/livepatch/klpc_multi/transition")
				if err := mkfifo(filepath.Join(root, "sys/kernel/livepatch/klpc_multi/transition")); err != nil {
					t.Skip("named pipes unsupported:", err)
				}
			},
			want: "snapshot $ROOT: copy livepatch directory: $ROOT/sys/kernel/livepatch/klpc_multi/transition: unexpected named pipe; expected a regular file",
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := hostTree(t)
			tt.change(t, root)
			outParent := t.TempDir()
			out := filepath.Join(outParent, "snap")

			err := Snapshot(root, out)
			if err == nil {
				t.Fatal("Snapshot succeeded, want an error")
			}
			want := strings.ReplaceAll(tt.want, "$ROOT", root)
			if err.Error() != want {
				t.Errorf("Snapshot error:\n got  %s\n want %s", err, want)
			}

			entries, err := os.ReadDir(outParent)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 0 {
				t.Errorf("failed Snapshot left %d entries in the output's parent, first %s", len(entries), entries[0].Name())
			}
		})
	}
}

func TestSnapshotRejectsUsedOutput(t *testing.T) {
	out := t.TempDir()
	writeFile(t, out, "proc/modules", "")

	err := Snapshot("testdata/proc-modules-6.1", out)
	want := "snapshot: output directory " + out + " is not empty; choose a new one"
	if err == nil || err.Error() != want {
		t.Errorf("Snapshot error = %v, want %q", err, want)
	}

	file := filepath.Join(t.TempDir(), "file")
	writeFile(t, filepath.Dir(file), "file", "")
	err = Snapshot("testdata/proc-modules-6.1", file)
	want = "snapshot: output " + file + " exists and is not a directory"
	if err == nil || err.Error() != want {
		t.Errorf("Snapshot error = %v, want %q", err, want)
	}
}

func TestSnapshotWithoutOptionalFiles(t *testing.T) {
	root := hostTree(t)
	for _, rel := range []string{
		"sys/kernel/tracing/available_filter_functions",
		"sys/module/ext4/taint",
		"sys/kernel/livepatch/klpc_multi/transition",
		"sys/kernel/livepatch/klpc_multi/replace",
		"sys/kernel/livepatch/klpc_multi/stack_order",
		"sys/kernel/livepatch/klpc_overlap_a/stack_order",
	} {
		removeFile(t, root, rel)
	}

	out := filepath.Join(t.TempDir(), "snap")
	if err := Snapshot(root, out); err != nil {
		t.Fatal(err)
	}

	for _, rel := range []string{
		"sys/kernel/tracing",
		"sys/module/ext4/taint",
		"sys/kernel/livepatch/klpc_multi/transition",
		"sys/kernel/livepatch/klpc_multi/replace",
		"sys/kernel/livepatch/klpc_multi/stack_order",
	} {
		if _, err := os.Lstat(filepath.Join(out, rel)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s in snapshot: Lstat error = %v, want it missing", rel, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(out, "sys/module/ext4")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("sys/module/ext4 in snapshot: Lstat error = %v, want it missing", err)
	}
}
