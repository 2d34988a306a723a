package elftest

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"strings"
	"testing"
)

// sampleFile returns a small relocatable file that uses every writer
// feature: PROGBITS and NOBITS sections, a generated and an explicit RELA
// section, a klp relocation section, and symbols of every special index
// listed out of bind order.
func sampleFile(arch Arch) *File {
	f := arch.NewFile()
	text := f.AddSection(&Section{Name: ".text", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, Data: []byte{0xc3, 0x90, 0x90, 0x90, 0xc3}, Addralign: 16})
	data := f.AddSection(&Section{Name: ".data", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Data: make([]byte, 24), Addralign: 8})
	bss := f.AddSection(&Section{Name: ".bss", Type: elf.SHT_NOBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Size: 0x100, Addralign: 32})

	global := f.AddSymbol(&Symbol{Name: "new_func", Section: text, Value: 0, Size: 1, Bind: elf.STB_GLOBAL, Type: elf.STT_FUNC})
	local := f.AddSymbol(&Symbol{Name: "helper", Section: text, Value: 4, Size: 1, Bind: elf.STB_LOCAL, Type: elf.STT_FUNC})
	undef := f.AddSymbol(&Symbol{Name: "printk", Bind: elf.STB_GLOBAL})
	f.AddSymbol(&Symbol{Name: "abs", Value: 42, Bind: elf.STB_LOCAL, Index: elf.SHN_ABS})
	f.AddSymbol(&Symbol{Name: "common", Size: 8, Value: 8, Bind: elf.STB_GLOBAL, Type: elf.STT_OBJECT, Index: elf.SHN_COMMON})
	klpSym := f.AddSymbol(&Symbol{Name: ".klp.sym.vmlinux.saved_command_line,0", Bind: elf.STB_GLOBAL, Index: SHN_LIVEPATCH})
	f.AddSymbol(&Symbol{Name: "bss_var", Section: bss, Value: 0x80, Size: 4, Bind: elf.STB_LOCAL, Type: elf.STT_OBJECT})
	dataSym := f.SectionSymbol(data)

	data.Relocs = []Reloc{
		{Offset: 0, Type: arch.Abs64, Symbol: global},
		{Offset: 8, Type: arch.Abs64, Symbol: dataSym, Addend: 16},
		{Offset: 16, Type: arch.Abs64, Symbol: local, Addend: -8},
	}
	f.AddSection(&Section{
		Name: ".rela.text", Type: elf.SHT_RELA, Flags: elf.SHF_INFO_LINK, Addralign: 8, Entsize: 24, Info: text,
		Relocs: []Reloc{{Offset: 1, Type: arch.Call, Symbol: undef, Addend: -4}, {Offset: 2, Type: 0}},
	})
	f.AddSection(KlpRelaSection("vmlinux", text, Reloc{Offset: 3, Type: arch.Call, Symbol: klpSym}))
	return f
}

func TestBytesRoundTripEveryArch(t *testing.T) {
	for _, arch := range Arches() {
		t.Run(arch.Name, func(t *testing.T) {
			f := sampleFile(arch)
			raw, err := f.Bytes()
			if err != nil {
				t.Fatalf("Bytes: %v", err)
			}
			ef := checkRoundTrip(t, f, raw)

			if ef.Machine != arch.Machine {
				t.Errorf("machine = %v, want %v", ef.Machine, arch.Machine)
			}
			if ef.ByteOrder != arch.ByteOrder {
				t.Errorf("byte order = %v, want %v", ef.ByteOrder, arch.ByteOrder)
			}
			if ef.Class != elf.ELFCLASS64 || ef.Type != elf.ET_REL {
				t.Errorf("class and type = %v %v, want ELFCLASS64 ET_REL", ef.Class, ef.Type)
			}
			if got := ef.ByteOrder.Uint32(raw[48:]); got != arch.Flags {
				t.Errorf("e_flags = %#x, want %#x", got, arch.Flags)
			}
		})
	}
}

func TestBytesSymtabInfoIsFirstGlobal(t *testing.T) {
	f := sampleFile(arches[0])
	raw, err := f.Bytes()
	if err != nil {
		t.Fatalf("Bytes: %v", err)
	}
	ef := parse(t, raw)
	symtab := ef.Section(".symtab")

	// Locals: helper, abs, bss_var, .data; null symbol first.
	if symtab.Info != 5 {
		t.Errorf(".symtab sh_info = %d, want 5", symtab.Info)
	}
	if symtab.Link != uint32(len(ef.Sections)-2) {
		t.Errorf(".symtab sh_link = %d, want the .strtab index %d", symtab.Link, len(ef.Sections)-2)
	}
}

func TestBytesKeepSymbolOrder(t *testing.T) {
	f := &File{Machine: elf.EM_X86_64, KeepSymbolOrder: true}
	f.AddSymbol(&Symbol{Name: "first_global", Bind: elf.STB_GLOBAL})
	f.AddSymbol(&Symbol{Name: "late_local", Bind: elf.STB_LOCAL, Index: elf.SHN_ABS})
	raw, err := f.Bytes()
	if err != nil {
		t.Fatalf("Bytes: %v", err)
	}
	ef := checkRoundTrip(t, f, raw)
	if got := ef.Section(".symtab").Info; got != 1 {
		t.Errorf(".symtab sh_info = %d, want 1", got)
	}
}

func TestBytesDefaults(t *testing.T) {
	raw, err := (&File{Machine: elf.EM_X86_64}).Bytes()
	if err != nil {
		t.Fatalf("Bytes: %v", err)
	}
	ef := parse(t, raw)
	if ef.Type != elf.ET_REL || ef.ByteOrder != binary.LittleEndian {
		t.Errorf("type and byte order = %v %v, want ET_REL little-endian", ef.Type, ef.ByteOrder)
	}
	var names []string
	for _, s := range ef.Sections {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); got != ",.symtab,.strtab,.shstrtab" {
		t.Errorf("sections = %q, want the null section and the three tables", got)
	}
}

func TestBytesExecutableType(t *testing.T) {
	f := sampleFile(arches[0])
	f.Type = elf.ET_EXEC
	raw, err := f.Bytes()
	if err != nil {
		t.Fatalf("Bytes: %v", err)
	}
	if ef := parse(t, raw); ef.Type != elf.ET_EXEC {
		t.Errorf("type = %v, want ET_EXEC", ef.Type)
	}
}

func TestBytesClass32HeaderOnly(t *testing.T) {
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		f := sampleFile(arches[0])
		f.Class, f.Machine, f.ByteOrder, f.Flags = elf.ELFCLASS32, elf.EM_386, order, 0
		raw, err := f.Bytes()
		if err != nil {
			t.Fatalf("Bytes: %v", err)
		}
		if len(raw) != 52 {
			t.Errorf("32-bit file is %d bytes, want the 52-byte header", len(raw))
		}
		ef := parse(t, raw)
		if ef.Class != elf.ELFCLASS32 || ef.Machine != elf.EM_386 || ef.ByteOrder != order || ef.Type != elf.ET_REL {
			t.Errorf("header = %v %v %v %v, want ELFCLASS32 EM_386 %v ET_REL", ef.Class, ef.Machine, ef.ByteOrder, ef.Type, order)
		}
		if len(ef.Sections) != 0 {
			t.Errorf("32-bit file has %d sections, want 0", len(ef.Sections))
		}
	}
}

func TestBytesRejectsForeignReferences(t *testing.T) {
	foreign := &Section{Name: ".foreign", Type: elf.SHT_PROGBITS}
	foreignSym := &Symbol{Name: "foreign_sym"}
	tests := []struct {
		name  string
		build func(f *File)
		want  string
	}{
		{"symbol in foreign section", func(f *File) {
			f.AddSymbol(&Symbol{Name: "x", Section: foreign})
		}, `symbol "x" is defined in section .foreign, which is not in the file`},
		{"relocation to foreign symbol", func(f *File) {
			f.Sections[0].Relocs = []Reloc{{Symbol: foreignSym}}
		}, `section .rela.text: relocation 0 refers to symbol "foreign_sym", which is not in the file`},
		{"link to foreign section", func(f *File) {
			f.Sections[0].Link = foreign
		}, "section .text: sh_link refers to section .foreign, which is not in the file"},
		{"info to foreign section", func(f *File) {
			f.AddSection(KlpRelaSection("vmlinux", foreign))
		}, "section .klp.rela.vmlinux..foreign: sh_info refers to section .foreign, which is not in the file"},
		{"data in NOBITS", func(f *File) {
			f.AddSection(&Section{Name: ".bss", Type: elf.SHT_NOBITS, Data: []byte{1}})
		}, "section .bss is SHT_NOBITS but has 1 bytes of data"},
		{"generated name", func(f *File) {
			f.AddSection(&Section{Name: ".symtab"})
		}, "section .symtab is generated by the writer and must not be added"},
		{"section twice", func(f *File) {
			f.AddSection(f.Sections[0])
		}, "section .text is listed twice"},
		{"symbol twice", func(f *File) {
			f.AddSymbol(f.Symbols[0])
		}, `symbol "s" is listed twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &File{Machine: elf.EM_X86_64}
			f.AddSection(&Section{Name: ".text", Type: elf.SHT_PROGBITS, Data: []byte{0xc3}})
			f.AddSymbol(&Symbol{Name: "s", Bind: elf.STB_GLOBAL})
			tt.build(f)
			_, err := f.Bytes()
			if err == nil || err.Error() != tt.want {
				t.Errorf("Bytes error = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestMutateOverridesFields builds malformed files through Layout and
// checks each field where a reader would see it.
func TestMutateOverridesFields(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(raw []byte, l *Layout)
		check  func(t *testing.T, raw []byte)
	}{
		{"e_shstrndx", func(raw []byte, l *Layout) {
			l.SetHeader(raw, EShstrndx, 0x7777)
		}, func(t *testing.T, raw []byte) {
			if got := binary.LittleEndian.Uint16(raw[62:]); got != 0x7777 {
				t.Errorf("e_shstrndx = %#x, want 0x7777", got)
			}
			if _, err := elf.NewFile(bytes.NewReader(raw)); err == nil {
				t.Error("debug/elf accepted an out-of-range e_shstrndx")
			}
		}},
		{"e_shnum", func(raw []byte, l *Layout) {
			l.SetHeader(raw, EShnum, 0xffff)
		}, func(t *testing.T, raw []byte) {
			if _, err := elf.NewFile(bytes.NewReader(raw)); err == nil {
				t.Error("debug/elf accepted a section header table beyond the file")
			}
		}},
		{"sh_offset past the end", func(raw []byte, l *Layout) {
			l.SetSection(raw, l.SectionIndex(".data"), ShOffset, uint64(len(raw))+0x1000)
		}, func(t *testing.T, raw []byte) {
			ef := parse(t, raw)
			if _, err := ef.Section(".data").Data(); err == nil {
				t.Error("reading .data past the end of the file succeeded")
			}
		}},
		{"sh_size, sh_link, sh_info, sh_entsize", func(raw []byte, l *Layout) {
			i := l.SectionIndex(".rela.data")
			l.SetSection(raw, i, ShSize, 25)
			l.SetSection(raw, i, ShLink, 0)
			l.SetSection(raw, i, ShInfo, 99)
			l.SetSection(raw, i, ShEntsize, 16)
		}, func(t *testing.T, raw []byte) {
			s := parse(t, raw).Section(".rela.data")
			if s.Size != 25 || s.Link != 0 || s.Info != 99 || s.Entsize != 16 {
				t.Errorf("header = size %d link %d info %d entsize %d, want 25 0 99 16", s.Size, s.Link, s.Info, s.Entsize)
			}
		}},
		{"st_name past .strtab", func(raw []byte, l *Layout) {
			l.SetSymbol(raw, 1, StName, 0xfffff)
		}, func(t *testing.T, raw []byte) {
			// debug/elf ignores a name offset past .strtab and returns "".
			syms, err := parse(t, raw).Symbols()
			if err != nil {
				t.Fatalf("read symbols: %v", err)
			}
			if syms[0].Name != "" {
				t.Errorf("symbol 1 name = %q, want empty", syms[0].Name)
			}
		}},
		{"st_shndx and st_info", func(raw []byte, l *Layout) {
			index := l.SymbolIndex(l.Symbols[1])
			l.SetSymbol(raw, index, StShndx, uint64(SHN_LIVEPATCH))
			l.SetSymbol(raw, index, StInfo, uint64(elf.ST_INFO(elf.STB_WEAK, elf.STT_FUNC)))
		}, func(t *testing.T, raw []byte) {
			syms, err := parse(t, raw).Symbols()
			if err != nil {
				t.Fatalf("read symbols: %v", err)
			}
			if syms[0].Section != SHN_LIVEPATCH || elf.ST_BIND(syms[0].Info) != elf.STB_WEAK {
				t.Errorf("symbol 1 = shndx %#x bind %v, want SHN_LIVEPATCH STB_WEAK", uint16(syms[0].Section), elf.ST_BIND(syms[0].Info))
			}
		}},
		{"relocation symbol 0 and out of range", func(raw []byte, l *Layout) {
			i := l.SectionIndex(".rela.data")
			l.SetRela(raw, i, 0, RSym, 0)
			l.SetRela(raw, i, 1, RSym, 1000)
			l.SetRela(raw, i, 2, RType, 0xff)
			l.SetRela(raw, i, 2, RAddend, 7)
			l.SetRela(raw, i, 2, ROffset, 0x99)
		}, func(t *testing.T, raw []byte) {
			ef := parse(t, raw)
			data, err := ef.Section(".rela.data").Data()
			if err != nil {
				t.Fatalf("read .rela.data: %v", err)
			}
			o := ef.ByteOrder
			if sym := elf.R_SYM64(o.Uint64(data[8:])); sym != 0 {
				t.Errorf("entry 0 symbol = %d, want 0", sym)
			}
			if sym := elf.R_SYM64(o.Uint64(data[24+8:])); sym != 1000 {
				t.Errorf("entry 1 symbol = %d, want 1000", sym)
			}
			info := o.Uint64(data[48+8:])
			if elf.R_TYPE64(info) != 0xff || o.Uint64(data[48:]) != 0x99 || int64(o.Uint64(data[48+16:])) != 7 {
				t.Errorf("entry 2 = offset %#x type %#x addend %d, want 0x99 0xff 7", o.Uint64(data[48:]), elf.R_TYPE64(info), int64(o.Uint64(data[48+16:])))
			}
			if elf.R_SYM64(info) == 0 {
				t.Error("entry 2 lost its symbol when only its type changed")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := sampleFile(arches[0])
			f.Mutate = tt.mutate
			raw, err := f.Bytes()
			if err != nil {
				t.Fatalf("Bytes: %v", err)
			}
			tt.check(t, raw)
		})
	}
}

func TestLayoutPlacesSections(t *testing.T) {
	f := sampleFile(arches[3]) // ppc64, big-endian
	var layout Layout
	f.Mutate = func(raw []byte, l *Layout) { layout = *l }
	raw, err := f.Bytes()
	if err != nil {
		t.Fatalf("Bytes: %v", err)
	}
	ef := parse(t, raw)

	if len(layout.Sections) != len(ef.Sections) {
		t.Fatalf("layout has %d sections, file has %d", len(layout.Sections), len(ef.Sections))
	}
	for i, s := range ef.Sections {
		l := layout.Sections[i]
		if l.Name != s.Name || l.Index != i || l.Offset != s.Offset || l.Size != s.Size {
			t.Errorf("layout section %d = %s at %#x size %#x, file has %s at %#x size %#x", i, l.Name, l.Offset, l.Size, s.Name, s.Offset, s.Size)
		}
		if got := ef.ByteOrder.Uint32(raw[l.HeaderOffset+4:]); got != uint32(s.Type) {
			t.Errorf("section %s: sh_type at HeaderOffset = %d, want %d", s.Name, got, s.Type)
		}
		if i > 0 && int64(ef.ByteOrder.Uint32(raw[l.HeaderOffset:])) != layout.StringOffset(s.Name) {
			t.Errorf("section %s: sh_name does not match StringOffset", s.Name)
		}
	}
	if layout.Sections[1].Section != f.Sections[0] {
		t.Error("layout section 1 does not refer to the File's first section")
	}
	if layout.SectionIndex(".nonexistent") != -1 || layout.SymbolIndex(&Symbol{}) != -1 || layout.StringOffset(".nonexistent") != -1 {
		t.Error("lookups of missing names did not return -1")
	}
}
