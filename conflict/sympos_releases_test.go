package conflict

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/klpcheck/klpcheck/livepatch"
)

func TestSymposMatch(t *testing.T) {
	tests := []struct {
		version livepatch.KernelVersion
		want    Tristate
	}{
		{release(6, 19, 0, "6.19.0-rc1"), Yes},
		{release(7, 0, 3, "7.0.3"), Yes},
		{release(6, 6, 120, "6.6.120"), Yes},
		{release(6, 6, 131, "6.6.131-cloud"), Yes},
		{release(6, 6, 119, "6.6.119"), Unknown},
		{release(5, 15, 198, "5.15.198"), Yes},
		{release(5, 15, 0, "5.15.0-130-generic"), Unknown},
		{release(6, 1, 0, "6.1.0-57-amd64"), Unknown},
		{release(6, 18, 9, "6.18.9"), Unknown},
		{livepatch.KernelVersion{}, Unknown},
	}
	for _, tt := range tests {
		got, why := SymposMatch(tt.version)
		if got != tt.want || why == "" {
			t.Errorf("SymposMatch(%q) = %v, %q; want %v with a reason", tt.version.Release, got, why, tt.want)
		}
	}
}

// releaseRow matches a row of the releases table in the documentation:
// "| <line> | <release> | <evidence> |".
var releaseRow = regexp.MustCompile(`^\| (mainline|\d+\.\d+\.y) \| (\d+)\.(\d+)(?:\.(\d+))? \|`)

func TestSymposReleasesMatchDoc(t *testing.T) {
	data, err := os.ReadFile("../docs/sympos-zero-one.md")
	if err != nil {
		t.Fatal(err)
	}

	type row struct {
		Major, Minor, Patch int
		Mainline            bool
	}
	var doc []row
	for _, line := range strings.Split(string(data), "\n") {
		m := releaseRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		r := row{Mainline: m[1] == "mainline"}
		r.Major, _ = strconv.Atoi(m[2])
		r.Minor, _ = strconv.Atoi(m[3])
		if m[4] != "" {
			r.Patch, _ = strconv.Atoi(m[4])
		}
		doc = append(doc, r)
	}

	var code []row
	for _, r := range SymposMatchReleases {
		code = append(code, row{Major: r.Major, Minor: r.Minor, Patch: r.Patch, Mainline: r.Mainline})
	}
	if len(doc) == 0 {
		t.Fatal("no release rows found in docs/sympos-zero-one.md")
	}
	if diff := cmp.Diff(doc, code); diff != "" {
		t.Errorf("SymposMatchReleases differs from docs/sympos-zero-one.md (-doc +code):\n%s", diff)
	}
}
