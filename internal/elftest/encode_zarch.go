package elftest

import (
	"debug/elf"
	"fmt"
)

// s390xEncoder writes z/Architecture code. Addresses and calls are
// PC-relative long instructions whose 32-bit field counts halfwords from
// the instruction start, hence the R_390_*DBL relocations at offset 2 with
// addend +2.
type s390xEncoder struct{}

var s390xRegs = [...]byte{
	regRet: 2, regArg0: 2, regArg1: 3, regArg2: 4, regSaved: 12, regTemp: 1,
}

func (s390xEncoder) enter(a *asm) {
	a.emit(0xeb, 0xcf, 0xf0, 0x60, 0x00, 0x24) // stmg %r12,%r15,96(%r15)
	a.emit(0xa7, 0xfb, 0xff, 0x60)             // aghi %r15,-160
}

func (s390xEncoder) leave(a *asm) {
	a.emit(0xeb, 0xcf, 0xf1, 0x00, 0x00, 0x04) // lmg %r12,%r15,256(%r15)
	a.emit(0x07, 0xfe)                         // br %r14
}

func (s390xEncoder) ret(a *asm) { a.emit(0x07, 0xfe) }

func (s390xEncoder) movImm(a *asm, r reg, v int64) {
	checkImm32(v)
	n := s390xRegs[r]
	switch {
	case v >= -0x8000 && v <= 0x7fff:
		a.emit(0xa7, n<<4|0x9, byte(v>>8), byte(v)) // lghi %rN,v
	case v >= 0:
		a.emit(0xc0, n<<4|0xf) // llilf %rN,v
		a.code = a.order.AppendUint32(a.code, uint32(v))
	default:
		a.emit(0xc0, n<<4|0x1) // lgfi %rN,v
		a.code = a.order.AppendUint32(a.code, uint32(v))
	}
}

func (s390xEncoder) movReg(a *asm, dst, src reg) {
	a.emit(0xb9, 0x04, 0x00, s390xRegs[dst]<<4|s390xRegs[src]) // lgr %rD,%rS
}

// relativeLong emits a 6-byte RIL instruction with a PC-relative field
// and its relocation.
func (s390xEncoder) relativeLong(a *asm, op0, op1 byte, typ elf.R_390, sym *Symbol, addend int64) int {
	a.emit(op0, op1, 0, 0, 0, 0)
	return a.reloc(a.pc()-4, uint32(typ), sym, addend+2)
}

func (e s390xEncoder) call(a *asm, sym *Symbol) int {
	return e.relativeLong(a, 0xc0, 0xe5, elf.R_390_PLT32DBL, sym, 0) // brasl %r14,sym
}

func (e s390xEncoder) loadAddr(a *asm, r reg, sym *Symbol, addend int64) {
	e.relativeLong(a, 0xc0, s390xRegs[r]<<4|0x0, elf.R_390_PC32DBL, sym, addend) // larl %rN,sym
}

func (e s390xEncoder) loadFrom(a *asm, r reg, width int, sym *Symbol, addend int64) {
	n := s390xRegs[r]
	switch width {
	case 8:
		e.relativeLong(a, 0xc4, n<<4|0x8, elf.R_390_PC32DBL, sym, addend) // lgrl %rN,sym
	case 4:
		e.relativeLong(a, 0xc4, n<<4|0xd, elf.R_390_PC32DBL, sym, addend) // lrl %rN,sym
	default:
		panic(fmt.Sprintf("elftest: s390x load of %d bytes is not supported", width))
	}
}

func checkDisp12(off int64) {
	if off < 0 || off > 0xfff {
		panic(fmt.Sprintf("elftest: s390x displacement %d is not a 12-bit unsigned value", off))
	}
}

func (s390xEncoder) store(a *asm, width int, src, base reg, off int64) {
	checkDisp12(off)
	s, b := s390xRegs[src], s390xRegs[base]
	d0, d1 := b<<4|byte(off>>8), byte(off)
	switch width {
	case 1:
		a.emit(0x42, s<<4, d0, d1) // stc %rS,off(%rB)
	case 4:
		a.emit(0x50, s<<4, d0, d1) // st %rS,off(%rB)
	case 8:
		a.emit(0xe3, s<<4, d0, d1, 0x00, 0x24) // stg %rS,off(%rB)
	default:
		panic(fmt.Sprintf("elftest: s390x store of %d bytes is not supported", width))
	}
}

func (e s390xEncoder) storeImm(a *asm, width int, v uint32, base reg, off int64) {
	checkDisp12(off)
	b := s390xRegs[base]
	d0, d1 := b<<4|byte(off>>8), byte(off)
	switch {
	case width == 1:
		a.emit(0x92, byte(v), d0, d1) // mvi off(%rB),v
	case width == 4 && v <= 0x7fff:
		a.emit(0xe5, 0x4c, d0, d1, byte(v>>8), byte(v)) // mvhi off(%rB),v
	default:
		e.movImm(a, regTemp, int64(v))
		e.store(a, width, regTemp, base, off)
	}
}

func (s390xEncoder) branchZero(a *asm, r reg, l *label) {
	n := s390xRegs[r]
	a.emit(0xb9, 0x02, 0x00, n<<4|n) // ltgr %rN,%rN
	a.branch(l)
	a.emit(0xa7, 0x84, 0, 0) // je label
}

func (s390xEncoder) jump(a *asm, l *label) {
	a.branch(l)
	a.emit(0xa7, 0xf4, 0, 0) // j label
}

func (s390xEncoder) resolve(a *asm, fx fixup) {
	delta := int64(fx.l.offset-fx.at) / 2
	checkRange(delta, 16, "s390x relative branch displacement")
	a.order.PutUint16(a.code[fx.at+2:], uint16(delta))
}

func (s390xEncoder) nop() []byte { return []byte{0x07, 0x07} } // nopr %r7
