package elfscan

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/klpcheck/klpcheck/livepatch"
)

// maxStringLen bounds the C strings read from a module. Kernel names are
// far shorter (KSYM_NAME_LEN is 512), so a longer run without a NUL is
// corrupt data rather than a name.
const maxStringLen = 64 << 10

// relaSize is sizeof(Elf64_Rela).
const relaSize = 24

// elf64HeaderSize is sizeof(Elf64_Ehdr).
const elf64HeaderSize = 64

// moduleFile is one ELF module being read. Section data, symbols and
// relocations are loaded on first use and kept for the later steps.
type moduleFile struct {
	elf  *elf.File
	r    io.ReaderAt
	size int64
	arch livepatch.Arch

	// abs64 is the arch's 64-bit absolute relocation type, the only type a
	// pointer in static data may carry.
	abs64 uint32

	symbols   []elf.Symbol // index i-1 holds symbol i
	symtabIdx int          // -1 without .symtab

	data   map[int][]byte
	relocs map[int][]rela // target section index → relocations by offset
}

// rela is one decoded Elf64_Rela entry.
type rela struct {
	offset uint64
	sym    uint32
	typ    uint32
	addend int64
}

// pointer is the target of a relocated pointer field: a symbol plus
// addend. For a defined symbol, section is its section index and offset the
// target inside that section (st_value + addend).
type pointer struct {
	symIndex uint32
	sym      elf.Symbol
	section  elf.SectionIndex
	offset   uint64
}

// newModuleFile parses the ELF header and section headers and checks that
// the file is a 64-bit relocatable object for a supported machine.
func newModuleFile(r io.ReaderAt, size int64) (mf *moduleFile, err error) {
	defer recoverTo(&err, "read ELF header")

	// debug/elf reports a short or foreign file as a bare EOF or a byte
	// dump of the magic, so both cases are checked here first.
	var ident [elf.EI_NIDENT]byte
	n, _ := r.ReadAt(ident[:], 0)
	if n < 4 || string(ident[:4]) != elf.ELFMAG {
		return nil, fmt.Errorf("read ELF header: not an ELF file (starts with %q)", ident[:min(n, 4)])
	}
	// An ELF32 header is 52 bytes, so the class is checked before the
	// size of an ELF64 header.
	if elf.Class(ident[elf.EI_CLASS]) == elf.ELFCLASS32 {
		return nil, fmt.Errorf("%w: %v file; only 64-bit modules are supported", ErrUnsupported, elf.ELFCLASS32)
	}
	if size < elf64HeaderSize {
		return nil, fmt.Errorf("read ELF header: file is %d bytes, too short for an ELF64 header (%d bytes)", size, elf64HeaderSize)
	}
	if err := checkHeaderTables(r, size, ident); err != nil {
		return nil, err
	}

	f, err := elf.NewFile(r)
	if err != nil {
		return nil, fmt.Errorf("read ELF header: %w", err)
	}

	if f.Class != elf.ELFCLASS64 {
		return nil, fmt.Errorf("%w: %v file; only 64-bit modules are supported", ErrUnsupported, f.Class)
	}
	if f.Type != elf.ET_REL {
		return nil, fmt.Errorf("%w: ELF type %v; a kernel module is ET_REL", ErrUnsupported, f.Type)
	}

	// debug/elf does not expose e_flags, which sits at offset 48 of the
	// ELF64 header.
	var raw [4]byte
	if _, err := r.ReadAt(raw[:], 48); err != nil {
		return nil, fmt.Errorf("read ELF header: e_flags: %w", err)
	}
	arch, err := archOf(f, f.ByteOrder.Uint32(raw[:]))
	if err != nil {
		return nil, err
	}
	abs64, _ := livepatch.Abs64Reloc(f.Machine) // archOf accepts only supported machines

	mf = &moduleFile{
		elf:       f,
		r:         r,
		size:      size,
		arch:      arch,
		abs64:     abs64,
		symtabIdx: -1,
		data:      make(map[int][]byte),
		relocs:    make(map[int][]rela),
	}

	for i, s := range f.Sections {
		if s.Type == elf.SHT_SYMTAB && mf.symtabIdx < 0 {
			mf.symtabIdx = i
		}
		if s.Type == elf.SHT_NOBITS || s.Type == elf.SHT_NULL {
			continue
		}
		if s.Offset > uint64(size) || s.FileSize > uint64(size)-s.Offset {
			return nil, errIn(s.Name, "section data [%#x, +%#x) extends past end of file (%d bytes)", s.Offset, s.FileSize, size)
		}
	}
	return mf, nil
}

// checkHeaderTables checks that the section header table and the section
// name table lie inside the file. debug/elf reads both in elf.NewFile and
// reports either one past the end of the file as a bare EOF.
func checkHeaderTables(r io.ReaderAt, size int64, ident [elf.EI_NIDENT]byte) error {
	var bo binary.ByteOrder
	switch elf.Data(ident[elf.EI_DATA]) {
	case elf.ELFDATA2LSB:
		bo = binary.LittleEndian
	case elf.ELFDATA2MSB:
		bo = binary.BigEndian
	default:
		return nil // elf.NewFile rejects the encoding
	}
	var hdr [elf64HeaderSize]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return fmt.Errorf("read ELF header: %w", err)
	}

	// e_shoff, e_shentsize, e_shnum and e_shstrndx of Elf64_Ehdr.
	shoff := bo.Uint64(hdr[40:])
	shentsize := uint64(bo.Uint16(hdr[58:]))
	shnum := uint64(bo.Uint16(hdr[60:]))
	shstrndx := uint64(bo.Uint16(hdr[62:]))
	if shoff == 0 {
		return nil
	}
	if shnum == 0 {
		// With more than 0xff00 sections, e_shnum is 0 and the count is
		// the sh_size of section header 0, so only that header is
		// checked here.
		shnum = 1
	}
	if shoff > uint64(size) || shnum*shentsize > uint64(size)-shoff {
		return fmt.Errorf("read ELF header: section header table [%#x, +%#x) extends past end of file (%d bytes)", shoff, shnum*shentsize, size)
	}

	if shstrndx == 0 || shstrndx >= shnum || shentsize < 64 {
		return nil // no name table, or one that elf.NewFile rejects
	}

	// sh_type, sh_offset and sh_size of the name table's Elf64_Shdr.
	var shdr [64]byte
	if _, err := r.ReadAt(shdr[:], int64(shoff+shstrndx*shentsize)); err != nil {
		return fmt.Errorf("read ELF header: section header %d: %w", shstrndx, err)
	}
	off, sz := bo.Uint64(shdr[24:]), bo.Uint64(shdr[32:])
	if elf.SectionType(bo.Uint32(shdr[4:])) != elf.SHT_NOBITS && (off > uint64(size) || sz > uint64(size)-off) {
		return fmt.Errorf("read ELF header: section name table (section %d) [%#x, +%#x) extends past end of file (%d bytes)", shstrndx, off, sz, size)
	}
	return nil
}

// archOf names the module's architecture and rejects ppc64 ELFv1, whose
// function descriptors (.opd) klpcheck does not follow.
func archOf(f *elf.File, flags uint32) (livepatch.Arch, error) {
	a := livepatch.Arch{Machine: f.Machine, ByteOrder: f.ByteOrder}

	switch f.Machine {
	case elf.EM_X86_64:
		a.Name = "x86_64"
	case elf.EM_AARCH64:
		a.Name = "arm64"
	case elf.EM_S390:
		a.Name = "s390x"
	case elf.EM_LOONGARCH:
		a.Name = "loongarch64"
	case elf.EM_RISCV:
		a.Name = "riscv64"
	case elf.EM_PPC64:
		// e_flags bits 0-1 give the ppc64 ABI version: 1 is ELFv1 with
		// function descriptors, 2 is ELFv2. 0 means unspecified, and only
		// the presence of .opd then reveals ELFv1.
		if f.ByteOrder == binary.LittleEndian {
			a.Name = "ppc64le"
		} else {
			a.Name = "ppc64"
		}
		if flags&3 == 1 || f.Section(".opd") != nil {
			return a, fmt.Errorf("%w: ppc64 ELFv1 module (function descriptors in .opd); only ELFv2 is supported", ErrUnsupported)
		}
	default:
		return a, fmt.Errorf("%w: machine %v", ErrUnsupported, f.Machine)
	}
	return a, nil
}

// sectionIndex returns the index of the first section called name, or -1.
func (mf *moduleFile) sectionIndex(name string) int {
	for i, s := range mf.elf.Sections {
		if s.Name == name {
			return i
		}
	}
	return -1
}

// sectionName returns the name of section i, or a placeholder that names
// the index when it is out of range.
func (mf *moduleFile) sectionName(i int) string {
	if i < 0 || i >= len(mf.elf.Sections) {
		return fmt.Sprintf("section#%d", i)
	}
	return mf.elf.Sections[i].Name
}

// sectionData returns the contents of section i. NOBITS sections read as
// zeros of their size, which is bounded by the file size so that a lying
// header cannot make klpcheck allocate gigabytes.
func (mf *moduleFile) sectionData(i int) (data []byte, err error) {
	if d, ok := mf.data[i]; ok {
		return d, nil
	}
	if i <= 0 || i >= len(mf.elf.Sections) {
		return nil, fmt.Errorf("section index %d out of range (%d sections)", i, len(mf.elf.Sections))
	}

	s := mf.elf.Sections[i]
	defer recoverTo(&err, "read section "+s.Name)

	if s.Type == elf.SHT_NOBITS {
		if s.Size > uint64(mf.size) {
			return nil, errIn(s.Name, "NOBITS size %#x is larger than the file (%d bytes)", s.Size, mf.size)
		}
		data = make([]byte, s.Size)
	} else if r, ok := mf.r.(byteSlicer); ok && s.Flags&elf.SHF_COMPRESSED == 0 {
		// Shared with the reader's buffer, which no step writes to.
		data, err = r.slice(int64(s.Offset), int64(s.FileSize))
		if err != nil {
			return nil, errIn(s.Name, "read data: %v", err)
		}
	} else {
		data, err = s.Data()
		if err != nil {
			return nil, errIn(s.Name, "read data: %v", err)
		}
	}
	mf.data[i] = data
	return data, nil
}

// loadSymbols reads .symtab. Modules without one cannot be livepatches:
// the kernel keeps the full symbol table of a livepatch module because klp
// relocations refer to it by index.
func (mf *moduleFile) loadSymbols() (err error) {
	if mf.symbols != nil || mf.symtabIdx < 0 {
		return nil
	}
	defer recoverTo(&err, "read .symtab")

	syms, err := mf.elf.Symbols()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return errIn(".symtab", "read symbols: %v", err)
	}
	if syms == nil {
		syms = []elf.Symbol{}
	}
	mf.symbols = syms
	return nil
}

// symbol returns symbol i of .symtab, where 0 is the null symbol that no
// relocation may use.
func (mf *moduleFile) symbol(i uint32) (elf.Symbol, error) {
	if i == 0 {
		return elf.Symbol{}, errors.New("relocation uses symbol index 0")
	}
	if uint64(i) > uint64(len(mf.symbols)) {
		return elf.Symbol{}, fmt.Errorf("symbol index %d out of range (%d symbols)", i, len(mf.symbols)+1)
	}
	return mf.symbols[i-1], nil
}

// relocsFor returns the normal relocations that apply to section target,
// sorted by offset. klp relocation sections are left out: they are
// resolved by the livepatch core, not the module loader.
func (mf *moduleFile) relocsFor(target int) ([]rela, error) {
	if rs, ok := mf.relocs[target]; ok {
		return rs, nil
	}

	var all []rela
	for i, s := range mf.elf.Sections {
		if s.Type != elf.SHT_RELA || int(s.Info) != target || s.Flags&livepatch.SHF_RELA_LIVEPATCH != 0 {
			continue
		}
		rs, err := mf.decodeRela(i)
		if err != nil {
			return nil, err
		}
		all = append(all, rs...)
	}

	sort.SliceStable(all, func(a, b int) bool { return all[a].offset < all[b].offset })
	mf.relocs[target] = all
	return all, nil
}

// decodeRela decodes the Elf64_Rela entries of section i.
func (mf *moduleFile) decodeRela(i int) ([]rela, error) {
	s := mf.elf.Sections[i]
	if s.Entsize != relaSize {
		return nil, errIn(s.Name, "sh_entsize is %d, want %d for Elf64_Rela", s.Entsize, relaSize)
	}

	data, err := mf.sectionData(i)
	if err != nil {
		return nil, err
	}
	if len(data)%relaSize != 0 {
		return nil, errIn(s.Name, "size %d is not a multiple of %d", len(data), relaSize)
	}

	bo := mf.arch.ByteOrder
	rs := make([]rela, 0, len(data)/relaSize)
	for off := 0; off < len(data); off += relaSize {
		info := bo.Uint64(data[off+8:])
		rs = append(rs, rela{
			offset: bo.Uint64(data[off:]),
			sym:    uint32(info >> 32),
			typ:    uint32(info),
			addend: int64(bo.Uint64(data[off+16:])),
		})
	}
	return rs, nil
}

// relocAt returns the relocation at offset off of section sec, ignoring
// R_*_NONE entries (klp-build's post-link leaves them behind).
func (mf *moduleFile) relocAt(sec int, off uint64) (rela, bool, error) {
	rs, err := mf.relocsFor(sec)
	if err != nil {
		return rela{}, false, err
	}

	i := sort.Search(len(rs), func(i int) bool { return rs[i].offset >= off })
	for ; i < len(rs) && rs[i].offset == off; i++ {
		if rs[i].typ != 0 {
			return rs[i], true, nil
		}
	}
	return rela{}, false, nil
}

// hasRelocIn reports whether any relocation of sec falls in [start, end).
func (mf *moduleFile) hasRelocIn(sec int, start, end uint64) (bool, error) {
	rs, err := mf.relocsFor(sec)
	if err != nil {
		return false, err
	}
	i := sort.Search(len(rs), func(i int) bool { return rs[i].offset >= start })
	for ; i < len(rs) && rs[i].offset < end; i++ {
		if rs[i].typ != 0 {
			return true, nil
		}
	}
	return false, nil
}

// readPointer decodes the 8-byte pointer field at off in section sec. A
// field with no relocation must hold zero and is NULL; ok is then false.
func (mf *moduleFile) readPointer(sec int, off uint64) (p pointer, ok bool, err error) {
	name := mf.sectionName(sec)
	data, err := mf.sectionData(sec)
	if err != nil {
		return pointer{}, false, err
	}
	if off > uint64(len(data)) || uint64(len(data))-off < 8 {
		return pointer{}, false, errAt(name, off, "pointer field past end of section (%d bytes)", len(data))
	}

	r, found, err := mf.relocAt(sec, off)
	if err != nil {
		return pointer{}, false, err
	}
	if !found {
		if v := mf.arch.ByteOrder.Uint64(data[off:]); v != 0 {
			return pointer{}, false, errAt(name, off, "pointer field holds %#x with no relocation", v)
		}
		return pointer{}, false, nil
	}

	if r.typ != mf.abs64 {
		return pointer{}, false, errAt(name, off, "pointer relocation has type %d, want the 64-bit absolute type %d", r.typ, mf.abs64)
	}
	sym, err := mf.symbol(r.sym)
	if err != nil {
		return pointer{}, false, errAt(name, off, "%v", err)
	}

	p = pointer{symIndex: r.sym, sym: sym, section: sym.Section}
	if sym.Section != elf.SHN_UNDEF && sym.Section < elf.SHN_LORESERVE {
		p.offset = uint64(int64(sym.Value) + r.addend)
	}
	return p, true, nil
}

// inSection reports whether p points into a defined, regular section.
func (p pointer) inSection() bool {
	return p.section != elf.SHN_UNDEF && p.section < elf.SHN_LORESERVE
}

// readUint reads an unsigned field of width 1, 4 or 8 bytes at off.
func (mf *moduleFile) readUint(sec int, off uint64, width int) (uint64, error) {
	data, err := mf.sectionData(sec)
	if err != nil {
		return 0, err
	}
	if off > uint64(len(data)) || uint64(len(data))-off < uint64(width) {
		return 0, errAt(mf.sectionName(sec), off, "%d-byte field past end of section (%d bytes)", width, len(data))
	}

	bo := mf.arch.ByteOrder
	switch width {
	case 1:
		return uint64(data[off]), nil
	case 4:
		return uint64(bo.Uint32(data[off:])), nil
	}
	return bo.Uint64(data[off:]), nil
}

// readString reads the NUL-terminated string a pointer refers to.
func (mf *moduleFile) readString(p pointer) (string, error) {
	if !p.inSection() {
		return "", fmt.Errorf("string pointer refers to symbol %q outside any section", p.sym.Name)
	}

	sec := int(p.section)
	name := mf.sectionName(sec)
	data, err := mf.sectionData(sec)
	if err != nil {
		return "", err
	}
	if p.offset >= uint64(len(data)) {
		return "", errAt(name, p.offset, "string offset past end of section (%d bytes)", len(data))
	}

	rest := data[p.offset:]
	if len(rest) > maxStringLen {
		rest = rest[:maxStringLen]
	}
	n := bytes.IndexByte(rest, 0)
	if n < 0 {
		return "", errAt(name, p.offset, "string has no NUL terminator")
	}
	return string(rest[:n]), nil
}

// symbolAt returns the function or object symbol that starts at offset off
// of section sec, preferring a named STT_FUNC or STT_OBJECT over section
// and local label symbols.
func (mf *moduleFile) symbolAt(sec elf.SectionIndex, off uint64) (elf.Symbol, int, bool) {
	best, bestIdx := elf.Symbol{}, -1
	for i, s := range mf.symbols {
		if s.Section != sec || s.Value != off || s.Name == "" {
			continue
		}
		t := elf.ST_TYPE(s.Info)
		if t != elf.STT_FUNC && t != elf.STT_OBJECT && t != elf.STT_NOTYPE {
			continue
		}
		if bestIdx < 0 || (elf.ST_TYPE(best.Info) == elf.STT_NOTYPE && t != elf.STT_NOTYPE) {
			best, bestIdx = s, i+1
		}
	}
	return best, bestIdx, bestIdx >= 0
}

// objectCovering returns the STT_OBJECT symbol of section sec whose
// [value, value+size) contains off.
func (mf *moduleFile) objectCovering(sec elf.SectionIndex, off uint64) (elf.Symbol, bool) {
	for _, s := range mf.symbols {
		if s.Section != sec || elf.ST_TYPE(s.Info) != elf.STT_OBJECT || s.Size == 0 {
			continue
		}
		if off >= s.Value && off-s.Value < s.Size {
			return s, true
		}
	}
	return elf.Symbol{}, false
}

// recoverTo turns a panic inside debug/elf into an error. debug/elf does
// not promise to survive malformed input, and klpcheck must never crash on
// a module.
func recoverTo(err *error, step string) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s: malformed ELF data (%v)", step, r)
	}
}
