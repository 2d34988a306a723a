package target_test

import (
	"debug/elf"
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/klpcheck/klpcheck/internal/elftest"
	"github.com/klpcheck/klpcheck/target"
)

const vermagic61 = "6.1.0-57-amd64 SMP preempt mod_unload modversions "

// TestRealModule reads a module Kbuild built against Debian's 6.1 headers
// (testdata/modules/README.md). Its .modinfo has no livepatch=Y, so the
// kernel keeps only its core symbols. The expected addresses follow from
// readelf -S: the SHF_ALLOC sections laid out in header order, each
// aligned, put .note.Linux at 0x24, .text at 0x60, .exit.text at 0x78,
// .init.text at 0x7d, .data at 0x300, .exit.data at 0x670 and
// .gnu.linkonce.this_module at 0x680.
func TestRealModule(t *testing.T) {
	const path = "../testdata/modules/6.1/klpc_nomodinfo.ko"
	tg := loadOne(t, path)

	o, err := tg.Module("klpc_nomodinfo")
	if err != nil {
		t.Fatal(err)
	}

	obj := func(name string, addr, size uint64, section string, off uint64) target.Symbol {
		return target.Symbol{Name: name, Addr: addr, Size: size, SizeKnown: true, Section: section, Offset: off}
	}
	fn := func(name string, addr, size uint64, section string, off uint64) target.Symbol {
		s := obj(name, addr, size, section, off)
		s.Func = true
		return s
	}
	want := &target.Object{
		Name: "klpc_nomodinfo",
		Path: path,
		Kind: target.KindModule,
		Symbols: []target.Symbol{
			obj("_note_10", 0x24, 24, ".note.Linux", 0),
			obj("_note_9", 0x3c, 36, ".note.Linux", 0x18),
			fn("klpc_nomodinfo_exit", 0x78, 5, ".exit.text", 0),
			obj("patch", 0x300, 200, ".data", 0),
			fn("klpc_nomodinfo_version_show", 0x60, 24, ".text", 0),
			obj("__UNIQUE_ID___addressable_cleanup_module280", 0x670, 8, ".exit.data", 0),
			obj("objs", 0x3e0, 336, ".data", 0xe0),
			obj("funcs", 0x540, 304, ".data", 0x240),
			obj("__this_module", 0x680, 896, ".gnu.linkonce.this_module", 0),
			fn("cleanup_module", 0x78, 5, ".exit.text", 0),
		},
		Ftrace:      []uint64{0x60, 0x7d},
		FtraceKnown: true,
		BuildID:     "eb6233dd2487616b7a819c2f6394eae0a0bfc76d",
		Vermagic:    vermagic61,
	}
	want.LoadingSymbols = []target.Symbol{
		obj("__UNIQUE_ID_depends197", 0xc0+0x53, 9, ".modinfo", 0x53),
		obj("____versions", 0x1c0, 320, "__versions", 0),
		obj("__UNIQUE_ID_retpoline196", 0xc0+0x5c, 12, ".modinfo", 0x5c),
		obj("__UNIQUE_ID_name195", 0xc0+0x68, 20, ".modinfo", 0x68),
		obj("__UNIQUE_ID_vermagic194", 0xc0+0x7c, 60, ".modinfo", 0x7c),
		want.Symbols[0], want.Symbols[1], want.Symbols[2],
		fn("klpc_nomodinfo_init", 0x7d, 17, ".init.text", 0),
		want.Symbols[3], want.Symbols[4],
		obj("__UNIQUE_ID_description282", 0xc0, 71, ".modinfo", 0),
		obj("__UNIQUE_ID_license281", 0xc0+0x47, 12, ".modinfo", 0x47),
		want.Symbols[5],
		obj("__UNIQUE_ID___addressable_init_module279", 0x678, 8, ".init.data", 0),
		want.Symbols[6], want.Symbols[7], want.Symbols[8], want.Symbols[9],
		fn("init_module", 0x7d, 17, ".init.text", 0),
	}
	if diff := cmp.Diff(want, o, objectOptions); diff != "" {
		t.Errorf("module mismatch (-want +got):\n%s", diff)
	}

	if yes, known := o.Ftraceable(o.Matches("klpc_nomodinfo_version_show")[0]); !yes || !known {
		t.Errorf("Ftraceable(klpc_nomodinfo_version_show) = %v, %v, want true, true", yes, known)
	}
	if got := o.MatchesLoading("init_module"); len(got) != 1 || len(o.Matches("init_module")) != 0 {
		t.Errorf("init_module: %d loading matches and %d core matches, want 1 and 0", len(got), len(o.Matches("init_module")))
	}

	if tg.Release != "6.1.0-57-amd64" || tg.Vermagic != vermagic61 {
		t.Errorf("Release = %q, Vermagic = %q, want 6.1.0-57-amd64 and %q", tg.Release, tg.Vermagic, vermagic61)
	}
	// A module file names one module, not the target's module list.
	if found, known := tg.HasModule("ext4"); found || known {
		t.Errorf("HasModule(ext4) = %v, %v, want false, false", found, known)
	}
	if found, known := tg.HasModule("klpc_nomodinfo"); !found || !known {
		t.Errorf("HasModule(klpc_nomodinfo) = %v, %v, want true, true", found, known)
	}
}

// TestRealLivepatchModule reads a module with livepatch=Y, for which the
// kernel keeps every symbol because klp relocations refer to symbols by
// index.
func TestRealLivepatchModule(t *testing.T) {
	tg := loadOne(t, "../testdata/modules/6.1/klpc_fg.ko")
	o, err := tg.Module("klpc_fg")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(o.LoadingSymbols, o.Symbols); diff != "" {
		t.Errorf("Symbols differ from LoadingSymbols (-loading +core):\n%s", diff)
	}
	if len(o.Symbols) != 22 {
		t.Errorf("%d symbols, want the 22 named, defined ones", len(o.Symbols))
	}
	// Laid out from 0 like klpc_nomodinfo, .text is at 0x60 (0x38 bytes)
	// and .init.text at 0x9d; __mcount_loc points at .text+0, .text+0x20
	// and .init.text+0.
	if diff := cmp.Diff([]uint64{0x60, 0x80, 0x9d}, o.Ftrace); diff != "" {
		t.Errorf("Ftrace mismatch (-want +got):\n%s", diff)
	}
}

// syntheticModule is a module with the cases the core-symbol rule must
// get right, written by elftest:
//   - two local functions named dup in .text and a third in .init.text,
//     which is counted only while the module loads;
//   - .init.rodata, .modinfo and __versions symbols, which are not core,
//     .data..percpu and .exit.text symbols, which are;
//   - a symbol in the non-SHF_ALLOC .comment section;
//   - __mcount_loc entries through a section symbol and through a
//     function symbol, one at +4 (IBT), one padding entry of zeros;
//   - an export with a CRC and a namespace, and a build ID.
func syntheticModule(t *testing.T) []byte {
	t.Helper()
	raw, err := syntheticModuleFile(t).Bytes()
	if err != nil {
		t.Fatalf("elftest Bytes: %v", err)
	}
	return raw
}

// syntheticModuleFile returns the unencoded file of syntheticModule.
func syntheticModuleFile(t *testing.T) *elftest.File {
	t.Helper()
	arch, err := elftest.LookupArch("x86_64")
	if err != nil {
		t.Fatal(err)
	}
	f := arch.NewFile()
	bo := binary.LittleEndian

	f.AddSection(&elftest.Section{Name: ".note.gnu.build-id", Type: elf.SHT_NOTE, Flags: elf.SHF_ALLOC, Addralign: 4,
		Data: append(bo.AppendUint32(bo.AppendUint32(bo.AppendUint32(nil, 4), 4), 3), 'G', 'N', 'U', 0, 0xde, 0xad, 0xbe, 0xef)})
	text := f.AddSection(&elftest.Section{Name: ".text", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, Addralign: 16, Data: make([]byte, 0x100)})
	initText := f.AddSection(&elftest.Section{Name: ".init.text", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, Addralign: 16, Data: make([]byte, 0x20)})
	exitText := f.AddSection(&elftest.Section{Name: ".exit.text", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, Addralign: 16, Data: make([]byte, 0x10)})
	initRodata := f.AddSection(&elftest.Section{Name: ".init.rodata", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Addralign: 16, Data: make([]byte, 0x10)})
	modinfo := f.AddSection(&elftest.Section{Name: ".modinfo", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Addralign: 1,
		Data: []byte("srcversion=0123456789ABCDEF012345\x00name=synth\x00vermagic=" + vermagic61 + "\x00")})
	versions := f.AddSection(&elftest.Section{Name: "__versions", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Addralign: 32, Data: make([]byte, 64)})
	pcpu := f.AddSection(&elftest.Section{Name: ".data..percpu", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Addralign: 16, Data: make([]byte, 0x10)})
	ksymtab := f.AddSection(&elftest.Section{Name: "__ksymtab", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Addralign: 4, Data: make([]byte, 12)})
	kcrctab := f.AddSection(&elftest.Section{Name: "__kcrctab", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Addralign: 4, Data: bo.AppendUint32(nil, 0xcafef00d)})
	strs := f.AddSection(&elftest.Section{Name: "__ksymtab_strings", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_MERGE | elf.SHF_STRINGS, Addralign: 1,
		Data: []byte("exported_fn\x00SYNTH_NS\x00")})
	mcount := f.AddSection(&elftest.Section{Name: "__mcount_loc", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Addralign: 1, Data: make([]byte, 5*8)})
	comment := f.AddSection(&elftest.Section{Name: ".comment", Type: elf.SHT_PROGBITS, Flags: elf.SHF_MERGE | elf.SHF_STRINGS, Addralign: 1, Data: []byte("GCC\x00")})

	local := func(name string, sec *elftest.Section, value, size uint64, typ elf.SymType) *elftest.Symbol {
		return f.AddSymbol(&elftest.Symbol{Name: name, Section: sec, Value: value, Size: size, Bind: elf.STB_LOCAL, Type: typ})
	}
	f.AddSymbol(&elftest.Symbol{Name: "synth.c", Bind: elf.STB_LOCAL, Type: elf.STT_FILE, Index: elf.SHN_ABS})
	textSym := f.SectionSymbol(text)
	initSym := f.SectionSymbol(initText)
	local("dup", text, 0x10, 0x20, elf.STT_FUNC)
	local("dup", initText, 0, 0x20, elf.STT_FUNC)
	local("init_table", initRodata, 0, 0x10, elf.STT_OBJECT)
	local("__UNIQUE_ID_name1", modinfo, 0x22, 11, elf.STT_OBJECT)
	local("____versions", versions, 0, 64, elf.STT_OBJECT)
	local("pcpu_counter", pcpu, 8, 8, elf.STT_OBJECT)
	local("exit_fn", exitText, 0, 0x10, elf.STT_FUNC)
	local("compiler", comment, 0, 4, elf.STT_NOTYPE)
	f.AddSymbol(&elftest.Symbol{Name: "other.c", Bind: elf.STB_LOCAL, Type: elf.STT_FILE, Index: elf.SHN_ABS})
	local("dup", text, 0x80, 0x30, elf.STT_FUNC)
	local("__ksymtab_exported_fn", ksymtab, 0, 12, elf.STT_OBJECT)
	local("__crc_exported_fn", kcrctab, 0, 4, elf.STT_OBJECT)
	local("__kstrtab_exported_fn", strs, 0, 12, elf.STT_OBJECT)
	local("__kstrtabns_exported_fn", strs, 12, 9, elf.STT_OBJECT)
	exported := f.AddSymbol(&elftest.Symbol{Name: "exported_fn", Section: text, Value: 0xc0, Size: 0x40, Bind: elf.STB_GLOBAL, Type: elf.STT_FUNC})
	f.AddSymbol(&elftest.Symbol{Name: "printk", Bind: elf.STB_GLOBAL})

	abs64 := uint32(elf.R_X86_64_64)
	mcount.Relocs = []elftest.Reloc{
		{Offset: 0, Type: abs64, Symbol: textSym, Addend: 0x10},
		{Offset: 8, Type: abs64, Symbol: textSym, Addend: 0x84},
		{Offset: 16, Type: abs64, Symbol: initSym, Addend: 0},
		// Offset 24 is padding: zeros and no relocation.
		{Offset: 32, Type: abs64, Symbol: exported, Addend: 4},
	}
	return f
}

func TestSyntheticModule(t *testing.T) {
	path := writeFile(t, "synth.ko", syntheticModule(t))
	tg := loadOne(t, path)
	o, err := tg.Module("synth")
	if err != nil {
		t.Fatal(err)
	}

	// Layout: .note.gnu.build-id at 0 (20 bytes), .text at 0x20,
	// .init.text at 0x120, .exit.text at 0x140, .init.rodata at 0x150,
	// .modinfo at 0x160 (0x6a bytes), __versions at 0x1e0, .data..percpu
	// at 0x220, __ksymtab at 0x230, __kcrctab at 0x23c and
	// __ksymtab_strings at 0x240.
	sym := func(name string, addr, size uint64, fn bool, section, file string, off uint64) target.Symbol {
		return target.Symbol{Name: name, Addr: addr, Size: size, SizeKnown: true, Func: fn, Section: section, File: file, Offset: off}
	}
	wantCore := []target.Symbol{
		sym("dup", 0x30, 0x20, true, ".text", "synth.c", 0x10),
		sym("pcpu_counter", 0x228, 8, false, ".data..percpu", "synth.c", 8),
		sym("exit_fn", 0x140, 0x10, true, ".exit.text", "synth.c", 0),
		sym("dup", 0xa0, 0x30, true, ".text", "other.c", 0x80),
		sym("__ksymtab_exported_fn", 0x230, 12, false, "__ksymtab", "other.c", 0),
		sym("__crc_exported_fn", 0x23c, 4, false, "__kcrctab", "other.c", 0),
		sym("__kstrtab_exported_fn", 0x240, 12, false, "__ksymtab_strings", "other.c", 0),
		sym("__kstrtabns_exported_fn", 0x24c, 9, false, "__ksymtab_strings", "other.c", 12),
		sym("exported_fn", 0xe0, 0x40, true, ".text", "", 0xc0),
	}
	if diff := cmp.Diff(wantCore, o.Symbols); diff != "" {
		t.Errorf("core symbols mismatch (-want +got):\n%s", diff)
	}

	wantDup := []target.Symbol{
		sym("dup", 0x30, 0x20, true, ".text", "synth.c", 0x10),
		sym("dup", 0x120, 0x20, true, ".init.text", "synth.c", 0),
		sym("dup", 0xa0, 0x30, true, ".text", "other.c", 0x80),
	}
	if diff := cmp.Diff(wantDup, o.MatchesLoading("dup")); diff != "" {
		t.Errorf("MatchesLoading(dup) mismatch (-want +got):\n%s", diff)
	}
	// Every named symbol that is not SHN_UNDEF counts while loading,
	// the two STT_FILE symbols (SHN_ABS) included.
	if got := len(o.LoadingSymbols); got != 16 {
		t.Errorf("%d loading symbols, want 16", got)
	}

	if diff := cmp.Diff([]uint64{0x30, 0xa4, 0xe4, 0x120}, o.Ftrace); diff != "" {
		t.Errorf("Ftrace mismatch (-want +got):\n%s", diff)
	}
	dups := o.Matches("dup")
	for i, want := range []bool{true, true} {
		if yes, known := o.Ftraceable(dups[i]); yes != want || !known {
			t.Errorf("Ftraceable(dup #%d) = %v, %v, want %v, true", i+1, yes, known, want)
		}
	}

	wantExports := []target.Export{{Name: "exported_fn", Owner: "synth", CRC: 0xcafef00d, CRCKnown: true, Namespace: "SYNTH_NS"}}
	if diff := cmp.Diff(wantExports, o.Exports); diff != "" {
		t.Errorf("Exports mismatch (-want +got):\n%s", diff)
	}
	if e, found, _ := tg.Export("exported_fn"); !found || e != wantExports[0] {
		t.Errorf("Export(exported_fn) = %+v, %v, want %+v", e, found, wantExports[0])
	}
	if o.BuildID != "deadbeef" || o.Srcversion != "0123456789ABCDEF012345" || o.Vermagic != vermagic61 {
		t.Errorf("BuildID %q, Srcversion %q, Vermagic %q", o.BuildID, o.Srcversion, o.Vermagic)
	}
}

// TestModulePatchableEntries reads the call sites of an arm64 module from
// __patchable_function_entries. The record of call_ops_fn lies 8 bytes
// before the function, as a CALL_OPS build writes it, and moves to its
// first byte. The record of plain_fn is at its first byte and stays.
func TestModulePatchableEntries(t *testing.T) {
	arch, err := elftest.LookupArch("arm64")
	if err != nil {
		t.Fatal(err)
	}
	f := arch.NewFile()
	text := f.AddSection(&elftest.Section{Name: ".text", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, Addralign: 8, Data: make([]byte, 0x60)})
	f.AddSection(&elftest.Section{Name: ".modinfo", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Addralign: 1,
		Data: []byte("name=synth\x00vermagic=6.12.118+deb12-arm64 SMP preempt mod_unload modversions aarch64\x00")})
	entries := f.AddSection(&elftest.Section{Name: "__patchable_function_entries", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Addralign: 8, Data: make([]byte, 3*8)})
	f.AddSymbol(&elftest.Symbol{Name: "synth.c", Bind: elf.STB_LOCAL, Type: elf.STT_FILE, Index: elf.SHN_ABS})
	textSym := f.SectionSymbol(text)
	f.AddSymbol(&elftest.Symbol{Name: "call_ops_fn", Section: text, Value: 0x10, Size: 0x20, Bind: elf.STB_LOCAL, Type: elf.STT_FUNC})
	f.AddSymbol(&elftest.Symbol{Name: "plain_fn", Section: text, Value: 0x30, Size: 0x10, Bind: elf.STB_LOCAL, Type: elf.STT_FUNC})
	f.AddSymbol(&elftest.Symbol{Name: "untraced_fn", Section: text, Value: 0x40, Size: 0x20, Bind: elf.STB_LOCAL, Type: elf.STT_FUNC})
	abs64 := uint32(elf.R_AARCH64_ABS64)
	entries.Relocs = []elftest.Reloc{
		{Offset: 0, Type: abs64, Symbol: textSym, Addend: 0x08},
		{Offset: 8, Type: abs64, Symbol: textSym, Addend: 0x30},
		// Offset 16 is padding: zeros and no relocation.
	}
	raw, err := f.Bytes()
	if err != nil {
		t.Fatal(err)
	}

	tg := loadOne(t, writeFile(t, "synth.ko", raw))
	o, err := tg.Module("synth")
	if err != nil {
		t.Fatal(err)
	}

	base := o.Matches("call_ops_fn")[0].Addr - 0x10
	if diff := cmp.Diff([]uint64{base + 0x10, base + 0x30}, o.Ftrace); diff != "" || !o.FtraceKnown {
		t.Errorf("Ftrace (known %v) mismatch (-want +got):\n%s", o.FtraceKnown, diff)
	}
	for name, want := range map[string]bool{"call_ops_fn": true, "plain_fn": true, "untraced_fn": false} {
		if yes, known := o.Ftraceable(o.Matches(name)[0]); yes != want || !known {
			t.Errorf("Ftraceable(%s) = %v, %v, want %v, true", name, yes, known, want)
		}
	}
}

// TestModuleUndefinedCRC reads an export whose weak __crc_ symbol stayed
// undefined, as before 5.19 when genksyms made no CRC: the export is read
// with its CRC unknown, not rejected.
func TestModuleUndefinedCRC(t *testing.T) {
	f := syntheticModuleFile(t)
	crc := f.Symbol("__crc_exported_fn")
	crc.Section, crc.Value, crc.Size, crc.Bind = nil, 0, 0, elf.STB_WEAK
	raw, err := f.Bytes()
	if err != nil {
		t.Fatal(err)
	}

	tg := loadOne(t, writeFile(t, "synth.ko", raw))

	o, err := tg.Module("synth")
	if err != nil {
		t.Fatal(err)
	}
	want := []target.Export{{Name: "exported_fn", Owner: "synth", Namespace: "SYNTH_NS"}}
	if diff := cmp.Diff(want, o.Exports); diff != "" {
		t.Errorf("exports mismatch (-want +got):\n%s", diff)
	}
}
