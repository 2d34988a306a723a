package elftest

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
)

// ELF extensions of Linux livepatch modules, from include/uapi/linux/elf.h.
// They are defined here rather than taken from package livepatch so that the
// fixtures check the reader's constants instead of repeating them.
const (
	// SHF_RELA_LIVEPATCH marks a klp relocation section.
	SHF_RELA_LIVEPATCH elf.SectionFlag = 0x00100000
	// SHN_LIVEPATCH is the st_shndx of a symbol that the livepatch core
	// resolves.
	SHN_LIVEPATCH elf.SectionIndex = 0xff20
)

// byteOrder is the interface pair that binary.LittleEndian and
// binary.BigEndian implement.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// Sizes of ELF64 structures in bytes.
const (
	ehdr64Size = 64
	ehdr32Size = 52
	shdr64Size = 64
	sym64Size  = 24
	rela64Size = 24
)

// File is an ELF relocatable file (or, with Type, an executable) described
// section by section. Bytes lays it out and encodes it.
//
// The writer adds the null section, one .rela<name> section after every
// non-RELA section that has Relocs, and .symtab, .strtab and .shstrtab at the
// end. Symbols are written locals first, in the order given within each
// group, and .symtab sh_info is the index of the first non-local symbol.
type File struct {
	// Class is ELFCLASS64 when zero. For ELFCLASS32 Bytes writes only the
	// 52-byte ELF header, with no sections, which is enough for a reader to
	// reject the class.
	Class elf.Class
	// Type is ET_REL when zero.
	Type    elf.Type
	Machine elf.Machine
	// ByteOrder is little-endian when nil.
	ByteOrder binary.ByteOrder
	OSABI     elf.OSABI
	// Flags is e_flags, for example 2 for the ppc64 ELFv2 ABI.
	Flags    uint32
	Sections []*Section
	Symbols  []*Symbol
	// KeepSymbolOrder writes Symbols in the given order instead of moving
	// locals first. .symtab sh_info is then the index of the first
	// non-local symbol in that order, so a global followed by a local gives
	// a table that breaks the ELF rule.
	KeepSymbolOrder bool
	// Mutate, when set, is called with the encoded file and its layout
	// before Bytes returns, so a test can overwrite any header field,
	// symbol or relocation to build a malformed file. Slicing the result of
	// Bytes truncates the file.
	Mutate func(raw []byte, layout *Layout)
}

// Section is one section of a File.
type Section struct {
	Name  string
	Type  elf.SectionType
	Flags elf.SectionFlag
	// Data is the content. It must be empty for SHT_NOBITS, whose size is
	// Size. A SHT_RELA section with Relocs gets its Data from them.
	Data []byte
	// Size is sh_size of a SHT_NOBITS section and ignored otherwise.
	Size      uint64
	Addralign uint64
	Entsize   uint64
	// Link and Info set sh_link and sh_info by reference. A SHT_RELA
	// section with a nil Link is linked to .symtab.
	Link *Section
	Info *Section
	// Relocs are Elf64_Rela entries. For a SHT_RELA section they are its
	// own entries and Info names the target. For any other section the
	// writer emits them in a generated .rela<Name> section with
	// SHF_INFO_LINK.
	Relocs []Reloc
}

// Symbol is one .symtab entry. The null symbol at index 0 is implicit.
type Symbol struct {
	Name  string
	Value uint64
	Size  uint64
	Bind  elf.SymBind
	Type  elf.SymType
	Other uint8
	// Section is the defining section. When it is nil, Index is written
	// as st_shndx: SHN_UNDEF (the zero value), SHN_ABS, SHN_COMMON or
	// SHN_LIVEPATCH.
	Section *Section
	Index   elf.SectionIndex
}

// Reloc is one Elf64_Rela entry. A nil Symbol writes symbol index 0.
type Reloc struct {
	Offset uint64
	Type   uint32
	Symbol *Symbol
	Addend int64
}

// AddSection appends s to the file and returns it.
func (f *File) AddSection(s *Section) *Section {
	f.Sections = append(f.Sections, s)
	return s
}

// AddSymbol appends s to the file and returns it.
func (f *File) AddSymbol(s *Symbol) *Symbol {
	f.Symbols = append(f.Symbols, s)
	return s
}

// Section returns the first section called name, or nil.
func (f *File) Section(name string) *Section {
	for _, s := range f.Sections {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Symbol returns the first symbol called name, or nil.
func (f *File) Symbol(name string) *Symbol {
	for _, s := range f.Symbols {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// SectionSymbol returns the STT_SECTION symbol of sec, adding a local one
// if the file has none. Assemblers emit such symbols so that relocations
// can refer to a place in a section by section symbol plus addend.
func (f *File) SectionSymbol(sec *Section) *Symbol {
	for _, s := range f.Symbols {
		if s.Type == elf.STT_SECTION && s.Section == sec {
			return s
		}
	}
	return f.AddSymbol(&Symbol{Bind: elf.STB_LOCAL, Type: elf.STT_SECTION, Section: sec})
}

// Undefined returns the global symbol called name, adding an undefined
// STT_NOTYPE one if the file has no symbol of that name.
func (f *File) Undefined(name string) *Symbol {
	if s := f.Symbol(name); s != nil {
		return s
	}
	return f.AddSymbol(&Symbol{Name: name, Bind: elf.STB_GLOBAL, Type: elf.STT_NOTYPE})
}

// KlpRelaSection returns a klp relocation section for relocations that the
// livepatch core applies to target on behalf of object objname ("vmlinux"
// or a module name). The name is ".klp.rela.<objname>.<target name>", which
// gives the double dot of real files because section names start with a
// dot. The flags and sizes are those that kpatch's create-klp-module and
// objtool's klp post-link write.
func KlpRelaSection(objname string, target *Section, relocs ...Reloc) *Section {
	return &Section{
		Name:      ".klp.rela." + objname + "." + target.Name,
		Type:      elf.SHT_RELA,
		Flags:     SHF_RELA_LIVEPATCH | elf.SHF_ALLOC | elf.SHF_INFO_LINK,
		Addralign: 8,
		Entsize:   rela64Size,
		Info:      target,
		Relocs:    relocs,
	}
}

// Bytes lays out and encodes the file. It fails when a symbol, relocation
// or link refers to a section or symbol that is not part of the file, or
// when a section cannot be encoded (data in a SHT_NOBITS section). Checks
// stop there: wrong but encodable values are written as given.
func (f *File) Bytes() ([]byte, error) {
	order, err := orderOf(f.ByteOrder)
	if err != nil {
		return nil, err
	}
	class := f.Class
	if class == elf.ELFCLASSNONE {
		class = elf.ELFCLASS64
	}
	typ := f.Type
	if typ == elf.ET_NONE {
		typ = elf.ET_REL
	}

	if class == elf.ELFCLASS32 {
		return f.header32(order, typ), nil
	}
	if class != elf.ELFCLASS64 {
		return nil, fmt.Errorf("unsupported ELF class %v: only ELFCLASS64 and ELFCLASS32 can be written", class)
	}

	w := &writer{file: f, order: order}
	if err := w.collectSections(); err != nil {
		return nil, err
	}
	if err := w.collectSymbols(); err != nil {
		return nil, err
	}
	if err := w.encodeRelocations(); err != nil {
		return nil, err
	}
	w.encodeSymbolTable()
	if err := w.encodeSectionNames(); err != nil {
		return nil, err
	}

	raw, err := w.layOut(typ)
	if err != nil {
		return nil, err
	}

	if f.Mutate != nil {
		f.Mutate(raw, &w.layout)
	}
	return raw, nil
}

// header32 returns an Elf32_Ehdr with no program or section headers.
func (f *File) header32(order byteOrder, typ elf.Type) []byte {
	raw := make([]byte, ehdr32Size)
	writeIdent(raw, elf.ELFCLASS32, order, f.OSABI)
	order.PutUint16(raw[16:], uint16(typ))
	order.PutUint16(raw[18:], uint16(f.Machine))
	order.PutUint32(raw[20:], uint32(elf.EV_CURRENT))
	order.PutUint32(raw[36:], f.Flags)
	order.PutUint16(raw[40:], ehdr32Size)
	order.PutUint16(raw[46:], 40) // e_shentsize of Elf32_Shdr
	return raw
}

func writeIdent(raw []byte, class elf.Class, order byteOrder, osabi elf.OSABI) {
	copy(raw, elf.ELFMAG)
	raw[elf.EI_CLASS] = byte(class)
	raw[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	if order.Uint16([]byte{0, 1}) == 1 {
		raw[elf.EI_DATA] = byte(elf.ELFDATA2MSB)
	}
	raw[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	raw[elf.EI_OSABI] = byte(osabi)
}

// orderOf returns the byteOrder for o, little-endian when o is nil. Only
// the two byte orders of encoding/binary can encode a file.
func orderOf(o binary.ByteOrder) (byteOrder, error) {
	if o == nil {
		return binary.LittleEndian, nil
	}
	order, ok := o.(byteOrder)
	if !ok {
		return nil, fmt.Errorf("byte order %v is neither binary.LittleEndian nor binary.BigEndian", o)
	}
	return order, nil
}
