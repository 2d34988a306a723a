package elftest

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
)

// Arch holds the ELF machine values and relocation types of one target
// architecture. R_*_NONE is 0 on all of them.
type Arch struct {
	// Name is klpcheck's short name of the architecture.
	Name      string
	Machine   elf.Machine
	ByteOrder binary.ByteOrder
	// Flags is the e_flags value of a kernel module for this architecture.
	Flags uint32
	// Abs64 is the absolute 64-bit relocation type, used for pointers in
	// data such as klp_func.new_func.
	Abs64 uint32
	// Call is the relocation type of a direct function call, used for
	// calls to undefined kernel functions.
	Call uint32
}

// The kernel builds LoongArch with the soft-float LP64S ABI, and gcc and
// binutils mark such objects with EF_LOONGARCH_ABI_SOFT_FLOAT (0x1) and
// EF_LOONGARCH_OBJABI_V1 (0x40).
const loongarchFlags = 0x41

// arches lists the architectures klpcheck reads, in the order of the
// livepatch.Arch documentation.
var arches = []Arch{
	{Name: "x86_64", Machine: elf.EM_X86_64, ByteOrder: binary.LittleEndian,
		Abs64: uint32(elf.R_X86_64_64), Call: uint32(elf.R_X86_64_PLT32)},
	{Name: "arm64", Machine: elf.EM_AARCH64, ByteOrder: binary.LittleEndian,
		Abs64: uint32(elf.R_AARCH64_ABS64), Call: uint32(elf.R_AARCH64_CALL26)},
	// Both ppc64 variants use the ELFv2 ABI (e_flags 2). Little-endian
	// kernels always do, and big-endian ones do with
	// CONFIG_PPC64_BIG_ENDIAN_ELF_ABI_V2. Set File.Flags to 1 for an
	// ELFv1 module.
	{Name: "ppc64le", Machine: elf.EM_PPC64, ByteOrder: binary.LittleEndian, Flags: 2,
		Abs64: uint32(elf.R_PPC64_ADDR64), Call: uint32(elf.R_PPC64_REL24)},
	{Name: "ppc64", Machine: elf.EM_PPC64, ByteOrder: binary.BigEndian, Flags: 2,
		Abs64: uint32(elf.R_PPC64_ADDR64), Call: uint32(elf.R_PPC64_REL24)},
	{Name: "s390x", Machine: elf.EM_S390, ByteOrder: binary.BigEndian,
		Abs64: uint32(elf.R_390_64), Call: uint32(elf.R_390_PLT32DBL)},
	{Name: "loongarch64", Machine: elf.EM_LOONGARCH, ByteOrder: binary.LittleEndian, Flags: loongarchFlags,
		Abs64: uint32(elf.R_LARCH_64), Call: uint32(elf.R_LARCH_B26)},
	// EF_RISCV_RVC, because the kernel is built with the compressed
	// extension unless CONFIG_RISCV_ISA_C is off.
	{Name: "riscv64", Machine: elf.EM_RISCV, ByteOrder: binary.LittleEndian, Flags: 1,
		Abs64: uint32(elf.R_RISCV_64), Call: uint32(elf.R_RISCV_CALL_PLT)},
}

// Arches returns every supported architecture.
func Arches() []Arch {
	return append([]Arch(nil), arches...)
}

// LookupArch returns the architecture called name.
func LookupArch(name string) (Arch, error) {
	for _, a := range arches {
		if a.Name == name {
			return a, nil
		}
	}
	return Arch{}, fmt.Errorf("unknown architecture %q: use x86_64, arm64, ppc64le, ppc64, s390x, loongarch64 or riscv64", name)
}

// NewFile returns an empty relocatable file for the architecture.
func (a Arch) NewFile() *File {
	return &File{Machine: a.Machine, ByteOrder: a.ByteOrder, Flags: a.Flags}
}
