package elftest

import (
	"bytes"
	"debug/elf"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sectionSummary is what a round trip compares of one section header.
type sectionSummary struct {
	Name      string
	Type      elf.SectionType
	Flags     elf.SectionFlag
	Size      uint64
	Addralign uint64
	Entsize   uint64
	// Link and Info are section names for sh_link and, in RELA sections,
	// sh_info; other sections keep sh_info as a number.
	Link, Info string
	InfoValue  uint32
}

// symbolSummary is what a round trip compares of one symbol.
type symbolSummary struct {
	Name    string
	Value   uint64
	Size    uint64
	Bind    elf.SymBind
	Type    elf.SymType
	Other   uint8
	Section string
	Index   elf.SectionIndex
}

// relocSummary is one relocation with its symbol by name.
type relocSummary struct {
	Offset uint64
	Type   uint32
	Symbol string
	Addend int64
}

// parse reads raw with debug/elf.
func parse(t *testing.T, raw []byte) *elf.File {
	t.Helper()
	ef, err := elf.NewFile(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("debug/elf cannot read the file: %v", err)
	}
	return ef
}

// readRelocs decodes every RELA section of ef, keyed by section name.
func readRelocs(t *testing.T, ef *elf.File) map[string][]relocSummary {
	t.Helper()
	syms, err := ef.Symbols()
	if err != nil {
		t.Fatalf("read symbols: %v", err)
	}
	out := map[string][]relocSummary{}
	for _, s := range ef.Sections {
		if s.Type != elf.SHT_RELA {
			continue
		}
		data, err := s.Data()
		if err != nil {
			t.Fatalf("read section %s: %v", s.Name, err)
		}
		var relocs []relocSummary
		for off := 0; off+24 <= len(data); off += 24 {
			info := ef.ByteOrder.Uint64(data[off+8:])
			r := relocSummary{
				Offset: ef.ByteOrder.Uint64(data[off:]),
				Type:   elf.R_TYPE64(info),
				Addend: int64(ef.ByteOrder.Uint64(data[off+16:])),
			}
			if sym := elf.R_SYM64(info); sym > 0 {
				r.Symbol = syms[sym-1].Name
				if syms[sym-1].Info&0xf == byte(elf.STT_SECTION) {
					r.Symbol = ef.Sections[syms[sym-1].Section].Name
				}
			}
			relocs = append(relocs, r)
		}
		out[s.Name] = relocs
	}
	return out
}

// checkRoundTrip checks that raw, the output of f.Bytes, has exactly the
// sections, symbols and relocations f describes, as debug/elf reads them.
func checkRoundTrip(t *testing.T, f *File, raw []byte) *elf.File {
	t.Helper()
	ef := parse(t, raw)

	// Expected sections, in the writer's order.
	var want []sectionSummary
	var wantData [][]byte
	for _, s := range f.Sections {
		sum := sectionSummary{Name: s.Name, Type: s.Type, Flags: s.Flags, Size: uint64(len(s.Data)), Addralign: s.Addralign, Entsize: s.Entsize}
		if s.Type == elf.SHT_NOBITS {
			sum.Size = s.Size
		}
		if s.Link != nil {
			sum.Link = s.Link.Name
		}
		if s.Type == elf.SHT_RELA {
			if s.Link == nil {
				sum.Link = ".symtab"
			}
			if s.Relocs != nil {
				sum.Size = uint64(len(s.Relocs)) * 24
			}
		}
		if s.Info != nil {
			sum.Info = s.Info.Name
		}
		want = append(want, sum)
		wantData = append(wantData, s.Data)
		if s.Type != elf.SHT_RELA && len(s.Relocs) > 0 {
			want = append(want, sectionSummary{
				Name: ".rela" + s.Name, Type: elf.SHT_RELA, Flags: elf.SHF_INFO_LINK, Size: uint64(len(s.Relocs)) * 24,
				Addralign: 8, Entsize: 24, Link: ".symtab", Info: s.Name,
			})
			wantData = append(wantData, nil)
		}
	}

	var got []sectionSummary
	for i, s := range ef.Sections[1:] {
		sum := sectionSummary{Name: s.Name, Type: s.Type, Flags: s.Flags, Size: s.Size, Addralign: s.Addralign, Entsize: s.Entsize}
		if s.Link != 0 {
			sum.Link = ef.Sections[s.Link].Name
		}
		if s.Type == elf.SHT_RELA || s.Flags&elf.SHF_INFO_LINK != 0 {
			sum.Info = ef.Sections[s.Info].Name
		} else {
			sum.InfoValue = s.Info
		}
		if i >= len(want) {
			break
		}
		if s.Type == elf.SHT_SYMTAB || s.Type == elf.SHT_STRTAB {
			continue
		}
		got = append(got, sum)
		if wantData[i] != nil && s.Type != elf.SHT_NOBITS {
			data, err := s.Data()
			if err != nil {
				t.Fatalf("read section %s: %v", s.Name, err)
			}
			if !bytes.Equal(data, wantData[i]) {
				t.Errorf("section %s: content differs from the File's Data", s.Name)
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sections differ (-File +debug/elf):\n%s", diff)
	}

	tail := ef.Sections[len(ef.Sections)-3:]
	if tail[0].Name != ".symtab" || tail[1].Name != ".strtab" || tail[2].Name != ".shstrtab" {
		t.Errorf("last sections are %s, %s, %s; want .symtab, .strtab, .shstrtab", tail[0].Name, tail[1].Name, tail[2].Name)
	}

	// Symbols: locals first unless the order is kept.
	var locals, others []*Symbol
	for _, s := range f.Symbols {
		if s.Bind == elf.STB_LOCAL || f.KeepSymbolOrder {
			locals = append(locals, s)
		} else {
			others = append(others, s)
		}
	}
	var wantSyms []symbolSummary
	for _, s := range append(locals, others...) {
		sum := symbolSummary{Name: s.Name, Value: s.Value, Size: s.Size, Bind: s.Bind, Type: s.Type, Other: s.Other, Index: s.Index}
		if s.Section != nil {
			sum.Section, sum.Index = s.Section.Name, 0
		}
		wantSyms = append(wantSyms, sum)
	}
	syms, err := ef.Symbols()
	if err != nil && len(f.Symbols) > 0 {
		t.Fatalf("read symbols: %v", err)
	}
	var gotSyms []symbolSummary
	for _, s := range syms {
		sum := symbolSummary{Name: s.Name, Value: s.Value, Size: s.Size, Bind: elf.ST_BIND(s.Info), Type: elf.ST_TYPE(s.Info), Other: s.Other, Index: s.Section}
		if s.Section > 0 && s.Section < elf.SHN_LORESERVE {
			sum.Section, sum.Index = ef.Sections[s.Section].Name, 0
		}
		gotSyms = append(gotSyms, sum)
	}
	if diff := cmp.Diff(wantSyms, gotSyms); diff != "" {
		t.Errorf("symbols differ (-File +debug/elf):\n%s", diff)
	}

	// Relocations, by the name of the RELA section that holds them.
	wantRelocs := map[string][]relocSummary{}
	for _, s := range f.Sections {
		if len(s.Relocs) == 0 {
			continue
		}
		name := s.Name
		if s.Type != elf.SHT_RELA {
			name = ".rela" + s.Name
		}
		for _, r := range s.Relocs {
			sum := relocSummary{Offset: r.Offset, Type: r.Type, Addend: r.Addend}
			if r.Symbol != nil {
				sum.Symbol = r.Symbol.Name
				if r.Symbol.Type == elf.STT_SECTION {
					sum.Symbol = r.Symbol.Section.Name
				}
			}
			wantRelocs[name] = append(wantRelocs[name], sum)
		}
	}
	gotRelocs := readRelocs(t, ef)
	for name, relocs := range gotRelocs {
		if len(relocs) == 0 {
			delete(gotRelocs, name)
		}
	}
	if diff := cmp.Diff(wantRelocs, gotRelocs); diff != "" {
		t.Errorf("relocations differ (-File +debug/elf):\n%s", diff)
	}
	return ef
}
