package conflict

import (
	"debug/elf"
	"fmt"

	"github.com/klpcheck/klpcheck/livepatch"
)

var klpRelocInvalid = &Rule{
	ID:       "KLP0105",
	Name:     "klp-reloc-invalid",
	Severity: SeverityError,
	Title:    "a klp relocation section or klp symbol is malformed",
	Doc: `Reports klp relocation sections (SHF_RELA_LIVEPATCH, named
.klp.rela.<object>.<section>) and klp symbols (.klp.sym.<object>.<symbol>,<sympos>) that
the kernel rejects or never applies:

- the section is not SHT_RELA, lacks SHF_ALLOC, has a name the kernel cannot parse, has an
  object name longer than 55 bytes, has sh_link other than the .symtab index, or has an
  sh_info target that is out of range or not SHF_ALLOC;
- a relocation's symbol index is 0 or beyond the symbol table, or its symbol is not
  SHN_LIVEPATCH, or its klp symbol name does not parse;
- on 5.8 and later, a module-specific section references a vmlinux klp symbol;
- a module-specific section patches a special section (__jump_table, .static_call_sites,
  .altinstructions, .parainstructions, __ex_table, .smp_locks, .retpoline_sites,
  .return_sites, .call_sites).

.klp.arch.* sections are reported as a note: they mark a module built for a kernel before
5.8.`,
	Kernel: `The kernel reads only the object name from a section name, with
sscanf(".klp.rela.%55[^.]"), and takes the target section from sh_info. Since 5.8 the
module loader applies every vmlinux-specific section while loading the patch module
(apply_relocations calls klp_apply_section_relocs), so an error there fails insmod; before
5.8 the same happens in klp_enable_patch. Module-specific sections are applied when their
module is loaded: for a module loaded already, klp_enable_patch applies them through
klp_init_object_loaded and an error fails insmod; for a later module, klp_module_coming
applies them, an error fails that module's load, and the kernel refuses to load the module
being patched ("patch '%s' failed for module '%s', refusing to load module '%s'"). The
live snapshot or a /proc/kallsyms target tells which modules are loaded. Each relocation must
use a SHN_LIVEPATCH symbol ("symbol %s is not marked as a livepatch symbol", -EINVAL)
whose name parses with .klp.sym.%55[^.].%511[^,],%lu (%127 before 6.1). Since 5.8 a
module-specific section may not reference vmlinux symbols ("invalid access to vmlinux
symbol"); those are exported and need a normal relocation. The module loader skips a
relocation section whose target lacks SHF_ALLOC, and discards a section without
SHF_ALLOC after the load, so such a section cannot be applied later. Special
sections are processed when the patch module loads, before module-specific klp
relocations are written, so such relocations are applied too late. .klp.arch sections were
applied by x86 before 5.8 (commit 1d05334d2899 removed them) and are ignored since.`,
	Fix: `Rebuild the module with an unmodified producer (kpatch-build, or klp-build on 6.19
and later) for the exact target kernel, and do not strip or objcopy the result, because
the kernel keeps the original .symtab and relocations refer to symbols by index. Replace a
vmlinux klp symbol in a module-specific section with a normal relocation to the exported
symbol, and avoid static keys, static calls and alternatives that live in other modules in
patched code.`,
	checkModule: checkKlpRelocs,
}

// specialSections are sections the module loader or an architecture's
// module_finalize processes when the patch module loads, before
// module-specific klp relocations are applied.
//
// NOTE: the list follows x86 and the names kpatch and objtool reject; other
// architectures process further sections.
var specialSections = map[string]bool{
	"__jump_table":       true,
	".static_call_sites": true,
	".altinstructions":   true,
	".parainstructions":  true,
	"__ex_table":         true,
	".smp_locks":         true,
	".retpoline_sites":   true,
	".return_sites":      true,
	".call_sites":        true,
}

// checkKlpRelocs reports malformed klp relocation sections and symbols.
func checkKlpRelocs(p *pass, c *candidate) {
	m := c.module
	klpSyms := map[int]livepatch.KlpSymbol{}
	for _, sym := range m.KlpSymbols {
		klpSyms[sym.Index] = sym
	}

	for _, sec := range m.KlpRelocSections {
		checkKlpRelocSection(p, c, sec, klpSyms)
	}

	for _, name := range m.KlpArchSections {
		f := moduleFinding(c, fmt.Sprintf("section %s is a .klp.arch section, which only x86 kernels before 5.8 apply: the module was built for such a kernel", name))
		f.Severity = SeverityNote
		p.report(f)
	}
}

// checkKlpRelocSection reports the problems of one klp relocation section
// and its relocations.
func checkKlpRelocSection(p *pass, c *candidate, sec livepatch.KlpRelocSection, klpSyms map[int]livepatch.KlpSymbol) {
	// A vmlinux-specific section is applied while the patch module loads,
	// so its errors fail insmod. So are the sections of a module that is
	// already loaded: klp_enable_patch applies them through
	// klp_init_object_loaded. Those of a module that is not loaded fail
	// when that module loads.
	vmlinux := sec.ObjName == "vmlinux"
	applyNow := vmlinux
	when := "the load fails"
	if !vmlinux {
		loaded, known, source := moduleLoadState(p, sec.ObjName)
		refusing := fmt.Sprintf("applying it fails when module %s loads, and the kernel then refuses to load %s", sec.ObjName, sec.ObjName)
		switch {
		case known && loaded:
			applyNow = true
			when = fmt.Sprintf("module %s is loaded (%s), so the load fails", sec.ObjName, source)
		case known:
			when = fmt.Sprintf("module %s is not loaded (%s): %s", sec.ObjName, source, refusing)
		default:
			when = fmt.Sprintf("the load fails if module %s is loaded; otherwise %s", sec.ObjName, refusing)
		}
	}
	problem := func(refuse bool, format string, args ...any) {
		f := moduleFinding(c, fmt.Sprintf("section %s: ", sec.Name)+fmt.Sprintf(format, args...))
		f.Object = sec.ObjName
		p.report(f)
		if refuse {
			p.refuse("EINVAL")
		}
	}

	if sec.NameErr != "" {
		problem(true, "%s: klp_apply_section_relocs fails with -EINVAL while the module loads", sec.NameErr)
	} else if _, truncated, _ := livepatch.RelocSectionObject(sec.Name); truncated {
		problem(false, "the object name is longer than 55 bytes, and the kernel reads only the first 55: the section matches no object and is never applied")
	}
	if sec.Type != elf.SHT_RELA {
		problem(false, "section type is %s, not SHT_RELA: the kernel reads its entries as Elf64_Rela", sec.Type)
	}
	if sec.Flags&elf.SHF_ALLOC == 0 {
		problem(false, "the section lacks SHF_ALLOC: the module loader frees it after the load, so it cannot be applied later")
	}
	if sec.Link != uint32(sec.SymtabIndex) {
		problem(false, "sh_link is %d, not the .symtab index %d: relocations would read symbols from the wrong table", sec.Link, sec.SymtabIndex)
	}
	switch {
	case sec.TargetName == "":
		problem(false, "sh_info %d names no section: the module loader skips the section", sec.TargetIndex)
	case !sec.TargetAlloc:
		problem(false, "target section %s lacks SHF_ALLOC: the module loader skips the section", sec.TargetName)
	case !vmlinux && specialSections[sec.TargetName]:
		problem(false, "module-specific relocations patch special section %s, which the kernel processes when the patch module loads, before these relocations are applied", sec.TargetName)
	}

	reported := map[string]bool{}
	for _, rel := range sec.Relocs {
		sym, isKlp := klpSyms[int(rel.SymIndex)]
		var msg string
		switch {
		case rel.SymIndex == 0 || rel.SymName == "":
			msg = fmt.Sprintf("a relocation at offset %#x uses symbol index %d, which names no symbol; %s", rel.Offset, rel.SymIndex, when)
		case !rel.SymLivepatch:
			msg = fmt.Sprintf("symbol %s is not SHN_LIVEPATCH (\"not marked as a livepatch symbol\"); %s", rel.SymName, when)
		case isKlp && sym.ParseErr != "":
			msg = fmt.Sprintf("%s; %s", sym.ParseErr, when)
		case isKlp && !vmlinux && sym.Object == "vmlinux":
			if !c.kernel.Known() {
				p.notef("%s: section %s references vmlinux symbol %s, which kernels 5.8 and later reject in a module-specific section; not checked because the kernel release is unknown", c.state.name, sec.Name, rel.SymName)
				continue
			}
			if !c.kernel.AtLeast(5, 8) {
				continue
			}
			msg = fmt.Sprintf("module-specific section references vmlinux symbol %s, which 5.8 and later reject (\"invalid access to vmlinux symbol\"); %s", rel.SymName, when)
		default:
			continue
		}
		if reported[msg] {
			continue
		}
		reported[msg] = true
		problem(applyNow, "%s", msg)
	}
}
