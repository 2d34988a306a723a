package elftest

import (
	"debug/elf"
	"fmt"
)

// arm64Encoder writes AArch64 code. Addresses are adrp plus a :lo12:
// add or load, as gcc emits for the kernel's small code model.
type arm64Encoder struct{}

var arm64Regs = [...]uint32{
	regRet: 0, regArg0: 0, regArg1: 1, regArg2: 2, regSaved: 19, regTemp: 1,
}

func (arm64Encoder) enter(a *asm) {
	a.emit32(
		0xa9be7bfd, // stp x29, x30, [sp, #-32]!
		0x910003fd, // mov x29, sp
		0xf9000bf3, // str x19, [sp, #16]
	)
}

func (arm64Encoder) leave(a *asm) {
	a.emit32(
		0xf9400bf3, // ldr x19, [sp, #16]
		0xa8c27bfd, // ldp x29, x30, [sp], #32
		0xd65f03c0, // ret
	)
}

func (arm64Encoder) ret(a *asm) { a.emit32(0xd65f03c0) }

func (arm64Encoder) movImm(a *asm, r reg, v int64) {
	checkImm32(v)
	n := arm64Regs[r]
	if v < 0 && v >= -0x10000 {
		a.emit32(0x12800000 | uint32(^v)<<5 | n) // movn wN, #~v
		return
	}
	u := uint32(v)
	lo, hi := u&0xffff, u>>16
	if lo == 0 && hi != 0 {
		a.emit32(0x52a00000 | hi<<5 | n) // movz wN, #hi, lsl #16
		return
	}
	a.emit32(0x52800000 | lo<<5 | n) // movz wN, #lo
	if hi != 0 {
		a.emit32(0x72a00000 | hi<<5 | n) // movk wN, #hi, lsl #16
	}
}

func (arm64Encoder) movReg(a *asm, dst, src reg) {
	a.emit32(0xaa0003e0 | arm64Regs[src]<<16 | arm64Regs[dst]) // mov xD, xS
}

func (arm64Encoder) call(a *asm, sym *Symbol) int {
	a.emit32(0x94000000) // bl sym
	return a.reloc(a.pc()-4, uint32(elf.R_AARCH64_CALL26), sym, 0)
}

func (arm64Encoder) adrp(a *asm, n uint32, sym *Symbol, addend int64) {
	a.emit32(0x90000000 | n) // adrp xN, sym
	a.reloc(a.pc()-4, uint32(elf.R_AARCH64_ADR_PREL_PG_HI21), sym, addend)
}

func (e arm64Encoder) loadAddr(a *asm, r reg, sym *Symbol, addend int64) {
	n := arm64Regs[r]
	e.adrp(a, n, sym, addend)
	a.emit32(0x91000000 | n<<5 | n) // add xN, xN, :lo12:sym
	a.reloc(a.pc()-4, uint32(elf.R_AARCH64_ADD_ABS_LO12_NC), sym, addend)
}

func (e arm64Encoder) loadFrom(a *asm, r reg, width int, sym *Symbol, addend int64) {
	n := arm64Regs[r]
	e.adrp(a, n, sym, addend)
	switch width {
	case 8:
		a.emit32(0xf9400000 | n<<5 | n) // ldr xN, [xN, :lo12:sym]
		a.reloc(a.pc()-4, uint32(elf.R_AARCH64_LDST64_ABS_LO12_NC), sym, addend)
	case 4:
		a.emit32(0xb9400000 | n<<5 | n) // ldr wN, [xN, :lo12:sym]
		a.reloc(a.pc()-4, uint32(elf.R_AARCH64_LDST32_ABS_LO12_NC), sym, addend)
	default:
		panic(fmt.Sprintf("elftest: arm64 load of %d bytes is not supported", width))
	}
}

func (arm64Encoder) store(a *asm, width int, src, base reg, off int64) {
	if off < 0 || off%int64(width) != 0 || off/int64(width) > 0xfff {
		panic(fmt.Sprintf("elftest: arm64 store offset %d is not a scaled unsigned immediate", off))
	}
	var op uint32
	switch width {
	case 1:
		op = 0x39000000 // strb wS, [xB, #off]
	case 4:
		op = 0xb9000000 // str wS, [xB, #off]
	case 8:
		op = 0xf9000000 // str xS, [xB, #off]
	default:
		panic(fmt.Sprintf("elftest: arm64 store of %d bytes is not supported", width))
	}
	a.emit32(op | uint32(off/int64(width))<<10 | arm64Regs[base]<<5 | arm64Regs[src])
}

func (e arm64Encoder) storeImm(a *asm, width int, v uint32, base reg, off int64) {
	e.movImm(a, regTemp, int64(v))
	e.store(a, width, regTemp, base, off)
}

func (arm64Encoder) branchZero(a *asm, r reg, l *label) {
	a.branch(l)
	a.emit32(0xb4000000 | arm64Regs[r]) // cbz xN, label
}

func (arm64Encoder) jump(a *asm, l *label) {
	a.branch(l)
	a.emit32(0x14000000) // b label
}

func (arm64Encoder) resolve(a *asm, fx fixup) {
	delta := int64(fx.l.offset-fx.at) / 4
	word := a.order.Uint32(a.code[fx.at:])
	if word&0xfc000000 == 0x14000000 {
		checkRange(delta, 26, "arm64 branch displacement")
		word |= uint32(delta) & 0x3ffffff
	} else {
		checkRange(delta, 19, "arm64 cbz displacement")
		word |= (uint32(delta) & 0x7ffff) << 5
	}
	a.order.PutUint32(a.code[fx.at:], word)
}

func (arm64Encoder) nop() []byte { return []byte{0x1f, 0x20, 0x03, 0xd5} }
