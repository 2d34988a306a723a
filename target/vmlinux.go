package target

import (
	"debug/elf"
	"errors"
	"fmt"
	"strings"
)

// specialSymbols holds the .symtab indexes of the symbols the readers
// need besides the symbol list, found in the same pass.
type specialSymbols struct {
	mcountStart, mcountStop int
	banner                  int
	// callOps is set when the file defines ftrace_list_ops, which
	// kernel/trace/ftrace.c has only with
	// CONFIG_DYNAMIC_FTRACE_WITH_CALL_OPS (not in 6.1, set in Debian's
	// 6.12 arm64 kernels).
	callOps bool
	// ksymtab lists the __ksymtab_<name> symbols in .symtab order; crc
	// and namespace map an export name to its __crc_<name> and
	// __kstrtabns_<name> symbol.
	ksymtab   []int
	crc       map[string]int
	namespace map[string]int
}

// readVmlinux reads a linked kernel image: its kallsyms list, ftrace call
// sites, exports and release.
func readVmlinux(ef *elfFile) (*contents, error) {
	syms, err := ef.readSymtab()
	if errors.Is(err, errNoSymtab) {
		return nil, errors.New("read symbols: no .symtab; a stripped vmlinux has no symbols, give the vmlinux from the kernel's debug package (for Debian, linux-image-<release>-dbg) or System.map")
	}
	if err != nil {
		return nil, fmt.Errorf("read symbols: %w", err)
	}

	o := &Object{Name: "vmlinux", Kind: KindVmlinux}
	c := &contents{input: Input{Kind: KindVmlinux}, vmlinux: o}

	special := collectVmlinuxSymbols(ef, syms, o)

	if err := readVmlinuxFtrace(ef, syms, special, o, &c.input); err != nil {
		return nil, fmt.Errorf("read ftrace call sites: %w", err)
	}

	if o.Exports, err = readExports(ef, syms, special, "vmlinux"); err != nil {
		return nil, fmt.Errorf("read exports: %w", err)
	}
	if len(special.ksymtab) > 0 && len(special.crc) == 0 {
		c.input.Notes = append(c.input.Notes, "has no __crc_ symbols (a kernel without CONFIG_MODVERSIONS), so export CRCs are unknown")
	}
	c.exports = o.Exports
	c.exportsVmlinux = true

	release, err := readBanner(ef, syms, special.banner)
	if err != nil {
		return nil, fmt.Errorf("read linux_banner: %w", err)
	}
	c.release = release
	if release == "" {
		c.input.Notes = append(c.input.Notes, "has no linux_banner symbol, so the release is unknown")
	}

	c.input.Symbols = len(o.Symbols)
	return c, nil
}

// collectVmlinuxSymbols fills o.Symbols with the symbols kallsyms lists,
// in kallsyms order, and returns the other symbols the reader needs.
//
// kallsyms lists a symbol that nm prints with a type it keeps (defined,
// not absolute, in an SHF_ALLOC section) and whose name it does not drop
// (see ignoredName). This assumes CONFIG_KALLSYMS_ALL, which livepatch
// depends on; without it kallsyms keeps only text symbols.
func collectVmlinuxSymbols(ef *elfFile, syms []elfSymbol, o *Object) specialSymbols {
	special := specialSymbols{mcountStart: -1, mcountStop: -1, banner: -1, crc: map[string]int{}, namespace: map[string]int{}}
	symbols := make([]Symbol, 0, len(syms))
	entries := make([]orderEntry, 0, len(syms))
	file := ""

	for i := 1; i < len(syms); i++ {
		s := syms[i]
		typ := s.typ()
		if typ == elf.STT_FILE {
			file = s.name
			continue
		}
		special.note(i, s, ef)

		sec := ef.section(s.shndx)
		if s.name == "" || typ == elf.STT_SECTION || sec == nil || sec.Flags&elf.SHF_ALLOC == 0 || ignoredName(s.name) {
			continue
		}

		sym := Symbol{
			Name:      s.name,
			Addr:      s.value,
			Size:      s.size,
			SizeKnown: true,
			Func:      typ == elf.STT_FUNC,
			Section:   sec.Name,
		}
		if s.value >= sec.Addr {
			sym.Offset = s.value - sec.Addr
		}
		if s.bind() == elf.STB_LOCAL {
			sym.File = file
		}
		weak := s.bind() == elf.STB_WEAK && typ != elf.STT_OBJECT
		entries = append(entries, orderEntry{addr: s.value, pos: int32(len(symbols)), weak: weak})
		symbols = append(symbols, sym)
	}

	o.Symbols = kallsymsOrder(symbols, entries)
	return special
}

// note records symbol i when it is one the reader needs later.
func (v *specialSymbols) note(i int, s elfSymbol, ef *elfFile) {
	switch name := s.name; {
	case name == "__start_mcount_loc":
		v.mcountStart = i
	case name == "__stop_mcount_loc":
		v.mcountStop = i
	case name == "linux_banner":
		v.banner = i
	case name == "ftrace_list_ops":
		v.callOps = true
	case strings.HasPrefix(name, "__ksymtab_"):
		if sec := ef.section(s.shndx); sec != nil && ksymtabSection(sec.Name) {
			v.ksymtab = append(v.ksymtab, i)
		}
	case strings.HasPrefix(name, "__crc_"):
		// Before 5.19 the CRC is a weak absolute symbol, which stays
		// undefined when genksyms made no CRC for the export ("version
		// generation failed"). The export's CRC is then unknown.
		if s.shndx != elf.SHN_UNDEF {
			v.crc[name[len("__crc_"):]] = i
		}
	case strings.HasPrefix(name, "__kstrtabns_"):
		v.namespace[name[len("__kstrtabns_"):]] = i
	}
}

// ksymtabSection reports whether a section holds struct kernel_symbol
// entries: __ksymtab and __ksymtab_gpl, and before 5.12 also
// __ksymtab_unused, __ksymtab_unused_gpl and __ksymtab_gpl_future.
func ksymtabSection(name string) bool {
	switch name {
	case "__ksymtab", "__ksymtab_gpl", "__ksymtab_unused", "__ksymtab_unused_gpl", "__ksymtab_gpl_future":
		return true
	}
	return false
}

// readVmlinuxFtrace reads the ftrace call sites: the 8-byte addresses
// between __start_mcount_loc and __stop_mcount_loc, which the linker
// script puts in whatever output section holds __mcount_loc (.init.data on
// x86-64 and arm64). ftrace_process_locs sorts them and skips zero
// entries, which are padding between the tables of two objects.
//
// A relocatable vmlinux may leave the entries zero and fill them at boot
// from its dynamic relocations, which applyRelativeRelocs reads.
func readVmlinuxFtrace(ef *elfFile, syms []elfSymbol, special specialSymbols, o *Object, in *Input) error {
	if special.mcountStart < 0 || special.mcountStop < 0 {
		in.Notes = append(in.Notes, "has no __start_mcount_loc and __stop_mcount_loc symbols (a kernel without CONFIG_FTRACE_MCOUNT_RECORD), so ftrace call sites are unknown")
		return nil
	}
	start, stop := syms[special.mcountStart], syms[special.mcountStop]
	if start.shndx != stop.shndx {
		return fmt.Errorf("__start_mcount_loc and __stop_mcount_loc are in different sections (%d and %d)", start.shndx, stop.shndx)
	}
	sec := ef.section(start.shndx)
	if sec == nil {
		return fmt.Errorf("__start_mcount_loc has section index %d, not a section of the file", start.shndx)
	}
	if stop.value < start.value || (stop.value-start.value)%8 != 0 {
		return fmt.Errorf("__start_mcount_loc %#x and __stop_mcount_loc %#x do not bound a table of 8-byte entries", start.value, stop.value)
	}
	if start.value < sec.Addr {
		return fmt.Errorf("__start_mcount_loc %#x lies before section %s at %#x", start.value, sec.Name, sec.Addr)
	}

	data, err := ef.readRange(start.shndx, start.value-sec.Addr, stop.value-start.value)
	if err != nil {
		return err
	}
	entries := make([]uint64, len(data)/8)
	for i := range entries {
		entries[i] = ef.bo.Uint64(data[8*i:])
	}

	if err := applyRelativeRelocs(ef, start.value, entries); err != nil {
		return err
	}

	addrs := make([]uint64, 0, len(entries))
	zero, misaligned := 0, 0
	for _, a := range entries {
		if a == 0 {
			zero++
			continue
		}
		// NOTE: riscv kernels with CALL_OPS also record a place 8 bytes
		// before the entry (their ftrace_call_adjust adds 8 and the
		// auipc size), but no such vmlinux was checked, so only arm64
		// entries are moved.
		if special.callOps && ef.f.Machine == elf.EM_AARCH64 {
			// ftrace_call_adjust rejects a misaligned entry, and
			// ftrace_process_locs then skips it.
			if a%8 != 0 {
				misaligned++
				continue
			}
			a += arm64CallOpsPrefix
		}
		addrs = append(addrs, a)
	}
	if misaligned > 0 {
		in.Notes = append(in.Notes, fmt.Sprintf("skipped %d of %d __mcount_loc entries because they are not 8-byte aligned, which an arm64 kernel with CONFIG_DYNAMIC_FTRACE_WITH_CALL_OPS rejects", misaligned, len(entries)))
	}
	if zero == len(entries) && zero > 0 {
		// NOTE: the relative relocations are read for arm64 (checked
		// on Debian's 6.1 and 6.12 arm64 vmlinux), ppc64, riscv and
		// LoongArch. Other relocatable layouts, such as s390's, stay
		// unknown rather than guessed.
		in.Notes = append(in.Notes, fmt.Sprintf("its %d __mcount_loc entries are all zero (a relocatable kernel fills them in at boot), so ftrace call sites are unknown", len(entries)))
		return nil
	}

	o.Ftrace = sortedUnique(addrs)
	o.FtraceKnown = true
	return nil
}

// arm64CallOpsPrefix is the size of the two NOPs that arm64 places before
// each traceable function's entry with CONFIG_DYNAMIC_FTRACE_WITH_CALL_OPS
// (-fpatchable-function-entry=4,2, newer than 6.1), where ftrace stores a
// pointer to the function's ftrace_ops. Each __mcount_loc entry then
// holds the address of the first of those NOPs, outside the function's
// symbol. The reader adds this size so that the call site lies at the
// entry, inside [st_value, st_value+st_size) as without CALL_OPS.
// ftrace_call_adjust moves it further, to the NOP that becomes the call
// (entry+4, or entry+8 after a BTI), which is inside the symbol too.
const arm64CallOpsPrefix = 8

// relativeTypes maps each machine whose relocatable kernel may fill
// __mcount_loc from dynamic relocations to its R_*_RELATIVE type. At boot
// the kernel stores the addend plus its load offset at the relocation's
// address, whatever the word there contains: __relocate_kernel in arm64's
// head.S and relocate in ppc64's reloc_64.S do so in 6.1. The addend is
// the link-time address, in the same address space as st_value. riscv and
// LoongArch are listed by the ELF definition of their relative type (base
// plus addend), without a check against their kernels' relocators.
var relativeTypes = map[elf.Machine]relocType{
	elf.EM_AARCH64:   {uint32(elf.R_AARCH64_RELATIVE), "R_AARCH64_RELATIVE"},
	elf.EM_PPC64:     {uint32(elf.R_PPC64_RELATIVE), "R_PPC64_RELATIVE"},
	elf.EM_RISCV:     {uint32(elf.R_RISCV_RELATIVE), "R_RISCV_RELATIVE"},
	elf.EM_LOONGARCH: {uint32(elf.R_LARCH_RELATIVE), "R_LARCH_RELATIVE"},
}

// relocType is a relocation type and its name for messages.
type relocType struct {
	typ  uint32
	name string
}

// relaChunkEntries is how many Elf64_Rela entries applyRelativeRelocs
// reads at a time (96 KiB), which bounds its memory whatever the
// section's size. Debian's 6.1 arm64 .rela.dyn has 198,589 entries.
const relaChunkEntries = 4096

// applyRelativeRelocs replaces each entry of the __mcount_loc table at
// tableAddr by the addend of the R_*_RELATIVE relocation at its address,
// as the kernel does at boot. With CONFIG_RELOCATABLE, arch/arm64/Makefile
// links vmlinux with -shared -Bsymbolic --no-apply-dynamic-relocs, so
// Debian's arm64 vmlinux (6.1 and 6.12) is ET_DYN, every table entry is
// zero, and .rela.dyn contains one R_AARCH64_RELATIVE for each. The
// relocations come from the SHF_ALLOC SHT_RELA sections whose sh_info is
// 0, which the kernel walks between __rela_start and __rela_end. The
// .rela<section> tables that ld --emit-relocs keeps for x86-64 are not
// SHF_ALLOC and are not applied at boot. Other relocation types are
// skipped, as the kernel skips them.
func applyRelativeRelocs(ef *elfFile, tableAddr uint64, entries []uint64) error {
	relative, ok := relativeTypes[ef.f.Machine]
	if !ok || len(entries) == 0 {
		return nil
	}
	tableEnd := tableAddr + 8*uint64(len(entries))

	for i, s := range ef.f.Sections {
		if s.Type != elf.SHT_RELA || s.Flags&elf.SHF_ALLOC == 0 || s.Info != 0 {
			continue
		}
		if s.Entsize != rela64Size {
			return sectionError(s.Name, "sh_entsize is %d, want %d for Elf64_Rela", s.Entsize, rela64Size)
		}
		if s.FileSize%rela64Size != 0 {
			return sectionError(s.Name, "size %d is not a multiple of %d", s.FileSize, rela64Size)
		}

		for off := uint64(0); off < s.FileSize; off += relaChunkEntries * rela64Size {
			chunk, err := ef.readRange(elf.SectionIndex(i), off, min(relaChunkEntries*rela64Size, s.FileSize-off))
			if err != nil {
				return err
			}
			for j := 0; j < len(chunk); j += rela64Size {
				where := ef.bo.Uint64(chunk[j:])
				if uint32(ef.bo.Uint64(chunk[j+8:])) != relative.typ || where < tableAddr || where >= tableEnd {
					continue
				}
				if (where-tableAddr)%8 != 0 {
					return offsetError(s.Name, off+uint64(j), "%s at %#x is not at an 8-byte entry of the __mcount_loc table at %#x", relative.name, where, tableAddr)
				}
				entries[(where-tableAddr)/8] = ef.bo.Uint64(chunk[j+16:])
			}
		}
	}
	return nil
}

// readExports reads the exports of vmlinux or a module from its
// __ksymtab_<name> symbols, their CRCs from __crc_<name> and their
// namespaces from __kstrtabns_<name>, in .symtab order.
//
// A CRC is 4 bytes of __kcrctab or __kcrctab_gpl at the __crc_ symbol's
// address from 5.19 on. Before, __crc_ symbols were absolute (SHN_ABS)
// and the CRC was the symbol's value.
func readExports(ef *elfFile, syms []elfSymbol, special specialSymbols, owner string) ([]Export, error) {
	var exports []Export
	for _, i := range special.ksymtab {
		s := syms[i]
		name := s.name[len("__ksymtab_"):]
		table := ef.section(s.shndx).Name
		e := Export{Name: name, Owner: owner, GPLOnly: table == "__ksymtab_gpl" || table == "__ksymtab_unused_gpl"}

		if j, ok := special.crc[name]; ok {
			crc, err := readCRC(ef, syms[j])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", syms[j].name, err)
			}
			e.CRC, e.CRCKnown = crc, true
		}
		if j, ok := special.namespace[name]; ok {
			ns, err := readSymbolString(ef, syms[j])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", syms[j].name, err)
			}
			e.Namespace = ns
		}
		exports = append(exports, e)
	}
	return exports, nil
}

// readCRC returns the modversions CRC that a __crc_ symbol gives.
func readCRC(ef *elfFile, s elfSymbol) (uint32, error) {
	if s.shndx == elf.SHN_ABS {
		return uint32(s.value), nil
	}
	sec := ef.section(s.shndx)
	if sec == nil {
		return 0, fmt.Errorf("section index %d is neither SHN_ABS nor a section of the file", s.shndx)
	}
	off, err := sectionOffset(s, sec)
	if err != nil {
		return 0, err
	}
	data, err := ef.cached(s.shndx, off, 4)
	if err != nil {
		return 0, err
	}
	return ef.bo.Uint32(data), nil
}

// readSymbolString returns the NUL-terminated string a symbol labels.
func readSymbolString(ef *elfFile, s elfSymbol) (string, error) {
	sec := ef.section(s.shndx)
	if sec == nil {
		return "", fmt.Errorf("section index %d is not a section of the file", s.shndx)
	}
	off, err := sectionOffset(s, sec)
	if err != nil {
		return "", err
	}
	return ef.cString(s.shndx, off)
}

// sectionOffset returns where a defined symbol lies inside its section:
// st_value minus the section address, which is 0 in a module.
func sectionOffset(s elfSymbol, sec *elf.Section) (uint64, error) {
	if s.value < sec.Addr {
		return 0, fmt.Errorf("value %#x lies before its section %s at %#x", s.value, sec.Name, sec.Addr)
	}
	return s.value - sec.Addr, nil
}

// readBanner returns the release from linux_banner, "Linux version
// RELEASE (BUILDER) ...", as init/version.c writes it. It returns "" when
// the file has no linux_banner.
func readBanner(ef *elfFile, syms []elfSymbol, i int) (string, error) {
	if i < 0 {
		return "", nil
	}
	// linux_banner sits in .rodata, which is too large to read for one
	// string, so only its st_size bytes (or 1 KiB) are read.
	s := syms[i]
	sec := ef.section(s.shndx)
	if sec == nil {
		return "", fmt.Errorf("section index %d is not a section of the file", s.shndx)
	}
	off, err := sectionOffset(s, sec)
	if err != nil {
		return "", err
	}
	n := s.size
	if n == 0 || n > 1024 {
		n = 1024
	}
	if off < sec.FileSize {
		n = min(n, sec.FileSize-off)
	}
	data, err := ef.readRange(s.shndx, off, n)
	if err != nil {
		return "", err
	}
	banner, _, _ := strings.Cut(string(data), "\x00")
	rest, ok := strings.CutPrefix(banner, "Linux version ")
	if !ok {
		return "", fmt.Errorf("%q does not start with \"Linux version \"", truncate(banner, 40))
	}
	release, _, _ := strings.Cut(rest, " ")
	if release == "" {
		return "", fmt.Errorf("%q has no release after \"Linux version \"", truncate(banner, 40))
	}
	return release, nil
}

// truncate shortens s to at most n bytes for a message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
