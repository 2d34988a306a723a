package plan

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ptr[T any](v T) *T { return &v }

func TestLoadFullExample(t *testing.T) {
	got, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}

	want := &File{
		Name:      "testdata/full.yaml",
		Dir:       "testdata",
		Semantics: "mainline",
		Kernel:    "6.1.0-57-amd64",
		Live:      "testdata/snapshots/web01",
		Targets: []Target{
			{Path: "testdata/vmlinux-6.1.0-57-amd64", RawPath: "vmlinux-6.1.0-57-amd64", Line: 7},
			{
				Path:    "/usr/lib/modules/6.1.0-57-amd64/kernel/fs/ext4/ext4.ko",
				RawPath: "/usr/lib/modules/6.1.0-57-amd64/kernel/fs/ext4/ext4.ko",
				Expect:  "0F2C6B1A9E5D4C3B2A19080",
				Line:    8,
				Lines:   map[string]int{"path": 8, "expect": 9},
			},
		},
		FailOn: "warning",
		Patches: []Patch{
			{
				Path:    "testdata/modules/klpc_cumulative.ko",
				RawPath: "modules/klpc_cumulative.ko",
				Replace: ptr(true),
				Expect:  "5A3C1B0E4F2D6A7B8C9D0E1",
				Line:    13,
				Lines:   map[string]int{"path": 13, "replace": 14, "expect": 15},
			},
			{
				Path:     "testdata/modules/klpc_overlap_a.ko",
				RawPath:  "modules/klpc_overlap_a.ko",
				Replace:  ptr(false),
				LiveName: "klpc_overlap_a",
				Line:     16,
				Lines:    map[string]int{"path": 16, "replace": 17, "live_name": 18},
			},
			{
				Path:    "/srv/livepatch/klpc_multi.ko",
				RawPath: "/srv/livepatch/klpc_multi.ko",
				Tag:     ptr(uint32(2)),
				Set:     ptr(uint32(16)),
				Expect:  "3f1e0c8b2a4d5e6f708192a3b4c5d6e7f8091a2b",
				Line:    19,
				Lines:   map[string]int{"path": 19, "tag": 20, "set": 21, "expect": 22},
			},
		},
		Suppressions: []Suppression{
			{
				Rule:     "func-overlap",
				Module:   "klpc_overlap_a",
				Object:   "vmlinux",
				Function: "cmdline_proc_show",
				Reason:   "klpc_overlap_a deliberately overrides the cumulative fix until 2026-09",
				Line:     25,
				Lines:    map[string]int{"rule": 25, "module": 26, "object": 27, "function": 28, "reason": 29},
			},
		},
		Lines: map[string]int{
			"semantics": 3, "kernel": 4, "live": 5, "targets": 6, "fail_on": 10,
			"patches": 12, "suppressions": 24,
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Load mismatch (-want +got):\n%s", diff)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "absent.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load error = %v, want one wrapping os.ErrNotExist", err)
	}
}

func TestParseMinimal(t *testing.T) {
	got, err := Parse([]byte("patches:\n  - path: a.ko\n"), "plan.yaml")
	if err != nil {
		t.Fatal(err)
	}

	want := &File{
		Name:    "plan.yaml",
		Dir:     ".",
		Patches: []Patch{{Path: "a.ko", RawPath: "a.ko", Line: 2, Lines: map[string]int{"path": 2}}},
		Lines:   map[string]int{"patches": 1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse mismatch (-want +got):\n%s", diff)
	}
}

// TestParseExpectLengths accepts a real srcversion, taken from a module of
// Debian's 6.1.0-57-amd64 package, and each build ID length.
func TestParseExpectLengths(t *testing.T) {
	for _, expect := range []string{
		"0716E17594E7E6D0EC026C5",
		"c6b0d8836944f01aeef86293fcf7de9f7b20a658",
		"0123456789abcdef0123456789abcdef",
		"0123456789abcdef",
	} {
		got, err := Parse([]byte("patches:\n  - path: a.ko\n    expect: "+expect+"\n"), "plan.yaml")
		if err != nil {
			t.Errorf("expect %s: %v", expect, err)
			continue
		}
		if got.Patches[0].Expect != expect {
			t.Errorf("expect %s parsed as %q", expect, got.Patches[0].Expect)
		}
	}
}

func TestParseValues(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want Patch
	}{
		{
			name: "hex tag and octal set",
			yaml: "patches:\n  - {path: a.ko, tag: 0xff, set: 0o17}\n",
			want: Patch{Path: "a.ko", RawPath: "a.ko", Tag: ptr(uint32(255)), Set: ptr(uint32(15))},
		},
		{
			name: "u32 maximum",
			yaml: "patches:\n  - {path: a.ko, tag: 4294967295}\n",
			want: Patch{Path: "a.ko", RawPath: "a.ko", Tag: ptr(uint32(4294967295))},
		},
		{
			name: "zero set",
			yaml: "patches:\n  - {path: a.ko, set: 0}\n",
			want: Patch{Path: "a.ko", RawPath: "a.ko", Set: ptr(uint32(0))},
		},
		{
			name: "capitalised boolean",
			yaml: "patches:\n  - {path: a.ko, replace: False}\n",
			want: Patch{Path: "a.ko", RawPath: "a.ko", Replace: ptr(false)},
		},
		{
			name: "path through an alias",
			yaml: "patches:\n  - path: &p dir/../b.ko\n  - path: *p\n",
			want: Patch{Path: "b.ko", RawPath: "dir/../b.ko"},
		},
	}

	ignoreLines := cmp.FilterPath(func(p cmp.Path) bool {
		name := p.Last().String()
		return name == ".Line" || name == ".Lines"
	}, cmp.Ignore())

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.yaml), "plan.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Patches) == 0 {
				t.Fatal("no patches parsed")
			}
			for i, got := range f.Patches {
				if diff := cmp.Diff(tt.want, got, ignoreLines); diff != "" {
					t.Errorf("patches[%d] mismatch (-want +got):\n%s", i, diff)
				}
			}
		})
	}
}

func TestParseTargets(t *testing.T) {
	yaml := `targets:
  - System.map-6.1.0-57-amd64
  - path: /lib/modules/6.1.0-57-amd64
  - path: modules/ext4.ko
    expect: 0f2c6b1a9e5d4c3b2a19080
`
	got, err := Parse([]byte(yaml), "deploy/plan.yaml")
	if err != nil {
		t.Fatal(err)
	}

	want := []Target{
		{Path: "deploy/System.map-6.1.0-57-amd64", RawPath: "System.map-6.1.0-57-amd64", Line: 2},
		{Path: "/lib/modules/6.1.0-57-amd64", RawPath: "/lib/modules/6.1.0-57-amd64", Line: 3, Lines: map[string]int{"path": 3}},
		{Path: "deploy/modules/ext4.ko", RawPath: "modules/ext4.ko", Expect: "0f2c6b1a9e5d4c3b2a19080", Line: 4, Lines: map[string]int{"path": 4, "expect": 5}},
	}
	if diff := cmp.Diff(want, got.Targets); diff != "" {
		t.Errorf("Targets mismatch (-want +got):\n%s", diff)
	}
}

func TestParseKeepsScalarText(t *testing.T) {
	f, err := Parse([]byte("kernel: 6.10\nlive: 2026\n"), "dir/plan.yaml")
	if err != nil {
		t.Fatal(err)
	}

	if f.Kernel != "6.10" {
		t.Errorf("Kernel = %q, want %q", f.Kernel, "6.10")
	}
	if f.Live != "dir/2026" {
		t.Errorf("Live = %q, want %q", f.Live, "dir/2026")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{
			name: "empty file",
			yaml: "",
			want: "plan.yaml: empty plan: expected a mapping with the keys semantics, kernel, sympos_match, live, targets, fail_on, patches, suppressions",
		},
		{
			name: "only comments",
			yaml: "# nothing yet\n",
			want: "plan.yaml: empty plan: expected a mapping with the keys semantics, kernel, sympos_match, live, targets, fail_on, patches, suppressions",
		},
		{
			name: "root is a list",
			yaml: "- a.ko\n",
			want: "plan.yaml:1: a plan must be a mapping of keys, got a list",
		},
		{
			name: "syntax error",
			yaml: "patches: [a.ko\n",
			want: "plan.yaml:1: invalid YAML: did not find expected ',' or ']'",
		},
		{
			name: "two documents",
			yaml: "kernel: 6.1.0-57-amd64\n---\nkernel: 6.12.118+deb12-amd64\n",
			want: "plan.yaml:2: a second YAML document starts here; a plan is a single document",
		},
		{
			name: "unknown top-level key",
			yaml: "semantics: mainline\npatchs: []\n",
			want: `plan.yaml:2: unknown key "patchs"; valid keys: semantics, kernel, sympos_match, live, targets, fail_on, patches, suppressions`,
		},
		{
			name: "merge key",
			yaml: "<<: {kernel: 6.1.0-57-amd64}\n",
			want: `plan.yaml:1: unknown key "<<"; valid keys: semantics, kernel, sympos_match, live, targets, fail_on, patches, suppressions`,
		},
		{
			name: "unknown patch key",
			yaml: "patches:\n  - path: a.ko\n  - path: b.ko\n    replce: true\n",
			want: `plan.yaml:4: unknown key "replce" in patches[1]; valid keys: path, replace, tag, set, expect, live_name`,
		},
		{
			name: "unknown suppression key",
			yaml: "suppressions:\n  - rule: func-overlap\n    resaon: known\n",
			want: `plan.yaml:3: unknown key "resaon" in suppressions[0]; valid keys: rule, module, object, function, reason`,
		},
		{
			name: "duplicate key",
			yaml: "kernel: 6.1.0-57-amd64\nkernel: 6.12.118+deb12-amd64\n",
			want: `plan.yaml:2: duplicate key "kernel"; first given on line 1`,
		},
		{
			name: "duplicate patch key",
			yaml: "patches:\n  - path: a.ko\n    tag: 1\n    tag: 2\n",
			want: `plan.yaml:4: duplicate key "tag" in patches[0]; first given on line 3`,
		},
		{
			name: "list as key",
			yaml: "? [a]\n: 1\n",
			want: "plan.yaml:1: invalid key: expected a name, got a list",
		},
		{
			name: "invalid semantics",
			yaml: "semantics: replace_set\n",
			want: `plan.yaml:1: invalid semantics "replace_set"; valid values: mainline, tag, replace-set`,
		},
		{
			name: "invalid fail_on",
			yaml: "fail_on: warn\n",
			want: `plan.yaml:1: invalid fail_on "warn"; valid values: error, warning, note, none`,
		},
		{
			name: "kernel without value",
			yaml: "kernel:\n",
			want: "plan.yaml:1: kernel has no value",
		},
		{
			name: "kernel as boolean",
			yaml: "kernel: true\n",
			want: "plan.yaml:1: kernel must be a string, got the boolean true; quote it if you mean the text",
		},
		{
			name: "live as list",
			yaml: "live:\n  - a\n",
			want: "plan.yaml:2: live must be a string, got a list",
		},
		{
			name: "empty live",
			yaml: "live: ''\n",
			want: "plan.yaml:1: live is empty",
		},
		{
			name: "targets as string",
			yaml: "targets: vmlinux\n",
			want: `plan.yaml:1: targets must be a list, got the string "vmlinux"`,
		},
		{
			name: "target as list",
			yaml: "targets:\n  - [vmlinux]\n",
			want: "plan.yaml:2: targets[0] must be a path or a mapping with the keys path, expect, got a list",
		},
		{
			name: "target as boolean",
			yaml: "targets:\n  - true\n",
			want: "plan.yaml:2: targets[0] must be a string, got the boolean true; quote it if you mean the text",
		},
		{
			name: "target without path",
			yaml: "targets:\n  - expect: 5A3C1B0E4F2D6A7B8C9D0E1\n",
			want: "plan.yaml:2: targets[0] has no path; every target entry names a file or directory",
		},
		{
			name: "unknown target key",
			yaml: "targets:\n  - path: vmlinux\n    srcversion: 5A3C1B0E4F2D6A7B8C9D0E1\n",
			want: `plan.yaml:3: unknown key "srcversion" in targets[0]; valid keys: path, expect`,
		},
		{
			name: "target expect not hex",
			yaml: "targets:\n  - {path: ext4.ko, expect: 5A3C-1B0E}\n",
			want: `plan.yaml:2: invalid targets[0].expect "5A3C-1B0E": expected a srcversion or build ID in hex`,
		},
		{
			name: "empty target path",
			yaml: "targets:\n  - path: ''\n",
			want: "plan.yaml:2: targets[0].path is empty",
		},
		{
			name: "patches as mapping",
			yaml: "patches:\n  path: a.ko\n",
			want: "plan.yaml:2: patches must be a list, got a mapping",
		},
		{
			name: "patch as string",
			yaml: "patches:\n  - a.ko\n",
			want: `plan.yaml:2: patches[0] must be a mapping with the keys path, replace, tag, set, expect, live_name, got the string "a.ko"`,
		},
		{
			name: "patch without path",
			yaml: "patches:\n  - replace: true\n",
			want: "plan.yaml:2: patches[0] has no path; every patch entry names its module file",
		},
		{
			name: "replace as string",
			yaml: "patches:\n  - path: a.ko\n    replace: yes\n",
			want: `plan.yaml:3: patches[0].replace must be true or false, got the string "yes"`,
		},
		{
			name: "replace as integer",
			yaml: "patches:\n  - path: a.ko\n    replace: 1\n",
			want: "plan.yaml:3: patches[0].replace must be true or false, got the integer 1",
		},
		{
			name: "negative tag",
			yaml: "patches:\n  - path: a.ko\n    tag: -1\n",
			want: "plan.yaml:3: patches[0].tag is negative (-1); it must be from 0 to 4294967295",
		},
		{
			name: "tag above u32",
			yaml: "patches:\n  - path: a.ko\n    tag: 4294967296\n",
			want: "plan.yaml:3: patches[0].tag is out of range: 4294967296 is larger than the u32 maximum 4294967295",
		},
		{
			name: "set above uint64",
			yaml: "patches:\n  - path: a.ko\n    set: 99999999999999999999999\n",
			want: "plan.yaml:3: patches[0].set is out of range: 99999999999999999999999 is larger than the u32 maximum 4294967295",
		},
		{
			name: "set as fraction",
			yaml: "patches:\n  - path: a.ko\n    set: 1.5\n",
			want: "plan.yaml:3: patches[0].set must be an integer from 0 to 4294967295, got the number 1.5",
		},
		{
			name: "tag as quoted string",
			yaml: "patches:\n  - path: a.ko\n    tag: \"3\"\n",
			want: `plan.yaml:3: patches[0].tag must be an integer from 0 to 4294967295, got the string "3"`,
		},
		{
			name: "replace with tag",
			yaml: "patches:\n  - path: a.ko\n    replace: true\n    tag: 1\n",
			want: "plan.yaml:3: patches[0] sets both replace and tag: replace is the mainline bool and tag the proposal's u32 in its place; keep one",
		},
		{
			name: "replace with set",
			yaml: "patches:\n  - path: a.ko\n    set: 1\n    replace: false\n",
			want: "plan.yaml:4: patches[0] sets both replace and set: replace is the mainline bool and set the proposal's u32 in its place; keep one",
		},
		{
			name: "expect not hex",
			yaml: "patches:\n  - path: a.ko\n    expect: 5A3C-1B0E\n",
			want: `plan.yaml:3: invalid patches[0].expect "5A3C-1B0E": expected a srcversion or build ID in hex`,
		},
		{
			name: "expect one digit over a srcversion",
			yaml: "patches:\n  - path: a.ko\n    expect: 0F2C6B1A9E5D4C3B2A190807\n",
			want: `plan.yaml:3: invalid patches[0].expect "0F2C6B1A9E5D4C3B2A190807": 24 hex digits, but a srcversion has 23 and a build ID 16, 32 or 40 (40 from Kbuild's --build-id=sha1)`,
		},
		{
			name: "expect too short",
			yaml: "targets:\n  - {path: ext4.ko, expect: 1e5}\n",
			want: `plan.yaml:2: invalid targets[0].expect "1e5": 3 hex digits, but a srcversion has 23 and a build ID 16, 32 or 40 (40 from Kbuild's --build-id=sha1)`,
		},
		{
			name: "live_name too long",
			yaml: "patches:\n  - path: a.ko\n    live_name: " + strings.Repeat("k", 56) + "\n",
			want: `plan.yaml:3: invalid patches[0].live_name "` + strings.Repeat("k", 56) + `": longer than 55 bytes, so no module can have it`,
		},
		{
			name: "live_name with slash",
			yaml: "patches:\n  - path: a.ko\n    live_name: mods/klpc_a\n",
			want: `plan.yaml:3: invalid patches[0].live_name "mods/klpc_a": a module name contains no '/' or white space`,
		},
		{
			name: "suppression as list",
			yaml: "suppressions:\n  - [rule, reason]\n",
			want: "plan.yaml:2: suppressions[0] must be a mapping with the keys rule, module, object, function, reason, got a list",
		},
		{
			name: "suppression reason as mapping",
			yaml: "suppressions:\n  - rule: func-overlap\n    reason: {why: known}\n",
			want: "plan.yaml:3: suppressions[0].reason must be a string, got a mapping",
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.yaml), "plan.yaml")
			if err == nil {
				t.Fatalf("Parse succeeded with %+v, want error %q", f, tt.want)
			}
			if f != nil {
				t.Errorf("Parse returned a File along with the error")
			}
			if err.Error() != tt.want {
				t.Errorf("Parse error:\n got  %s\n want %s", err, tt.want)
			}
		})
	}
}

func TestParseReportsEveryError(t *testing.T) {
	yaml := `semantics: mainlne
patches:
  - path: a.ko
    tag: -4
  - replce: true
`
	_, err := Parse([]byte(yaml), "plan.yaml")
	if err == nil {
		t.Fatal("Parse succeeded, want errors")
	}

	want := []string{
		`plan.yaml:1: invalid semantics "mainlne"; valid values: mainline, tag, replace-set`,
		"plan.yaml:4: patches[0].tag is negative (-4); it must be from 0 to 4294967295",
		`plan.yaml:5: unknown key "replce" in patches[1]; valid keys: path, replace, tag, set, expect, live_name`,
		"plan.yaml:5: patches[1] has no path; every patch entry names its module file",
	}
	if diff := cmp.Diff(strings.Join(want, "\n"), err.Error()); diff != "" {
		t.Errorf("error text mismatch (-want +got):\n%s", diff)
	}

	var planErr *Error
	if !errors.As(err, &planErr) {
		t.Fatalf("errors.As(%T, *Error) = false", err)
	}
	if diff := cmp.Diff(&Error{File: "plan.yaml", Line: 1, Msg: `invalid semantics "mainlne"; valid values: mainline, tag, replace-set`}, planErr); diff != "" {
		t.Errorf("first *Error mismatch (-want +got):\n%s", diff)
	}
}

func TestPosition(t *testing.T) {
	f := &File{Name: "deploy/plan.yaml"}
	if got := f.Position(12); got != "deploy/plan.yaml:12" {
		t.Errorf("Position(12) = %q, want %q", got, "deploy/plan.yaml:12")
	}
}

func TestParseSymposMatch(t *testing.T) {
	got, err := Parse([]byte("sympos_match: false\npatches:\n  - path: a.ko\n"), "plan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got.SymposMatch == nil || *got.SymposMatch {
		t.Errorf("SymposMatch = %v, want false", got.SymposMatch)
	}
	if got.Lines["sympos_match"] != 1 {
		t.Errorf("sympos_match line = %d, want 1", got.Lines["sympos_match"])
	}
}
