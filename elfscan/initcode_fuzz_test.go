package elfscan

import (
	"debug/elf"
	"encoding/binary"
	"path/filepath"
	"sort"
	"testing"

	"github.com/klpcheck/klpcheck/livepatch"
)

// fuzzArches are the architectures a fuzzed function is decoded as.
var fuzzArches = []livepatch.Arch{
	{Name: "x86_64", Machine: elf.EM_X86_64, ByteOrder: binary.LittleEndian},
	{Name: "arm64", Machine: elf.EM_AARCH64, ByteOrder: binary.LittleEndian},
	{Name: "ppc64le", Machine: elf.EM_PPC64, ByteOrder: binary.LittleEndian},
	{Name: "ppc64", Machine: elf.EM_PPC64, ByteOrder: binary.BigEndian},
	{Name: "s390x", Machine: elf.EM_S390, ByteOrder: binary.BigEndian},
	{Name: "riscv64", Machine: elf.EM_RISCV, ByteOrder: binary.LittleEndian},
	{Name: "loongarch64", Machine: elf.EM_LOONGARCH, ByteOrder: binary.LittleEndian},
}

// fuzzRelocTypes are, per architecture, the relocation types the decoders
// act on.
var fuzzRelocTypes = map[elf.Machine][]uint32{
	elf.EM_X86_64:    {uint32(elf.R_X86_64_PLT32), uint32(elf.R_X86_64_PC32), uint32(elf.R_X86_64_32S)},
	elf.EM_AARCH64:   {rAArch64Call26, rAArch64Jump26, rAArch64AdrPrelPgHi21, rAArch64AddAbsLo12NC, rAArch64Ldst64AbsLo12, rAArch64Ldst8AbsLo12},
	elf.EM_PPC64:     {rPPC64Rel24, rPPC64TOC16Ha, rPPC64TOC16Lo, rPPC64TOC16LoDS},
	elf.EM_S390:      {r390PLT32DBL, r390PC32DBL, r390GOTENT},
	elf.EM_RISCV:     {rRISCVCallPLT, rRISCVCall, rRISCVPCRelHi20, rRISCVPCRelLo12, rRISCVPCRelLo12S, rRISCVHi20, rRISCVLo12I},
	elf.EM_LOONGARCH: {rLarchB26, rLarchPCALAHi20, rLarchPCALALo12},
}

// fuzzSymbols are the symbols a fuzzed relocation may name.
var fuzzSymbols = []codeReloc{
	{symbol: "__kmalloc"}, {symbol: "kmalloc_trace"}, {symbol: "__kmalloc_cache_noprof"},
	{symbol: "klp_enable_patch"}, {symbol: "kfree"}, {symbol: "printk"},
	{section: ".bss"}, {section: ".text.unlikely"}, {},
}

// fuzzCodeSymbols name a local out-of-line kzalloc, so that calls through
// the .text.unlikely section symbol reach an allocator.
var fuzzCodeSymbols = []codeSymbol{{name: "kzalloc.constprop.0", section: ".text.unlikely", value: 0}}

// fuzzRelocSize is the size of one encoded relocation: a 16-bit offset, a
// type index, a symbol index and a signed 8-bit addend.
const fuzzRelocSize = 5

// fuzzFunction builds an init function from fuzzer input.
func fuzzFunction(archIndex byte, code, relocBytes []byte) initFunction {
	arch := fuzzArches[int(archIndex)%len(fuzzArches)]
	types := fuzzRelocTypes[arch.Machine]
	var relocs []codeReloc
	for i := 0; i+fuzzRelocSize <= len(relocBytes) && len(code) > 0; i += fuzzRelocSize {
		r := fuzzSymbols[int(relocBytes[i+3])%len(fuzzSymbols)]
		r.offset = uint64(binary.LittleEndian.Uint16(relocBytes[i:])) % uint64(len(code))
		r.typ = types[int(relocBytes[i+2])%len(types)]
		r.addend = int64(int8(relocBytes[i+4]))
		relocs = append(relocs, r)
	}
	sort.SliceStable(relocs, func(i, j int) bool { return relocs[i].offset < relocs[j].offset })
	return initFunction{arch: arch, section: ".init.text", code: code, relocs: relocs, symbols: fuzzCodeSymbols}
}

// encodeFuzzRelocs turns a sample's relocations into fuzzer input, keeping
// those whose type and symbol the fuzzer can express.
func encodeFuzzRelocs(fn initFunction) []byte {
	types := fuzzRelocTypes[fn.arch.Machine]
	var out []byte
	for _, r := range fn.relocs {
		typeIndex, symbolIndex := -1, -1
		for i, t := range types {
			if t == r.typ {
				typeIndex = i
			}
		}
		for i, s := range fuzzSymbols {
			if s.symbol == r.symbol && s.section == r.section {
				symbolIndex = i
			}
		}
		if typeIndex < 0 || symbolIndex < 0 || r.addend < -128 || r.addend > 127 {
			continue
		}
		off := r.offset - fn.start
		out = append(out, byte(off), byte(off>>8), byte(typeIndex), byte(symbolIndex), byte(int8(r.addend)))
	}
	return out
}

func FuzzReplaceFromInitCode(f *testing.F) {
	files, err := filepath.Glob("../testdata/initcode/*.[ko]*")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		fn := loadInitFunction(f, file, "init_module")
		for i, arch := range fuzzArches {
			if arch == fn.arch {
				f.Add(byte(i), false, fn.code, encodeFuzzRelocs(fn))
			}
		}
	}

	f.Fuzz(func(t *testing.T, archIndex byte, oldLayout bool, code, relocBytes []byte) {
		fieldOffset := uint64(24)
		if oldLayout {
			fieldOffset = 16
		}
		got := replaceFromInitCode(fuzzFunction(archIndex, code, relocBytes), fieldOffset)

		if got.Detail == "" {
			t.Errorf("result %+v has no detail", got)
		}
		if !got.Known {
			if got.Source != livepatch.ReplaceUnknown || got.Value != 0 || got.Width != 0 {
				t.Errorf("unknown result %+v carries a value", got)
			}
			return
		}
		if got.Source != livepatch.ReplaceFromInitCode {
			t.Errorf("known result %+v has source %q", got, got.Source)
		}
		if got.Width != 1 && got.Width != 4 {
			t.Errorf("known result %+v has width %d", got, got.Width)
		}
		if got.Width == 1 && got.Value > 1 {
			t.Errorf("bool result %+v has value %d", got, got.Value)
		}
	})
}
