package elfscan

import (
	"debug/elf"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// x86-64 registers are numbered 0 to 15 in encoding order: rax, rcx, rdx,
// rbx, rsp, rbp, rsi, rdi, r8 to r15.
const (
	x86RAX reg = 0
	x86RCX reg = 1
	x86RDX reg = 2
	x86RBX reg = 3
	x86RSP reg = 4
	x86RBP reg = 5
	x86RSI reg = 6
	x86RDI reg = 7
	x86R11 reg = 11
)

var x86RegNames = [16]string{"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"}

// x86ArchModel follows the System V AMD64 calling convention the kernel
// uses: rax returns, rdi is the first argument, and rax, rcx, rdx, rsi, rdi
// and r8 to r11 do not survive a call. The Debian kernels do not keep a
// frame pointer (ORC unwinder), so only rsp is a stack register.
var x86ArchModel = &archModel{
	name:        "x86_64",
	returnReg:   x86RAX,
	argReg:      x86RDI,
	callerSaved: []reg{0, 1, 2, 6, 7, 8, 9, 10, 11},
	stackRegs:   []reg{x86RSP},
	regName: func(r reg) string {
		if r >= 0 && int(r) < len(x86RegNames) {
			return x86RegNames[r]
		}
		return "?"
	},
	decode: decodeX86,
}

// x86Family maps a general-purpose register of any width to its 64-bit
// register. ok is false for other registers and for the legacy high-byte
// registers ah, ch, dh and bh, whose contents are not the low bits.
func x86Family(r x86asm.Reg) (family reg, width int, ok bool) {
	switch {
	case r >= x86asm.AL && r <= x86asm.BL:
		return reg(r - x86asm.AL), 1, true
	case r >= x86asm.AH && r <= x86asm.BH:
		return reg(r - x86asm.AH), 1, false
	case r >= x86asm.SPB && r <= x86asm.R15B:
		return reg(r-x86asm.SPB) + 4, 1, true
	case r >= x86asm.AX && r <= x86asm.R15W:
		return reg(r - x86asm.AX), 2, true
	case r >= x86asm.EAX && r <= x86asm.R15L:
		return reg(r - x86asm.EAX), 4, true
	case r >= x86asm.RAX && r <= x86asm.R15:
		return reg(r - x86asm.RAX), 8, true
	}
	return noReg, 0, false
}

// x86ImplicitWrites lists the registers that instructions write without
// naming them as operands. Examples are rax and rdx for MUL and DIV, rcx
// for LOOP, rsi and rdi for the string instructions, and rsp for PUSH and
// POP.
var x86ImplicitWrites = map[x86asm.Op][]reg{
	x86asm.MUL: {x86RAX, x86RDX}, x86asm.IMUL: {x86RAX, x86RDX}, x86asm.DIV: {x86RAX, x86RDX}, x86asm.IDIV: {x86RAX, x86RDX},
	x86asm.CQO: {x86RDX}, x86asm.CDQ: {x86RDX}, x86asm.CWD: {x86RDX},
	x86asm.CDQE: {x86RAX}, x86asm.CWDE: {x86RAX}, x86asm.CBW: {x86RAX},
	x86asm.CPUID: {x86RAX, x86RBX, x86RCX, x86RDX}, x86asm.RDTSC: {x86RAX, x86RDX},
	x86asm.RDTSCP: {x86RAX, x86RCX, x86RDX}, x86asm.RDMSR: {x86RAX, x86RDX}, x86asm.XGETBV: {x86RAX, x86RDX},
	x86asm.CMPXCHG: {x86RAX}, x86asm.CMPXCHG8B: {x86RAX, x86RDX}, x86asm.CMPXCHG16B: {x86RAX, x86RDX},
	x86asm.LODSB: {x86RAX, x86RSI, x86RCX}, x86asm.LODSW: {x86RAX, x86RSI, x86RCX},
	x86asm.LODSD: {x86RAX, x86RSI, x86RCX}, x86asm.LODSQ: {x86RAX, x86RSI, x86RCX},
	x86asm.SCASB: {x86RDI, x86RCX}, x86asm.SCASW: {x86RDI, x86RCX}, x86asm.SCASD: {x86RDI, x86RCX}, x86asm.SCASQ: {x86RDI, x86RCX},
	x86asm.CMPSB: {x86RSI, x86RDI, x86RCX}, x86asm.CMPSW: {x86RSI, x86RDI, x86RCX},
	x86asm.CMPSD: {x86RSI, x86RDI, x86RCX}, x86asm.CMPSQ: {x86RSI, x86RDI, x86RCX},
	x86asm.STOSB: {x86RDI, x86RCX}, x86asm.STOSW: {x86RDI, x86RCX}, x86asm.STOSD: {x86RDI, x86RCX}, x86asm.STOSQ: {x86RDI, x86RCX},
	x86asm.MOVSB: {x86RSI, x86RDI, x86RCX}, x86asm.MOVSW: {x86RSI, x86RDI, x86RCX},
	x86asm.MOVSD: {x86RSI, x86RDI, x86RCX}, x86asm.MOVSQ: {x86RSI, x86RDI, x86RCX},
	x86asm.LOOP: {x86RCX}, x86asm.LOOPE: {x86RCX}, x86asm.LOOPNE: {x86RCX},
	x86asm.SYSCALL: {x86RCX, x86R11},
	x86asm.LEAVE:   {x86RSP, x86RBP}, x86asm.ENTER: {x86RSP, x86RBP},
	x86asm.PUSH: {x86RSP}, x86asm.PUSHF: {x86RSP}, x86asm.PUSHFQ: {x86RSP},
	x86asm.POP: {x86RSP}, x86asm.POPF: {x86RSP}, x86asm.POPFQ: {x86RSP},
}

// x86SwapOps write their source register operand too.
var x86SwapOps = map[x86asm.Op]bool{x86asm.XCHG: true, x86asm.XADD: true}

// x86Readers name their first operand without writing it.
var x86Readers = map[x86asm.Op]bool{
	x86asm.CMP: true, x86asm.TEST: true, x86asm.BT: true, x86asm.PUSH: true, x86asm.NOP: true,
	x86asm.PREFETCHNTA: true, x86asm.PREFETCHT0: true, x86asm.PREFETCHT1: true, x86asm.PREFETCHT2: true,
	x86asm.PREFETCHW: true, x86asm.CLFLUSH: true, x86asm.LFENCE: true, x86asm.MFENCE: true,
	x86asm.SFENCE: true, x86asm.PAUSE: true,
}

// x86StringStores write memory at rdi, such as an inlined memset or memcpy
// (rep stos, rep movs). The length is unknown.
var x86StringStores = map[x86asm.Op]bool{
	x86asm.STOSB: true, x86asm.STOSW: true, x86asm.STOSD: true, x86asm.STOSQ: true,
	x86asm.MOVSB: true, x86asm.MOVSW: true, x86asm.MOVSD: true, x86asm.MOVSQ: true,
}

// unknownLength is the width given to stores of unknown length.
const unknownLength = 1 << 30

// x86 relocation types that put an address into an instruction
// (arch/x86/include/asm/elf.h numbering, as in debug/elf).
var (
	x86PCRelative = map[uint32]bool{uint32(elf.R_X86_64_PC32): true, uint32(elf.R_X86_64_PLT32): true}
	x86Absolute   = map[uint32]bool{uint32(elf.R_X86_64_32): true, uint32(elf.R_X86_64_32S): true, uint32(elf.R_X86_64_64): true}
)

// endbr64 is the IBT landing pad that starts functions in kernels built
// with CONFIG_X86_KERNEL_IBT.
var endbr64 = []byte{0xf3, 0x0f, 0x1e, 0xfa}

func decodeX86(c *codeView, at uint64) instr {
	code := c.bytesAt(at)
	if len(code) >= 4 && string(code[:4]) == string(endbr64) {
		return instr{at: at, size: 4, text: "endbr64", next: true, ok: true}
	}
	inst, err := x86asm.Decode(code, 64)
	if err != nil || inst.Len <= 0 {
		return instr{at: at, size: 1}
	}

	d := x86Decoder{view: c, inst: inst, in: instr{
		at:     at,
		size:   uint64(inst.Len),
		format: func() string { return x86asm.GNUSyntax(inst, at, nil) },
		next:   true,
		ok:     true,
	}}
	d.relocs = c.relocsIn(at, at+uint64(inst.Len))
	d.translate()
	return d.in
}

type x86Decoder struct {
	view   *codeView
	inst   x86asm.Inst
	relocs []codeReloc
	in     instr
}

func (d *x86Decoder) add(e effect) { d.in.effects = append(d.in.effects, e) }

func (d *x86Decoder) nextIP() uint64 { return d.in.at + d.in.size }

// relocAtPCRel returns the relocation on the instruction's pc-relative
// field (a branch displacement or a rip-relative operand).
func (d *x86Decoder) relocAtPCRel() (codeReloc, bool) {
	if d.inst.PCRel == 0 {
		return codeReloc{}, false
	}
	field := d.in.at + uint64(d.inst.PCRelOff)
	for _, r := range d.relocs {
		if r.offset == field {
			return r, true
		}
	}
	return codeReloc{}, false
}

// relocAbsolute returns the absolute relocation (R_X86_64_32, 32S or 64)
// inside the instruction. It sits on an immediate or on the displacement
// of a memory operand without a base register.
func (d *x86Decoder) relocAbsolute() (codeReloc, bool) {
	for _, r := range d.relocs {
		if x86Absolute[r.typ] {
			return r, true
		}
	}
	return codeReloc{}, false
}

func (d *x86Decoder) translate() {
	inst := d.inst
	switch inst.Op {
	case x86asm.CALL:
		d.call(false)
		return
	case x86asm.JMP:
		d.jump()
		return
	case x86asm.JA, x86asm.JAE, x86asm.JB, x86asm.JBE, x86asm.JCXZ, x86asm.JE, x86asm.JECXZ,
		x86asm.JG, x86asm.JGE, x86asm.JL, x86asm.JLE, x86asm.JNE, x86asm.JNO, x86asm.JNP,
		x86asm.JNS, x86asm.JO, x86asm.JP, x86asm.JRCXZ, x86asm.JS,
		x86asm.LOOP, x86asm.LOOPE, x86asm.LOOPNE:
		d.conditional()
		for _, r := range x86ImplicitWrites[inst.Op] {
			d.add(effect{kind: effClobber, dst: r})
		}
		return
	case x86asm.RET, x86asm.LRET, x86asm.IRET, x86asm.IRETD, x86asm.IRETQ,
		x86asm.UD0, x86asm.UD1, x86asm.UD2, x86asm.HLT, x86asm.INT:
		d.in.next = false
		return
	case x86asm.MOV:
		d.move()
		return
	case x86asm.LEA:
		d.lea()
		return
	case x86asm.XOR, x86asm.SUB:
		if a, ok := inst.Args[0].(x86asm.Reg); ok && inst.Args[1] == a {
			if r, _, ok := x86Family(a); ok {
				d.add(effect{kind: effConst, dst: r})
				return
			}
		}
	}
	d.generic()
}

// call translates a direct or indirect call, or a tail call when tail is
// set.
func (d *x86Decoder) call(tail bool) {
	target := ""
	if rel, ok := d.inst.Args[0].(x86asm.Rel); ok {
		if r, ok := d.relocAtPCRel(); ok {
			target = d.view.callTarget(r, r.addend+int64(d.nextIP()-r.offset))
		} else {
			target = d.view.localCallTarget(uint64(int64(d.nextIP()) + int64(rel)))
		}
	}
	d.add(effect{kind: effCall, target: target, tail: tail})
	if tail {
		d.in.next = false
	}
}

// x86ReturnThunk replaces ret in kernels built with CONFIG_RETHUNK
// (5.19+): jmp __x86_return_thunk.
const x86ReturnThunk = "__x86_return_thunk"

func (d *x86Decoder) jump() {
	rel, ok := d.inst.Args[0].(x86asm.Rel)
	if !ok {
		// An indirect jump: a switch table or an indirect tail call. The
		// targets are not followed.
		d.in.next = false
		return
	}
	if r, ok := d.relocAtPCRel(); ok {
		target := d.view.callTarget(r, r.addend+int64(d.nextIP()-r.offset))
		d.in.next = false
		if target == x86ReturnThunk {
			return
		}
		d.add(effect{kind: effCall, target: target, tail: true})
		return
	}
	dest := uint64(int64(d.nextIP()) + int64(rel))
	d.in.next = false
	if d.view.inside(dest) {
		d.in.targets = append(d.in.targets, dest)
		return
	}
	d.add(effect{kind: effCall, target: d.view.localCallTarget(dest), tail: true})
}

func (d *x86Decoder) conditional() {
	rel, ok := d.inst.Args[0].(x86asm.Rel)
	if !ok {
		return
	}
	if r, ok := d.relocAtPCRel(); ok {
		// A conditional tail call. Its effects also reach the fall-through
		// path, which only loses facts there.
		target := d.view.callTarget(r, r.addend+int64(d.nextIP()-r.offset))
		if target != x86ReturnThunk {
			d.add(effect{kind: effCall, target: target, tail: true})
		}
		return
	}
	dest := uint64(int64(d.nextIP()) + int64(rel))
	if d.view.inside(dest) {
		d.in.targets = append(d.in.targets, dest)
	}
}

// memRef translates a memory operand. Rip-relative and absolute operands
// need a relocation to name their address.
func (d *x86Decoder) memRef(m x86asm.Mem) memRef {
	ref := memRef{base: noReg, disp: m.Disp}
	if m.Segment != 0 {
		// gs-relative per-CPU data is never a kmalloc result.
		ref.indexed = true
		return ref
	}
	if m.Index != 0 {
		ref.indexed = true
	}
	switch {
	case m.Base == x86asm.RIP:
		if r, ok := d.relocAtPCRel(); ok && x86PCRelative[r.typ] {
			// The field holds S + A - P; the operand address is the next
			// instruction's address plus the field.
			ref.abs = relocAddr(r, int64(d.nextIP()-r.offset))
		} else {
			ref.indexed = true
		}
	case m.Base == 0:
		if r, ok := d.relocAbsolute(); ok && !ref.indexed {
			ref.abs = relocAddr(r, m.Disp)
		} else {
			ref.indexed = true
		}
	default:
		base, width, ok := x86Family(m.Base)
		if !ok || width != 8 {
			ref.indexed = true
		}
		ref.base = base
	}
	if ref.abs == nil && ref.base == noReg {
		ref.indexed = true
	}
	return ref
}

func (d *x86Decoder) move() {
	inst := d.inst
	switch dst := inst.Args[0].(type) {
	case x86asm.Reg:
		r, width, ok := x86Family(dst)
		if !ok {
			d.generic()
			return
		}
		if width < 4 {
			// A partial write keeps the upper bits.
			d.add(effect{kind: effClobber, dst: r})
			return
		}
		switch src := inst.Args[1].(type) {
		case x86asm.Reg:
			s, sw, sok := x86Family(src)
			if sok && width == 8 && sw == 8 {
				d.add(effect{kind: effCopy, dst: r, src: s})
				return
			}
		case x86asm.Imm:
			if rel, ok := d.relocAbsolute(); ok {
				if addr := relocAddr(rel, 0); addr != nil && width == 8 {
					d.add(effect{kind: effAddr, dst: r, sym: *addr})
					return
				}
				break
			}
			switch width {
			case 8:
				d.add(effect{kind: effConst, dst: r, n: uint64(src)})
				return
			case 4:
				d.add(effect{kind: effConst, dst: r, n: uint64(uint32(src))})
				return
			}
		case x86asm.Mem:
			if width == 8 {
				d.add(effect{kind: effLoad, dst: r, mem: d.memRef(src), width: 8})
				return
			}
		}
		d.add(effect{kind: effClobber, dst: r})

	case x86asm.Mem:
		store := effect{kind: effStore, mem: d.memRef(dst), width: inst.MemBytes, src: noReg}
		switch src := inst.Args[1].(type) {
		case x86asm.Reg:
			if s, _, ok := x86Family(src); ok {
				store.src = s
				store.srcName = "%" + strings.ToLower(src.String())
			}
		case x86asm.Imm:
			if _, ok := d.relocAbsolute(); !ok {
				store.imm = true
				store.n = uint64(src)
			}
		}
		d.add(store)

	default:
		d.generic()
	}
}

func (d *x86Decoder) lea() {
	dst, ok := d.inst.Args[0].(x86asm.Reg)
	if !ok {
		d.generic()
		return
	}
	r, width, ok := x86Family(dst)
	if !ok {
		d.generic()
		return
	}
	m, ok := d.inst.Args[1].(x86asm.Mem)
	if !ok || width != 8 {
		d.add(effect{kind: effClobber, dst: r})
		return
	}
	ref := d.memRef(m)
	switch {
	case ref.abs != nil:
		d.add(effect{kind: effAddr, dst: r, sym: *ref.abs})
	case !ref.indexed && ref.base != noReg:
		d.add(effect{kind: effAddImm, dst: r, src: ref.base, n: uint64(ref.disp)})
	default:
		d.add(effect{kind: effClobber, dst: r})
	}
}

// generic handles every other instruction conservatively: a register
// destination becomes unknown, a memory destination receives an unknown
// value, and implicit register writes are forgotten.
func (d *x86Decoder) generic() {
	inst := d.inst
	if x86StringStores[inst.Op] {
		d.add(effect{kind: effStore, mem: memRef{base: x86RDI}, width: unknownLength, src: noReg})
	}
	for _, r := range x86ImplicitWrites[inst.Op] {
		d.add(effect{kind: effClobber, dst: r})
	}
	if x86SwapOps[inst.Op] {
		for _, a := range inst.Args {
			if ar, ok := a.(x86asm.Reg); ok {
				if r, _, _ := x86Family(ar); r != noReg {
					d.add(effect{kind: effClobber, dst: r})
				}
			}
		}
	}
	if x86Readers[inst.Op] {
		return
	}
	switch dst := inst.Args[0].(type) {
	case x86asm.Reg:
		if r, _, _ := x86Family(dst); r != noReg {
			d.add(effect{kind: effClobber, dst: r})
		}
	case x86asm.Mem:
		d.add(effect{kind: effStore, mem: d.memRef(dst), width: inst.MemBytes, src: noReg})
	}
}
