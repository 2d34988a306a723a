package target

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestIgnoredFirst checks the one-byte shortcuts of ignoredName against
// the lists they stand for.
func TestIgnoredFirst(t *testing.T) {
	for name := range ignoredNames {
		if !strings.Contains(ignoredFirst, name[:1]) {
			t.Errorf("ignored name %q starts with a byte missing from ignoredFirst %q", name, ignoredFirst)
		}
	}
	for _, p := range ignoredPrefixes {
		if !strings.Contains(ignoredFirst, p[:1]) {
			t.Errorf("ignored prefix %q starts with a byte missing from ignoredFirst %q", p, ignoredFirst)
		}
	}
	for _, s := range ignoredSuffixes {
		if last := s[len(s)-1]; last != 'm' && last != 'b' && last != 'r' {
			t.Errorf("ignored suffix %q ends in %q, which ignoredName does not check", s, last)
		}
	}
	for _, s := range ignoredInfixes {
		if !strings.Contains(s, ".") {
			t.Errorf("ignored infix %q has no dot, which ignoredName looks for first", s)
		}
	}
}

// TestIgnoredNameCases checks names on both sides of each shortcut.
func TestIgnoredNameCases(t *testing.T) {
	tests := map[string]bool{
		"":                       false,
		"schedule":               false,
		"kallsyms_names":         true,
		"kallsyms_lookup_name":   false,
		"L0":                     true,
		"__crc_printk":           true,
		"__crc":                  false,
		"$x":                     true,
		".Ltmp1":                 true,
		"foo_veneer":             true,
		"foo_from_thumb":         true,
		"foo_from_arm":           true,
		"foo.long_branch.bar":    true,
		"foo.plt_branch.bar":     true,
		"foo.cold":               false,
		"__kcfi_typeid_vfs_read": true,
	}
	for name, want := range tests {
		if got := ignoredName(name); got != want {
			t.Errorf("ignoredName(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestPermute checks the in-place reordering on a permutation with a fixed
// point, a 2-cycle and a 3-cycle.
func TestPermute(t *testing.T) {
	symbols := []Symbol{{Name: "a"}, {Name: "b"}, {Name: "c"}, {Name: "d"}, {Name: "e"}, {Name: "f"}}
	order := []int32{0, 2, 1, 4, 5, 3}
	entries := make([]orderEntry, len(order))
	for i, pos := range order {
		entries[i].pos = pos
	}

	permute(symbols, entries)

	var got []string
	for _, s := range symbols {
		got = append(got, s.Name)
	}
	want := []string{"a", "c", "b", "e", "f", "d"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("permute (-want +got):\n%s", diff)
	}
}
