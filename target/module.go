package target

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"strings"

	"github.com/klpcheck/klpcheck/elfscan"
	"github.com/klpcheck/klpcheck/livepatch"
)

// maxSectionSpan bounds the size and alignment of one SHF_ALLOC section
// when the module reader lays out a module, so that the synthetic
// addresses cannot overflow. Real modules are at most tens of MiB.
const maxSectionSpan = 1 << 40

// readModuleObject reads the symbols, ftrace records and identity of one
// target module file.
func readModuleObject(path string) (*Object, error) {
	r, size, closeFile, err := elfscan.OpenDecompressed(path)
	if err != nil {
		return nil, withPath(path, err)
	}
	defer closeFile()

	f, err := elfscan.NewELFFile(r, size)
	if err != nil {
		return nil, withPath(path, err)
	}
	if f.Type != elf.ET_REL {
		return nil, withPath(path, fmt.Errorf("read ELF header: ELF type %v; a kernel module is ET_REL", f.Type))
	}

	o, err := readModule(&elfFile{r: r, size: size, f: f, bo: f.ByteOrder}, path)
	if err != nil {
		return nil, withPath(path, err)
	}
	return o, nil
}

// readModule reads one module in named steps. path names the module when
// its .modinfo has no name field.
func readModule(ef *elfFile, path string) (*Object, error) {
	syms, err := ef.readSymtab()
	if errors.Is(err, errNoSymtab) {
		return nil, errors.New("read symbols: no .symtab; the kernel finds a module's symbols only through it, so a module without one cannot be patched")
	}
	if err != nil {
		return nil, fmt.Errorf("read symbols: %w", err)
	}

	o := &Object{Kind: KindModule, Path: path}

	info, err := readModinfo(ef)
	if err != nil {
		return nil, fmt.Errorf("read .modinfo: %w", err)
	}
	o.Name = info["name"]
	if o.Name == "" {
		o.Name = moduleName(path)
	}
	o.Vermagic, o.Srcversion = info["vermagic"], info["srcversion"]

	if o.BuildID, err = readBuildID(ef); err != nil {
		return nil, fmt.Errorf("read build ID: %w", err)
	}

	bases, err := layOutSections(ef)
	if err != nil {
		return nil, fmt.Errorf("lay out sections: %w", err)
	}

	collectModuleSymbols(ef, syms, bases, info["livepatch"] == "Y", o)

	if err := readModuleFtrace(ef, syms, bases, o); err != nil {
		return nil, fmt.Errorf("read __mcount_loc: %w", err)
	}

	if err := readModuleExports(ef, syms, o); err != nil {
		return nil, fmt.Errorf("read exports: %w", err)
	}
	return o, nil
}

// readModinfo returns the key=value strings of .modinfo. A key that
// appears twice keeps its first value.
func readModinfo(ef *elfFile) (map[string]string, error) {
	info := map[string]string{}
	idx := ef.sectionIndex(".modinfo")
	if idx == 0 {
		return info, nil
	}
	data, err := ef.readSection(idx)
	if err != nil {
		return nil, err
	}
	for _, field := range bytes.Split(data, []byte{0}) {
		key, value, _ := strings.Cut(string(field), "=")
		if _, dup := info[key]; key != "" && !dup {
			info[key] = value
		}
	}
	return info, nil
}

// readBuildID returns the GNU build ID from .note.gnu.build-id as
// lowercase hex, or "" when the module has none.
func readBuildID(ef *elfFile) (string, error) {
	idx := ef.sectionIndex(livepatch.BuildIDSection)
	if idx == 0 {
		return "", nil
	}
	data, err := ef.readSection(idx)
	if err != nil {
		return "", err
	}

	id, err := livepatch.BuildID(data, ef.bo)
	var noteErr *livepatch.NoteError
	if errors.As(err, &noteErr) {
		return "", offsetError(livepatch.BuildIDSection, noteErr.Offset, "%s", noteErr.Reason)
	}
	return id, err
}

// layOutSections returns a base address for each section: the module's
// SHF_ALLOC sections are placed one after another in section header
// order from 0, each aligned to its sh_addralign. Other sections get 0.
func layOutSections(ef *elfFile) ([]uint64, error) {
	bases := make([]uint64, len(ef.f.Sections))
	var next uint64
	for i, s := range ef.f.Sections {
		if i == 0 || s.Flags&elf.SHF_ALLOC == 0 {
			continue
		}
		if s.Size > maxSectionSpan || s.Addralign > maxSectionSpan {
			return nil, sectionError(s.Name, "size %#x or alignment %#x is larger than any module section (%#x)", s.Size, s.Addralign, uint64(maxSectionSpan))
		}
		if align := max(s.Addralign, 1); next%align != 0 {
			next += align - next%align
		}
		bases[i] = next
		next += s.Size
	}
	return bases, nil
}

// collectModuleSymbols fills o.Symbols and o.LoadingSymbols.
//
// After a module's init has run, the kernel keeps only its "core"
// symbols, in .symtab order (layout_symtab and add_kallsyms in
// kernel/module/kallsyms.c, 5.19 and later; kernel/module.c before). A
// symbol is core when it has a name, is defined in a section of the file,
// and that section is SHF_ALLOC and not an init section: its name does not
// start with ".init" (module_init_section). Before the check the loader
// clears SHF_ALLOC on .modinfo and __versions, which it does not keep.
// Symbols of .data..percpu are core with CONFIG_KALLSYMS_ALL, which
// livepatch depends on and which this reader assumes; without it only
// SHF_EXECINSTR sections count. .exit sections count as core because
// distribution kernels set CONFIG_MODULE_UNLOAD; without it they are init
// sections.
//
// A livepatch module (modinfo livepatch=Y) keeps every symbol, because
// klp relocations refer to symbols by index.
func collectModuleSymbols(ef *elfFile, syms []elfSymbol, bases []uint64, livepatch bool, o *Object) {
	pcpu := ef.sectionIndex(".data..percpu")
	file := ""
	for i := 1; i < len(syms); i++ {
		s := syms[i]
		if s.typ() == elf.STT_FILE {
			file = s.name
		}
		if s.shndx == elf.SHN_UNDEF || s.name == "" {
			continue
		}

		sym := Symbol{Name: s.name, Addr: s.value, Size: s.size, SizeKnown: true, Func: s.typ() == elf.STT_FUNC}
		if sec := ef.section(s.shndx); sec != nil {
			sym.Section, sym.Offset = sec.Name, s.value
			sym.Addr = bases[s.shndx] + s.value
		}
		if s.bind() == elf.STB_LOCAL && s.typ() != elf.STT_FILE {
			sym.File = file
		}

		o.LoadingSymbols = append(o.LoadingSymbols, sym)
		if livepatch || coreSymbol(ef, s, pcpu) {
			o.Symbols = append(o.Symbols, sym)
		}
	}
}

// coreSymbol applies is_core_symbol (see collectModuleSymbols).
func coreSymbol(ef *elfFile, s elfSymbol, pcpu elf.SectionIndex) bool {
	sec := ef.section(s.shndx)
	switch {
	case sec == nil || s.name == "":
		return false
	case s.shndx == pcpu:
		return true
	case sec.Flags&elf.SHF_ALLOC == 0, sec.Name == ".modinfo", sec.Name == "__versions":
		return false
	}
	return !strings.HasPrefix(sec.Name, ".init")
}

// readModuleFtrace reads the ftrace call sites of a module: each 8-byte
// entry of __mcount_loc, or of __patchable_function_entries on arches that
// build with -fpatchable-function-entry (arm64, riscv, LoongArch; the
// kernel's FTRACE_CALLSITE_SECTION), is a 64-bit absolute relocation to a
// text section, usually its section symbol plus an offset. The reader
// resolves it to an address in its section layout. A module without either
// section leaves FtraceKnown unset: it has no traceable function or was
// built without ftrace, and the file does not say which.
func readModuleFtrace(ef *elfFile, syms []elfSymbol, bases []uint64, o *Object) error {
	name := "__mcount_loc"
	idx := ef.sectionIndex(name)
	if idx == 0 {
		name = "__patchable_function_entries"
		idx = ef.sectionIndex(name)
	}
	if idx == 0 {
		return nil
	}
	abs64, ok := livepatch.Abs64Reloc(ef.f.Machine)
	if !ok {
		return fmt.Errorf("machine %v is not supported", ef.f.Machine)
	}
	data, err := ef.readSection(idx)
	if err != nil {
		return err
	}
	if len(data)%8 != 0 {
		return sectionError(name, "size %d is not a multiple of 8", len(data))
	}
	relocs, err := ef.readRelocs(idx)
	if err != nil {
		return err
	}

	addrs := make([]uint64, 0, len(data)/8)
	for off := uint64(0); off < uint64(len(data)); off += 8 {
		r, ok := relocs[off]
		if !ok {
			if v := ef.bo.Uint64(data[off:]); v != 0 {
				return offsetError(name, off, "entry holds %#x with no relocation", v)
			}
			continue // padding, which ftrace_process_locs skips
		}
		if r.typ != abs64 {
			return offsetError(r.section, r.at, "relocation type %d, want the 64-bit absolute type %d", r.typ, abs64)
		}
		if r.sym == 0 || int(r.sym) >= len(syms) {
			return offsetError(r.section, r.at, "symbol index %d out of range (%d symbols)", r.sym, len(syms))
		}
		s := syms[r.sym]
		if ef.section(s.shndx) == nil {
			return offsetError(r.section, r.at, "call site refers to symbol %q, which is not defined in a section", s.name)
		}
		addrs = append(addrs, bases[s.shndx]+uint64(int64(s.value)+r.addend))
	}
	if name == "__patchable_function_entries" {
		moveCallOpsEntries(ef, syms, bases, addrs)
	}

	o.Ftrace = sortedUnique(addrs)
	o.FtraceKnown = true
	return nil
}

// moveCallOpsEntries moves each patchable-entry record that lies
// arm64CallOpsPrefix bytes before a function's first byte to that byte.
// With CONFIG_DYNAMIC_FTRACE_WITH_CALL_OPS (arm64, 6.12 and later in
// Debian), the compiler records the NOPs placed before the entry, and
// ftrace_call_adjust adds the prefix back, as the vmlinux reader does.
func moveCallOpsEntries(ef *elfFile, syms []elfSymbol, bases []uint64, addrs []uint64) {
	if ef.f.Machine != elf.EM_AARCH64 {
		return
	}
	starts := map[uint64]bool{}
	for _, s := range syms {
		if s.typ() == elf.STT_FUNC && ef.section(s.shndx) != nil {
			starts[bases[s.shndx]+s.value] = true
		}
	}
	for i, a := range addrs {
		if !starts[a] && starts[a+arm64CallOpsPrefix] {
			addrs[i] = a + arm64CallOpsPrefix
		}
	}
}

// readModuleExports reads a module's exports as readExports does for
// vmlinux.
func readModuleExports(ef *elfFile, syms []elfSymbol, o *Object) error {
	special := specialSymbols{crc: map[string]int{}, namespace: map[string]int{}}
	for i := 1; i < len(syms); i++ {
		special.note(i, syms[i], ef)
	}
	exports, err := readExports(ef, syms, special, o.Name)
	o.Exports = exports
	return err
}
