package target_test

import (
	"debug/elf"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/klpcheck/klpcheck/internal/elftest"
	"github.com/klpcheck/klpcheck/target"
)

// Addresses of the sections of testVmlinux, as elftest.Vmlinux lays them
// out: each section starts at the next 4096-byte boundary after the
// previous one's contents.
const (
	textAddr     = elftest.VmlinuxTextAddr
	initTextAddr = textAddr + 0x1000
	rodataAddr   = textAddr + 0x2000
	ksymtabAddr  = textAddr + 0x3000
	ksymGPLAddr  = textAddr + 0x4000
	dataAddr     = textAddr + 0x8000
	initDataAddr = textAddr + 0x9000
)

// testVmlinux is a small vmlinux with the cases the reader must get
// right:
//   - two static functions named show in a.c and b.c, listed in .symtab
//     in the opposite of their address order;
//   - b.c's show has its ftrace call site at +4, after an IBT endbr64;
//   - noinstr_fn has no __mcount_loc entry;
//   - helper.llvm.123456 keeps its Clang LTO suffix;
//   - weak_fn and alias_fn share an address, and the weak one sorts
//     second although it comes first in .symtab; likewise __start_table
//     after table and __y after y;
//   - names and types that kallsyms drops: .Ltmp, $x, an absolute
//     symbol, and the __crc_, __kstrtab_ and __kstrtabns_ labels;
//   - two exports, one GPL-only with a namespace, with 6.x-style CRCs;
//   - linux_banner.
func testVmlinux() *elftest.Vmlinux {
	return &elftest.Vmlinux{
		Symbols: []elftest.KernelSymbol{
			{Name: "show", File: "a.c", Offset: 0x200, Size: 0x40, Ftrace: []uint64{0}},
			{Name: "helper.llvm.123456", File: "a.c", Offset: 0x100, Size: 0x20, Ftrace: []uint64{0}},
			{Name: ".Ltmp", File: "a.c", Offset: 0x110, Type: elf.STT_OBJECT},
			{Name: "show", File: "b.c", Offset: 0x80, Size: 0x30, Ftrace: []uint64{4}},
			{Name: "noinstr_fn", File: "b.c", Offset: 0x300, Size: 0x10},
			{Name: "$x", File: "b.c", Offset: 0x300, Type: elf.STT_OBJECT},
			{Name: "counter", File: "c.c", Section: ".data", Offset: 0x10, Size: 8, Type: elf.STT_OBJECT},
			{Name: "percpu_var", File: "c.c", Section: ".data..percpu", Offset: 0x40, Size: 8, Type: elf.STT_OBJECT},
			{Name: "init_fn", File: "c.c", Section: ".init.text", Offset: 0, Size: 0x20, Ftrace: []uint64{0}},
			{Name: "printk_like", Bind: elf.STB_GLOBAL, Offset: 0, Size: 0x40, Ftrace: []uint64{0}},
			{Name: "gpl_fn", Bind: elf.STB_GLOBAL, Offset: 0x40, Size: 0x40, Ftrace: []uint64{4}},
			{Name: "weak_fn", Bind: elf.STB_WEAK, Offset: 0x400, Size: 0x10},
			{Name: "alias_fn", Bind: elf.STB_GLOBAL, Offset: 0x400, Size: 0x10},
			{Name: "__start_table", Bind: elf.STB_GLOBAL, Section: ".rodata", Type: elf.STT_OBJECT},
			{Name: "table", Bind: elf.STB_GLOBAL, Section: ".rodata", Size: 0x10, Type: elf.STT_OBJECT},
			{Name: "__y", Bind: elf.STB_GLOBAL, Section: ".rodata", Offset: 0x20, Size: 8, Type: elf.STT_OBJECT},
			{Name: "y", Bind: elf.STB_GLOBAL, Section: ".rodata", Offset: 0x20, Size: 8, Type: elf.STT_OBJECT},
			{Name: "abs_sym", Bind: elf.STB_GLOBAL, Absolute: true, Offset: 0x1234, Type: elf.STT_OBJECT},
			{Name: "klp_enable_patch", Bind: elf.STB_GLOBAL, Offset: 0x500, Size: 0x10, Ftrace: []uint64{0}},
		},
		Exports: []elftest.KernelExport{
			{Name: "printk_like", CRC: 0x11223344},
			{Name: "gpl_fn", GPL: true, Namespace: "FOO_NS", CRC: 0xaabbccdd},
		},
		Banner: elftest.LinuxBanner("6.1.0-57-amd64"),
	}
}

func buildVmlinux(t *testing.T, v *elftest.Vmlinux) string {
	t.Helper()
	raw, err := v.Bytes()
	if err != nil {
		t.Fatalf("elftest Bytes: %v", err)
	}
	return writeFile(t, "vmlinux", raw)
}

func text(name string, off, size uint64, file string) target.Symbol {
	return target.Symbol{Name: name, Addr: textAddr + off, Size: size, SizeKnown: true, Func: true, Section: ".text", File: file, Offset: off}
}

func data(name, section string, addr, sectionAddr, size uint64) target.Symbol {
	return target.Symbol{Name: name, Addr: addr, Size: size, SizeKnown: true, Section: section, Offset: addr - sectionAddr}
}

func TestVmlinuxSymbols(t *testing.T) {
	path := buildVmlinux(t, testVmlinux())
	tg := loadOne(t, path)

	bannerAddr := uint64(rodataAddr + 0x40)
	mcountStart := uint64(initDataAddr)
	want := &target.Object{
		Name: "vmlinux",
		Path: path,
		Kind: target.KindVmlinux,
		Symbols: []target.Symbol{
			text("printk_like", 0, 0x40, ""),
			text("gpl_fn", 0x40, 0x40, ""),
			text("show", 0x80, 0x30, "b.c"),
			text("helper.llvm.123456", 0x100, 0x20, "a.c"),
			text("show", 0x200, 0x40, "a.c"),
			text("noinstr_fn", 0x300, 0x10, "b.c"),
			text("alias_fn", 0x400, 0x10, ""),
			text("weak_fn", 0x400, 0x10, ""),
			text("klp_enable_patch", 0x500, 0x10, ""),
			{Name: "init_fn", Addr: initTextAddr, Size: 0x20, SizeKnown: true, Func: true, Section: ".init.text", File: "c.c"},
			data("table", ".rodata", rodataAddr, rodataAddr, 0x10),
			data("__start_table", ".rodata", rodataAddr, rodataAddr, 0),
			data("y", ".rodata", rodataAddr+0x20, rodataAddr, 8),
			data("__y", ".rodata", rodataAddr+0x20, rodataAddr, 8),
			data("linux_banner", ".rodata", bannerAddr, rodataAddr, uint64(len(elftest.LinuxBanner("6.1.0-57-amd64"))+1)),
			// The writer puts the export labels after the last
			// file's locals, so they belong to c.c.
			{Name: "__ksymtab_printk_like", Addr: ksymtabAddr, SizeKnown: true, Section: "__ksymtab", File: "c.c"},
			{Name: "__ksymtab_gpl_fn", Addr: ksymGPLAddr, SizeKnown: true, Section: "__ksymtab_gpl", File: "c.c"},
			data("__start_mcount_loc", ".init.data", mcountStart, initDataAddr, 0),
			data("__stop_mcount_loc", ".init.data", mcountStart+7*8, initDataAddr, 0),
		},
		Ftrace: []uint64{
			textAddr, textAddr + 0x44, textAddr + 0x84, textAddr + 0x100,
			textAddr + 0x200, textAddr + 0x500, initTextAddr,
		},
		FtraceKnown: true,
		Exports: []target.Export{
			{Name: "printk_like", Owner: "vmlinux", CRC: 0x11223344, CRCKnown: true},
			{Name: "gpl_fn", Owner: "vmlinux", CRC: 0xaabbccdd, CRCKnown: true, GPLOnly: true, Namespace: "FOO_NS"},
		},
	}
	// Symbols of .data and .data..percpu come before .text in address
	// order: .data..percpu at 0 and .data after the export tables.
	want.Symbols = append([]target.Symbol{
		{Name: "percpu_var", Addr: 0x40, Size: 8, SizeKnown: true, Section: ".data..percpu", File: "c.c", Offset: 0x40},
	}, want.Symbols...)
	counter := target.Symbol{Name: "counter", Addr: dataAddr + 0x10, Size: 8, SizeKnown: true, Section: ".data", File: "c.c", Offset: 0x10}
	want.Symbols = append(want.Symbols[:len(want.Symbols)-2], append([]target.Symbol{counter}, want.Symbols[len(want.Symbols)-2:]...)...)

	if diff := cmp.Diff(want, tg.Vmlinux, objectOptions); diff != "" {
		t.Errorf("vmlinux object mismatch (-want +got):\n%s", diff)
	}

	if tg.Release != "6.1.0-57-amd64" || tg.ReleaseFrom != path {
		t.Errorf("Release = %q from %q, want 6.1.0-57-amd64 from %q", tg.Release, tg.ReleaseFrom, path)
	}
	wantInputs := []target.Input{{Path: path, Kind: target.KindVmlinux, Symbols: 21}}
	if diff := cmp.Diff(wantInputs, tg.Inputs, objectOptions); diff != "" {
		t.Errorf("Inputs mismatch (-want +got):\n%s", diff)
	}
}

func TestVmlinuxSympos(t *testing.T) {
	tg := loadOne(t, buildVmlinux(t, testVmlinux()))

	shows := tg.Vmlinux.Matches("show")
	if len(shows) != 2 || shows[0].File != "b.c" || shows[1].File != "a.c" {
		t.Fatalf("Matches(show) = %+v, want b.c's then a.c's", shows)
	}
	if got := tg.Vmlinux.Matches("helper"); len(got) != 0 {
		t.Errorf("Matches(helper) = %+v, want none: names compare exactly", got)
	}
}

func TestVmlinuxFtraceable(t *testing.T) {
	tg := loadOne(t, buildVmlinux(t, testVmlinux()))

	for _, tt := range []struct {
		name string
		file string
		want bool
	}{
		{"show", "a.c", true},
		{"show", "b.c", true}, // call site at +4
		{"noinstr_fn", "b.c", false},
		{"helper.llvm.123456", "a.c", true},
		{"alias_fn", "", false},
		{"init_fn", "c.c", false}, // recorded, but dropped when init code is freed
	} {
		var sym target.Symbol
		for _, s := range tg.Vmlinux.Matches(tt.name) {
			if s.File == tt.file {
				sym = s
			}
		}
		yes, known := tg.Vmlinux.Ftraceable(sym)
		if yes != tt.want || !known {
			t.Errorf("Ftraceable(%s in %q) = %v, %v, want %v, true", tt.name, tt.file, yes, known, tt.want)
		}
	}
}

func TestVmlinuxExportsAndLivepatch(t *testing.T) {
	tg := loadOne(t, buildVmlinux(t, testVmlinux()))

	e, found, known := tg.Export("gpl_fn")
	want := target.Export{Name: "gpl_fn", Owner: "vmlinux", CRC: 0xaabbccdd, CRCKnown: true, GPLOnly: true, Namespace: "FOO_NS"}
	if diff := cmp.Diff(want, e); diff != "" || !found {
		t.Errorf("Export(gpl_fn) found=%v mismatch (-want +got):\n%s", found, diff)
	}
	// vmlinux lists its own exports, not those of modules.
	if known {
		t.Error("Export(gpl_fn): known = true with only a vmlinux loaded, want false")
	}
	if _, found, known := tg.Export("missing"); found || known {
		t.Errorf("Export(missing) = found %v, known %v, want false, false", found, known)
	}

	if yes, known := tg.Livepatch(); !yes || !known {
		t.Errorf("Livepatch() = %v, %v, want true, true", yes, known)
	}
	if found, known := tg.HasSymbol("abs_sym"); found || !known {
		t.Errorf("HasSymbol(abs_sym) = %v, %v, want false, true: kallsyms drops absolute symbols", found, known)
	}
}

func TestVmlinuxVariants(t *testing.T) {
	for _, tt := range []struct {
		name        string
		edit        func(v *elftest.Vmlinux)
		ftraceKnown bool
		crcKnown    bool
		crc         uint32
		release     string
		notes       []string
	}{
		{
			name:        "absolute CRCs before 5.19",
			edit:        func(v *elftest.Vmlinux) { v.Exports[0].AbsoluteCRC = true; v.Exports[0].CRC = 0x0badcafe },
			ftraceKnown: true, crcKnown: true, crc: 0x0badcafe, release: "6.1.0-57-amd64",
		},
		{
			name: "no modversions",
			edit: func(v *elftest.Vmlinux) {
				for i := range v.Exports {
					v.Exports[i].NoCRC = true
				}
			},
			ftraceKnown: true, release: "6.1.0-57-amd64",
			notes: []string{"has no __crc_ symbols (a kernel without CONFIG_MODVERSIONS), so export CRCs are unknown"},
		},
		{
			name:     "mcount filled at boot",
			edit:     func(v *elftest.Vmlinux) { v.Mcount = elftest.McountZero },
			crcKnown: true, crc: 0x11223344, release: "6.1.0-57-amd64",
			notes: []string{"its 7 __mcount_loc entries are all zero (a relocatable kernel fills them in at boot), so ftrace call sites are unknown"},
		},
		{
			name:     "no mcount table",
			edit:     func(v *elftest.Vmlinux) { v.Mcount = elftest.McountNone },
			crcKnown: true, crc: 0x11223344, release: "6.1.0-57-amd64",
			notes: []string{"has no __start_mcount_loc and __stop_mcount_loc symbols (a kernel without CONFIG_FTRACE_MCOUNT_RECORD), so ftrace call sites are unknown"},
		},
		{
			name:        "no banner",
			edit:        func(v *elftest.Vmlinux) { v.Banner = "" },
			ftraceKnown: true, crcKnown: true, crc: 0x11223344,
			notes: []string{"has no linux_banner symbol, so the release is unknown"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := testVmlinux()
			tt.edit(v)
			tg := loadOne(t, buildVmlinux(t, v))

			if tg.Vmlinux.FtraceKnown != tt.ftraceKnown {
				t.Errorf("FtraceKnown = %v, want %v", tg.Vmlinux.FtraceKnown, tt.ftraceKnown)
			}
			e, _, _ := tg.Export("printk_like")
			if e.CRCKnown != tt.crcKnown || e.CRC != tt.crc {
				t.Errorf("printk_like CRC = %#x known %v, want %#x known %v", e.CRC, e.CRCKnown, tt.crc, tt.crcKnown)
			}
			if tg.Release != tt.release {
				t.Errorf("Release = %q, want %q", tg.Release, tt.release)
			}
			if diff := cmp.Diff(tt.notes, tg.Inputs[0].Notes, objectOptions); diff != "" {
				t.Errorf("Notes mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
