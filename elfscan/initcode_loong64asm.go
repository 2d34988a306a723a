package elfscan

import (
	"strconv"
	"strings"

	"golang.org/x/arch/loong64/loong64asm"
)

// loongarch64 general-purpose registers are numbered 0 to 31 for r0 to r31.
// r0 ($zero) reads as zero and ignores writes.
const (
	loongZero reg = 0
	loongSP   reg = 3
	loongA0   reg = 4
)

// loong64ArchModel follows the LoongArch ELF psABI. a0 (r4) returns and is
// the first argument. ra (r1), a0 to a7 (r4 to r11) and t0 to t8 (r12 to
// r20) do not survive a call. Only sp (r3) is a stack register, because
// clang uses fp (r22) as an ordinary saved register.
var loong64ArchModel = &archModel{
	name:        "loongarch64",
	returnReg:   loongA0,
	argReg:      loongA0,
	callerSaved: []reg{1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20},
	stackRegs:   []reg{loongSP},
	regName:     func(r reg) string { return "r" + strconv.Itoa(int(r)) },
	decode:      decodeLoong64,
}

// ELF relocation types for LoongArch (LoongArch ELF psABI).
const (
	rLarchB26       = 66
	rLarchPCALAHi20 = 71
	rLarchPCALALo12 = 72
)

func loongReg(a loong64asm.Arg) (reg, bool) {
	if r, ok := a.(loong64asm.Reg); ok && r <= loong64asm.R31 {
		return reg(r - loong64asm.R0), true
	}
	return noReg, false
}

var loongLoadWidths = map[loong64asm.Op]int{
	loong64asm.LD_D: 8, loong64asm.LD_W: 4, loong64asm.LD_WU: 4, loong64asm.LD_H: 2, loong64asm.LD_HU: 2,
	loong64asm.LD_B: 1, loong64asm.LD_BU: 1,
}

var loongStoreWidths = map[loong64asm.Op]int{
	loong64asm.ST_D: 8, loong64asm.ST_W: 4, loong64asm.ST_H: 2, loong64asm.ST_B: 1,
}

func decodeLoong64(c *codeView, at uint64) instr {
	code := c.bytesAt(at)
	if len(code) < 4 {
		return instr{at: at, size: uint64(len(code))}
	}
	inst, err := loong64asm.Decode(code)
	if err != nil {
		return instr{at: at, size: 4}
	}
	d := loongDecoder{view: c, inst: inst, in: instr{
		at: at, size: 4, text: loong64asm.GNUSyntax(inst), next: true, ok: true,
	}}
	d.relocs = c.relocsIn(at, at+4)
	d.translate()
	return d.in
}

type loongDecoder struct {
	view   *codeView
	inst   loong64asm.Inst
	relocs []codeReloc
	in     instr
}

func (d *loongDecoder) add(e effect) { d.in.effects = append(d.in.effects, e) }

func (d *loongDecoder) reloc(typ uint32) (codeReloc, bool) {
	for _, r := range d.relocs {
		if r.typ == typ {
			return r, true
		}
	}
	return codeReloc{}, false
}

// branchTarget returns the target of the instruction's pc-relative
// operand, which loong64asm gives in bytes.
func (d *loongDecoder) branchTarget() (uint64, bool) {
	for _, a := range d.inst.Args {
		if off, ok := a.(loong64asm.OffsetSimm); ok {
			return uint64(int64(d.in.at) + int64(off.Imm)), true
		}
	}
	return 0, false
}

func (d *loongDecoder) translate() {
	inst := d.inst
	switch inst.Op {
	case loong64asm.BL:
		target := ""
		if r, ok := d.reloc(rLarchB26); ok {
			target = d.view.callTarget(r, r.addend)
		} else if t, ok := d.branchTarget(); ok {
			target = d.view.localCallTarget(t)
		}
		d.add(effect{kind: effCall, target: target})

	case loong64asm.B:
		d.in.next = false
		if r, ok := d.reloc(rLarchB26); ok {
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

	case loong64asm.JIRL:
		if dst, _ := loongReg(inst.Args[0]); dst == loongZero {
			// ret, or an indirect jump whose targets are not followed.
			d.in.next = false
			return
		}
		d.add(effect{kind: effCall})

	case loong64asm.BEQ, loong64asm.BNE, loong64asm.BLT, loong64asm.BGE, loong64asm.BLTU, loong64asm.BGEU,
		loong64asm.BEQZ, loong64asm.BNEZ, loong64asm.BCEQZ, loong64asm.BCNEZ:
		if t, ok := d.branchTarget(); ok && d.view.inside(t) {
			d.in.targets = append(d.in.targets, t)
		}

	case loong64asm.OR:
		dst, ok1 := loongReg(inst.Args[0])
		a, ok2 := loongReg(inst.Args[1])
		b, ok3 := loongReg(inst.Args[2])
		switch {
		case ok1 && ok2 && ok3 && b == loongZero:
			d.add(effect{kind: effCopy, dst: dst, src: a})
		case ok1 && ok2 && ok3 && a == loongZero:
			d.add(effect{kind: effCopy, dst: dst, src: b})
		default:
			d.generic()
		}

	case loong64asm.ORI:
		dst, ok1 := loongReg(inst.Args[0])
		src, ok2 := loongReg(inst.Args[1])
		imm, ok3 := inst.Args[2].(loong64asm.Uimm)
		switch {
		case ok1 && ok2 && ok3 && src == loongZero:
			d.add(effect{kind: effConst, dst: dst, n: uint64(imm.Imm)})
		case ok1 && ok2 && ok3 && imm.Imm == 0:
			d.add(effect{kind: effCopy, dst: dst, src: src})
		default:
			d.generic()
		}

	case loong64asm.ADDI_D, loong64asm.ADDI_W:
		d.addi()

	case loong64asm.PCALAU12I:
		dst, ok := loongReg(inst.Args[0])
		if r, hasReloc := d.reloc(rLarchPCALAHi20); hasReloc && ok {
			if addr := relocAddr(r, 0); addr != nil {
				d.add(effect{kind: effHigh, dst: dst, sym: *addr})
				return
			}
		}
		d.generic()

	case loong64asm.LU12I_W:
		dst, ok := loongReg(inst.Args[0])
		if imm, isImm := inst.Args[1].(loong64asm.Simm32); ok && isImm {
			d.add(effect{kind: effConst, dst: dst, n: uint64(int64(imm.Imm) << 12)})
			return
		}
		d.generic()

	default:
		if width, ok := loongLoadWidths[inst.Op]; ok {
			d.loadStore(width, false)
			return
		}
		if width, ok := loongStoreWidths[inst.Op]; ok {
			d.loadStore(width, true)
			return
		}
		d.generic()
	}
}

func (d *loongDecoder) addi() {
	inst := d.inst
	dst, ok1 := loongReg(inst.Args[0])
	src, ok2 := loongReg(inst.Args[1])
	imm, ok3 := inst.Args[2].(loong64asm.Simm16)
	if !ok1 || !ok2 || !ok3 {
		d.generic()
		return
	}
	if dst == loongZero {
		return
	}
	if r, ok := d.reloc(rLarchPCALALo12); ok && inst.Op == loong64asm.ADDI_D {
		if addr := relocAddr(r, 0); addr != nil {
			d.add(effect{kind: effLow, dst: dst, src: src, sym: *addr})
			return
		}
	}
	switch {
	case src == loongZero:
		// addi.w sign-extends its 32-bit result, as addi.d does.
		d.add(effect{kind: effConst, dst: dst, n: uint64(int64(imm.Imm))})
	case inst.Op == loong64asm.ADDI_D:
		d.add(effect{kind: effAddImm, dst: dst, src: src, n: uint64(int64(imm.Imm))})
	default:
		d.add(effect{kind: effClobber, dst: dst})
	}
}

// loadStore handles ld.* and st.*: rd, rj, si12.
func (d *loongDecoder) loadStore(width int, store bool) {
	inst := d.inst
	r, ok1 := loongReg(inst.Args[0])
	base, ok2 := loongReg(inst.Args[1])
	off, ok3 := inst.Args[2].(loong64asm.Simm16)
	if !ok1 || !ok2 || !ok3 {
		d.generic()
		return
	}
	ref := memRef{base: base, disp: int64(off.Imm)}
	if base == loongZero {
		ref.indexed = true
	}
	if rel, ok := d.reloc(rLarchPCALALo12); ok {
		ref.low = relocAddr(rel, 0)
		if ref.low == nil {
			ref.indexed = true
		}
	}
	switch {
	case store && r == loongZero:
		d.add(effect{kind: effStore, mem: ref, width: width, imm: true})
	case store:
		d.add(effect{kind: effStore, mem: ref, width: width, src: r, srcName: inst.Args[0].String()})
	case r != loongZero:
		d.add(effect{kind: effLoad, dst: r, mem: ref, width: width})
	}
}

// generic handles every other instruction conservatively: other stores
// (indexed, stptr, atomics) write an unknown value, and a register first
// operand, the destination in LoongArch order, becomes unknown.
func (d *loongDecoder) generic() {
	inst := d.inst
	name := inst.Op.String()
	isStore := strings.HasPrefix(name, "ST") || strings.HasPrefix(name, "AM") || strings.HasPrefix(name, "SC")
	if isStore {
		d.add(effect{kind: effStore, mem: memRef{base: noReg, indexed: true}, width: unknownLength, src: noReg})
		if !strings.HasPrefix(name, "AM") && !strings.HasPrefix(name, "SC") {
			return
		}
	}
	if r, ok := loongReg(inst.Args[0]); ok && r != loongZero {
		d.add(effect{kind: effClobber, dst: r})
	}
}
