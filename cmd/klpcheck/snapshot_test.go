package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeHost writes a host root with one active patch, klpc_overlap_a on
// 6.1.0-57-amd64 (the release of the fixture modules in testdata/modules/6.1),
// and files next to it that a snapshot must leave out.
func fakeHost(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "host")
	files := map[string]string{
		"proc/sys/kernel/osrelease": "6.1.0-57-amd64\n",
		"proc/sys/kernel/hostname":  "web01\n",
		"proc/cmdline":              "BOOT_IMAGE=/vmlinuz root=/dev/vda1\n",
		"proc/modules": "klpc_overlap_a 12288 1 - Live 0x0000000000000000 (OEK)\n" +
			"ext4 1040384 2 - Live 0x0000000000000000\n",
		"sys/module/klpc_overlap_a/taint":                "OEK\n",
		"sys/module/klpc_overlap_a/refcnt":               "1\n",
		"sys/module/ext4/taint":                          "\n",
		"sys/kernel/livepatch/klpc_overlap_a/enabled":    "1\n",
		"sys/kernel/livepatch/klpc_overlap_a/transition": "0\n",
	}
	for rel, content := range files {
		path := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// sysfs function directories are empty.
	if err := os.MkdirAll(filepath.Join(root, "sys/kernel/livepatch/klpc_overlap_a/vmlinux/cmdline_proc_show,1"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

// listFiles returns the regular files under dir, relative and with '/'.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestSnapshotThenCheck(t *testing.T) {
	root := fakeHost(t)
	snap := filepath.Join(t.TempDir(), "snap")

	var stdout, stderr bytes.Buffer
	if status := run([]string{"snapshot", "--root", root, snap}, strings.NewReader(""), &stdout, &stderr); status != exitClean {
		t.Fatalf("snapshot exit status = %d, want %d\nstderr:\n%s", status, exitClean, stderr.String())
	}
	if stdout.Len() != 0 || stderr.Len() != 0 {
		t.Errorf("snapshot printed stdout %q and stderr %q, want nothing", stdout.String(), stderr.String())
	}

	wantFiles := []string{
		"proc/modules",
		"proc/sys/kernel/osrelease",
		"sys/kernel/livepatch/klpc_overlap_a/enabled",
		"sys/kernel/livepatch/klpc_overlap_a/transition",
		"sys/kernel/livepatch/klpc_overlap_a/vmlinux/cmdline_proc_show,1/.gitkeep",
		"sys/module/ext4/taint",
		"sys/module/klpc_overlap_a/taint",
	}
	if diff := cmp.Diff(wantFiles, listFiles(t, snap)); diff != "" {
		t.Errorf("snapshot files (-want +got):\n%s", diff)
	}

	stdout.Reset()
	stderr.Reset()
	args := []string{"check", "--format", "json", "--live", snap, "../../testdata/modules/6.1/klpc_overlap_b.ko"}
	if status := run(args, strings.NewReader(""), &stdout, &stderr); status != exitClean {
		t.Fatalf("check exit status = %d, want %d\nstderr:\n%s", status, exitClean, stderr.String())
	}

	var got struct {
		Steps []struct {
			Module string `json:"module"`
			Live   bool   `json:"live"`
		} `json:"steps"`
		Effective []struct {
			Object   string `json:"object"`
			Function string `json:"function"`
			Module   string `json:"module"`
		} `json:"effective"`
		Findings []struct {
			Name   string `json:"name"`
			Module string `json:"module"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("decode check JSON: %v\n%s", err, stdout.String())
	}

	wantSteps := []struct {
		Module string `json:"module"`
		Live   bool   `json:"live"`
	}{{"klpc_overlap_a", true}, {"klpc_overlap_b", false}}
	if diff := cmp.Diff(wantSteps, got.Steps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	wantEffective := []struct {
		Object   string `json:"object"`
		Function string `json:"function"`
		Module   string `json:"module"`
	}{{"vmlinux", "cmdline_proc_show", "klpc_overlap_b"}}
	if diff := cmp.Diff(wantEffective, got.Effective); diff != "" {
		t.Errorf("effective (-want +got):\n%s", diff)
	}
	wantFindings := []struct {
		Name   string `json:"name"`
		Module string `json:"module"`
	}{{"func-overlap", "klpc_overlap_b"}}
	if diff := cmp.Diff(wantFindings, got.Findings); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

func TestSnapshotRootMissing(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	status := run([]string{"snapshot", "--root", filepath.Join(dir, "nosuch"), filepath.Join(dir, "snap")}, strings.NewReader(""), &stdout, &stderr)
	if status != exitUsage {
		t.Errorf("exit status = %d, want %d", status, exitUsage)
	}
	if _, err := os.Stat(filepath.Join(dir, "snap")); !os.IsNotExist(err) {
		t.Errorf("stat snap: %v, want it not to exist", err)
	}
}
