package elftest

import (
	"debug/elf"
	"fmt"
)

// riscv64Encoder writes RV64I code without compressed instructions.
// Addresses are auipc pairs whose low part relocates against a local
// .Lpcrel_hi label at the auipc, and calls are auipc+jalr with
// R_RISCV_CALL_PLT. No R_RISCV_RELAX is emitted, as for modules built with
// -mno-relax.
type riscv64Encoder struct{}

// Register numbers: zero 0, ra 1, sp 2, t0 5, s1 9, a0-a2 10-12.
var riscv64Regs = [...]uint32{
	regRet: 10, regArg0: 10, regArg1: 11, regArg2: 12, regSaved: 9, regTemp: 5,
}

func rvI(op, f3, rd, rs1 uint32, imm int64) uint32 {
	checkRange(imm, 12, "riscv64 I-type immediate")
	return uint32(imm)<<20 | rs1<<15 | f3<<12 | rd<<7 | op
}

func rvS(f3, rs1, rs2 uint32, imm int64) uint32 {
	checkRange(imm, 12, "riscv64 S-type immediate")
	u := uint32(imm)
	return (u>>5&0x7f)<<25 | rs2<<20 | rs1<<15 | f3<<12 | (u&0x1f)<<7 | 0x23
}

func (riscv64Encoder) enter(a *asm) {
	a.emit32(
		0xff010113, // addi sp,sp,-16
		0x00113423, // sd ra,8(sp)
		0x00913023, // sd s1,0(sp)
	)
}

func (riscv64Encoder) leave(a *asm) {
	a.emit32(
		0x00813083, // ld ra,8(sp)
		0x00013483, // ld s1,0(sp)
		0x01010113, // addi sp,sp,16
		0x00008067, // ret
	)
}

func (riscv64Encoder) ret(a *asm) { a.emit32(0x00008067) }

func (riscv64Encoder) movImm(a *asm, r reg, v int64) {
	checkImm32(v)
	n := riscv64Regs[r]
	if v >= -0x800 && v <= 0x7ff {
		a.emit32(rvI(0x13, 0, n, 0, v)) // li rN,v (addi rN,zero,v)
		return
	}
	s := int64(int32(uint32(v)))
	hi := (s + 0x800) >> 12
	lo := s - hi<<12
	a.emit32(uint32(hi)<<12 | n<<7 | 0x37) // lui rN,hi
	if lo != 0 {
		a.emit32(rvI(0x1b, 0, n, n, lo)) // addiw rN,rN,lo
	}
}

func (riscv64Encoder) movReg(a *asm, dst, src reg) {
	a.emit32(rvI(0x13, 0, riscv64Regs[dst], riscv64Regs[src], 0)) // mv rD,rS
}

func (riscv64Encoder) call(a *asm, sym *Symbol) int {
	index := a.reloc(a.pc(), uint32(elf.R_RISCV_CALL_PLT), sym, 0)
	a.emit32(
		0x00000097, // auipc ra,0x0
		0x000080e7, // jalr ra,0(ra)
	)
	return index
}

// auipc emits the high part of a PC-relative address and returns the
// label that the low part must relocate against.
func (riscv64Encoder) auipc(a *asm, n uint32, sym *Symbol, addend int64) *Symbol {
	hiLabel := a.localLabel(".Lpcrel_hi")
	a.reloc(a.pc(), uint32(elf.R_RISCV_PCREL_HI20), sym, addend)
	a.emit32(n<<7 | 0x17) // auipc rN,%pcrel_hi(sym)
	return hiLabel
}

func (e riscv64Encoder) loadAddr(a *asm, r reg, sym *Symbol, addend int64) {
	n := riscv64Regs[r]
	hiLabel := e.auipc(a, n, sym, addend)
	a.reloc(a.pc(), uint32(elf.R_RISCV_PCREL_LO12_I), hiLabel, 0)
	a.emit32(rvI(0x13, 0, n, n, 0)) // addi rN,rN,%pcrel_lo(label)
}

func (e riscv64Encoder) loadFrom(a *asm, r reg, width int, sym *Symbol, addend int64) {
	var f3 uint32
	switch width {
	case 8:
		f3 = 3 // ld
	case 4:
		f3 = 2 // lw
	default:
		panic(fmt.Sprintf("elftest: riscv64 load of %d bytes is not supported", width))
	}
	n := riscv64Regs[r]
	hiLabel := e.auipc(a, n, sym, addend)
	a.reloc(a.pc(), uint32(elf.R_RISCV_PCREL_LO12_I), hiLabel, 0)
	a.emit32(rvI(0x03, f3, n, n, 0))
}

func (riscv64Encoder) store(a *asm, width int, src, base reg, off int64) {
	var f3 uint32
	switch width {
	case 1:
		f3 = 0 // sb
	case 4:
		f3 = 2 // sw
	case 8:
		f3 = 3 // sd
	default:
		panic(fmt.Sprintf("elftest: riscv64 store of %d bytes is not supported", width))
	}
	a.emit32(rvS(f3, riscv64Regs[base], riscv64Regs[src], off))
}

func (e riscv64Encoder) storeImm(a *asm, width int, v uint32, base reg, off int64) {
	e.movImm(a, regTemp, int64(v))
	e.store(a, width, regTemp, base, off)
}

func (riscv64Encoder) branchZero(a *asm, r reg, l *label) {
	a.branch(l)
	a.emit32(riscv64Regs[r]<<15 | 0x63) // beqz rN,label (beq rN,zero)
}

func (riscv64Encoder) jump(a *asm, l *label) {
	a.branch(l)
	a.emit32(0x6f) // j label (jal zero)
}

func (riscv64Encoder) resolve(a *asm, fx fixup) {
	delta := int64(fx.l.offset - fx.at)
	u := uint32(delta)
	word := a.order.Uint32(a.code[fx.at:])
	if word&0x7f == 0x6f {
		checkRange(delta, 21, "riscv64 jal displacement")
		word |= (u>>20&1)<<31 | (u>>1&0x3ff)<<21 | (u>>11&1)<<20 | (u>>12&0xff)<<12
	} else {
		checkRange(delta, 13, "riscv64 branch displacement")
		word |= (u>>12&1)<<31 | (u>>5&0x3f)<<25 | (u>>1&0xf)<<8 | (u>>11&1)<<7
	}
	a.order.PutUint32(a.code[fx.at:], word)
}

func (riscv64Encoder) nop() []byte { return []byte{0x13, 0, 0, 0} }
