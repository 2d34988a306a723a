package elfscan

import (
	"encoding/binary"
	"strconv"
	"strings"

	"golang.org/x/arch/ppc64/ppc64asm"
)

// ppc64 general-purpose registers are numbered 0 to 31.
const (
	ppc64R0 reg = 0
	ppc64R1 reg = 1
	ppc64R3 reg = 3
)

// ppc64ArchModel follows the 64-bit ELF ABI (v1 and v2): r3 returns and is
// the first argument, r0 and r3 to r12 do not survive a call, and r1 is
// the stack pointer. r2, the TOC pointer, is restored after a call.
var ppc64ArchModel = &archModel{
	name:        "ppc64",
	returnReg:   ppc64R3,
	argReg:      ppc64R3,
	callerSaved: []reg{0, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
	stackRegs:   []reg{ppc64R1},
	regName:     func(r reg) string { return "r" + strconv.Itoa(int(r)) },
	decode:      decodePPC64,
}

// ELF relocation types for 64-bit PowerPC (include/uapi/linux/elf.h
// numbering, as in debug/elf).
const (
	rPPC64Rel24     = 10
	rPPC64TOC16Lo   = 48
	rPPC64TOC16Ha   = 50
	rPPC64TOC16LoDS = 64
)

func ppc64Reg(a ppc64asm.Arg) (reg, bool) {
	if r, ok := a.(ppc64asm.Reg); ok && r >= ppc64asm.R0 && r <= ppc64asm.R31 {
		return reg(r - ppc64asm.R0), true
	}
	return noReg, false
}

// ppc64Widths gives the access width of the D-form loads and stores.
var ppc64Widths = map[ppc64asm.Op]int{
	ppc64asm.LD: 8, ppc64asm.LDU: 8, ppc64asm.STD: 8, ppc64asm.STDU: 8,
	ppc64asm.LWZ: 4, ppc64asm.LWZU: 4, ppc64asm.LWA: 4, ppc64asm.STW: 4, ppc64asm.STWU: 4,
	ppc64asm.LHZ: 2, ppc64asm.LHZU: 2, ppc64asm.LHA: 2, ppc64asm.LHAU: 2, ppc64asm.STH: 2, ppc64asm.STHU: 2,
	ppc64asm.LBZ: 1, ppc64asm.LBZU: 1, ppc64asm.STB: 1, ppc64asm.STBU: 1,
}

var ppc64Stores = map[ppc64asm.Op]bool{
	ppc64asm.STD: true, ppc64asm.STDU: true, ppc64asm.STW: true, ppc64asm.STWU: true,
	ppc64asm.STH: true, ppc64asm.STHU: true, ppc64asm.STB: true, ppc64asm.STBU: true,
}

// ppc64Updates write the effective address back to the base register.
var ppc64Updates = map[ppc64asm.Op]bool{
	ppc64asm.LDU: true, ppc64asm.LWZU: true, ppc64asm.LHZU: true, ppc64asm.LHAU: true, ppc64asm.LBZU: true,
	ppc64asm.STDU: true, ppc64asm.STWU: true, ppc64asm.STHU: true, ppc64asm.STBU: true,
}

func decodePPC64(c *codeView, at uint64) instr {
	code := c.bytesAt(at)
	order := c.fn.arch.ByteOrder
	if order == nil {
		order = binary.BigEndian
	}
	inst, err := ppc64asm.Decode(code, order)
	if err != nil || inst.Len <= 0 {
		size := uint64(4)
		if uint64(len(code)) < size {
			size = uint64(len(code))
		}
		return instr{at: at, size: size}
	}
	d := ppc64Decoder{view: c, inst: inst, in: instr{
		at: at, size: uint64(inst.Len), text: ppc64asm.GNUSyntax(inst, at), next: true, ok: true,
	}}
	d.relocs = c.relocsIn(at, at+uint64(inst.Len))
	d.translate()
	return d.in
}

type ppc64Decoder struct {
	view   *codeView
	inst   ppc64asm.Inst
	relocs []codeReloc
	in     instr
}

func (d *ppc64Decoder) add(e effect) { d.in.effects = append(d.in.effects, e) }

func (d *ppc64Decoder) reloc(types ...uint32) *symAddr {
	for _, r := range d.relocs {
		for _, t := range types {
			if r.typ == t {
				return relocAddr(r, 0)
			}
		}
	}
	return nil
}

func (d *ppc64Decoder) callReloc() (codeReloc, bool) {
	for _, r := range d.relocs {
		if r.typ == rPPC64Rel24 {
			return r, true
		}
	}
	return codeReloc{}, false
}

func (d *ppc64Decoder) branchTarget() (uint64, bool) {
	for _, a := range d.inst.Args {
		if rel, ok := a.(ppc64asm.PCRel); ok {
			return uint64(int64(d.in.at) + int64(rel)), true
		}
	}
	return 0, false
}

// ppc64BranchAlways is the BO field value of an unconditional branch.
const ppc64BranchAlways = 20

// branchOptions returns the BO field of a conditional branch.
func (d *ppc64Decoder) branchOptions() int64 {
	if bo, ok := d.inst.Args[0].(ppc64asm.Imm); ok {
		return int64(bo)
	}
	return 0
}

func (d *ppc64Decoder) translate() {
	inst := d.inst
	switch inst.Op {
	case ppc64asm.BL:
		target := ""
		if r, ok := d.callReloc(); ok {
			target = d.view.callTarget(r, r.addend)
		} else if t, ok := d.branchTarget(); ok {
			target = d.view.localCallTarget(t)
		}
		d.add(effect{kind: effCall, target: target})

	case ppc64asm.B:
		d.in.next = false
		if r, ok := d.callReloc(); ok {
			d.add(effect{kind: effCall, target: d.view.callTarget(r, r.addend), tail: true})
			return
		}
		if t, ok := d.branchTarget(); ok {
			if d.view.inside(t) {
				d.in.targets = append(d.in.targets, t)
			} else {
				d.add(effect{kind: effCall, target: d.view.localCallTarget(t), tail: true})
			}
		}

	case ppc64asm.BC:
		if t, ok := d.branchTarget(); ok && d.view.inside(t) {
			d.in.targets = append(d.in.targets, t)
		}
		if d.branchOptions()&ppc64BranchAlways == ppc64BranchAlways {
			d.in.next = false
		}

	case ppc64asm.BCLR, ppc64asm.BCCTR, ppc64asm.BCTAR:
		if d.branchOptions()&ppc64BranchAlways == ppc64BranchAlways {
			d.in.next = false
		}

	case ppc64asm.BCLRL, ppc64asm.BCCTRL, ppc64asm.BLA, ppc64asm.BCL:
		d.add(effect{kind: effCall})

	case ppc64asm.BA, ppc64asm.TW, ppc64asm.TD:
		d.in.next = false

	case ppc64asm.NOP, ppc64asm.TWI, ppc64asm.TDI:

	case ppc64asm.LI:
		dst, ok := ppc64Reg(inst.Args[0])
		if imm, isImm := inst.Args[1].(ppc64asm.Imm); ok && isImm {
			d.add(effect{kind: effConst, dst: dst, n: uint64(int64(imm))})
			return
		}
		d.generic()

	case ppc64asm.OR, ppc64asm.ORCC:
		dst, ok1 := ppc64Reg(inst.Args[0])
		a, ok2 := ppc64Reg(inst.Args[1])
		b, ok3 := ppc64Reg(inst.Args[2])
		if ok1 && ok2 && ok3 && a == b {
			// mr and mr.
			d.add(effect{kind: effCopy, dst: dst, src: a})
			return
		}
		d.generic()

	case ppc64asm.ADDIS:
		dst, ok := ppc64Reg(inst.Args[0])
		if high := d.reloc(rPPC64TOC16Ha); high != nil && ok {
			d.add(effect{kind: effHigh, dst: dst, sym: *high})
			return
		}
		d.generic()

	case ppc64asm.ADDI:
		dst, ok1 := ppc64Reg(inst.Args[0])
		src, ok2 := ppc64Reg(inst.Args[1])
		imm, ok3 := inst.Args[2].(ppc64asm.Imm)
		switch {
		case !ok1 || !ok2 || !ok3:
			d.generic()
		case d.reloc(rPPC64TOC16Lo) != nil:
			d.add(effect{kind: effLow, dst: dst, src: src, sym: *d.reloc(rPPC64TOC16Lo)})
		case src == ppc64R0:
			// addi with ra = 0 adds to the literal 0, not to r0.
			d.add(effect{kind: effConst, dst: dst, n: uint64(int64(imm))})
		default:
			d.add(effect{kind: effAddImm, dst: dst, src: src, n: uint64(int64(imm))})
		}

	default:
		if _, ok := ppc64Widths[inst.Op]; ok {
			d.loadStore()
			return
		}
		d.generic()
	}
}

// loadStore handles D-form loads and stores: rt, offset(ra).
func (d *ppc64Decoder) loadStore() {
	inst := d.inst
	width := ppc64Widths[inst.Op]
	rt, ok1 := ppc64Reg(inst.Args[0])
	off, ok2 := inst.Args[1].(ppc64asm.Offset)
	base, ok3 := ppc64Reg(inst.Args[2])
	if !ok1 || !ok2 || !ok3 {
		d.generic()
		return
	}
	ref := memRef{base: base, disp: int64(off)}
	if low := d.reloc(rPPC64TOC16Lo, rPPC64TOC16LoDS); low != nil {
		ref.low = low
	}
	if base == ppc64R0 && !ppc64Updates[inst.Op] {
		// ra = 0 means address 0 plus the offset.
		ref.indexed = true
	}

	if ppc64Stores[inst.Op] {
		d.add(effect{kind: effStore, mem: ref, width: width, src: rt, srcName: inst.Args[0].String()})
	} else {
		d.add(effect{kind: effLoad, dst: rt, mem: ref, width: width})
	}
	if ppc64Updates[inst.Op] {
		d.add(effect{kind: effAddImm, dst: base, src: base, n: uint64(int64(off))})
	}
}

// generic handles every other instruction conservatively. Stores of other
// forms (indexed, conditional, floating point) write an unknown value at an
// address the analysis does not follow. Other instructions make a register
// first operand unknown, since Power ISA lists the destination first.
// Compares are unaffected, because their first operand is a condition
// register field.
func (d *ppc64Decoder) generic() {
	inst := d.inst
	name := inst.Op.String()
	if strings.HasPrefix(name, "st") || strings.HasPrefix(name, "pst") {
		d.add(effect{kind: effStore, mem: memRef{base: noReg, indexed: true}, width: unknownLength, src: noReg})
		// Update forms write the base back; the base is the last register.
		if strings.Contains(name, "u") {
			for _, a := range inst.Args[1:] {
				if r, ok := ppc64Reg(a); ok {
					d.add(effect{kind: effClobber, dst: r})
				}
			}
		}
		return
	}
	if r, ok := ppc64Reg(inst.Args[0]); ok {
		d.add(effect{kind: effClobber, dst: r})
	}
	if strings.HasPrefix(name, "l") && strings.Contains(name, "u") {
		// Load with update writes the base too.
		for _, a := range inst.Args[1:] {
			if r, ok := ppc64Reg(a); ok {
				d.add(effect{kind: effClobber, dst: r})
			}
		}
	}
}
