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
	case strings.HasPrefix(name, "__ksymtab_"):
		if sec := ef.section(s.shndx); sec != nil && ksymtabSection(sec.Name) {
			v.ksymtab = append(v.ksymtab, i)
		}
	case strings.HasPrefix(name, "__crc_"):
		v.crc[name[len("__crc_"):]] = i
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
// x86-64). ftrace_process_locs sorts them and skips zero entries, which
// are padding between the tables of two objects.
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

	addrs := make([]uint64, 0, len(data)/8)
	for off := 0; off < len(data); off += 8 {
		if a := ef.bo.Uint64(data[off:]); a != 0 {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 && len(data) > 0 {
		// NOTE: a relocatable vmlinux (arm64) leaves __mcount_loc zero and
		// fills it from .rela at boot. Reading those relocations is not
		// implemented, so the call sites stay unknown rather than guessed.
		in.Notes = append(in.Notes, fmt.Sprintf("its %d __mcount_loc entries are all zero (a relocatable kernel fills them in at boot), so ftrace call sites are unknown", len(data)/8))
		return nil
	}

	o.Ftrace = sortedUnique(addrs)
	o.FtraceKnown = true
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
