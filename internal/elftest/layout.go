package elftest

import (
	"encoding/binary"
	"fmt"
)

// Layout records where Bytes placed each part of a 64-bit file, so that a
// Mutate callback can overwrite fields after layout.
type Layout struct {
	ByteOrder binary.ByteOrder
	// SectionHeaderOffset is e_shoff.
	SectionHeaderOffset uint64
	// Sections are indexed by section header index, with the null
	// section at 0.
	Sections []SectionLayout
	// SymbolTable is the section index of .symtab.
	SymbolTable int
	// Symbols are indexed by symbol index, with nil for the null symbol
	// at 0.
	Symbols []*Symbol

	sectionNameOffsets map[string]uint32
	symbolIndex        map[*Symbol]int
}

// SectionLayout is the placement of one section in the file.
type SectionLayout struct {
	Name  string
	Index int
	// HeaderOffset is the file offset of the section's Elf64_Shdr.
	HeaderOffset uint64
	// Offset and Size are sh_offset and sh_size as written.
	Offset uint64
	Size   uint64
	// Section is the File's section, nil for the null section and for
	// sections the writer generated.
	Section *Section
}

// HeaderField is a field of the Elf64_Ehdr.
type HeaderField int

// Fields of the ELF header. EIdentClass and EIdentData are the class and
// data-encoding bytes of e_ident.
const (
	EIdentClass HeaderField = iota
	EIdentData
	EType
	EMachine
	EVersion
	EEntry
	EPhoff
	EShoff
	EFlags
	EEhsize
	EPhentsize
	EPhnum
	EShentsize
	EShnum
	EShstrndx
)

// SectionField is a field of an Elf64_Shdr.
type SectionField int

// Fields of a section header.
const (
	ShName SectionField = iota
	ShType
	ShFlags
	ShAddr
	ShOffset
	ShSize
	ShLink
	ShInfo
	ShAddralign
	ShEntsize
)

// SymbolField is a field of an Elf64_Sym.
type SymbolField int

// Fields of a symbol table entry.
const (
	StName SymbolField = iota
	StInfo
	StOther
	StShndx
	StValue
	StSize
)

// RelaField is a field of an Elf64_Rela. RSym and RType are the upper and
// lower halves of r_info.
type RelaField int

// Fields of a relocation entry.
const (
	ROffset RelaField = iota
	RInfo
	RAddend
	RSym
	RType
)

// field is the byte offset and width of an on-disk field.
type field struct{ offset, width int }

var headerFields = map[HeaderField]field{
	EIdentClass: {4, 1}, EIdentData: {5, 1},
	EType: {16, 2}, EMachine: {18, 2}, EVersion: {20, 4}, EEntry: {24, 8},
	EPhoff: {32, 8}, EShoff: {40, 8}, EFlags: {48, 4}, EEhsize: {52, 2},
	EPhentsize: {54, 2}, EPhnum: {56, 2}, EShentsize: {58, 2}, EShnum: {60, 2},
	EShstrndx: {62, 2},
}

var sectionFields = map[SectionField]field{
	ShName: {0, 4}, ShType: {4, 4}, ShFlags: {8, 8}, ShAddr: {16, 8},
	ShOffset: {24, 8}, ShSize: {32, 8}, ShLink: {40, 4}, ShInfo: {44, 4},
	ShAddralign: {48, 8}, ShEntsize: {56, 8},
}

var symbolFields = map[SymbolField]field{
	StName: {0, 4}, StInfo: {4, 1}, StOther: {5, 1}, StShndx: {6, 2},
	StValue: {8, 8}, StSize: {16, 8},
}

// The r_info halves depend on the byte order, so RSym and RType are
// handled in SetRela.
var relaFields = map[RelaField]field{
	ROffset: {0, 8}, RInfo: {8, 8}, RAddend: {16, 8},
}

// SectionIndex returns the index of the first section called name, or -1.
func (l *Layout) SectionIndex(name string) int {
	for _, s := range l.Sections {
		if s.Index > 0 && s.Name == name {
			return s.Index
		}
	}
	return -1
}

// SymbolIndex returns the .symtab index of s, or -1 when s is not in the
// file.
func (l *Layout) SymbolIndex(s *Symbol) int {
	if index, ok := l.symbolIndex[s]; ok {
		return index
	}
	return -1
}

// StringOffset returns the .shstrtab offset of a section name, or -1 when
// no section has that name.
func (l *Layout) StringOffset(sectionName string) int64 {
	if off, ok := l.sectionNameOffsets[sectionName]; ok {
		return int64(off)
	}
	return -1
}

// SetHeader overwrites a field of the ELF header.
func (l *Layout) SetHeader(raw []byte, f HeaderField, value uint64) {
	l.put(raw, 0, headerFields[f], value)
}

// SetSection overwrites a field of the header of section index.
func (l *Layout) SetSection(raw []byte, index int, f SectionField, value uint64) {
	l.put(raw, l.SectionHeaderOffset+uint64(index)*shdr64Size, sectionFields[f], value)
}

// SetSymbol overwrites a field of the .symtab entry at index.
func (l *Layout) SetSymbol(raw []byte, index int, f SymbolField, value uint64) {
	symtab := l.Sections[l.SymbolTable]
	l.put(raw, symtab.Offset+uint64(index)*sym64Size, symbolFields[f], value)
}

// SetRela overwrites a field of entry number entry of the RELA section at
// section index.
func (l *Layout) SetRela(raw []byte, index, entry int, f RelaField, value uint64) {
	base := l.Sections[index].Offset + uint64(entry)*rela64Size
	if f != RSym && f != RType {
		l.put(raw, base, relaFields[f], value)
		return
	}

	info := l.ByteOrder.Uint64(raw[base+8:])
	sym, typ := info>>32, info&0xffffffff
	if f == RSym {
		sym = value
	} else {
		typ = value
	}
	l.ByteOrder.PutUint64(raw[base+8:], sym<<32|typ&0xffffffff)
}

// put writes value into the field at base. It panics on a field that does
// not fit in raw, which is a bug in the calling test.
func (l *Layout) put(raw []byte, base uint64, f field, value uint64) {
	at := base + uint64(f.offset)
	if f.width == 0 || at+uint64(f.width) > uint64(len(raw)) {
		panic(fmt.Sprintf("elftest: field at offset %#x (width %d) is outside the %d-byte file", at, f.width, len(raw)))
	}
	switch f.width {
	case 1:
		raw[at] = byte(value)
	case 2:
		l.ByteOrder.PutUint16(raw[at:], uint16(value))
	case 4:
		l.ByteOrder.PutUint32(raw[at:], uint32(value))
	case 8:
		l.ByteOrder.PutUint64(raw[at:], value)
	}
}
