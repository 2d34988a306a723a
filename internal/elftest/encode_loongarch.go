package elftest

import (
	"debug/elf"
	"fmt"
)

// loong64Encoder writes LoongArch64 code. Addresses are pcalau12i plus a
// %pc_lo12 add or load, and calls are bl with R_LARCH_B26, as gcc emits
// for kernel modules.
type loong64Encoder struct{}

// Register numbers: zero 0, ra 1, sp 3, a0-a2 4-6, t0 12, s0 23.
var loong64Regs = [...]uint32{
	regRet: 4, regArg0: 4, regArg1: 5, regArg2: 6, regSaved: 23, regTemp: 12,
}

func (loong64Encoder) enter(a *asm) {
	a.emit32(
		0x02ffc063, // addi.d $sp, $sp, -16
		0x29c02061, // st.d $ra, $sp, 8
		0x29c00077, // st.d $s0, $sp, 0
	)
}

func (loong64Encoder) leave(a *asm) {
	a.emit32(
		0x28c02061, // ld.d $ra, $sp, 8
		0x28c00077, // ld.d $s0, $sp, 0
		0x02c04063, // addi.d $sp, $sp, 16
		0x4c000020, // jirl $zero, $ra, 0
	)
}

func (loong64Encoder) ret(a *asm) { a.emit32(0x4c000020) }

func (loong64Encoder) movImm(a *asm, r reg, v int64) {
	checkImm32(v)
	n := loong64Regs[r]
	switch {
	case v >= 0 && v <= 0xfff:
		a.emit32(0x03800000 | uint32(v)<<10 | n) // ori $rN, $zero, v
	case v < 0 && v >= -0x800:
		a.emit32(0x02800000 | (uint32(v)&0xfff)<<10 | n) // addi.w $rN, $zero, v
	default:
		u := uint32(v)
		a.emit32(0x14000000 | (u>>12)<<5 | n) // lu12i.w $rN, hi20
		if u&0xfff != 0 {
			a.emit32(0x03800000 | (u&0xfff)<<10 | n<<5 | n) // ori $rN, $rN, lo12
		}
	}
}

func (loong64Encoder) movReg(a *asm, dst, src reg) {
	a.emit32(0x00150000 | loong64Regs[src]<<5 | loong64Regs[dst]) // or $rD, $rS, $zero
}

func (loong64Encoder) call(a *asm, sym *Symbol) int {
	a.emit32(0x54000000) // bl sym
	return a.reloc(a.pc()-4, uint32(elf.R_LARCH_B26), sym, 0)
}

func (loong64Encoder) pcalau12i(a *asm, n uint32, sym *Symbol, addend int64) {
	a.emit32(0x1a000000 | n) // pcalau12i $rN, %pc_hi20(sym)
	a.reloc(a.pc()-4, uint32(elf.R_LARCH_PCALA_HI20), sym, addend)
}

func (e loong64Encoder) loadAddr(a *asm, r reg, sym *Symbol, addend int64) {
	n := loong64Regs[r]
	e.pcalau12i(a, n, sym, addend)
	a.emit32(0x02c00000 | n<<5 | n) // addi.d $rN, $rN, %pc_lo12(sym)
	a.reloc(a.pc()-4, uint32(elf.R_LARCH_PCALA_LO12), sym, addend)
}

func (e loong64Encoder) loadFrom(a *asm, r reg, width int, sym *Symbol, addend int64) {
	n := loong64Regs[r]
	e.pcalau12i(a, n, sym, addend)
	switch width {
	case 8:
		a.emit32(0x28c00000 | n<<5 | n) // ld.d $rN, $rN, %pc_lo12(sym)
	case 4:
		a.emit32(0x28800000 | n<<5 | n) // ld.w $rN, $rN, %pc_lo12(sym)
	default:
		panic(fmt.Sprintf("elftest: loongarch64 load of %d bytes is not supported", width))
	}
	a.reloc(a.pc()-4, uint32(elf.R_LARCH_PCALA_LO12), sym, addend)
}

func (loong64Encoder) store(a *asm, width int, src, base reg, off int64) {
	checkRange(off, 12, "loongarch64 store offset")
	var op uint32
	switch width {
	case 1:
		op = 0x29000000 // st.b
	case 4:
		op = 0x29800000 // st.w
	case 8:
		op = 0x29c00000 // st.d
	default:
		panic(fmt.Sprintf("elftest: loongarch64 store of %d bytes is not supported", width))
	}
	a.emit32(op | (uint32(off)&0xfff)<<10 | loong64Regs[base]<<5 | loong64Regs[src])
}

func (e loong64Encoder) storeImm(a *asm, width int, v uint32, base reg, off int64) {
	e.movImm(a, regTemp, int64(v))
	e.store(a, width, regTemp, base, off)
}

func (loong64Encoder) branchZero(a *asm, r reg, l *label) {
	a.branch(l)
	a.emit32(0x40000000 | loong64Regs[r]<<5) // beqz $rN, label
}

func (loong64Encoder) jump(a *asm, l *label) {
	a.branch(l)
	a.emit32(0x50000000) // b label
}

func (loong64Encoder) resolve(a *asm, fx fixup) {
	delta := int64(fx.l.offset-fx.at) / 4
	word := a.order.Uint32(a.code[fx.at:])
	u := uint32(delta)
	if word&0xfc000000 == 0x50000000 {
		checkRange(delta, 26, "loongarch64 branch displacement")
		word |= (u&0xffff)<<10 | (u>>16)&0x3ff
	} else {
		checkRange(delta, 21, "loongarch64 beqz displacement")
		word |= (u&0xffff)<<10 | (u>>16)&0x1f
	}
	a.order.PutUint32(a.code[fx.at:], word)
}

func (loong64Encoder) nop() []byte { return []byte{0, 0, 0x40, 0x03} } // andi $zero, $zero, 0
