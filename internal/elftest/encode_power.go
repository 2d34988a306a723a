package elftest

import (
	"debug/elf"
	"fmt"
)

// ppc64Encoder writes 64-bit Power code for the ELFv2 ABI. Addresses are
// TOC-relative (r2) pairs, and every call is followed by the nop that the
// module loader rewrites into a TOC restore.
//
// NOTE: functions have no global entry point (the addis/addi pair that
// derives r2 from r12), which gcc emits for functions that use the TOC.
// Readers that look for it will not find it.
type ppc64Encoder struct{ bigEndian bool }

var ppc64Regs = [...]uint32{
	regRet: 3, regArg0: 3, regArg1: 4, regArg2: 5, regSaved: 31, regTemp: 9,
}

func (ppc64Encoder) enter(a *asm) {
	a.emit32(
		0x7c0802a6, // mflr r0
		0xfbe1fff8, // std r31,-8(r1)
		0xf8010010, // std r0,16(r1)
		0xf821ffd1, // stdu r1,-48(r1)
	)
}

func (ppc64Encoder) leave(a *asm) {
	a.emit32(
		0x38210030, // addi r1,r1,48
		0xe8010010, // ld r0,16(r1)
		0xebe1fff8, // ld r31,-8(r1)
		0x7c0803a6, // mtlr r0
		0x4e800020, // blr
	)
}

func (ppc64Encoder) ret(a *asm) { a.emit32(0x4e800020) }

func (ppc64Encoder) movImm(a *asm, r reg, v int64) {
	checkImm32(v)
	n := ppc64Regs[r]
	if v >= -0x8000 && v <= 0x7fff {
		a.emit32(0x38000000 | n<<21 | uint32(v)&0xffff) // li rN,v
		return
	}
	u := uint32(v)
	a.emit32(0x3c000000 | n<<21 | u>>16) // lis rN,hi
	if u&0xffff != 0 {
		a.emit32(0x60000000 | n<<21 | n<<16 | u&0xffff) // ori rN,rN,lo
	}
}

func (ppc64Encoder) movReg(a *asm, dst, src reg) {
	s, d := ppc64Regs[src], ppc64Regs[dst]
	a.emit32(0x7c000378 | s<<21 | d<<16 | s<<11) // mr rD,rS
}

func (ppc64Encoder) call(a *asm, sym *Symbol) int {
	a.emit32(0x48000001) // bl sym
	index := a.reloc(a.pc()-4, uint32(elf.R_PPC64_REL24), sym, 0)
	a.emit32(0x60000000) // nop
	return index
}

// half16 returns the offset of the 16-bit immediate of the instruction
// that ends at the current offset: its low half in file order.
func (e ppc64Encoder) half16(a *asm) int {
	if e.bigEndian {
		return a.pc() - 2
	}
	return a.pc() - 4
}

func (e ppc64Encoder) addisTOC(a *asm, n uint32, sym *Symbol, addend int64) {
	a.emit32(0x3c000000 | n<<21 | 2<<16) // addis rN,r2,sym@toc@ha
	a.reloc(e.half16(a), uint32(elf.R_PPC64_TOC16_HA), sym, addend)
}

func (e ppc64Encoder) loadAddr(a *asm, r reg, sym *Symbol, addend int64) {
	n := ppc64Regs[r]
	e.addisTOC(a, n, sym, addend)
	a.emit32(0x38000000 | n<<21 | n<<16) // addi rN,rN,sym@toc@l
	a.reloc(e.half16(a), uint32(elf.R_PPC64_TOC16_LO), sym, addend)
}

func (e ppc64Encoder) loadFrom(a *asm, r reg, width int, sym *Symbol, addend int64) {
	n := ppc64Regs[r]
	e.addisTOC(a, n, sym, addend)
	switch width {
	case 8:
		a.emit32(0xe8000000 | n<<21 | n<<16) // ld rN,sym@toc@l(rN)
		a.reloc(e.half16(a), uint32(elf.R_PPC64_TOC16_LO_DS), sym, addend)
	case 4:
		a.emit32(0x80000000 | n<<21 | n<<16) // lwz rN,sym@toc@l(rN)
		a.reloc(e.half16(a), uint32(elf.R_PPC64_TOC16_LO), sym, addend)
	default:
		panic(fmt.Sprintf("elftest: ppc64 load of %d bytes is not supported", width))
	}
}

func (ppc64Encoder) store(a *asm, width int, src, base reg, off int64) {
	checkRange(off, 16, "ppc64 store displacement")
	var op uint32
	switch width {
	case 1:
		op = 0x98000000 // stb
	case 4:
		op = 0x90000000 // stw
	case 8:
		if off%4 != 0 {
			panic("elftest: ppc64 std displacement must be a multiple of 4")
		}
		op = 0xf8000000 // std
	default:
		panic(fmt.Sprintf("elftest: ppc64 store of %d bytes is not supported", width))
	}
	a.emit32(op | ppc64Regs[src]<<21 | ppc64Regs[base]<<16 | uint32(off)&0xffff)
}

func (e ppc64Encoder) storeImm(a *asm, width int, v uint32, base reg, off int64) {
	e.movImm(a, regTemp, int64(v))
	e.store(a, width, regTemp, base, off)
}

func (ppc64Encoder) branchZero(a *asm, r reg, l *label) {
	a.emit32(0x2c200000 | ppc64Regs[r]<<16) // cmpdi rN,0
	a.branch(l)
	a.emit32(0x41820000) // beq label
}

func (ppc64Encoder) jump(a *asm, l *label) {
	a.branch(l)
	a.emit32(0x48000000) // b label
}

func (ppc64Encoder) resolve(a *asm, fx fixup) {
	delta := int64(fx.l.offset - fx.at)
	word := a.order.Uint32(a.code[fx.at:])
	if word>>26 == 18 {
		checkRange(delta, 26, "ppc64 branch displacement")
		word |= uint32(delta) & 0x3fffffc
	} else {
		checkRange(delta, 16, "ppc64 conditional branch displacement")
		word |= uint32(delta) & 0xfffc
	}
	a.order.PutUint32(a.code[fx.at:], word)
}

func (e ppc64Encoder) nop() []byte {
	if e.bigEndian {
		return []byte{0x60, 0, 0, 0}
	}
	return []byte{0, 0, 0, 0x60}
}
