package livepatch

import (
	"strings"
	"testing"
)

func TestParseSymbolName(t *testing.T) {
	v61 := KernelVersion{Major: 6, Minor: 1, Release: "6.1.0-57-amd64"}
	v515 := KernelVersion{Major: 5, Minor: 15, Release: "5.15.0"}

	tests := []struct {
		name    string
		kernel  KernelVersion
		want    SymbolName
		wantErr string
	}{
		{".klp.sym.vmlinux.cmdline_proc_show,0", v61, SymbolName{"vmlinux", "cmdline_proc_show", 0}, ""},
		{".klp.sym.ext4.ext4_es_is_delayed,2", v61, SymbolName{"ext4", "ext4_es_is_delayed", 2}, ""},
		// Dots belong to the symbol name; only the object name stops at one.
		{".klp.sym.vmlinux.foo.isra.0,1", v61, SymbolName{"vmlinux", "foo.isra.0", 1}, ""},
		// sscanf skips white space before %lu and ignores what follows it.
		{".klp.sym.vmlinux.foo, 3", v61, SymbolName{"vmlinux", "foo", 3}, ""},
		{".klp.sym.vmlinux.foo,3junk", v61, SymbolName{"vmlinux", "foo", 3}, ""},
		{".klp.sym.vmlinux.foo,-1", v61, SymbolName{}, "not a decimal number"},
		{".klp.sym.vmlinux.foo", v61, SymbolName{}, "missing ',<sympos>'"},
		{".klp.sym..foo,0", v61, SymbolName{}, "empty object name"},
		{".klp.sym.vmlinux.,0", v61, SymbolName{}, "empty symbol name"},
		{".klp.sym.vmlinux", v61, SymbolName{}, "not followed by '.'"},
		{"klp.sym.vmlinux.foo,0", v61, SymbolName{}, "missing prefix"},
		{".klp.sym." + strings.Repeat("m", 56) + ".foo,0", v61, SymbolName{}, "longer than 55 bytes"},
		{".klp.sym." + strings.Repeat("m", 55) + ".foo,0", v61, SymbolName{strings.Repeat("m", 55), "foo", 0}, ""},
		// KSYM_NAME_LEN is 512 from 6.1 and 128 before.
		{".klp.sym.vmlinux." + strings.Repeat("f", 200) + ",0", v61, SymbolName{"vmlinux", strings.Repeat("f", 200), 0}, ""},
		{".klp.sym.vmlinux." + strings.Repeat("f", 200) + ",0", v515, SymbolName{}, "longer than 127 bytes"},
		{".klp.sym.vmlinux." + strings.Repeat("f", 512) + ",0", v61, SymbolName{}, "longer than 511 bytes"},
	}
	for _, tt := range tests {
		got, err := ParseSymbolName(tt.name, tt.kernel)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseSymbolName(%.60q) error = %v, want one containing %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSymbolName(%.60q) error = %v", tt.name, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseSymbolName(%.60q) = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}

func TestRelocSectionObject(t *testing.T) {
	tests := []struct {
		name          string
		wantObj       string
		wantTruncated bool
		wantErr       bool
	}{
		{".klp.rela.vmlinux..text.cmdline_proc_show", "vmlinux", false, false},
		{".klp.rela.ext4..text.ext4_attr_store", "ext4", false, false},
		{".klp.rela.ext4", "ext4", false, false},
		{".klp.rela..text", "", false, true},
		{".rela.text", "", false, true},
		// The kernel reads 55 bytes and stops: the section parses, but its
		// truncated object name never matches a module.
		{".klp.rela." + strings.Repeat("m", 60) + "..text", strings.Repeat("m", 55), true, false},
	}
	for _, tt := range tests {
		obj, truncated, err := RelocSectionObject(tt.name)
		if (err != nil) != tt.wantErr {
			t.Errorf("RelocSectionObject(%q) error = %v, want error %v", tt.name, err, tt.wantErr)
			continue
		}
		if obj != tt.wantObj {
			t.Errorf("RelocSectionObject(%q) object = %q, want %q", tt.name, obj, tt.wantObj)
		}
		if truncated != tt.wantTruncated {
			t.Errorf("RelocSectionObject(%q) truncated = %v, want %v", tt.name, truncated, tt.wantTruncated)
		}
	}
}

func TestParseVermagic(t *testing.T) {
	tests := []struct {
		in   string
		want KernelVersion
	}{
		{"6.1.0-57-amd64 SMP preempt mod_unload modversions ", KernelVersion{6, 1, 0, "6.1.0-57-amd64"}},
		{"6.12.118+deb12-amd64 SMP preempt mod_unload modversions ", KernelVersion{6, 12, 118, "6.12.118+deb12-amd64"}},
		{"5.4.0", KernelVersion{5, 4, 0, "5.4.0"}},
		{"6.19-rc3", KernelVersion{6, 19, 0, "6.19-rc3"}},
		{"linux-6.1", KernelVersion{Release: "linux-6.1"}},
		{"", KernelVersion{}},
	}
	for _, tt := range tests {
		if got := ParseVermagic(tt.in); got != tt.want {
			t.Errorf("ParseVermagic(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestKsymNameLen(t *testing.T) {
	tests := []struct {
		v    KernelVersion
		want int
	}{
		{KernelVersion{Major: 6, Minor: 1}, 512},
		{KernelVersion{Major: 6, Minor: 0}, 128},
		{KernelVersion{Major: 5, Minor: 15}, 128},
		{KernelVersion{}, 512},
	}
	for _, tt := range tests {
		if got := KsymNameLen(tt.v); got != tt.want {
			t.Errorf("KsymNameLen(%d.%d) = %d, want %d", tt.v.Major, tt.v.Minor, got, tt.want)
		}
	}
}

func TestFuncName(t *testing.T) {
	tests := []struct {
		object, function string
		sympos           uint64
		hasSympos        bool
		want             string
	}{
		{"vmlinux", "cmdline_proc_show", 2, true, "vmlinux:cmdline_proc_show,2"},
		{"ext4", "ext4_free_inode", 0, false, "ext4:ext4_free_inode"},
		{"", "schedule", 18446744073709551615, true, "schedule,18446744073709551615"},
		{"vmlinux", "", 1, true, "vmlinux"},
		{"", "", 0, false, ""},
	}
	for _, tt := range tests {
		if got := FuncName(tt.object, tt.function, tt.sympos, tt.hasSympos); got != tt.want {
			t.Errorf("FuncName(%q, %q, %d, %v) = %q, want %q", tt.object, tt.function, tt.sympos, tt.hasSympos, got, tt.want)
		}
	}
}
