package elfscan

import (
	"strconv"
	"strings"

	"golang.org/x/arch/s390x/s390xasm"
)

// s390x general-purpose registers are numbered 0 to 15.
const (
	s390xR2  reg = 2
	s390xR15 reg = 15
)

// s390xArchModel follows the s390x ELF ABI: r2 returns and is the first
// argument, r0 to r5 and the return address register r14 do not survive a
// call, and r15 is the stack pointer.
var s390xArchModel = &archModel{
	name:        "s390x",
	returnReg:   s390xR2,
	argReg:      s390xR2,
	callerSaved: []reg{0, 1, 2, 3, 4, 5, 14},
	stackRegs:   []reg{s390xR15},
	regName:     func(r reg) string { return "r" + strconv.Itoa(int(r)) },
	decode:      decodeS390x,
}

// ELF relocation types for s390x (include/uapi/linux/elf.h numbering, as
// in debug/elf). All sit 2 bytes into their instruction and count
// halfwords from the instruction's start.
const (
	r390PC32DBL  = 19
	r390PLT32DBL = 20
	r390GOTENT   = 26
)

// s390xBranchAlways is the condition mask of an unconditional branch.
const s390xBranchAlways = 15

func s390xReg(a s390xasm.Arg) (reg, bool) {
	if r, ok := a.(s390xasm.Reg); ok && r <= s390xasm.R15 {
		return reg(r - s390xasm.R0), true
	}
	return noReg, false
}

func s390xDisp(a s390xasm.Arg) (int64, bool) {
	switch v := a.(type) {
	case s390xasm.Disp12:
		return int64(v), true
	case s390xasm.Disp20:
		if v>>19&1 == 1 {
			return int64(int32(uint32(v) | 0xfff00000)), true
		}
		return int64(v), true
	}
	return 0, false
}

// s390xMem reads the first base-displacement operand of an instruction:
// a displacement followed by an optional index and a base. An index or a
// base of r0 means none.
func s390xMem(args s390xasm.Args) (memRef, bool) {
	for i, a := range args {
		disp, ok := s390xDisp(a)
		if !ok {
			continue
		}
		ref := memRef{base: noReg, disp: disp, indexed: true}
		for _, b := range args[i+1:] {
			switch v := b.(type) {
			case s390xasm.Index:
				if v != s390xasm.X0 {
					return ref, true
				}
			case s390xasm.Base:
				if v != s390xasm.B0 {
					ref.base = reg(v - s390xasm.B0)
					ref.indexed = false
				}
				return ref, true
			case s390xasm.Len:
			default:
				return ref, true
			}
		}
		return ref, true
	}
	return memRef{}, false
}

// s390xStoreWidths gives the width of the register stores.
var s390xStoreWidths = map[s390xasm.Op]int{
	s390xasm.STG: 8, s390xasm.ST: 4, s390xasm.STY: 4, s390xasm.STH: 2, s390xasm.STHY: 2,
	s390xasm.STC: 1, s390xasm.STCY: 1,
}

// s390xImmStoreWidths gives the width of the immediate stores.
var s390xImmStoreWidths = map[s390xasm.Op]int{
	s390xasm.MVI: 1, s390xasm.MVIY: 1, s390xasm.MVHHI: 2, s390xasm.MVHI: 4, s390xasm.MVGHI: 8,
}

func decodeS390x(c *codeView, at uint64) instr {
	code := c.bytesAt(at)
	inst, err := s390xasm.Decode(code)
	if err != nil || inst.Len <= 0 {
		size := uint64(2)
		if uint64(len(code)) < size {
			size = uint64(len(code))
		}
		return instr{at: at, size: size}
	}
	d := s390xDecoder{view: c, inst: inst, in: instr{
		at: at, size: uint64(inst.Len), text: s390xasm.GNUSyntax(inst, at), next: true, ok: true,
	}}
	d.relocs = c.relocsIn(at, at+uint64(inst.Len))
	d.translate()
	return d.in
}

type s390xDecoder struct {
	view   *codeView
	inst   s390xasm.Inst
	relocs []codeReloc
	in     instr
}

func (d *s390xDecoder) add(e effect) { d.in.effects = append(d.in.effects, e) }

func (d *s390xDecoder) reloc(types ...uint32) (codeReloc, bool) {
	for _, r := range d.relocs {
		for _, t := range types {
			if r.typ == t {
				return r, true
			}
		}
	}
	return codeReloc{}, false
}

// pcTarget returns the section offset a relative-immediate operand
// reaches: the instruction's address plus twice the operand.
func (d *s390xDecoder) pcTarget() (uint64, bool) {
	for _, a := range d.inst.Args {
		var halfwords int64
		switch v := a.(type) {
		case s390xasm.RegIm12:
			halfwords = int64(int16(uint16(v)<<4) >> 4)
		case s390xasm.RegIm16:
			halfwords = int64(int16(v))
		case s390xasm.RegIm24:
			halfwords = int64(int32(uint32(v)<<8) >> 8)
		case s390xasm.RegIm32:
			halfwords = int64(int32(v))
		default:
			continue
		}
		return uint64(int64(d.in.at) + 2*halfwords), true
	}
	return 0, false
}

// pcAddr returns the address a pc-relative relocation on the instruction
// names. The relocation field sits 2 bytes into the instruction, so the
// symbol's address is S + A - 2.
func (d *s390xDecoder) pcAddr(types ...uint32) *symAddr {
	r, ok := d.reloc(types...)
	if !ok {
		return nil
	}
	return relocAddr(r, -2)
}

func (d *s390xDecoder) mask() (int, bool) {
	if m, ok := d.inst.Args[0].(s390xasm.Mask); ok {
		return int(m), true
	}
	return 0, false
}

func (d *s390xDecoder) translate() {
	inst := d.inst
	switch inst.Op {
	case s390xasm.BRASL, s390xasm.BRAS:
		target := ""
		if r, ok := d.reloc(r390PLT32DBL, r390PC32DBL); ok {
			target = d.view.callTarget(r, r.addend-2)
		} else if t, ok := d.pcTarget(); ok {
			target = d.view.localCallTarget(t)
		}
		d.add(effect{kind: effCall, target: target})
		return

	case s390xasm.BRCL, s390xasm.BRC:
		d.branch()
		return

	case s390xasm.BCR:
		if m, ok := d.mask(); ok && m == s390xBranchAlways {
			d.in.next = false
		}
		return

	case s390xasm.BASR:
		d.add(effect{kind: effCall})
		return

	case s390xasm.LGR, s390xasm.LTGR:
		dst, ok1 := s390xReg(inst.Args[0])
		src, ok2 := s390xReg(inst.Args[1])
		if ok1 && ok2 {
			d.add(effect{kind: effCopy, dst: dst, src: src})
			return
		}

	case s390xasm.LGHI:
		dst, ok := s390xReg(inst.Args[0])
		if imm, isImm := inst.Args[1].(s390xasm.Sign16); ok && isImm {
			d.add(effect{kind: effConst, dst: dst, n: uint64(int64(imm))})
			return
		}

	case s390xasm.LGFI:
		dst, ok := s390xReg(inst.Args[0])
		if imm, isImm := inst.Args[1].(s390xasm.Sign32); ok && isImm {
			d.add(effect{kind: effConst, dst: dst, n: uint64(int64(imm))})
			return
		}

	case s390xasm.LARL:
		dst, ok := s390xReg(inst.Args[0])
		if addr := d.pcAddr(r390PC32DBL); ok && addr != nil {
			d.add(effect{kind: effAddr, dst: dst, sym: *addr})
			return
		}

	case s390xasm.LGRL:
		dst, ok := s390xReg(inst.Args[0])
		if !ok {
			break
		}
		if addr := d.pcAddr(r390GOTENT); addr != nil {
			// The GOT entry holds the symbol's address.
			d.add(effect{kind: effAddr, dst: dst, sym: *addr})
			return
		}
		if addr := d.pcAddr(r390PC32DBL); addr != nil {
			d.add(effect{kind: effLoad, dst: dst, mem: memRef{base: noReg, abs: addr}, width: 8})
			return
		}

	case s390xasm.STGRL, s390xasm.STRL:
		src, ok := s390xReg(inst.Args[0])
		width := 8
		if inst.Op == s390xasm.STRL {
			width = 4
		}
		ref := memRef{base: noReg, indexed: true}
		if addr := d.pcAddr(r390PC32DBL); addr != nil {
			ref = memRef{base: noReg, abs: addr}
		}
		if ok {
			d.add(effect{kind: effStore, mem: ref, width: width, src: src})
			return
		}

	case s390xasm.LG:
		dst, ok1 := s390xReg(inst.Args[0])
		ref, ok2 := s390xMem(inst.Args)
		if ok1 && ok2 {
			d.add(effect{kind: effLoad, dst: dst, mem: ref, width: 8})
			return
		}

	case s390xasm.LA, s390xasm.LAY:
		dst, ok1 := s390xReg(inst.Args[0])
		ref, ok2 := s390xMem(inst.Args)
		if ok1 && ok2 && !ref.indexed {
			d.add(effect{kind: effAddImm, dst: dst, src: ref.base, n: uint64(ref.disp)})
			return
		}

	case s390xasm.AGHI:
		dst, ok := s390xReg(inst.Args[0])
		if imm, isImm := inst.Args[1].(s390xasm.Sign16); ok && isImm {
			d.add(effect{kind: effAddImm, dst: dst, src: dst, n: uint64(int64(imm))})
			return
		}

	case s390xasm.LMG, s390xasm.LM, s390xasm.LMY:
		first, ok1 := s390xReg(inst.Args[0])
		last, ok2 := s390xReg(inst.Args[1])
		if ok1 && ok2 {
			for r := first; ; r = (r + 1) % 16 {
				d.add(effect{kind: effClobber, dst: r})
				if r == last {
					break
				}
			}
			return
		}
	}

	if width, ok := s390xStoreWidths[inst.Op]; ok {
		src, ok1 := s390xReg(inst.Args[0])
		ref, ok2 := s390xMem(inst.Args)
		if ok1 && ok2 {
			d.add(effect{kind: effStore, mem: ref, width: width, src: src, srcName: "%r" + strconv.Itoa(int(src))})
			return
		}
	}
	if width, ok := s390xImmStoreWidths[inst.Op]; ok {
		ref, ok1 := s390xMem(inst.Args)
		imm, ok2 := inst.Args[2].(s390xasm.Imm)
		if ok1 && ok2 {
			n := uint64(imm)
			if width > 1 {
				// mvhhi, mvhi and mvghi sign-extend a 16-bit immediate.
				n = uint64(int64(int16(uint16(imm))))
			}
			d.add(effect{kind: effStore, mem: ref, width: width, imm: true, n: n})
			return
		}
	}
	d.generic()
}

// branch handles brc and brcl: a mask of 15 always branches and a mask of
// 0 never does (jgnop, the ftrace patch site).
func (d *s390xDecoder) branch() {
	m, _ := d.mask()
	if m == 0 {
		return
	}
	if m == s390xBranchAlways {
		d.in.next = false
	}
	if r, ok := d.reloc(r390PLT32DBL, r390PC32DBL); ok {
		d.add(effect{kind: effCall, target: d.view.callTarget(r, r.addend-2), tail: true})
		return
	}
	if t, ok := d.pcTarget(); ok {
		if d.view.inside(t) {
			d.in.targets = append(d.in.targets, t)
		} else if m == s390xBranchAlways {
			d.add(effect{kind: effCall, target: d.view.localCallTarget(t), tail: true})
		}
	}
}

// s390xCompares only set the condition code.
var s390xCompares = map[string]bool{
	"c": true, "cy": true, "cg": true, "cgf": true, "cr": true, "cgr": true, "cgfr": true,
	"chi": true, "cghi": true, "cfi": true, "cgfi": true, "chsi": true, "cghsi": true, "chhsi": true,
	"cl": true, "cly": true, "clg": true, "clgf": true, "clr": true, "clgr": true, "clgfr": true,
	"cli": true, "cliy": true, "clfi": true, "clgfi": true, "clfhsi": true, "clghsi": true, "clhhsi": true,
	"tm": true, "tmy": true, "tmll": true, "tmlh": true, "tmhl": true, "tmhh": true, "ltr": true,
}

// generic handles every other instruction conservatively.
//   - Compare-and-branch and branch-on-count forms reach their relative
//     target.
//   - Storing instructions (st*, mv*, xc and so on) write an unknown value.
//   - Compares write nothing.
//   - Other instructions make a register first operand unknown, since
//     s390x lists the destination first. Compare-and-swap (cs, csg) is
//     among them, because it writes its first register.
func (d *s390xDecoder) generic() {
	inst := d.inst
	name := inst.Op.String()
	if t, ok := d.pcTarget(); ok {
		if d.view.inside(t) {
			d.in.targets = append(d.in.targets, t)
		}
		if strings.HasPrefix(name, "brct") {
			if r, ok := s390xReg(inst.Args[0]); ok {
				d.add(effect{kind: effClobber, dst: r})
			}
		}
		return
	}
	for _, prefix := range []string{"st", "mv", "xc", "oc", "nc", "ni", "oi", "xi", "asi", "agsi", "alsi", "algsi", "tr"} {
		if strings.HasPrefix(name, prefix) {
			ref, ok := s390xMem(inst.Args)
			if !ok {
				ref = memRef{base: noReg, indexed: true}
			}
			d.add(effect{kind: effStore, mem: ref, width: unknownLength, src: noReg})
			// Storing instructions write no general register.
			return
		}
	}
	if s390xCompares[name] {
		return
	}
	if r, ok := s390xReg(inst.Args[0]); ok {
		d.add(effect{kind: effClobber, dst: r})
	}
}
