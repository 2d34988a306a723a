package elfscan

import (
	"strconv"
	"strings"

	"golang.org/x/arch/riscv64/riscv64asm"
)

// riscv64 integer registers are numbered 0 to 31 for x0 to x31. x0 reads
// as zero and ignores writes.
const (
	riscvZero reg = 0
	riscvRA   reg = 1
	riscvSP   reg = 2
	riscvA0   reg = 10
)

// riscv64ArchModel follows the RISC-V psABI. a0 (x10) returns and is the
// first argument. ra, t0 to t6 and a0 to a7 do not survive a call. Only sp
// is a stack register, because gcc uses s0 as an ordinary saved register
// when it omits the frame pointer.
var riscv64ArchModel = &archModel{
	name:        "riscv64",
	returnReg:   riscvA0,
	argReg:      riscvA0,
	callerSaved: []reg{1, 5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 17, 28, 29, 30, 31},
	stackRegs:   []reg{riscvSP},
	regName:     func(r reg) string { return "x" + strconv.Itoa(int(r)) },
	decode:      decodeRISCV64,
}

// ELF relocation types for RISC-V (RISC-V ELF psABI).
const (
	rRISCVCall       = 18
	rRISCVCallPLT    = 19
	rRISCVPCRelHi20  = 23
	rRISCVPCRelLo12  = 24
	rRISCVPCRelLo12S = 25
	rRISCVHi20       = 26
	rRISCVLo12I      = 27
	rRISCVLo12S      = 28
)

func riscvReg(a riscv64asm.Arg) (reg, bool) {
	if r, ok := a.(riscv64asm.Reg); ok && r <= riscv64asm.X31 {
		return reg(r - riscv64asm.X0), true
	}
	return noReg, false
}

var riscvLoadWidths = map[riscv64asm.Op]int{
	riscv64asm.LD: 8, riscv64asm.LW: 4, riscv64asm.LWU: 4, riscv64asm.LH: 2, riscv64asm.LHU: 2,
	riscv64asm.LB: 1, riscv64asm.LBU: 1,
}

var riscvStoreWidths = map[riscv64asm.Op]int{
	riscv64asm.SD: 8, riscv64asm.SW: 4, riscv64asm.SH: 2, riscv64asm.SB: 1,
}

func decodeRISCV64(c *codeView, at uint64) instr {
	code := c.bytesAt(at)
	inst, err := riscv64asm.Decode(code)
	if err != nil || inst.Len <= 0 {
		size := uint64(2)
		if uint64(len(code)) < size {
			size = uint64(len(code))
		}
		return instr{at: at, size: size}
	}
	d := riscvDecoder{view: c, inst: inst, in: instr{
		at: at, size: uint64(inst.Len), text: riscv64asm.GNUSyntax(inst), next: true, ok: true,
	}}
	d.relocs = c.relocsIn(at, at+uint64(inst.Len))
	d.translate()
	return d.in
}

type riscvDecoder struct {
	view   *codeView
	inst   riscv64asm.Inst
	relocs []codeReloc
	in     instr
}

func (d *riscvDecoder) add(e effect) { d.in.effects = append(d.in.effects, e) }

func (d *riscvDecoder) reloc(types ...uint32) (codeReloc, bool) {
	for _, r := range d.relocs {
		for _, t := range types {
			if r.typ == t {
				return r, true
			}
		}
	}
	return codeReloc{}, false
}

// lowPart returns how an instruction completes an address from a base
// register. A %pcrel_lo relocation names the auipc's label rather than the
// symbol, so it takes whatever upper part the base register holds. A %lo
// relocation names the symbol itself.
func (d *riscvDecoder) lowPart() (sym *symAddr, fromBase, ok bool) {
	if _, ok := d.reloc(rRISCVPCRelLo12, rRISCVPCRelLo12S); ok {
		return nil, true, true
	}
	if r, ok := d.reloc(rRISCVLo12I, rRISCVLo12S); ok {
		if addr := relocAddr(r, 0); addr != nil {
			return addr, false, true
		}
	}
	return nil, false, false
}

func (d *riscvDecoder) translate() {
	inst := d.inst
	switch inst.Op {
	case riscv64asm.AUIPC:
		d.auipc()

	case riscv64asm.LUI:
		dst, ok := riscvReg(inst.Args[0])
		imm, isImm := inst.Args[1].(riscv64asm.Uimm)
		if r, hasReloc := d.reloc(rRISCVHi20); hasReloc && ok {
			if addr := relocAddr(r, 0); addr != nil {
				d.add(effect{kind: effHigh, dst: dst, sym: *addr})
				return
			}
		}
		if ok && isImm {
			d.add(effect{kind: effConst, dst: dst, n: uint64(int64(int32(imm.Imm << 12)))})
			return
		}
		d.generic()

	case riscv64asm.JAL:
		d.jal()

	case riscv64asm.JALR:
		dst, _ := riscvReg(inst.Args[0])
		if dst == riscvZero {
			// ret, or an indirect jump whose targets are not followed.
			d.in.next = false
			return
		}
		d.add(effect{kind: effCall})

	case riscv64asm.BEQ, riscv64asm.BNE, riscv64asm.BLT, riscv64asm.BGE, riscv64asm.BLTU, riscv64asm.BGEU:
		if off, ok := inst.Args[2].(riscv64asm.Simm); ok {
			t := uint64(int64(d.in.at) + int64(off.Imm))
			if d.view.inside(t) {
				d.in.targets = append(d.in.targets, t)
			}
		}

	case riscv64asm.ADDI:
		d.addi()

	case riscv64asm.ADD:
		dst, ok1 := riscvReg(inst.Args[0])
		a, ok2 := riscvReg(inst.Args[1])
		b, ok3 := riscvReg(inst.Args[2])
		switch {
		case ok1 && ok2 && ok3 && a == riscvZero:
			d.add(effect{kind: effCopy, dst: dst, src: b})
		case ok1 && ok2 && ok3 && b == riscvZero:
			d.add(effect{kind: effCopy, dst: dst, src: a})
		default:
			d.generic()
		}

	default:
		if width, ok := riscvLoadWidths[inst.Op]; ok {
			d.loadStore(width, false)
			return
		}
		if width, ok := riscvStoreWidths[inst.Op]; ok {
			d.loadStore(width, true)
			return
		}
		d.generic()
	}
}

// auipc handles the upper half of a pc-relative pair. With a call
// relocation the pair is "call" or "tail": auipc, then jalr through the
// same register, which links ra for a call and x0 for a tail call. The two
// instructions become one.
func (d *riscvDecoder) auipc() {
	dst, ok := riscvReg(d.inst.Args[0])
	if r, isCall := d.reloc(rRISCVCall, rRISCVCallPLT); isCall {
		target := d.view.callTarget(r, r.addend)
		tail := false
		next := d.in.at + d.in.size
		if jalr, err := riscv64asm.Decode(d.view.bytesAt(next)); err == nil && jalr.Op == riscv64asm.JALR && d.view.inside(next) {
			link, _ := riscvReg(jalr.Args[0])
			tail = link == riscvZero
			d.in.size += uint64(jalr.Len)
			d.in.text += "; " + riscv64asm.GNUSyntax(jalr)
		}
		if ok && dst != riscvRA {
			d.add(effect{kind: effClobber, dst: dst})
		}
		d.add(effect{kind: effCall, target: target, tail: tail})
		if tail {
			d.in.next = false
		}
		return
	}
	if r, isHigh := d.reloc(rRISCVPCRelHi20); isHigh && ok {
		if addr := relocAddr(r, 0); addr != nil {
			d.add(effect{kind: effHigh, dst: dst, sym: *addr})
			return
		}
	}
	d.generic()
}

func (d *riscvDecoder) jal() {
	dst, _ := riscvReg(d.inst.Args[0])
	off, ok := d.inst.Args[1].(riscv64asm.Simm)
	if !ok {
		d.generic()
		return
	}
	t := uint64(int64(d.in.at) + int64(off.Imm))
	if dst == riscvZero {
		d.in.next = false
		if d.view.inside(t) {
			d.in.targets = append(d.in.targets, t)
		} else {
			d.add(effect{kind: effCall, target: d.view.localCallTarget(t), tail: true})
		}
		return
	}
	d.add(effect{kind: effCall, target: d.view.localCallTarget(t)})
}

func (d *riscvDecoder) addi() {
	dst, ok1 := riscvReg(d.inst.Args[0])
	src, ok2 := riscvReg(d.inst.Args[1])
	imm, ok3 := d.inst.Args[2].(riscv64asm.Simm)
	if !ok1 || !ok2 || !ok3 {
		d.generic()
		return
	}
	if dst == riscvZero {
		return
	}
	if sym, fromBase, ok := d.lowPart(); ok {
		if fromBase {
			d.add(effect{kind: effLow, dst: dst, src: src, fromBase: true})
		} else {
			d.add(effect{kind: effLow, dst: dst, src: src, sym: *sym})
		}
		return
	}
	if src == riscvZero {
		d.add(effect{kind: effConst, dst: dst, n: uint64(int64(imm.Imm))})
		return
	}
	d.add(effect{kind: effAddImm, dst: dst, src: src, n: uint64(int64(imm.Imm))})
}

func (d *riscvDecoder) loadStore(width int, store bool) {
	r, ok1 := riscvReg(d.inst.Args[0])
	m, ok2 := d.inst.Args[1].(riscv64asm.RegOffset)
	base, ok3 := riscvReg(m.OfsReg)
	if !ok1 || !ok2 || !ok3 {
		d.generic()
		return
	}
	ref := memRef{base: base, disp: int64(m.Ofs.Imm)}
	if base == riscvZero {
		ref.indexed = true
	}
	if sym, fromBase, ok := d.lowPart(); ok {
		if fromBase {
			ref.lowFromBase = true
		} else {
			ref.low = sym
		}
	}
	switch {
	case store && r == riscvZero:
		d.add(effect{kind: effStore, mem: ref, width: width, imm: true})
	case store:
		d.add(effect{kind: effStore, mem: ref, width: width, src: r, srcName: d.inst.Args[0].String()})
	case r != riscvZero:
		d.add(effect{kind: effLoad, dst: r, mem: ref, width: width})
	}
}

// generic handles every other instruction conservatively: atomics and
// store-conditional write an unknown value to memory, and a register first
// operand, the destination in RISC-V order, becomes unknown.
func (d *riscvDecoder) generic() {
	inst := d.inst
	name := inst.Op.String()
	if strings.HasPrefix(name, "AMO") || strings.HasPrefix(name, "SC_") {
		d.add(effect{kind: effStore, mem: memRef{base: noReg, indexed: true}, width: unknownLength, src: noReg})
	}
	if r, ok := riscvReg(inst.Args[0]); ok && r != riscvZero {
		d.add(effect{kind: effClobber, dst: r})
	}
}
