package conflict

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/klpcheck/klpcheck/livepatch"
	"github.com/klpcheck/klpcheck/target"
)

// Builders for target kernels. Every target built here has the livepatch
// core (klp_enable_patch), so that no-livepatch-support stays quiet unless
// a test removes it.

// tsym returns a 64-byte function symbol in .text.
func tsym(name string, addr uint64) target.Symbol {
	return target.Symbol{Name: name, Addr: addr, Size: 64, SizeKnown: true, Func: true, Section: ".text"}
}

// tsymIn returns tsym with a source file.
func tsymIn(name string, addr uint64, file string) target.Symbol {
	s := tsym(name, addr)
	s.File = file
	return s
}

// klpEnable is the symbol that shows the target has the livepatch core.
var klpEnable = tsym("klp_enable_patch", 0xffffffff81100000)

// vmlinuxObject returns the vmlinux symbols of a vmlinux ELF input, with
// klp_enable_patch added, and no ftrace records.
func vmlinuxObject(syms ...target.Symbol) *target.Object {
	return &target.Object{Name: "vmlinux", Path: "vmlinux", Kind: target.KindVmlinux, Symbols: append([]target.Symbol{klpEnable}, syms...)}
}

// targetWith returns a target with the given objects.
func targetWith(objs ...*target.Object) *target.Target {
	t := &target.Target{}
	for _, o := range objs {
		t.AddObject(o)
	}
	return t
}

// vmlinuxTarget returns a target that has only vmlinux symbols.
func vmlinuxTarget(syms ...target.Symbol) *target.Target {
	return targetWith(vmlinuxObject(syms...))
}

// checkTarget loads each module as a non-replace patch onto t.
func checkTarget(t *target.Target, modules ...*livepatch.Module) Result {
	plan := Plan{Kernel: KernelInfo{Target: t}}
	for _, m := range modules {
		plan.Patches = append(plan.Patches, nonReplace(m))
	}
	return Check(plan)
}

// withModinfo adds key=value fields to m's modinfo and returns m.
func withModinfo(m *livepatch.Module, kv ...string) *livepatch.Module {
	for i := 0; i+1 < len(kv); i += 2 {
		m.ModInfo.Fields = append(m.ModInfo.Fields, livepatch.ModInfoField{Key: kv[i], Value: kv[i+1]})
		if kv[i] == "vermagic" {
			m.Kernel = livepatch.ParseVermagic(kv[i+1])
		}
	}
	return m
}

// klpSym returns a referenced klp symbol as the kernel parses its name.
func klpSym(object, name string, sympos uint64) livepatch.KlpSymbol {
	return livepatch.KlpSymbol{
		Name:       ".klp.sym." + object + "." + name + "," + strconv.FormatUint(sympos, 10),
		Object:     object,
		Symbol:     name,
		Sympos:     sympos,
		Referenced: true,
	}
}

// checkNotes fails unless the result's notes are exactly want.
func checkNotes(t *testing.T, res Result, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	got := res.Notes
	if got == nil {
		got = []string{}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("notes mismatch (-want +got):\n%s", diff)
	}
}

func TestTargetNilChecksNothing(t *testing.T) {
	m := module("klpc_a", vmlinux("no_such_function"), obj("ext4", fn("ext4_statfs")))
	m.Undefined = []livepatch.UndefinedSymbol{{Name: "klp_register_patch"}, {Name: "unexported_helper"}}
	m.Versions = []livepatch.SymbolVersion{{Name: "module_layout", CRC: 1}}
	m.KlpSymbols = []livepatch.KlpSymbol{klpSym("vmlinux", "saved_command_line", 0)}
	withModinfo(m, "vermagic", "6.1.0-57-amd64 SMP preempt mod_unload modversions ")

	res := Check(Plan{Patches: []Patch{nonReplace(m)}})

	checkFindings(t, res)
	checkNotes(t, res)
	checkLoaded(t, res, 1)
}

func TestSymbolNotFound(t *testing.T) {
	t.Run("patched function", func(t *testing.T) {
		res := checkTarget(vmlinuxTarget(tsym("cmdline_proc_show", 0x1000)), module("klpc_missing", vmlinux("klpc_no_such_function")))

		checkFindings(t, res, want{Rule: "symbol-not-found", Severity: SeverityError, Step: 1, Module: "klpc_missing", Object: "vmlinux", Function: "klpc_no_such_function"})
		if len(res.Findings) == 1 {
			checkMessage(t, res.Findings[0], "target vmlinux has no symbol klpc_no_such_function", `"symbol 'klpc_no_such_function' not found in symbol table"`)
		}
		checkRefused(t, res, 1, "EINVAL", "symbol-not-found")
	})
	t.Run("klp symbol", func(t *testing.T) {
		m := module("klpc_a", vmlinux("cmdline_proc_show"))
		m.KlpSymbols = []livepatch.KlpSymbol{klpSym("vmlinux", "saved_command_line", 0)}

		res := checkTarget(vmlinuxTarget(tsym("cmdline_proc_show", 0x1000)), m)

		checkFindings(t, res, want{Rule: "symbol-not-found", Severity: SeverityError, Step: 1, Module: "klpc_a", Object: "vmlinux", Function: "saved_command_line"})
		if len(res.Findings) == 1 {
			checkMessage(t, res.Findings[0], "klp symbol .klp.sym.vmlinux.saved_command_line,0: ")
		}
	})
	t.Run("unreferenced klp symbol", func(t *testing.T) {
		m := module("klpc_a", vmlinux("cmdline_proc_show"))
		unused := klpSym("vmlinux", "saved_command_line", 0)
		unused.Referenced = false
		m.KlpSymbols = []livepatch.KlpSymbol{unused}

		res := checkTarget(vmlinuxTarget(tsym("cmdline_proc_show", 0x1000)), m)

		checkFindings(t, res)
	})
	t.Run("LTO suffix", func(t *testing.T) {
		res := checkTarget(vmlinuxTarget(tsym("show_val.llvm.8131", 0x1000)), module("klpc_a", vmlinux("show_val")))

		checkFindings(t, res, want{Rule: "symbol-not-found", Severity: SeverityError, Step: 1, Module: "klpc_a", Object: "vmlinux", Function: "show_val"})
		if len(res.Findings) == 1 {
			checkMessage(t, res.Findings[0], "the target has show_val.llvm.8131, which only kernels whose kallsyms cut Clang LTO .llvm. suffixes match")
		}
	})
	t.Run("klp symbol of a module the target lacks", func(t *testing.T) {
		m := module("klpc_a", obj("ext4", fn("ext4_statfs")))
		m.KlpSymbols = []livepatch.KlpSymbol{klpSym("jbd3", "jbd2_journal_stop", 0)}
		ext4 := &target.Object{Name: "ext4", Kind: target.KindModule, Symbols: []target.Symbol{tsym("ext4_statfs", 0x100)}}

		res := checkTarget(targetWith(vmlinuxObject(), ext4), m)

		checkFindings(t, res, want{Rule: "symbol-not-found", Severity: SeverityError, Step: 1, Module: "klpc_a", Object: "jbd3", Function: "jbd2_journal_stop"})
		if len(res.Findings) == 1 {
			checkMessage(t, res.Findings[0], "the target has no module jbd3")
		}
		checkLoaded(t, res, 1)
	})
}

func TestSymbolAmbiguous(t *testing.T) {
	tg := vmlinuxTarget(tsymIn("type_show", 0xffffffff81001000, "drivers/base/cpu.c"), tsymIn("type_show", 0xffffffff81002000, "drivers/iommu/iommu.c"))

	res := checkTarget(tg, module("klpc_ambiguous", vmlinux("type_show")))

	checkFindings(t, res, want{Rule: "symbol-ambiguous", Severity: SeverityError, Step: 1, Module: "klpc_ambiguous", Object: "vmlinux", Function: "type_show"})
	if len(res.Findings) == 1 {
		checkMessage(t, res.Findings[0],
			"target vmlinux has 2 symbols named type_show",
			`"unresolvable ambiguity for symbol 'type_show' in object '(null)'"`,
			"candidates: 1: 0xffffffff81001000, 64 bytes, .text, drivers/base/cpu.c; 2: 0xffffffff81002000, 64 bytes, .text, drivers/iommu/iommu.c")
	}
	checkRefused(t, res, 1, "EINVAL", "symbol-ambiguous")
}

func TestSymbolAmbiguousListsAtMostTwenty(t *testing.T) {
	var syms []target.Symbol
	for i := range 23 {
		syms = append(syms, tsym("type_show", 0x1000+uint64(i)*0x100))
	}

	res := checkTarget(vmlinuxTarget(syms...), module("klpc_ambiguous", vmlinux("type_show")))

	if len(res.Findings) != 1 {
		t.Fatalf("findings:\n%s", messages(res.Findings))
	}
	checkMessage(t, res.Findings[0], "20: 0x2300, 64 bytes, .text; and 3 more")
	if want := fmt.Sprintf("lists the first %d candidates", maxCandidates); !strings.Contains(strings.Join(strings.Fields(symbolAmbiguous.Doc), " "), want) {
		t.Errorf("the rule's Doc does not say %q", want)
	}
}

func TestSymposOutOfRange(t *testing.T) {
	tg := vmlinuxTarget(tsym("f", 0x1000), tsym("f", 0x2000))

	res := checkTarget(tg, module("klpc_a", obj("vmlinux", fnAt("f", 3))))

	checkFindings(t, res, want{Rule: "sympos-out-of-range", Severity: SeverityError, Step: 1, Module: "klpc_a", Object: "vmlinux", Function: "f"})
	if len(res.Findings) == 1 {
		checkMessage(t, res.Findings[0], "sympos 3 selects the 3rd symbol named f, but target vmlinux has 2", `"symbol position 3 for symbol 'f' in object 'vmlinux' not found"`)
	}
	checkRefused(t, res, 1, "EINVAL", "sympos-out-of-range")
}

func TestSymposFirstOfMany(t *testing.T) {
	tg := vmlinuxTarget(tsymIn("f", 0x1000, "a.c"), tsymIn("f", 0x2000, "b.c"), tsym("g", 0x3000))

	t.Run("sympos 1 on a duplicated name", func(t *testing.T) {
		res := checkTarget(tg, module("klpc_kpatch", obj("vmlinux", fnAt("f", 1))))

		checkFindings(t, res, want{Rule: "sympos-first-of-many", Severity: SeverityNote, Step: 1, Module: "klpc_kpatch", Object: "vmlinux", Function: "f"})
		if len(res.Findings) == 1 {
			checkMessage(t, res.Findings[0], "sympos 1 takes the first of 2 symbols named f in target vmlinux: 0x1000, 64 bytes, .text, a.c", "(the others: 2: 0x2000, 64 bytes, .text, b.c)")
		}
		checkLoaded(t, res, 1)
	})
	t.Run("sympos 2 on a duplicated name", func(t *testing.T) {
		res := checkTarget(tg, module("klpc_kpatch", obj("vmlinux", fnAt("f", 2))))
		checkFindings(t, res)
	})
	t.Run("sympos 1 on a unique name", func(t *testing.T) {
		res := checkTarget(tg, module("klpc_kpatch", obj("vmlinux", fnAt("g", 1))))
		checkFindings(t, res)
	})
}

// TestModuleSymbolsByLoadState covers a module function whose name is
// unique among the module's core symbols but has a second copy in an init
// section: unique when the module is loaded before the patch, ambiguous
// when klp_module_coming counts every symbol of a module loading after it.
func TestModuleSymbolsByLoadState(t *testing.T) {
	core := tsym("ext4_fill", 0x100)
	initCopy := tsym("ext4_fill", 0x900)
	initCopy.Section = ".init.text"
	ext4 := &target.Object{
		Name:           "ext4",
		Kind:           target.KindModule,
		Symbols:        []target.Symbol{core},
		LoadingSymbols: []target.Symbol{core, initCopy},
	}
	m := func() *livepatch.Module { return module("klpc_ext4", obj("ext4", fn("ext4_fill"))) }
	tg := targetWith(vmlinuxObject(), ext4)

	t.Run("loaded before the patch", func(t *testing.T) {
		live := &LiveState{Modules: []LoadedModule{{Name: "ext4"}}}
		res := Check(Plan{Kernel: KernelInfo{Target: tg}, Live: live, Patches: []Patch{nonReplace(m())}})

		checkFindings(t, res)
	})
	t.Run("loaded after the patch", func(t *testing.T) {
		live := &LiveState{}
		res := Check(Plan{Kernel: KernelInfo{Target: tg}, Live: live, Patches: []Patch{nonReplace(m())}})

		checkFindings(t, res,
			want{Rule: "symbol-ambiguous", Severity: SeverityError, Step: 1, Module: "klpc_ext4", Object: "ext4", Function: "ext4_fill"},
			want{Rule: "object-not-loaded", Severity: SeverityNote, Step: 1, Module: "klpc_ext4", Object: "ext4"},
		)
		if len(res.Findings) == 2 {
			checkMessage(t, res.Findings[0], "ext4 is not loaded (live snapshot), and when it loads the kernel refuses to load ext4")
		}
		checkLoaded(t, res, 1)
	})
	t.Run("load state unknown", func(t *testing.T) {
		res := checkTarget(tg, m())

		checkFindings(t, res, want{Rule: "symbol-ambiguous", Severity: SeverityError, Step: 1, Module: "klpc_ext4", Object: "ext4", Function: "ext4_fill"})
		if len(res.Findings) == 1 {
			checkMessage(t, res.Findings[0], "if ext4 loads after the patch, counting every symbol of its .symtab")
		}
		checkLoaded(t, res, 1)
	})
}

func TestNotFtraceable(t *testing.T) {
	traced := tsym("cmdline_proc_show", 0x1000)
	untraced := tsym("native_safe_halt", 0x2000)
	noinstr := tsym("exc_nmi", 0x3000)
	noinstr.Section = ".noinstr.text"
	ftraced := func(records ...uint64) *target.Target {
		v := vmlinuxObject(traced, untraced, noinstr)
		v.Ftrace, v.FtraceKnown = records, true
		return targetWith(v)
	}

	t.Run("no call site", func(t *testing.T) {
		res := checkTarget(ftraced(0x1000), module("klpc_a", vmlinux("native_safe_halt")))

		checkFindings(t, res, want{Rule: "not-ftraceable", Severity: SeverityError, Step: 1, Module: "klpc_a", Object: "vmlinux", Function: "native_safe_halt"})
		if len(res.Findings) == 1 {
			checkMessage(t, res.Findings[0], "native_safe_halt (0x2000, 64 bytes, .text) has no ftrace call site in its 64 bytes", `"failed to find location for function 'native_safe_halt'"`)
		}
		checkRefused(t, res, 1, "EINVAL", "not-ftraceable")
	})
	t.Run("call site after endbr64", func(t *testing.T) {
		res := checkTarget(ftraced(0x1004), module("klpc_a", vmlinux("cmdline_proc_show")))
		checkFindings(t, res)
	})
	t.Run("call site in the next function", func(t *testing.T) {
		res := checkTarget(ftraced(0x1040), module("klpc_a", vmlinux("cmdline_proc_show")))
		checkFindings(t, res, want{Rule: "not-ftraceable", Severity: SeverityError, Step: 1, Module: "klpc_a", Object: "vmlinux", Function: "cmdline_proc_show"})
	})
	t.Run("noinstr", func(t *testing.T) {
		res := checkTarget(ftraced(0x1000), module("klpc_a", vmlinux("exc_nmi")))

		checkFindings(t, res, want{Rule: "not-ftraceable", Severity: SeverityError, Step: 1, Module: "klpc_a", Object: "vmlinux", Function: "exc_nmi"})
		if len(res.Findings) == 1 {
			checkMessage(t, res.Findings[0], "because noinstr code is never traced")
		}
	})
	t.Run("available_filter_functions", func(t *testing.T) {
		tg := vmlinuxTarget(traced, untraced)
		tg.AddFilterFunction("vmlinux", "cmdline_proc_show")

		res := checkTarget(tg, module("klpc_a", vmlinux("cmdline_proc_show", "native_safe_halt")))

		checkFindings(t, res, want{Rule: "not-ftraceable", Severity: SeverityError, Step: 1, Module: "klpc_a", Object: "vmlinux", Function: "native_safe_halt"})
		if len(res.Findings) == 1 {
			checkMessage(t, res.Findings[0], "(available_filter_functions does not list it)")
		}
	})
}

func TestTargetNotCheckedNotes(t *testing.T) {
	systemMap := &target.Object{Name: "vmlinux", Path: "System.map", Kind: target.KindSystemMap, Symbols: []target.Symbol{
		{Name: "klp_enable_patch", Addr: 0xffffffff81100000, Func: true},
		{Name: "cmdline_proc_show", Addr: 0xffffffff81200000, Func: true},
		{Name: "version_proc_show", Addr: 0xffffffff81200100, Func: true},
	}}
	a := module("klpc_a", vmlinux("cmdline_proc_show"), obj("ext4", fn("ext4_statfs")))
	a.Undefined = []livepatch.UndefinedSymbol{{Name: "seq_puts"}}
	b := module("klpc_b", vmlinux("version_proc_show"))

	res := checkTarget(targetWith(systemMap), a, b)

	checkFindings(t, res)
	// One note per object and reason, however many rules and modules meet
	// it, with the rules in ID order.
	checkNotes(t, res,
		"symbol-not-found, symbol-ambiguous, sympos-out-of-range, sympos-first-of-many, not-ftraceable and object-not-in-target not checked for ext4: no target input lists the target's modules (a modules directory, a module file or /proc/kallsyms)",
		"not-ftraceable not checked for vmlinux: System.map has no ftrace records",
		"unexported-symbol and namespace-not-imported not checked: no target input lists exports, which Module.symvers gives, or the vmlinux with a modules directory that has modules.symbols",
	)
	checkLoaded(t, res, 1)
	checkLoaded(t, res, 2)
}

func TestUnexportedSymbol(t *testing.T) {
	exports := func() *target.Target {
		tg := vmlinuxTarget(tsym("saved_command_line", 0x5000))
		tg.AddExport(target.Export{Name: "seq_puts", Owner: "vmlinux"})
		tg.AddExport(target.Export{Name: "jbd2_journal_stop", Owner: "jbd2"})
		return tg
	}
	undefined := func(m *livepatch.Module, names ...livepatch.UndefinedSymbol) *livepatch.Module {
		m.Undefined = names
		return m
	}

	t.Run("not exported", func(t *testing.T) {
		m := undefined(module("klpc_a", vmlinux()), livepatch.UndefinedSymbol{Name: "seq_puts"}, livepatch.UndefinedSymbol{Name: "saved_command_line"})

		res := checkTarget(exports(), m)

		checkFindings(t, res, want{Rule: "unexported-symbol", Severity: SeverityError, Step: 1, Module: "klpc_a"})
		if len(res.Findings) == 1 {
			checkMessage(t, res.Findings[0], "saved_command_line is exported by neither vmlinux nor a target module, although vmlinux defines it", `"klpc_a: Unknown symbol saved_command_line (err -2)"`)
		}
		checkRefused(t, res, 1, "ENOENT", "unexported-symbol")
	})
	t.Run("weak", func(t *testing.T) {
		m := undefined(module("klpc_a", vmlinux()), livepatch.UndefinedSymbol{Name: "saved_command_line", Weak: true})
		res := checkTarget(exports(), m)
		checkFindings(t, res)
	})
	t.Run("module export outside depends", func(t *testing.T) {
		m := withModinfo(undefined(module("klpc_a", vmlinux()), livepatch.UndefinedSymbol{Name: "jbd2_journal_stop"}), "depends", "")

		res := checkTarget(exports(), m)

		checkFindings(t, res, want{Rule: "unexported-symbol", Severity: SeverityWarning, Step: 1, Module: "klpc_a"})
		if len(res.Findings) == 1 {
			checkMessage(t, res.Findings[0], "jbd2_journal_stop is exported by module jbd2, which the modinfo depends of klpc_a does not list")
		}
		checkLoaded(t, res, 1)
	})
	t.Run("module export in depends", func(t *testing.T) {
		m := withModinfo(undefined(module("klpc_a", vmlinux()), livepatch.UndefinedSymbol{Name: "jbd2_journal_stop"}), "depends", "mbcache,jbd2")
		res := checkTarget(exports(), m)
		checkFindings(t, res)
	})
	t.Run("exports unknown", func(t *testing.T) {
		m := undefined(module("klpc_a", vmlinux()), livepatch.UndefinedSymbol{Name: "saved_command_line"})

		res := checkTarget(vmlinuxTarget(), m)

		checkFindings(t, res)
		checkNote(t, res, "unexported-symbol and namespace-not-imported not checked: no target input lists exports")
	})
}

func TestCRCMismatch(t *testing.T) {
	tg := vmlinuxTarget()
	tg.AddExport(target.Export{Name: "seq_puts", Owner: "vmlinux", CRC: 0x5cb2ad6c, CRCKnown: true})
	tg.AddExport(target.Export{Name: "module_layout", Owner: "vmlinux", CRC: 0x90631f3f, CRCKnown: true})

	t.Run("symbol", func(t *testing.T) {
		m := module("klpc_g", vmlinux())
		m.Undefined = []livepatch.UndefinedSymbol{{Name: "seq_puts"}}
		m.Versions = []livepatch.SymbolVersion{{Name: "seq_puts", CRC: 0x5cb2ad6d}, {Name: "module_layout", CRC: 0x90631f3f}}

		res := checkTarget(tg, m)

		checkFindings(t, res, want{Rule: "crc-mismatch", Severity: SeverityError, Step: 1, Module: "klpc_g"})
		if len(res.Findings) == 1 {
			checkMessage(t, res.Findings[0], "__versions expects CRC 0x5cb2ad6d for seq_puts, but the target's vmlinux exports it with CRC 0x5cb2ad6c", `"klpc_g: disagrees about version of symbol seq_puts"`)
		}
		checkRefused(t, res, 1, "EINVAL", "crc-mismatch")
	})
	t.Run("module_layout", func(t *testing.T) {
		m := module("klpc_g", vmlinux())
		m.Versions = []livepatch.SymbolVersion{{Name: "module_layout", CRC: 0x1}}

		res := checkTarget(tg, m)

		checkFindings(t, res, want{Rule: "crc-mismatch", Severity: SeverityError, Step: 1, Module: "klpc_g"})
		checkRefused(t, res, 1, "ENOEXEC", "crc-mismatch")
	})
	t.Run("same CRCs", func(t *testing.T) {
		m := module("klpc_g", vmlinux())
		m.Versions = []livepatch.SymbolVersion{{Name: "seq_puts", CRC: 0x5cb2ad6c}}
		checkFindings(t, checkTarget(tg, m))
	})
}

// TestSymbolResolutionErrno checks the errno of a load whose undefined
// symbols fail in several ways. A module_layout mismatch fails the load
// with -ENOEXEC before vermagic or any symbol is checked. Otherwise
// simplify_symbols returns the error of the last symbol that fails, in
// .symtab order: -EINVAL for a CRC mismatch, -ENOENT for a missing export.
func TestSymbolResolutionErrno(t *testing.T) {
	tg := func() *target.Target {
		tg := vmlinuxTarget()
		tg.Vermagic = "6.1.0-57-amd64 SMP preempt mod_unload modversions "
		tg.AddExport(target.Export{Name: "seq_puts", Owner: "vmlinux", CRC: 0x5cb2ad6c, CRCKnown: true})
		tg.AddExport(target.Export{Name: "module_layout", Owner: "vmlinux", CRC: 0x90631f3f, CRCKnown: true})
		return tg
	}
	patch := func(layoutCRC uint32, undefined ...string) *livepatch.Module {
		m := withModinfo(module("klpc_g", vmlinux()), "vermagic", "6.1.0-57-amd64 SMP preempt mod_unload modversions ")
		for _, name := range undefined {
			m.Undefined = append(m.Undefined, livepatch.UndefinedSymbol{Name: name})
		}
		m.Versions = []livepatch.SymbolVersion{{Name: "module_layout", CRC: layoutCRC}, {Name: "seq_puts", CRC: 0x5cb2ad6d}}
		return m
	}

	for _, tt := range []struct {
		name      string
		module    *livepatch.Module
		errno     string
		refusedBy string
	}{
		{"CRC mismatch, then a missing export", patch(0x90631f3f, "seq_puts", "seq_write"), "ENOENT", "unexported-symbol"},
		{"missing export, then a CRC mismatch", patch(0x90631f3f, "seq_write", "seq_puts"), "EINVAL", "crc-mismatch"},
		{"module_layout before the symbols", patch(0x1, "seq_write", "seq_puts"), "ENOEXEC", "crc-mismatch"},
		{"module_layout before vermagic", withModinfo(patch(0x1), "vermagic", "6.1.0-57-amd64 SMP mod_unload modversions "), "ENOEXEC", "crc-mismatch"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := checkTarget(tg(), tt.module)
			checkRefused(t, res, 1, tt.errno, tt.refusedBy)
		})
	}
}

// TestSymbolFindingErrnos checks that each finding names the errno of its
// own failure, whatever the load returns.
func TestSymbolFindingErrnos(t *testing.T) {
	tg := vmlinuxTarget()
	tg.AddExport(target.Export{Name: "seq_puts", Owner: "vmlinux", CRC: 0x5cb2ad6c, CRCKnown: true})
	tg.AddExport(target.Export{Name: "module_layout", Owner: "vmlinux", CRC: 0x90631f3f, CRCKnown: true})
	m := module("klpc_g", vmlinux())
	m.Undefined = []livepatch.UndefinedSymbol{{Name: "seq_puts"}, {Name: "seq_write"}}
	m.Versions = []livepatch.SymbolVersion{{Name: "module_layout", CRC: 0x1}, {Name: "seq_puts", CRC: 0x5cb2ad6d}}

	res := checkTarget(tg, m)

	checkFindings(t, res,
		want{Rule: "unexported-symbol", Severity: SeverityError, Step: 1, Module: "klpc_g"},
		want{Rule: "crc-mismatch", Severity: SeverityError, Step: 1, Module: "klpc_g"},
		want{Rule: "crc-mismatch", Severity: SeverityError, Step: 1, Module: "klpc_g"},
	)
	if len(res.Findings) == 3 {
		checkMessage(t, res.Findings[0], "seq_write is exported by neither vmlinux nor a target module, so the module loader fails to resolve it with -ENOENT")
		checkMessage(t, res.Findings[1], "for module_layout", "check_modstruct_version fails the load with -ENOEXEC before the module loader compares vermagic or resolves any symbol")
		checkMessage(t, res.Findings[2], "for seq_puts", "so the module loader fails to resolve it with -EINVAL")
	}
	checkRefused(t, res, 1, "ENOEXEC", "crc-mismatch")
}

func TestVermagicMismatch(t *testing.T) {
	const target61 = "6.1.0-57-amd64 SMP preempt mod_unload modversions "
	tg := func(vermagic, release string) *target.Target {
		t := vmlinuxTarget()
		t.Vermagic, t.Release, t.ReleaseFrom = vermagic, release, "System.map"
		return t
	}
	patch := func(vermagic string, crcs bool) *livepatch.Module {
		m := withModinfo(module("klpc_a", vmlinux()), "vermagic", vermagic)
		if crcs {
			m.Versions = []livepatch.SymbolVersion{{Name: "module_layout", CRC: 1}}
		}
		return m
	}

	t.Run("configuration differs", func(t *testing.T) {
		res := checkTarget(tg(target61, "6.1.0-57-amd64"), patch("6.1.0-57-amd64 SMP preempt_dynamic mod_unload modversions ", true))

		checkFindings(t, res, want{Rule: "vermagic-mismatch", Severity: SeverityError, Step: 1, Module: "klpc_a"})
		if len(res.Findings) == 1 {
			checkMessage(t, res.Findings[0], "in the strings after the release, because the module has __versions", "version magic '6.1.0-57-amd64 SMP preempt_dynamic mod_unload modversions ' should be '"+target61+"'")
		}
		checkRefused(t, res, 1, "ENOEXEC", "vermagic-mismatch")
	})
	t.Run("release differs with CRCs", func(t *testing.T) {
		res := checkTarget(tg(target61, "6.1.0-57-amd64"), patch("6.1.0-56-amd64 SMP preempt mod_unload modversions ", true))

		checkFindings(t, res, want{Rule: "vermagic-mismatch", Severity: SeverityError, Step: 1, Module: "klpc_a"})
		if len(res.Findings) == 1 {
			checkMessage(t, res.Findings[0], "klpc_a is built for 6.1.0-56-amd64, but the target kernel is 6.1.0-57-amd64 (from System.map)", "the load may succeed")
		}
		checkLoaded(t, res, 1)
	})
	t.Run("release differs without CRCs", func(t *testing.T) {
		res := checkTarget(tg("", "6.1.0-57-amd64"), patch("6.1.0-56-amd64 SMP preempt mod_unload ", false))

		checkFindings(t, res, want{Rule: "vermagic-mismatch", Severity: SeverityError, Step: 1, Module: "klpc_a"})
		checkRefused(t, res, 1, "ENOEXEC", "vermagic-mismatch")
	})
	t.Run("plan kernel is the target's", func(t *testing.T) {
		plan := Plan{
			Kernel:  KernelInfo{Version: livepatch.ParseVermagic("6.1.0-57-amd64"), Target: tg(target61, "6.1.0-57-amd64")},
			Patches: []Patch{nonReplace(patch("6.1.0-56-amd64 SMP preempt mod_unload modversions ", true))},
		}
		res := Check(plan)

		checkFindings(t, res, want{Rule: "vermagic-differs", Severity: SeverityError, Step: 1, Module: "klpc_a"})
	})
	t.Run("release only from the plan", func(t *testing.T) {
		plan := Plan{
			Kernel:  KernelInfo{Version: livepatch.ParseVermagic("6.1.0-57-amd64"), Target: vmlinuxTarget()},
			Patches: []Patch{nonReplace(patch(target61, false))},
		}
		res := Check(plan)

		checkFindings(t, res)
		checkNotes(t, res)
	})
	t.Run("same", func(t *testing.T) {
		res := checkTarget(tg(target61, "6.1.0-57-amd64"), patch(target61, true))
		checkFindings(t, res)
		checkNotes(t, res, "crc-mismatch not checked: no target input lists exports, which Module.symvers gives, or the vmlinux with a modules directory that has modules.symbols")
	})
}

func TestNoLivepatchSupport(t *testing.T) {
	noKLP := targetWith(&target.Object{Name: "vmlinux", Kind: target.KindSystemMap, Symbols: []target.Symbol{tsym("cmdline_proc_show", 0x1000)}})

	t.Run("livepatch module", func(t *testing.T) {
		res := checkTarget(noKLP, module("klpc_a", vmlinux("cmdline_proc_show")))

		checkFindings(t, res, want{Rule: "no-livepatch-support", Severity: SeverityError, Step: 1, Module: "klpc_a"})
		if len(res.Findings) == 1 {
			checkMessage(t, res.Findings[0], "the target vmlinux (System.map) has no symbol klp_enable_patch, so the kernel is built without CONFIG_LIVEPATCH", `"klpc_a: module is marked as livepatch module, but livepatch support is disabled"`)
		}
		checkRefused(t, res, 1, "ENOEXEC", "no-livepatch-support")
	})
	t.Run("with the livepatch core", func(t *testing.T) {
		res := checkTarget(vmlinuxTarget(tsym("cmdline_proc_show", 0x1000)), module("klpc_a", vmlinux("cmdline_proc_show")))
		checkFindings(t, res)
	})
}

func TestObjectNotInTarget(t *testing.T) {
	modules := func() *target.Target {
		tg := vmlinuxTarget()
		for _, name := range []string{"ext2", "ext4", "zfs", "snd_hda_intel", "xfs"} {
			tg.AddObject(&target.Object{Name: name, Kind: target.KindModule})
		}
		tg.AddBuiltin("crc32c_generic")
		return tg
	}
	tests := []struct {
		object string
		near   string
	}{
		{"zfs.ko", "near matches: zfs (without the file suffix)"},
		{"snd-hda-intel", "near matches: snd_hda_intel (with underscores for dashes)"},
		{"ext3", "near matches: ext2 (1 edit away), ext4 (1 edit away)"},
		{"xfs_2", "near matches: xfs (2 edits away)"},
		{"btrfs", "the target has no module btrfs: the object waits for a module that never loads, so its functions are never patched"},
		{"crc32c_generic", "crc32c_generic is built into the target's vmlinux (modules.builtin)"},
	}
	for _, tt := range tests {
		t.Run(tt.object, func(t *testing.T) {
			res := checkTarget(modules(), module("klpc_a", obj(tt.object)))

			var got []want
			for _, w := range summarize(res.Findings) {
				if w.Rule == "object-not-in-target" {
					got = append(got, w)
				}
			}
			wantFinding := []want{{Rule: "object-not-in-target", Severity: SeverityWarning, Step: 1, Module: "klpc_a", Object: tt.object}}
			if diff := cmp.Diff(wantFinding, got); diff != "" {
				t.Fatalf("object-not-in-target findings mismatch (-want +got):\n%s\n%s", diff, messages(res.Findings))
			}
			for _, f := range res.Findings {
				if f.Rule == "object-not-in-target" {
					checkMessage(t, f, tt.near)
				}
			}
		})
	}
	t.Run("present", func(t *testing.T) {
		res := checkTarget(modules(), module("klpc_a", obj("xfs")))
		checkFindings(t, res)
	})
}

func TestObjectNotLoaded(t *testing.T) {
	live := &LiveState{Modules: []LoadedModule{{Name: "ext4"}}}
	m := module("klpc_multi", vmlinux("f"), obj("ext4"), obj("xfs"))

	res := Check(Plan{Live: live, Patches: []Patch{nonReplace(m)}})

	checkFindings(t, res, want{Rule: "object-not-loaded", Severity: SeverityNote, Step: 1, Module: "klpc_multi", Object: "xfs"})
	if len(res.Findings) == 1 {
		checkMessage(t, res.Findings[0], "module xfs is not loaded on the host")
	}
}

func TestTargetSrcversionMismatch(t *testing.T) {
	tg := func() *target.Target {
		tg := vmlinuxTarget()
		tg.Vmlinux.Path = "/usr/lib/debug/boot/vmlinux-6.1.0-57-amd64"
		tg.Vmlinux.BuildID = "3f1e0c8b2a4d5e6f708192a3b4c5d6e7f8091a2b"
		tg.AddObject(&target.Object{Name: "ext4", Path: "/lib/modules/ext4.ko", Kind: target.KindModule, Srcversion: "5A3C1B0E4F2D6A7B8C9D0E1"})
		tg.Inputs = []target.Input{{Path: "System.map", Kind: target.KindSystemMap}}
		return tg
	}
	expect := func(exp ...TargetExpectation) Result {
		return Check(Plan{Kernel: KernelInfo{Target: tg(), TargetExpect: exp}})
	}

	t.Run("srcversion differs", func(t *testing.T) {
		res := expect(TargetExpectation{Path: "/lib/modules/ext4.ko", Expect: "5A3C1B0E4F2D6A7B8C9D0E0", Where: "plan.yaml:7"})

		checkFindings(t, res, want{Rule: "target-srcversion-mismatch", Severity: SeverityError, Object: "ext4"})
		if len(res.Findings) == 1 {
			checkMessage(t, res.Findings[0], "plan.yaml:7 expects srcversion 5A3C1B0E4F2D6A7B8C9D0E0 of /lib/modules/ext4.ko, but the file has srcversion 5A3C1B0E4F2D6A7B8C9D0E1")
		}
	})
	t.Run("build ID matches in another case", func(t *testing.T) {
		res := expect(TargetExpectation{Path: "/usr/lib/debug/boot/vmlinux-6.1.0-57-amd64", Expect: "3F1E0C8B2A4D5E6F708192A3B4C5D6E7F8091A2B", Where: "plan.yaml:6"})
		checkFindings(t, res)
	})
	t.Run("file without identity", func(t *testing.T) {
		res := expect(TargetExpectation{Path: "System.map", Expect: "5A3C1B0E4F2D6A7B8C9D0E0", Where: "plan.yaml:8"})

		checkFindings(t, res)
		checkNote(t, res, "target-srcversion-mismatch not checked for System.map: plan.yaml:8 gives expect, but the file is a system-map input, which has no srcversion or build ID")
	})
}

func TestPre51API(t *testing.T) {
	tg := vmlinuxTarget()
	tg.Release = "6.1.0-57-amd64"
	tg.AddExport(target.Export{Name: "klp_enable_patch", Owner: "vmlinux"})
	m := module("klpc_old", vmlinux())
	m.Undefined = []livepatch.UndefinedSymbol{{Name: "klp_register_patch"}, {Name: "klp_enable_patch"}}

	res := checkTarget(tg, m)

	checkFindings(t, res, want{Rule: "pre-5.1-api", Severity: SeverityError, Step: 1, Module: "klpc_old"})
	if len(res.Findings) == 1 {
		checkMessage(t, res.Findings[0], "klpc_old calls klp_register_patch, which kernels 5.1 and later do not have (the target is 6.1.0-57-amd64)")
	}
	checkRefused(t, res, 1, "ENOENT", "pre-5.1-api")
}

func TestTargetRefusalOrder(t *testing.T) {
	tg := vmlinuxTarget()
	tg.Vermagic = "6.1.0-57-amd64 SMP preempt mod_unload modversions "
	m := withModinfo(module("klpc_a", vmlinux("no_such_function")), "vermagic", "6.1.0-57-amd64 SMP mod_unload modversions ")
	m.Versions = []livepatch.SymbolVersion{{Name: "module_layout", CRC: 1}}

	res := checkTarget(tg, m)

	checkRefused(t, res, 1, "ENOEXEC", "vermagic-mismatch")
}

func TestNamespaceNotImported(t *testing.T) {
	exports := func() *target.Target {
		tg := vmlinuxTarget()
		tg.AddExport(target.Export{Name: "seq_puts", Owner: "vmlinux"})
		tg.AddExport(target.Export{Name: "dma_buf_get", Owner: "vmlinux", Namespace: "DMA_BUF"})
		tg.AddExport(target.Export{Name: "kvm_notifier", Owner: "vmlinux", Namespace: "module:kvm,klpc_*"})
		return tg
	}
	undefined := func(m *livepatch.Module, names ...string) *livepatch.Module {
		for _, name := range names {
			m.Undefined = append(m.Undefined, livepatch.UndefinedSymbol{Name: name})
		}
		return m
	}

	t.Run("namespace not imported", func(t *testing.T) {
		m := undefined(module("klpc_a", vmlinux()), "seq_puts", "dma_buf_get")

		res := checkTarget(exports(), m)

		checkFindings(t, res, want{Rule: "namespace-not-imported", Severity: SeverityError, Step: 1, Module: "klpc_a"})
		want := `dma_buf_get is exported by vmlinux in namespace DMA_BUF, but klpc_a imports no namespace, so the module loader fails to resolve it with -EINVAL ("klpc_a: module uses symbol (dma_buf_get) from namespace DMA_BUF, but does not import it.")`
		if got := res.Findings[0].Message; got != want {
			t.Errorf("message:\n got %q\nwant %q", got, want)
		}
		checkRefused(t, res, 1, "EINVAL", "namespace-not-imported")
	})
	t.Run("another namespace imported", func(t *testing.T) {
		m := withModinfo(undefined(module("klpc_a", vmlinux()), "dma_buf_get"), "import_ns", "CXL", "import_ns", "IOMMUFD")

		res := checkTarget(exports(), m)

		checkFindings(t, res, want{Rule: "namespace-not-imported", Severity: SeverityError, Step: 1, Module: "klpc_a"})
		checkMessage(t, res.Findings[0], "but klpc_a imports only CXL, IOMMUFD,")
	})
	t.Run("namespace imported", func(t *testing.T) {
		m := withModinfo(undefined(module("klpc_a", vmlinux()), "dma_buf_get"), "import_ns", "DMA_BUF")
		res := checkTarget(exports(), m)
		checkFindings(t, res)
	})
	t.Run("module namespace matches", func(t *testing.T) {
		m := undefined(module("klpc_a", vmlinux()), "kvm_notifier")
		res := checkTarget(exports(), m)
		checkFindings(t, res)
	})
	t.Run("module namespace of other modules", func(t *testing.T) {
		m := undefined(module("kvm_amd", vmlinux()), "kvm_notifier")

		res := checkTarget(exports(), m)

		checkFindings(t, res, want{Rule: "namespace-not-imported", Severity: SeverityError, Step: 1, Module: "kvm_amd"})
		want := "kvm_notifier is exported by vmlinux only for the modules kvm,klpc_* (namespace module:kvm,klpc_*), which kvm_amd is not, so the module loader fails to resolve it with -EINVAL"
		if got := res.Findings[0].Message; got != want {
			t.Errorf("message:\n got %q\nwant %q", got, want)
		}
		checkRefused(t, res, 1, "EINVAL", "namespace-not-imported")
	})
	t.Run("CRC mismatch comes first", func(t *testing.T) {
		tg := exports()
		tg.AddExport(target.Export{Name: "dma_buf_put", Owner: "vmlinux", Namespace: "DMA_BUF", CRC: 1, CRCKnown: true})
		m := undefined(module("klpc_a", vmlinux()), "dma_buf_put")
		m.Versions = []livepatch.SymbolVersion{{Name: "dma_buf_put", CRC: 2}}

		res := checkTarget(tg, m)

		checkFindings(t, res, want{Rule: "crc-mismatch", Severity: SeverityError, Step: 1, Module: "klpc_a"})
		checkRefused(t, res, 1, "EINVAL", "crc-mismatch")
	})
}

func TestModuleNameMatches(t *testing.T) {
	tests := []struct {
		patterns, name string
		want           bool
	}{
		{"kvm", "kvm", true},
		{"kvm", "kvm_amd", false},
		{"kvm,kvm-*", "kvm-amd", true},
		{"kvm-*", "kvm", false},
		{"*", "anything", true},
		{"", "kvm", false},
		{"kvm-amd", "kvm_amd", true},
		{"kvm_*", "kvm-intel", true},
	}
	for _, tt := range tests {
		if got := moduleNameMatches(tt.patterns, tt.name); got != tt.want {
			t.Errorf("moduleNameMatches(%q, %q) = %v, want %v", tt.patterns, tt.name, got, tt.want)
		}
	}
}
