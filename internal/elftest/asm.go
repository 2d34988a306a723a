package elftest

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
)

// reg is an abstract register that each encoder maps to a real one.
type reg int

const (
	// regRet holds a function's return value.
	regRet reg = iota
	// regArg0, regArg1 and regArg2 are the first argument registers.
	regArg0
	regArg1
	regArg2
	// regSaved is callee-saved, so a value in it survives calls.
	regSaved
	// regTemp is a scratch register that no call argument uses.
	regTemp
)

// encoder writes machine code for one architecture. Offsets are bytes from
// the base register, and widths are 1, 4 or 8 bytes.
type encoder interface {
	// enter saves the return address and regSaved, and leave restores
	// them and returns.
	enter(a *asm)
	leave(a *asm)
	// ret returns from a function that has no frame.
	ret(a *asm)
	movImm(a *asm, r reg, v int64)
	movReg(a *asm, dst, src reg)
	// call calls sym and returns the index of its relocation in a.relocs.
	call(a *asm, sym *Symbol) int
	// loadAddr puts the address sym+addend into r.
	loadAddr(a *asm, r reg, sym *Symbol, addend int64)
	// loadFrom loads width bytes stored at sym+addend into r.
	loadFrom(a *asm, r reg, width int, sym *Symbol, addend int64)
	store(a *asm, width int, src, base reg, off int64)
	// storeImm stores the immediate v into width bytes at base+off.
	storeImm(a *asm, width int, v uint32, base reg, off int64)
	// branchZero jumps to l when r is zero, and jump always does.
	branchZero(a *asm, r reg, l *label)
	jump(a *asm, l *label)
	// resolve writes the displacement of the branch fx now that its
	// label is bound.
	resolve(a *asm, fx fixup)
	// nop is the padding between functions.
	nop() []byte
}

// label is a branch target inside one function.
type label struct {
	offset int
	bound  bool
}

// fixup is a branch whose displacement waits for its label.
type fixup struct {
	// at is the offset of the branch instruction.
	at int
	l  *label
}

// asm accumulates the machine code of one function. Relocation offsets and
// local symbol values are relative to the start of the function until
// module.place moves them into a section.
type asm struct {
	enc    encoder
	order  byteOrder
	code   []byte
	relocs []Reloc
	// locals are assembler labels that relocations refer to, such as the
	// .Lpcrel_hi labels of RISC-V PC-relative pairs.
	locals []*Symbol
	fixups []fixup
	// nextLocal numbers the local labels of the whole module.
	nextLocal *int
}

func newAsm(enc encoder, order binary.ByteOrder, nextLocal *int) *asm {
	return &asm{enc: enc, order: order.(byteOrder), nextLocal: nextLocal}
}

func (a *asm) pc() int { return len(a.code) }

func (a *asm) emit(b ...byte) { a.code = append(a.code, b...) }

func (a *asm) emit32(words ...uint32) {
	for _, w := range words {
		a.code = a.order.AppendUint32(a.code, w)
	}
}

// reloc records a relocation at offset and returns its index.
func (a *asm) reloc(offset int, typ uint32, sym *Symbol, addend int64) int {
	a.relocs = append(a.relocs, Reloc{Offset: uint64(offset), Type: typ, Symbol: sym, Addend: addend})
	return len(a.relocs) - 1
}

// localLabel defines an assembler-local symbol at the current offset.
func (a *asm) localLabel(prefix string) *Symbol {
	*a.nextLocal++
	s := &Symbol{
		Name:  fmt.Sprintf("%s%d", prefix, *a.nextLocal-1),
		Value: uint64(a.pc()),
		Bind:  elf.STB_LOCAL,
		Type:  elf.STT_NOTYPE,
	}
	a.locals = append(a.locals, s)
	return s
}

func (a *asm) newLabel() *label { return &label{} }

func (a *asm) bind(l *label) {
	l.offset = a.pc()
	l.bound = true
}

// branch records a branch at the current offset to be resolved later.
func (a *asm) branch(l *label) {
	a.fixups = append(a.fixups, fixup{at: a.pc(), l: l})
}

// finish resolves every branch. It panics on an unbound label, which is a
// bug in the program that built the function.
func (a *asm) finish() {
	for _, fx := range a.fixups {
		if !fx.l.bound {
			panic("elftest: branch to an unbound label")
		}
		a.enc.resolve(a, fx)
	}
	a.fixups = nil
}

// checkRange panics when v does not fit a signed field of bits bits.
func checkRange(v int64, bits uint, field string) {
	limit := int64(1) << (bits - 1)
	if v < -limit || v >= limit {
		panic(fmt.Sprintf("elftest: %s %d does not fit in %d signed bits", field, v, bits))
	}
}

// checkImm32 panics when v is neither an int32 nor a uint32.
func checkImm32(v int64) {
	if v < -1<<31 || v > 1<<32-1 {
		panic(fmt.Sprintf("elftest: immediate %d does not fit in 32 bits", v))
	}
}

// encoderFor returns the encoder of an architecture.
func encoderFor(arch Arch) encoder {
	switch arch.Machine {
	case elf.EM_X86_64:
		return x86Encoder{}
	case elf.EM_AARCH64:
		return arm64Encoder{}
	case elf.EM_PPC64:
		return ppc64Encoder{bigEndian: arch.ByteOrder == binary.BigEndian}
	case elf.EM_S390:
		return s390xEncoder{}
	case elf.EM_LOONGARCH:
		return loong64Encoder{}
	case elf.EM_RISCV:
		return riscv64Encoder{}
	}
	panic(fmt.Sprintf("elftest: no machine code encoder for %v", arch.Machine))
}
