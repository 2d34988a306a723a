package target

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// sym64Size is sizeof(Elf64_Sym).
const sym64Size = 24

// rela64Size is sizeof(Elf64_Rela).
const rela64Size = 24

// maxNameLen bounds a symbol name or string read from an ELF file. Kernel
// names are at most KSYM_NAME_LEN (512) bytes, so a longer run without a
// NUL is corrupt data.
const maxNameLen = 64 << 10

// shfRelaLivepatch marks a klp relocation section (SHF_RELA_LIVEPATCH in
// include/uapi/linux/elf.h), which the module loader does not apply.
const shfRelaLivepatch elf.SectionFlag = 0x00100000

// errNoSymtab is returned by readSymtab for a file without .symtab.
var errNoSymtab = errors.New("no .symtab")

// elfFile is one ELF input. Section headers come from debug/elf, which
// elfscan.NewELFFile has checked against the file size; section contents
// and symbols are read here, with every offset checked before use.
type elfFile struct {
	r    io.ReaderAt
	size int64
	f    *elf.File
	bo   binary.ByteOrder

	// cache holds sections that small reads come from many times, such
	// as the export CRCs and strings, read whole on first use.
	cache map[elf.SectionIndex][]byte
}

// maxCachedSection bounds the sections elfFile.cached keeps in memory.
// The export tables of a distribution vmlinux are under 1 MiB.
const maxCachedSection = 16 << 20

// elfSymbol is one decoded Elf64_Sym. name is a substring of the string
// table, so decoding does not allocate a string per symbol.
type elfSymbol struct {
	name  string
	info  byte
	shndx elf.SectionIndex
	value uint64
	size  uint64
}

func (s elfSymbol) typ() elf.SymType  { return elf.ST_TYPE(s.info) }
func (s elfSymbol) bind() elf.SymBind { return elf.ST_BIND(s.info) }

// section returns section i, or nil when i is not a regular section
// index of the file.
func (e *elfFile) section(i elf.SectionIndex) *elf.Section {
	if i == elf.SHN_UNDEF || int(i) >= len(e.f.Sections) {
		return nil
	}
	return e.f.Sections[i]
}

// sectionIndex returns the index of the first section called name, or 0.
func (e *elfFile) sectionIndex(name string) elf.SectionIndex {
	for i, s := range e.f.Sections {
		if i > 0 && s.Name == name {
			return elf.SectionIndex(i)
		}
	}
	return 0
}

// readRange reads n bytes at offset off of section i. The section's file
// extent was checked against the file size when the headers were read,
// so n is bounded by the file size too.
func (e *elfFile) readRange(i elf.SectionIndex, off, n uint64) ([]byte, error) {
	s := e.section(i)
	if s == nil {
		return nil, fmt.Errorf("section index %d out of range (%d sections)", i, len(e.f.Sections))
	}
	switch {
	case s.Type == elf.SHT_NOBITS:
		return nil, offsetError(s.Name, off, "%d bytes requested from a SHT_NOBITS section, which has no file contents", n)
	case s.Flags&elf.SHF_COMPRESSED != 0:
		return nil, sectionError(s.Name, "compressed sections (SHF_COMPRESSED) are not supported")
	case off > s.FileSize || n > s.FileSize-off:
		return nil, offsetError(s.Name, off, "%d bytes requested past the end of the section (%d bytes)", n, s.FileSize)
	}

	data := make([]byte, n)
	if _, err := e.r.ReadAt(data, int64(s.Offset+off)); err != nil {
		return nil, offsetError(s.Name, off, "read %d bytes: %v", n, err)
	}
	return data, nil
}

// readSection reads the whole contents of section i.
func (e *elfFile) readSection(i elf.SectionIndex) ([]byte, error) {
	s := e.section(i)
	if s == nil {
		return nil, fmt.Errorf("section index %d out of range (%d sections)", i, len(e.f.Sections))
	}
	return e.readRange(i, 0, s.FileSize)
}

// cached returns n bytes at offset off of section i like readRange, from
// a copy of the whole section kept for later reads when the section is at
// most maxCachedSection bytes.
func (e *elfFile) cached(i elf.SectionIndex, off, n uint64) ([]byte, error) {
	s := e.section(i)
	if s == nil || s.FileSize > maxCachedSection || s.Type == elf.SHT_NOBITS {
		return e.readRange(i, off, n)
	}
	data, ok := e.cache[i]
	if !ok {
		var err error
		if data, err = e.readSection(i); err != nil {
			return nil, err
		}
		if e.cache == nil {
			e.cache = map[elf.SectionIndex][]byte{}
		}
		e.cache[i] = data
	}
	if off > uint64(len(data)) || n > uint64(len(data))-off {
		return nil, offsetError(s.Name, off, "%d bytes requested past the end of the section (%d bytes)", n, len(data))
	}
	return data[off : off+n], nil
}

// cString reads the NUL-terminated string at offset off of section i, of
// at most maxNameLen bytes.
func (e *elfFile) cString(i elf.SectionIndex, off uint64) (string, error) {
	s := e.section(i)
	if s == nil {
		return "", fmt.Errorf("section index %d out of range (%d sections)", i, len(e.f.Sections))
	}
	if off >= s.FileSize {
		return "", offsetError(s.Name, off, "string offset past the end of the section (%d bytes)", s.FileSize)
	}
	data, err := e.cached(i, off, min(s.FileSize-off, maxNameLen))
	if err != nil {
		return "", err
	}
	end := bytes.IndexByte(data, 0)
	if end < 0 {
		return "", offsetError(s.Name, off, "string has no NUL terminator within %d bytes", len(data))
	}
	return string(data[:end]), nil
}

// readSymtab decodes .symtab. Index 0 of the result is the null symbol,
// so the result is indexed like the table. It returns errNoSymtab when
// the file has no SHT_SYMTAB section.
func (e *elfFile) readSymtab() ([]elfSymbol, error) {
	var idx elf.SectionIndex
	for i, s := range e.f.Sections {
		if s.Type == elf.SHT_SYMTAB {
			idx = elf.SectionIndex(i)
			break
		}
	}
	if idx == 0 {
		return nil, errNoSymtab
	}
	symtab := e.f.Sections[idx]

	if symtab.Entsize != sym64Size {
		return nil, sectionError(symtab.Name, "sh_entsize is %d, want %d for Elf64_Sym", symtab.Entsize, sym64Size)
	}
	if symtab.FileSize%sym64Size != 0 {
		return nil, sectionError(symtab.Name, "size %d is not a multiple of %d", symtab.FileSize, sym64Size)
	}
	strtab := e.section(elf.SectionIndex(symtab.Link))
	if strtab == nil || strtab.Type != elf.SHT_STRTAB {
		return nil, sectionError(symtab.Name, "sh_link %d is not a string table", symtab.Link)
	}

	data, err := e.readSection(idx)
	if err != nil {
		return nil, err
	}
	strData, err := e.readSection(elf.SectionIndex(symtab.Link))
	if err != nil {
		return nil, err
	}
	names := string(strData)

	syms := make([]elfSymbol, len(data)/sym64Size)
	for i := 1; i < len(syms); i++ {
		raw := data[i*sym64Size:]
		nameOff := uint64(e.bo.Uint32(raw))
		if nameOff >= uint64(len(names)) && nameOff != 0 {
			return nil, offsetError(symtab.Name, uint64(i*sym64Size), "symbol %d: name offset %#x is past the end of %s (%d bytes)", i, nameOff, strtab.Name, len(names))
		}
		var name string
		if nameOff > 0 {
			rest := names[nameOff:min(uint64(len(names)), nameOff+maxNameLen)]
			end := strings.IndexByte(rest, 0)
			if end < 0 {
				return nil, offsetError(symtab.Name, uint64(i*sym64Size), "symbol %d: name at %s+%#x has no NUL terminator", i, strtab.Name, nameOff)
			}
			name = rest[:end]
		}
		syms[i] = elfSymbol{
			name:  name,
			info:  raw[4],
			shndx: elf.SectionIndex(e.bo.Uint16(raw[6:])),
			value: e.bo.Uint64(raw[8:]),
			size:  e.bo.Uint64(raw[16:]),
		}
	}
	return syms, nil
}

// readRelocs decodes the Elf64_Rela entries that apply to section target,
// leaving out klp relocation sections, and maps each offset to its entry.
func (e *elfFile) readRelocs(target elf.SectionIndex) (map[uint64]rela, error) {
	out := map[uint64]rela{}
	for i, s := range e.f.Sections {
		if s.Type != elf.SHT_RELA || elf.SectionIndex(s.Info) != target || s.Flags&shfRelaLivepatch != 0 {
			continue
		}
		if s.Entsize != rela64Size {
			return nil, sectionError(s.Name, "sh_entsize is %d, want %d for Elf64_Rela", s.Entsize, rela64Size)
		}
		data, err := e.readSection(elf.SectionIndex(i))
		if err != nil {
			return nil, err
		}
		if len(data)%rela64Size != 0 {
			return nil, sectionError(s.Name, "size %d is not a multiple of %d", len(data), rela64Size)
		}
		for off := 0; off < len(data); off += rela64Size {
			info := e.bo.Uint64(data[off+8:])
			r := rela{
				section: s.Name,
				at:      uint64(off),
				sym:     uint32(info >> 32),
				typ:     uint32(info),
				addend:  int64(e.bo.Uint64(data[off+16:])),
			}
			if r.typ == 0 {
				continue // R_*_NONE
			}
			out[e.bo.Uint64(data[off:])] = r
		}
	}
	return out, nil
}

// rela is one decoded Elf64_Rela entry, with where it was read from.
type rela struct {
	// section and at place the entry in its relocation section.
	section string
	at      uint64
	sym     uint32
	typ     uint32
	addend  int64
}

// sortedUnique sorts addresses and drops repeats.
func sortedUnique(addrs []uint64) []uint64 {
	slices.Sort(addrs)
	return slices.Compact(addrs)
}
