package elftest

import (
	"debug/elf"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/arch/arm64/arm64asm"
	"golang.org/x/arch/loong64/loong64asm"
	"golang.org/x/arch/ppc64/ppc64asm"
	"golang.org/x/arch/riscv64/riscv64asm"
	"golang.org/x/arch/s390x/s390xasm"
	"golang.org/x/arch/x86/x86asm"
)

// relocTypeName returns the name debug/elf gives a relocation type of
// machine.
func relocTypeName(machine elf.Machine, typ uint32) string {
	switch machine {
	case elf.EM_X86_64:
		return elf.R_X86_64(typ).String()
	case elf.EM_AARCH64:
		return elf.R_AARCH64(typ).String()
	case elf.EM_PPC64:
		return elf.R_PPC64(typ).String()
	case elf.EM_S390:
		return elf.R_390(typ).String()
	case elf.EM_LOONGARCH:
		return elf.R_LARCH(typ).String()
	case elf.EM_RISCV:
		return elf.R_RISCV(typ).String()
	}
	return fmt.Sprint(typ)
}

// decodeOne decodes the instruction at code[off:] and returns its GNU
// syntax and length.
func decodeOne(t *testing.T, arch Arch, code []byte, off int) (string, int) {
	t.Helper()
	fail := func(err error) (string, int) {
		t.Fatalf("%s: cannot decode the instruction at %#x: %v", arch.Name, off, err)
		return "", 0
	}
	switch arch.Machine {
	case elf.EM_X86_64:
		inst, err := x86asm.Decode(code[off:], 64)
		if err != nil {
			return fail(err)
		}
		return x86asm.GNUSyntax(inst, uint64(off), nil), inst.Len
	case elf.EM_AARCH64:
		inst, err := arm64asm.Decode(code[off:])
		if err != nil {
			return fail(err)
		}
		return arm64asm.GNUSyntax(inst), 4
	case elf.EM_PPC64:
		inst, err := ppc64asm.Decode(code[off:], arch.ByteOrder)
		if err != nil {
			return fail(err)
		}
		return ppc64asm.GNUSyntax(inst, uint64(off)), inst.Len
	case elf.EM_S390:
		inst, err := s390xasm.Decode(code[off:])
		if err != nil {
			return fail(err)
		}
		return s390xasm.GNUSyntax(inst, uint64(off)), inst.Len
	case elf.EM_LOONGARCH:
		inst, err := loong64asm.Decode(code[off:])
		if err != nil {
			return fail(err)
		}
		return loong64asm.GNUSyntax(inst), 4
	case elf.EM_RISCV:
		inst, err := riscv64asm.Decode(code[off:])
		if err != nil {
			return fail(err)
		}
		return riscv64asm.GNUSyntax(inst), inst.Len
	}
	t.Fatalf("no disassembler for %v", arch.Machine)
	return "", 0
}

// disassemble lists the function sym of b, one instruction per line as
// "offset: instruction", followed by the relocations that fall inside the
// instruction as "<type> <symbol>+<addend>".
func disassemble(t *testing.T, arch Arch, b built, sym string) []string {
	t.Helper()
	s := b.symbol(t, sym)
	sec := b.ef.Sections[s.Section]
	data, err := sec.Data()
	if err != nil {
		t.Fatalf("read %s: %v", sec.Name, err)
	}
	code := data[s.Value : s.Value+s.Size]
	relocs := b.relocs[".rela"+sec.Name]

	var lines []string
	for off := 0; off < len(code); {
		text, n := decodeOne(t, arch, code, off)
		line := fmt.Sprintf("%#x: %s", off, strings.Join(strings.Fields(text), " "))
		for _, r := range relocs {
			at := int(r.Offset - s.Value)
			if at >= off && at < off+n {
				line += fmt.Sprintf("  [%s %s%+d]", relocTypeName(arch.Machine, r.Type), r.Symbol, r.Addend)
			}
		}
		lines = append(lines, line)
		off += n
	}
	return lines
}
