package elftest

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"strings"
)

// Vmlinux describes a synthetic linked kernel image: an ET_EXEC file (ET_DYN
// with McountRelocated) with section addresses, a .symtab whose local symbols are grouped under
// STT_FILE entries, the __mcount_loc table between __start_mcount_loc and
// __stop_mcount_loc, the export tables and linux_banner. It holds only
// what a symbol reader looks at; the code bytes are zeros.
//
// Sections are placed one after another from VmlinuxTextAddr, each at a
// 4096-byte boundary, in this order: .text, .init.text, .rodata,
// __ksymtab, __ksymtab_gpl, __kcrctab, __kcrctab_gpl, __ksymtab_strings,
// .data, .data..percpu (at address 0, as on x86-64), .init.data, and
// .rela.dyn with McountRelocated.
type Vmlinux struct {
	// Machine is EM_X86_64 when zero.
	Machine elf.Machine
	// ByteOrder is little-endian when nil.
	ByteOrder binary.ByteOrder

	// Symbols are written to .symtab in this order. Before each run of
	// local symbols with a non-empty File that differs from the previous
	// local's, the writer adds an STT_FILE symbol of that name. Local
	// symbols must come before global ones, as in a linked file.
	Symbols []KernelSymbol

	// Exports adds, for each entry, the __ksymtab_, __kstrtab_,
	// __kstrtabns_ and __crc_ symbols of an exported function that must
	// also be in Symbols.
	Exports []KernelExport

	// Banner, when not empty, is the string of the linux_banner object in
	// .rodata, without the trailing NUL.
	Banner string

	// Mcount selects how __mcount_loc is written.
	Mcount McountStyle
	// FtraceBefore moves every __mcount_loc entry this many bytes before
	// the call site that KernelSymbol.Ftrace gives. arm64 with
	// CONFIG_DYNAMIC_FTRACE_WITH_CALL_OPS (Debian 6.12) records the first of
	// two NOPs placed before the function entry, 8 bytes before it.
	FtraceBefore uint64

	// Mutate, when set, is called with the encoded file after section
	// addresses are set, as File.Mutate is.
	Mutate func(raw []byte, layout *Layout)
}

// VmlinuxTextAddr is the address of .text in a synthetic vmlinux, the
// x86-64 default (__START_KERNEL_map plus 16 MiB).
const VmlinuxTextAddr = 0xffffffff81000000

// McountStyle is a layout of the ftrace call-site table of a synthetic
// vmlinux.
type McountStyle int

const (
	// McountLinked writes each call-site address into __mcount_loc, as a
	// linked x86-64 vmlinux has it.
	McountLinked McountStyle = iota
	// McountZero writes zeros in place of the addresses and no
	// relocation for them, as a relocatable kernel whose relocations a
	// reader does not handle looks to that reader.
	McountZero
	// McountNone omits __start_mcount_loc and __stop_mcount_loc, as a
	// kernel without CONFIG_FTRACE_MCOUNT_RECORD has it.
	McountNone
	// McountRelocated writes an ET_DYN file whose __mcount_loc entries
	// are zero, with one R_*_RELATIVE entry in .rela.dyn for each whose
	// addend is the call-site address. Debian's arm64 vmlinux (6.1 and
	// 6.12), linked -shared with --no-apply-dynamic-relocs, has it so.
	// Like the real file, .rela.dyn also holds an R_*_NONE entry, and
	// relative relocations of the 8-byte words just before and just
	// after the table, whose addend is the .text address.
	McountRelocated
)

// relativeTypes maps the machines that McountRelocated supports to their
// R_*_RELATIVE relocation type.
var relativeTypes = map[elf.Machine]uint32{
	elf.EM_AARCH64:   uint32(elf.R_AARCH64_RELATIVE),
	elf.EM_X86_64:    uint32(elf.R_X86_64_RELATIVE),
	elf.EM_PPC64:     uint32(elf.R_PPC64_RELATIVE),
	elf.EM_RISCV:     uint32(elf.R_RISCV_RELATIVE),
	elf.EM_LOONGARCH: uint32(elf.R_LARCH_RELATIVE),
}

// KernelSymbol is one symbol of a synthetic vmlinux.
type KernelSymbol struct {
	Name string
	// File is the source file of a local symbol, written as the STT_FILE
	// symbol before it. It is ignored for global symbols.
	File string
	// Section is the defining section, .text when empty. It must be one
	// of the sections Vmlinux lists.
	Section string
	// Offset is the symbol's offset in Section; its address is the
	// section address plus Offset.
	Offset uint64
	Size   uint64
	// Type is STT_FUNC when zero.
	Type elf.SymType
	// Bind is STB_LOCAL when zero.
	Bind elf.SymBind
	// Ftrace lists the offsets inside the symbol of its ftrace call
	// sites: {0} for a plain fentry call, {4} after an IBT endbr64, none
	// for a notrace function.
	Ftrace []uint64
	// Absolute writes the symbol with st_shndx SHN_ABS and Offset as its
	// value.
	Absolute bool
}

// KernelExport is one EXPORT_SYMBOL of a synthetic vmlinux.
type KernelExport struct {
	Name      string
	GPL       bool
	Namespace string
	CRC       uint32
	// AbsoluteCRC writes __crc_<Name> as an SHN_ABS symbol whose value is
	// the CRC, as kernels before 5.19 did. Otherwise the CRC is 4 bytes
	// in __kcrctab or __kcrctab_gpl at the symbol's address.
	AbsoluteCRC bool
	// NoCRC leaves __crc_<Name> out, as without CONFIG_MODVERSIONS.
	NoCRC bool
}

// vmlinuxSectionOrder lists the sections of a synthetic vmlinux in address
// order, with their flags.
var vmlinuxSectionOrder = []struct {
	name  string
	flags elf.SectionFlag
}{
	{".text", elf.SHF_ALLOC | elf.SHF_EXECINSTR},
	{".init.text", elf.SHF_ALLOC | elf.SHF_EXECINSTR},
	{".rodata", elf.SHF_ALLOC | elf.SHF_WRITE},
	{"__ksymtab", elf.SHF_ALLOC},
	{"__ksymtab_gpl", elf.SHF_ALLOC},
	{"__kcrctab", elf.SHF_ALLOC},
	{"__kcrctab_gpl", elf.SHF_ALLOC},
	{"__ksymtab_strings", elf.SHF_ALLOC | elf.SHF_MERGE | elf.SHF_STRINGS},
	{".data", elf.SHF_ALLOC | elf.SHF_WRITE},
	{".data..percpu", elf.SHF_ALLOC | elf.SHF_WRITE},
	{".init.data", elf.SHF_ALLOC | elf.SHF_WRITE},
}

// kernelSymbolSize is sizeof(struct kernel_symbol) with
// CONFIG_HAVE_ARCH_PREL32_RELOCATIONS: three 32-bit offsets to the value,
// the name and the namespace.
const kernelSymbolSize = 12

// vmlinuxBuilder is the state of one Vmlinux.Bytes call.
type vmlinuxBuilder struct {
	v     *Vmlinux
	f     *File
	order byteOrder

	sections map[string]*Section
	// data is the contents of each section while it is being filled.
	data map[string][]byte
	addr map[string]uint64
	// byName maps a name of Symbols to its first symbol.
	byName map[string]*Symbol
	// relaDyn is the .rela.dyn section of McountRelocated, placed after
	// .init.data at relaDynAddr.
	relaDyn     *Section
	relaDynAddr uint64
}

// Bytes lays out and encodes the vmlinux.
func (v *Vmlinux) Bytes() ([]byte, error) {
	order, err := orderOf(v.ByteOrder)
	if err != nil {
		return nil, err
	}
	machine := v.Machine
	if machine == elf.EM_NONE {
		machine = elf.EM_X86_64
	}

	fileType := elf.ET_EXEC
	if v.Mcount == McountRelocated {
		if _, ok := relativeTypes[machine]; !ok {
			return nil, fmt.Errorf("McountRelocated: no relative relocation type for machine %v", machine)
		}
		fileType = elf.ET_DYN
	}

	b := &vmlinuxBuilder{
		v:        v,
		f:        &File{Type: fileType, Machine: machine, ByteOrder: order, KeepSymbolOrder: true},
		order:    order,
		sections: map[string]*Section{},
		data:     map[string][]byte{},
		addr:     map[string]uint64{},
		byName:   map[string]*Symbol{},
	}
	for _, s := range vmlinuxSectionOrder {
		b.sections[s.name] = &Section{Name: s.name, Type: elf.SHT_PROGBITS, Flags: s.flags, Addralign: 8}
	}

	if err := b.sizeSections(); err != nil {
		return nil, err
	}
	if err := b.addSymbols(); err != nil {
		return nil, err
	}
	b.addBanner()
	if err := b.addExports(); err != nil {
		return nil, err
	}
	if err := b.addMcount(); err != nil {
		return nil, err
	}

	for _, s := range vmlinuxSectionOrder {
		sec := b.sections[s.name]
		sec.Data = b.data[s.name]
		b.f.AddSection(sec)
	}
	if b.relaDyn != nil {
		b.f.AddSection(b.relaDyn)
	}
	b.f.Mutate = func(raw []byte, layout *Layout) {
		for _, s := range vmlinuxSectionOrder {
			layout.SetSection(raw, layout.SectionIndex(s.name), ShAddr, b.addr[s.name])
		}
		if b.relaDyn != nil {
			layout.SetSection(raw, layout.SectionIndex(".rela.dyn"), ShAddr, b.relaDynAddr)
		}
		if v.Mutate != nil {
			v.Mutate(raw, layout)
		}
	}
	return b.f.Bytes()
}

// sizeSections makes every section large enough for the symbols, export
// entries, banner and mcount table it will hold, and assigns addresses.
func (b *vmlinuxBuilder) sizeSections() error {
	need := map[string]uint64{}
	for _, s := range b.v.Symbols {
		if s.Absolute {
			continue
		}
		name := sectionOf(s)
		if _, ok := b.sections[name]; !ok {
			return fmt.Errorf("symbol %q: section %s is not one of the synthetic vmlinux sections", s.Name, name)
		}
		need[name] = max(need[name], s.Offset+s.Size)
	}
	for name, n := range need {
		b.data[name] = make([]byte, n)
	}

	// The later steps append export entries, strings, CRCs, the banner
	// and the mcount table, so their sizes are added here before the
	// addresses are fixed. Each append may pad to its alignment.
	extra := map[string]uint64{}
	for _, e := range b.v.Exports {
		table, crcTable := "__ksymtab", "__kcrctab"
		if e.GPL {
			table, crcTable = "__ksymtab_gpl", "__kcrctab_gpl"
		}
		extra[table] += kernelSymbolSize + 4
		extra[crcTable] += 4 + 4
		extra["__ksymtab_strings"] += uint64(len(e.Name) + len(e.Namespace) + 2)
	}
	extra[".rodata"] += uint64(len(b.v.Banner)) + 1 + 32
	extra[".init.data"] += 8
	if b.v.Mcount == McountRelocated {
		extra[".init.data"] += 16 // the relocated words around the table
	}
	for _, s := range b.v.Symbols {
		extra[".init.data"] += 8 * uint64(len(s.Ftrace))
	}

	addr := uint64(VmlinuxTextAddr)
	for _, s := range vmlinuxSectionOrder {
		if s.name == ".data..percpu" {
			b.addr[s.name] = 0
			continue
		}
		b.addr[s.name] = addr
		addr = alignUp(addr+uint64(len(b.data[s.name]))+extra[s.name], 4096)
	}
	b.relaDynAddr = addr
	return nil
}

func sectionOf(s KernelSymbol) string {
	if s.Section == "" {
		return ".text"
	}
	return s.Section
}

// addSymbols writes Symbols, with an STT_FILE symbol before each run of
// locals from one file.
func (b *vmlinuxBuilder) addSymbols() error {
	file := ""
	seenGlobal := false
	for _, s := range b.v.Symbols {
		bind := s.Bind
		typ := s.Type
		if typ == elf.STT_NOTYPE {
			typ = elf.STT_FUNC
		}

		if bind == elf.STB_LOCAL {
			if seenGlobal {
				return fmt.Errorf("local symbol %q follows a global symbol", s.Name)
			}
			if s.File != "" && s.File != file {
				b.f.AddSymbol(&Symbol{Name: s.File, Bind: elf.STB_LOCAL, Type: elf.STT_FILE, Index: elf.SHN_ABS})
				file = s.File
			}
		} else {
			seenGlobal = true
		}

		sym := &Symbol{Name: s.Name, Size: s.Size, Bind: bind, Type: typ}
		if s.Absolute {
			sym.Index = elf.SHN_ABS
			sym.Value = s.Offset
		} else {
			sym.Section = b.sections[sectionOf(s)]
			sym.Value = b.addr[sectionOf(s)] + s.Offset
		}
		b.f.AddSymbol(sym)
		if _, dup := b.byName[s.Name]; !dup {
			b.byName[s.Name] = sym
		}
	}
	return nil
}

// appendData appends data to section name at the given alignment and
// returns its address.
func (b *vmlinuxBuilder) appendData(name string, data []byte, align int) uint64 {
	d := b.data[name]
	for len(d)%align != 0 {
		d = append(d, 0)
	}
	off := len(d)
	b.data[name] = append(d, data...)
	return b.addr[name] + uint64(off)
}

// addBanner adds linux_banner in .rodata. It is written as a global symbol
// after the others, which keeps .symtab valid.
func (b *vmlinuxBuilder) addBanner() {
	if b.v.Banner == "" {
		return
	}
	addr := b.appendData(".rodata", append([]byte(b.v.Banner), 0), 32)
	b.f.AddSymbol(&Symbol{
		Name: "linux_banner", Value: addr, Size: uint64(len(b.v.Banner) + 1),
		Bind: elf.STB_GLOBAL, Type: elf.STT_OBJECT, Section: b.sections[".rodata"],
	})
}

// addExports writes the struct kernel_symbol entry, the name and
// namespace strings and the CRC of each export. Their symbols are local
// labels, as in a linked 6.1 vmlinux; they are inserted before the first
// global symbol.
func (b *vmlinuxBuilder) addExports() error {
	var labels []*Symbol
	for _, e := range b.v.Exports {
		target := b.byName[e.Name]
		if target == nil {
			return fmt.Errorf("export %q: no such symbol", e.Name)
		}

		name := b.appendData("__ksymtab_strings", append([]byte(e.Name), 0), 1)
		ns := b.appendData("__ksymtab_strings", append([]byte(e.Namespace), 0), 1)

		table, crcTable := "__ksymtab", "__kcrctab"
		if e.GPL {
			table, crcTable = "__ksymtab_gpl", "__kcrctab_gpl"
		}
		entry := b.addr[table] + uint64(len(b.data[table]))
		var raw []byte
		raw = b.order.AppendUint32(raw, uint32(int32(target.Value-entry)))
		raw = b.order.AppendUint32(raw, uint32(int32(name-(entry+4))))
		raw = b.order.AppendUint32(raw, uint32(int32(ns-(entry+8))))
		b.appendData(table, raw, 4)

		labels = append(labels,
			&Symbol{Name: "__ksymtab_" + e.Name, Value: entry, Bind: elf.STB_LOCAL, Section: b.sections[table]},
			&Symbol{Name: "__kstrtab_" + e.Name, Value: name, Bind: elf.STB_LOCAL, Section: b.sections["__ksymtab_strings"]},
			&Symbol{Name: "__kstrtabns_" + e.Name, Value: ns, Bind: elf.STB_LOCAL, Section: b.sections["__ksymtab_strings"]},
		)

		switch {
		case e.NoCRC:
		case e.AbsoluteCRC:
			labels = append(labels, &Symbol{Name: "__crc_" + e.Name, Value: uint64(e.CRC), Bind: elf.STB_LOCAL, Index: elf.SHN_ABS})
		default:
			addr := b.appendData(crcTable, b.order.AppendUint32(nil, e.CRC), 4)
			labels = append(labels, &Symbol{Name: "__crc_" + e.Name, Value: addr, Bind: elf.STB_LOCAL, Section: b.sections[crcTable]})
		}
	}

	firstGlobal := len(b.f.Symbols)
	for i, s := range b.f.Symbols {
		if s.Bind != elf.STB_LOCAL {
			firstGlobal = i
			break
		}
	}
	b.f.Symbols = append(b.f.Symbols[:firstGlobal:firstGlobal], append(labels, b.f.Symbols[firstGlobal:]...)...)
	return nil
}

// addMcount writes the ftrace call-site table into .init.data, between
// the global symbols __start_mcount_loc and __stop_mcount_loc.
func (b *vmlinuxBuilder) addMcount() error {
	if b.v.Mcount == McountNone {
		return nil
	}
	var sites []uint64
	for _, s := range b.v.Symbols {
		for _, off := range s.Ftrace {
			if off >= s.Size {
				return fmt.Errorf("symbol %q: ftrace offset %d is outside its %d bytes", s.Name, off, s.Size)
			}
			addr := b.addr[sectionOf(s)] + s.Offset + off
			if b.v.FtraceBefore > addr {
				return fmt.Errorf("symbol %q: FtraceBefore %d is larger than the call-site address %#x", s.Name, b.v.FtraceBefore, addr)
			}
			sites = append(sites, addr-b.v.FtraceBefore)
		}
	}

	var table []byte
	for _, addr := range sites {
		if b.v.Mcount != McountLinked {
			addr = 0
		}
		table = b.order.AppendUint64(table, addr)
	}

	sec := b.sections[".init.data"]
	var before uint64
	if b.v.Mcount == McountRelocated {
		before = b.appendData(".init.data", make([]byte, 8), 8)
	}
	start := b.appendData(".init.data", table, 8)
	b.f.AddSymbol(&Symbol{Name: "__start_mcount_loc", Value: start, Bind: elf.STB_GLOBAL, Section: sec})
	b.f.AddSymbol(&Symbol{Name: "__stop_mcount_loc", Value: start + uint64(len(table)), Bind: elf.STB_GLOBAL, Section: sec})

	if b.v.Mcount == McountRelocated {
		after := b.appendData(".init.data", make([]byte, 8), 8)
		b.addRelaDyn(before, start, after, sites)
	}
	return nil
}

// addRelaDyn builds the .rela.dyn of McountRelocated: a relative
// relocation of the word before the table, an R_*_NONE entry, one
// relative relocation for each table entry at start, and one of the word
// after the table.
func (b *vmlinuxBuilder) addRelaDyn(before, start, after uint64, sites []uint64) {
	relative := relativeTypes[b.f.Machine]
	text := int64(b.addr[".text"])

	relocs := []Reloc{
		{Offset: before, Type: relative, Addend: text},
		{},
	}
	for i, addr := range sites {
		relocs = append(relocs, Reloc{Offset: start + 8*uint64(i), Type: relative, Addend: int64(addr)})
	}
	relocs = append(relocs, Reloc{Offset: after, Type: relative, Addend: text})

	b.relaDyn = &Section{
		Name: ".rela.dyn", Type: elf.SHT_RELA, Flags: elf.SHF_ALLOC,
		Addralign: 8, Entsize: rela64Size, Relocs: relocs,
	}
}

// LinuxBanner returns a linux_banner string in the format of
// init/version.c for the given release, as Debian's 6.1 kernel prints it.
func LinuxBanner(release string) string {
	return strings.Join([]string{
		"Linux version", release,
		"(debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40)",
		"#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (2025-11-20)\n",
	}, " ")
}
