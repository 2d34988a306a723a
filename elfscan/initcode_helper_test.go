package elfscan

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"sort"
	"testing"

	"github.com/klpcheck/klpcheck/livepatch"
)

// loadInitFunction reads the function symbol name of the relocatable ELF
// file at path, with the relocations inside it, straight from debug/elf.
func loadInitFunction(t testing.TB, path, name string) initFunction {
	t.Helper()
	fn, err := readInitFunction(path, name)
	if err != nil {
		t.Fatal(err)
	}
	return fn
}

func readInitFunction(path, name string) (initFunction, error) {
	f, err := elf.Open(path)
	if err != nil {
		return initFunction{}, err
	}
	defer f.Close()

	arch, err := testArch(f)
	if err != nil {
		return initFunction{}, fmt.Errorf("%s: %w", path, err)
	}
	syms, err := f.Symbols()
	if err != nil {
		return initFunction{}, fmt.Errorf("%s: read symbols: %w", path, err)
	}

	var fn *elf.Symbol
	var symbols []codeSymbol
	for i := range syms {
		s := &syms[i]
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || int(s.Section) >= len(f.Sections) {
			continue
		}
		section := f.Sections[s.Section].Name
		symbols = append(symbols, codeSymbol{name: s.Name, section: section, value: s.Value})
		if s.Name == name {
			fn = s
		}
	}
	if fn == nil {
		return initFunction{}, fmt.Errorf("%s: no function %s", path, name)
	}

	text := f.Sections[fn.Section]
	data, err := text.Data()
	if err != nil {
		return initFunction{}, fmt.Errorf("%s: read %s: %w", path, text.Name, err)
	}
	if fn.Value+fn.Size > uint64(len(data)) {
		return initFunction{}, fmt.Errorf("%s: %s runs past the end of %s", path, name, text.Name)
	}

	relocs, err := testRelocs(f, syms, int(fn.Section), fn.Value, fn.Value+fn.Size)
	if err != nil {
		return initFunction{}, fmt.Errorf("%s: %w", path, err)
	}
	return initFunction{
		arch:    arch,
		section: text.Name,
		start:   fn.Value,
		code:    data[fn.Value : fn.Value+fn.Size],
		relocs:  relocs,
		symbols: symbols,
	}, nil
}

func testArch(f *elf.File) (livepatch.Arch, error) {
	names := map[elf.Machine]string{
		elf.EM_X86_64:    "x86_64",
		elf.EM_AARCH64:   "arm64",
		elf.EM_S390:      "s390x",
		elf.EM_LOONGARCH: "loongarch64",
		elf.EM_RISCV:     "riscv64",
	}
	name, ok := names[f.Machine]
	if f.Machine == elf.EM_PPC64 {
		name, ok = "ppc64", true
		if f.ByteOrder == binary.LittleEndian {
			name = "ppc64le"
		}
	}
	if !ok {
		return livepatch.Arch{}, fmt.Errorf("unexpected machine %v", f.Machine)
	}
	return livepatch.Arch{Name: name, Machine: f.Machine, ByteOrder: f.ByteOrder}, nil
}

// testRelocs returns the SHT_RELA entries for section target whose offsets
// are in [lo, hi), sorted by offset as the toolchains write them.
func testRelocs(f *elf.File, syms []elf.Symbol, target int, lo, hi uint64) ([]codeReloc, error) {
	var relocs []codeReloc
	for _, s := range f.Sections {
		if s.Type != elf.SHT_RELA || int(s.Info) != target {
			continue
		}
		data, err := s.Data()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", s.Name, err)
		}
		for off := 0; off+24 <= len(data); off += 24 {
			offset := f.ByteOrder.Uint64(data[off:])
			info := f.ByteOrder.Uint64(data[off+8:])
			addend := int64(f.ByteOrder.Uint64(data[off+16:]))
			if offset < lo || offset >= hi {
				continue
			}
			r := codeReloc{offset: offset, typ: uint32(info), addend: addend}
			index := int(info >> 32)
			if index > 0 && index <= len(syms) {
				sym := syms[index-1]
				if elf.ST_TYPE(sym.Info) == elf.STT_SECTION && int(sym.Section) < len(f.Sections) {
					r.section = f.Sections[sym.Section].Name
				} else {
					r.symbol = sym.Name
				}
			}
			relocs = append(relocs, r)
		}
	}
	sort.SliceStable(relocs, func(i, j int) bool { return relocs[i].offset < relocs[j].offset })
	return relocs, nil
}
