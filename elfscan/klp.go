package elfscan

import (
	"debug/elf"
	"strings"

	"github.com/klpcheck/klpcheck/livepatch"
)

// readKlpSections records every klp relocation section (SHF_RELA_LIVEPATCH,
// or a .klp.rela. name without the flag), every SHN_LIVEPATCH symbol and
// every .klp.arch. section. Names are parsed with the kernel's own rules;
// a name the kernel would reject is recorded, not returned as an error, so
// that the rules can report it.
func readKlpSections(mf *moduleFile, m *livepatch.Module) error {
	referenced := make(map[uint32]bool)

	for i, s := range mf.elf.Sections {
		if strings.HasPrefix(s.Name, livepatch.ArchSectionPrefix) {
			m.KlpArchSections = append(m.KlpArchSections, s.Name)
			continue
		}
		if s.Flags&livepatch.SHF_RELA_LIVEPATCH == 0 && !strings.HasPrefix(s.Name, livepatch.RelocSectionPrefix) {
			continue
		}

		sec, err := readKlpRelocSection(mf, i, m.Kernel)
		if err != nil {
			return err
		}
		for _, r := range sec.Relocs {
			referenced[r.SymIndex] = true
		}
		m.KlpRelocSections = append(m.KlpRelocSections, sec)
	}

	for i, s := range mf.symbols {
		if s.Section != livepatch.SHN_LIVEPATCH {
			continue
		}
		sym := livepatch.KlpSymbol{
			Name:       s.Name,
			Index:      i + 1,
			Bind:       elf.ST_BIND(s.Info),
			Type:       elf.ST_TYPE(s.Info),
			Referenced: referenced[uint32(i+1)],
		}
		if parsed, err := livepatch.ParseSymbolName(s.Name, m.Kernel); err != nil {
			sym.ParseErr = err.Error()
		} else {
			sym.Object, sym.Symbol, sym.Sympos = parsed.Object, parsed.Symbol, parsed.Sympos
		}
		m.KlpSymbols = append(m.KlpSymbols, sym)
	}
	return nil
}

// readKlpRelocSection decodes one klp relocation section and its header
// fields. Entries are decoded only when the header says they are
// Elf64_Rela; otherwise the section is recorded with no entries and the
// rules report the bad type or entry size.
func readKlpRelocSection(mf *moduleFile, i int, kernel livepatch.KernelVersion) (livepatch.KlpRelocSection, error) {
	s := mf.elf.Sections[i]
	sec := livepatch.KlpRelocSection{
		Name:        s.Name,
		Index:       i,
		Type:        s.Type,
		Flags:       s.Flags,
		Link:        s.Link,
		SymtabIndex: mf.symtabIdx,
		TargetIndex: s.Info,
	}

	if int(s.Info) > 0 && int(s.Info) < len(mf.elf.Sections) {
		target := mf.elf.Sections[s.Info]
		sec.TargetName = target.Name
		sec.TargetAlloc = target.Flags&elf.SHF_ALLOC != 0
	}

	obj, truncated, err := livepatch.RelocSectionObject(s.Name)
	switch {
	case err != nil:
		sec.NameErr = err.Error()
	case truncated:
		sec.ObjName = obj
		sec.NameErr = "object name longer than 55 bytes; the kernel truncates it to " + obj + " and it can never match a module"
	default:
		sec.ObjName = obj
	}

	if s.Type != elf.SHT_RELA || s.Entsize != relaSize {
		return sec, nil
	}
	rs, err := mf.decodeRela(i)
	if err != nil {
		return sec, err
	}

	sec.Relocs = make([]livepatch.KlpReloc, 0, len(rs))
	for _, r := range rs {
		kr := livepatch.KlpReloc{Offset: r.offset, Type: r.typ, SymIndex: r.sym, Addend: r.addend}
		if sym, err := mf.symbol(r.sym); err == nil {
			kr.SymName = sym.Name
			kr.SymLivepatch = sym.Section == livepatch.SHN_LIVEPATCH
		}
		sec.Relocs = append(sec.Relocs, kr)
	}
	return sec, nil
}
