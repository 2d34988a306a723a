package elftest

import (
	"debug/elf"
	"fmt"
)

// x86Encoder writes x86-64 code as gcc does for the kernel's code model
// (-mcmodel=kernel): addresses are sign-extended 32-bit immediates with
// R_X86_64_32S, and calls use R_X86_64_PLT32.
type x86Encoder struct{}

// Register numbers: rax 0, rcx 1, rdx 2, rbx 3, rsi 6, rdi 7.
var x86Regs = [...]byte{
	regRet: 0, regArg0: 7, regArg1: 6, regArg2: 2, regSaved: 3, regTemp: 0,
}

func (x86Encoder) enter(a *asm) { a.emit(0x53) } // push %rbx

func (x86Encoder) leave(a *asm) { a.emit(0x5b, 0xc3) } // pop %rbx; ret

func (x86Encoder) ret(a *asm) { a.emit(0xc3) }

func (x86Encoder) movImm(a *asm, r reg, v int64) {
	checkImm32(v)
	n := x86Regs[r]
	if v == 0 {
		a.emit(0x31, 0xc0|n<<3|n) // xor %r32,%r32
		return
	}
	a.emit(0xb8 + n) // mov $imm32,%r32
	a.code = a.order.AppendUint32(a.code, uint32(v))
}

func (x86Encoder) movReg(a *asm, dst, src reg) {
	a.emit(0x48, 0x89, 0xc0|x86Regs[src]<<3|x86Regs[dst]) // mov %src,%dst
}

func (x86Encoder) call(a *asm, sym *Symbol) int {
	a.emit(0xe8, 0, 0, 0, 0)
	return a.reloc(a.pc()-4, uint32(elf.R_X86_64_PLT32), sym, -4)
}

func (x86Encoder) loadAddr(a *asm, r reg, sym *Symbol, addend int64) {
	a.emit(0x48, 0xc7, 0xc0|x86Regs[r], 0, 0, 0, 0) // mov $sym,%r64
	a.reloc(a.pc()-4, uint32(elf.R_X86_64_32S), sym, addend)
}

func (x86Encoder) loadFrom(a *asm, r reg, width int, sym *Symbol, addend int64) {
	switch width {
	case 8:
		a.emit(0x48)
	case 4:
	default:
		panic(fmt.Sprintf("elftest: x86-64 load of %d bytes is not supported", width))
	}
	a.emit(0x8b, 0x05|x86Regs[r]<<3, 0, 0, 0, 0) // mov sym(%rip),%r
	// The displacement is relative to the end of the instruction, which
	// is where the 4-byte field ends.
	a.reloc(a.pc()-4, uint32(elf.R_X86_64_PC32), sym, addend-4)
}

// modRM emits the ModRM byte and displacement of a [base+off] operand
// with the register field regField. rsp and r8-r15 are never used here.
func (x86Encoder) modRM(a *asm, regField byte, base reg, off int64) {
	b := x86Regs[base]
	switch {
	case off == 0 && b != 5:
		a.emit(regField<<3 | b)
	case off >= -128 && off <= 127:
		a.emit(0x40|regField<<3|b, byte(off))
	default:
		checkRange(off, 32, "x86-64 displacement")
		a.emit(0x80 | regField<<3 | b)
		a.code = a.order.AppendUint32(a.code, uint32(off))
	}
}

func (e x86Encoder) store(a *asm, width int, src, base reg, off int64) {
	switch width {
	case 1:
		if x86Regs[src] >= 4 {
			panic("elftest: x86-64 byte store from a register without a legacy byte name")
		}
		a.emit(0x88)
	case 4:
		a.emit(0x89)
	case 8:
		a.emit(0x48, 0x89)
	default:
		panic(fmt.Sprintf("elftest: x86-64 store of %d bytes is not supported", width))
	}
	e.modRM(a, x86Regs[src], base, off)
}

func (e x86Encoder) storeImm(a *asm, width int, v uint32, base reg, off int64) {
	switch width {
	case 1:
		a.emit(0xc6) // movb $imm8
		e.modRM(a, 0, base, off)
		a.emit(byte(v))
	case 4:
		a.emit(0xc7) // movl $imm32
		e.modRM(a, 0, base, off)
		a.code = a.order.AppendUint32(a.code, v)
	default:
		panic(fmt.Sprintf("elftest: x86-64 immediate store of %d bytes is not supported", width))
	}
}

func (x86Encoder) branchZero(a *asm, r reg, l *label) {
	n := x86Regs[r]
	a.emit(0x48, 0x85, 0xc0|n<<3|n) // test %r,%r
	a.branch(l)
	a.emit(0x74, 0) // je rel8
}

func (x86Encoder) jump(a *asm, l *label) {
	a.branch(l)
	a.emit(0xeb, 0) // jmp rel8
}

func (x86Encoder) resolve(a *asm, fx fixup) {
	rel := int64(fx.l.offset - (fx.at + 2))
	checkRange(rel, 8, "x86-64 short branch displacement")
	a.code[fx.at+1] = byte(rel)
}

func (x86Encoder) nop() []byte { return []byte{0x90} }
