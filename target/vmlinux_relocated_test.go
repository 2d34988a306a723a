package target_test

import (
	"debug/elf"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/klpcheck/klpcheck/internal/elftest"
	"github.com/klpcheck/klpcheck/target"
)

// arm64Vmlinux is a small vmlinux laid out like Debian's 6.1 arm64 one:
// ET_DYN, every __mcount_loc entry zero, and one R_AARCH64_RELATIVE in
// .rela.dyn for each entry, next to relocations of other words. Each
// traced function's record is at its entry, the first of the two NOPs of
// -fpatchable-function-entry=2. Functions are 8-byte aligned, with 8
// bytes of padding before each, where the CALL_OPS variant puts its
// records.
func arm64Vmlinux() *elftest.Vmlinux {
	return &elftest.Vmlinux{
		Machine: elf.EM_AARCH64,
		Mcount:  elftest.McountRelocated,
		Symbols: []elftest.KernelSymbol{
			{Name: "show", File: "a.c", Offset: 0x108, Size: 0x38, Ftrace: []uint64{0}},
			{Name: "cpu_do_idle", File: "a.c", Offset: 0x148, Size: 0x18},
			{Name: "init_fn", File: "b.c", Section: ".init.text", Offset: 0x8, Size: 0x20, Ftrace: []uint64{0}},
			{Name: "do_one_initcall", Bind: elf.STB_GLOBAL, Offset: 0x8, Size: 0xf8, Ftrace: []uint64{0}},
			{Name: "klp_enable_patch", Bind: elf.STB_GLOBAL, Offset: 0x168, Size: 0x28, Ftrace: []uint64{0}},
		},
		Banner: elftest.LinuxBanner("6.1.0-57-arm64"),
	}
}

// arm64Records are the call sites of arm64Vmlinux, at each traced
// function's entry.
var arm64Records = []uint64{textAddr + 0x8, textAddr + 0x108, textAddr + 0x168, initTextAddr + 0x8}

// withCallOps turns v into the layout of an arm64 kernel with
// CONFIG_DYNAMIC_FTRACE_WITH_CALL_OPS: each record 8 bytes before its
// function, and ftrace_list_ops defined.
func withCallOps(v *elftest.Vmlinux) {
	v.FtraceBefore = 8
	v.Symbols = append(v.Symbols, elftest.KernelSymbol{
		Name: "ftrace_list_ops", Bind: elf.STB_GLOBAL, Section: ".data", Size: 0xd8, Type: elf.STT_OBJECT,
	})
}

func TestArm64RelocatedVmlinux(t *testing.T) {
	tg := loadOne(t, buildVmlinux(t, arm64Vmlinux()))
	v := tg.Vmlinux

	if diff := cmp.Diff(arm64Records, v.Ftrace); diff != "" || !v.FtraceKnown {
		t.Errorf("Ftrace (known %v) mismatch (-want +got):\n%s", v.FtraceKnown, diff)
	}
	if len(tg.Inputs[0].Notes) != 0 {
		t.Errorf("Notes = %q, want none", tg.Inputs[0].Notes)
	}
	if tg.Release != "6.1.0-57-arm64" {
		t.Errorf("Release = %q, want 6.1.0-57-arm64", tg.Release)
	}
	checkFtraceable(t, v, map[string]bool{
		"show": true, "cpu_do_idle": false, "init_fn": false, "do_one_initcall": true, "klp_enable_patch": true,
	})
}

func TestArm64CallOpsVmlinux(t *testing.T) {
	v := arm64Vmlinux()
	withCallOps(v)
	tg := loadOne(t, buildVmlinux(t, v))

	// The records are 8 bytes before each entry in the file, and the
	// reader moves them to the entry.
	if diff := cmp.Diff(arm64Records, tg.Vmlinux.Ftrace); diff != "" {
		t.Errorf("Ftrace mismatch (-want +got):\n%s", diff)
	}
	if len(tg.Inputs[0].Notes) != 0 {
		t.Errorf("Notes = %q, want none", tg.Inputs[0].Notes)
	}
	checkFtraceable(t, tg.Vmlinux, map[string]bool{
		"show": true, "cpu_do_idle": false, "init_fn": false, "do_one_initcall": true, "klp_enable_patch": true,
	})
}

// Without ftrace_list_ops the reader takes the records as they are, so
// records placed before the entry by a CALL_OPS build miss their
// functions. This shows what the symbol check guards against.
func TestArm64CallOpsNeedsMarker(t *testing.T) {
	v := arm64Vmlinux()
	withCallOps(v)
	v.Symbols = v.Symbols[:len(v.Symbols)-1]
	tg := loadOne(t, buildVmlinux(t, v))

	want := []uint64{textAddr, textAddr + 0x100, textAddr + 0x160, initTextAddr}
	if diff := cmp.Diff(want, tg.Vmlinux.Ftrace); diff != "" {
		t.Errorf("Ftrace mismatch (-want +got):\n%s", diff)
	}
	checkFtraceable(t, tg.Vmlinux, map[string]bool{"show": false, "do_one_initcall": false})
}

func TestArm64CallOpsMisaligned(t *testing.T) {
	v := arm64Vmlinux()
	withCallOps(v)
	v.Symbols[0].Offset = 0x10c // record at 0x104, not 8-byte aligned
	tg := loadOne(t, buildVmlinux(t, v))

	want := []uint64{textAddr + 0x8, textAddr + 0x168, initTextAddr + 0x8}
	if diff := cmp.Diff(want, tg.Vmlinux.Ftrace); diff != "" {
		t.Errorf("Ftrace mismatch (-want +got):\n%s", diff)
	}
	wantNotes := []string{"skipped 1 of 4 __mcount_loc entries because they are not 8-byte aligned, which an arm64 kernel with CONFIG_DYNAMIC_FTRACE_WITH_CALL_OPS rejects"}
	if diff := cmp.Diff(wantNotes, tg.Inputs[0].Notes); diff != "" {
		t.Errorf("Notes mismatch (-want +got):\n%s", diff)
	}
}

// The ftrace_list_ops check is for arm64 only: on x86-64 the records
// stay where the file puts them.
func TestCallOpsMarkerIgnoredOnX86(t *testing.T) {
	v := testVmlinux()
	v.Symbols = append(v.Symbols, elftest.KernelSymbol{
		Name: "ftrace_list_ops", Bind: elf.STB_GLOBAL, Section: ".data", Offset: 0x40, Size: 0xd8, Type: elf.STT_OBJECT,
	})
	tg := loadOne(t, buildVmlinux(t, v))

	want := []uint64{
		textAddr, textAddr + 0x44, textAddr + 0x84, textAddr + 0x100,
		textAddr + 0x200, textAddr + 0x500, initTextAddr,
	}
	if diff := cmp.Diff(want, tg.Vmlinux.Ftrace); diff != "" {
		t.Errorf("Ftrace mismatch (-want +got):\n%s", diff)
	}
}

func TestRelocatedVmlinuxMachines(t *testing.T) {
	for _, tt := range []struct {
		name    string
		machine elf.Machine
		order   binary.ByteOrder
		known   bool
		notes   []string
	}{
		{name: "ppc64 big-endian", machine: elf.EM_PPC64, order: binary.BigEndian, known: true},
		{name: "riscv", machine: elf.EM_RISCV, known: true},
		{name: "loongarch", machine: elf.EM_LOONGARCH, known: true},
		{
			// A relocatable x86-64 vmlinux is ET_EXEC with filled
			// entries, so R_X86_64_RELATIVE is not read.
			name: "x86-64", machine: elf.EM_X86_64,
			notes: []string{"its 4 __mcount_loc entries are all zero (a relocatable kernel fills them in at boot), so ftrace call sites are unknown"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := arm64Vmlinux()
			v.Machine, v.ByteOrder = tt.machine, tt.order
			tg := loadOne(t, buildVmlinux(t, v))

			if tg.Vmlinux.FtraceKnown != tt.known {
				t.Errorf("FtraceKnown = %v, want %v", tg.Vmlinux.FtraceKnown, tt.known)
			}
			var want []uint64
			if tt.known {
				want = arm64Records
			}
			if diff := cmp.Diff(want, tg.Vmlinux.Ftrace); diff != "" {
				t.Errorf("Ftrace mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.notes, tg.Inputs[0].Notes); diff != "" {
				t.Errorf("Notes mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// A .rela.dyn without relocations for the table leaves the call sites
// unknown, as for any all-zero table.
func TestArm64RelocatedNoRelocations(t *testing.T) {
	v := arm64Vmlinux()
	v.Mutate = func(raw []byte, layout *elftest.Layout) {
		layout.SetSection(raw, layout.SectionIndex(".rela.dyn"), elftest.ShSize, 2*24)
	}
	tg := loadOne(t, buildVmlinux(t, v))

	if tg.Vmlinux.FtraceKnown {
		t.Errorf("FtraceKnown = true with Ftrace %#x, want false", tg.Vmlinux.Ftrace)
	}
	want := []string{"its 4 __mcount_loc entries are all zero (a relocatable kernel fills them in at boot), so ftrace call sites are unknown"}
	if diff := cmp.Diff(want, tg.Inputs[0].Notes); diff != "" {
		t.Errorf("Notes mismatch (-want +got):\n%s", diff)
	}
}

func TestArm64RelocatedMalformed(t *testing.T) {
	// Entry 2 of .rela.dyn is the relocation of the first table entry.
	for _, tt := range []struct {
		name   string
		mutate func(raw []byte, layout *elftest.Layout, rela int)
		want   string
	}{
		{
			name: "entry size",
			mutate: func(raw []byte, layout *elftest.Layout, rela int) {
				layout.SetSection(raw, rela, elftest.ShEntsize, 16)
			},
			want: "read ftrace call sites: section .rela.dyn: sh_entsize is 16, want 24 for Elf64_Rela",
		},
		{
			name: "partial entry",
			mutate: func(raw []byte, layout *elftest.Layout, rela int) {
				layout.SetSection(raw, rela, elftest.ShSize, 7*24-8)
			},
			want: "read ftrace call sites: section .rela.dyn: size 160 is not a multiple of 24",
		},
		{
			name: "past the end of the file",
			mutate: func(raw []byte, layout *elftest.Layout, rela int) {
				layout.SetSection(raw, rela, elftest.ShSize, 1<<40*24)
			},
			want: "section .rela.dyn: section data [0x2f0, +0x180000000000) extends past end of file (2488 bytes)",
		},
		{
			name: "misaligned place in the table",
			mutate: func(raw []byte, layout *elftest.Layout, rela int) {
				where := binary.LittleEndian.Uint64(raw[layout.Sections[rela].Offset+2*24:])
				layout.SetRela(raw, rela, 2, elftest.ROffset, where+4)
			},
			// .init.data is at .text+0x3000 because the sections
			// between are empty, and the table follows one word.
			want: "read ftrace call sites: section .rela.dyn+0x30: R_AARCH64_RELATIVE at 0xffffffff8100300c is not at an 8-byte entry of the __mcount_loc table at 0xffffffff81003008",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := arm64Vmlinux()
			v.Mutate = func(raw []byte, layout *elftest.Layout) {
				tt.mutate(raw, layout, layout.SectionIndex(".rela.dyn"))
			}
			raw, err := v.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			path := writeFile(t, "vmlinux", raw)
			msg := loadError(t, path)
			if !strings.HasPrefix(msg, path+": ") || !strings.Contains(msg, tt.want) {
				t.Errorf("error = %q, want %q after the path", msg, tt.want)
			}
		})
	}
}

// checkFtraceable checks Ftraceable for the only symbol of each name.
func checkFtraceable(t *testing.T, v *target.Object, want map[string]bool) {
	t.Helper()
	for name, traceable := range want {
		matches := v.Matches(name)
		if len(matches) != 1 {
			t.Errorf("Matches(%s) = %d symbols, want 1", name, len(matches))
			continue
		}
		yes, known := v.Ftraceable(matches[0])
		if yes != traceable || !known {
			t.Errorf("Ftraceable(%s) = %v, %v, want %v, true", name, yes, known, traceable)
		}
	}
}
