package elfscan

import (
	"strconv"
	"strings"

	"golang.org/x/arch/arm64/arm64asm"
)

// arm64 registers are numbered 0 to 30 for x0 to x30 (w0 to w30 share the
// number) and 31 for sp. The zero register has no number: reading it gives
// the constant 0 and writing it is discarded.
const (
	arm64SP  reg = 31
	arm64X29 reg = 29
)

// arm64ArchModel follows AAPCS64: x0 returns and is the first argument,
// x0 to x18 and the link register x30 do not survive a call (the kernel
// may use x18 for the shadow call stack). x29 is the frame pointer.
var arm64ArchModel = &archModel{
	name:        "arm64",
	returnReg:   0,
	argReg:      0,
	callerSaved: []reg{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 30},
	stackRegs:   []reg{arm64SP, arm64X29},
	regName: func(r reg) string {
		if r == arm64SP {
			return "sp"
		}
		return "x" + strconv.Itoa(int(r))
	},
	decode: decodeARM64,
}

// ELF relocation types for AArch64 (ELF for the Arm 64-bit Architecture).
const (
	rAArch64AdrPrelPgHi21  = 275
	rAArch64AddAbsLo12NC   = 277
	rAArch64Ldst8AbsLo12   = 278
	rAArch64Ldst16AbsLo12  = 284
	rAArch64Ldst32AbsLo12  = 285
	rAArch64Ldst64AbsLo12  = 286
	rAArch64Ldst128AbsLo12 = 299
	rAArch64Jump26         = 282
	rAArch64Call26         = 283
)

// arm64Operand is a general-purpose register operand.
type arm64Operand struct {
	r     reg
	wide  bool // x register rather than w
	zero  bool // wzr or xzr
	valid bool
}

func arm64Reg(a arm64asm.Arg) arm64Operand {
	switch v := a.(type) {
	case arm64asm.Reg:
		switch {
		case v >= arm64asm.W0 && v <= arm64asm.W30:
			return arm64Operand{r: reg(v - arm64asm.W0), valid: true}
		case v == arm64asm.WZR:
			return arm64Operand{r: noReg, zero: true, valid: true}
		case v >= arm64asm.X0 && v <= arm64asm.X30:
			return arm64Operand{r: reg(v - arm64asm.X0), wide: true, valid: true}
		case v == arm64asm.XZR:
			return arm64Operand{r: noReg, wide: true, zero: true, valid: true}
		}
	case arm64asm.RegSP:
		switch {
		case arm64asm.Reg(v) == arm64asm.SP:
			return arm64Operand{r: arm64SP, wide: true, valid: true}
		case arm64asm.Reg(v) == arm64asm.WSP:
			return arm64Operand{r: arm64SP, valid: true}
		}
		return arm64Reg(arm64asm.Reg(v))
	}
	return arm64Operand{r: noReg}
}

// arm64Mem reads a base-plus-immediate operand. arm64asm keeps the
// immediate unexported, so it is parsed from the operand's text:
// "[x0]", "[x0,#24]", "[sp,#-96]!" or "[x1],#16".
func arm64Mem(m arm64asm.MemImmediate) (base reg, disp int64, ok bool) {
	b := arm64Reg(arm64asm.RegSP(m.Base))
	if !b.valid || b.zero || !b.wide {
		return noReg, 0, false
	}
	text := m.String()
	hash := strings.IndexByte(text, '#')
	if hash < 0 {
		return b.r, 0, m.Mode == arm64asm.AddrOffset
	}
	end := hash + 1
	for end < len(text) && (text[end] == '-' || text[end] >= '0' && text[end] <= '9') {
		end++
	}
	n, err := strconv.ParseInt(text[hash+1:end], 10, 64)
	if err != nil {
		return noReg, 0, false
	}
	return b.r, n, true
}

func decodeARM64(c *codeView, at uint64) instr {
	code := c.bytesAt(at)
	if len(code) < 4 {
		return instr{at: at, size: uint64(len(code))}
	}
	inst, err := arm64asm.Decode(code)
	if err != nil {
		return instr{at: at, size: 4}
	}
	d := arm64Decoder{view: c, inst: inst, in: instr{
		at: at, size: 4, text: arm64asm.GNUSyntax(inst), next: true, ok: true,
	}}
	d.relocs = c.relocsIn(at, at+4)
	d.translate()
	return d.in
}

type arm64Decoder struct {
	view   *codeView
	inst   arm64asm.Inst
	relocs []codeReloc
	in     instr
}

func (d *arm64Decoder) add(e effect) { d.in.effects = append(d.in.effects, e) }

func (d *arm64Decoder) reloc(types ...uint32) (codeReloc, bool) {
	for _, r := range d.relocs {
		for _, t := range types {
			if r.typ == t {
				return r, true
			}
		}
	}
	return codeReloc{}, false
}

// lowReloc returns the relocation that supplies the low 12 bits of an
// address to an add, load or store.
func (d *arm64Decoder) lowReloc() *symAddr {
	r, ok := d.reloc(rAArch64AddAbsLo12NC, rAArch64Ldst8AbsLo12, rAArch64Ldst16AbsLo12,
		rAArch64Ldst32AbsLo12, rAArch64Ldst64AbsLo12, rAArch64Ldst128AbsLo12)
	if !ok {
		return nil
	}
	return relocAddr(r, 0)
}

func (d *arm64Decoder) branchTarget() (uint64, bool) {
	for _, a := range d.inst.Args {
		if rel, ok := a.(arm64asm.PCRel); ok {
			return uint64(int64(d.in.at) + int64(rel)), true
		}
	}
	return 0, false
}

func (d *arm64Decoder) translate() {
	inst := d.inst
	switch inst.Op {
	case arm64asm.BL:
		target := ""
		if r, ok := d.reloc(rAArch64Call26, rAArch64Jump26); ok {
			target = d.view.callTarget(r, r.addend)
		} else if t, ok := d.branchTarget(); ok {
			target = d.view.localCallTarget(t)
		}
		d.add(effect{kind: effCall, target: target})

	case arm64asm.B:
		if _, conditional := inst.Args[0].(arm64asm.Cond); conditional {
			d.conditional()
			return
		}
		d.in.next = false
		if r, ok := d.reloc(rAArch64Call26, rAArch64Jump26); ok {
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

	case arm64asm.CBZ, arm64asm.CBNZ, arm64asm.TBZ, arm64asm.TBNZ:
		d.conditional()

	case arm64asm.BLR:
		d.add(effect{kind: effCall})

	case arm64asm.BR, arm64asm.RET, arm64asm.ERET, arm64asm.BRK, arm64asm.HLT:
		d.in.next = false

	case arm64asm.NOP, arm64asm.HINT, arm64asm.PRFM, arm64asm.DMB, arm64asm.DSB, arm64asm.ISB,
		arm64asm.CMP, arm64asm.CMN, arm64asm.TST:

	case arm64asm.MOV:
		d.move()

	case arm64asm.ADRP:
		dst := arm64Reg(inst.Args[0])
		if r, ok := d.reloc(rAArch64AdrPrelPgHi21); ok && dst.valid {
			if addr := relocAddr(r, 0); addr != nil {
				d.add(effect{kind: effHigh, dst: dst.r, sym: *addr})
				return
			}
		}
		d.generic()

	case arm64asm.ADD:
		d.addImmediate()

	case arm64asm.LDR, arm64asm.LDUR, arm64asm.LDRB, arm64asm.LDURB, arm64asm.LDRH, arm64asm.LDURH,
		arm64asm.LDRSB, arm64asm.LDRSH, arm64asm.LDRSW, arm64asm.LDURSB, arm64asm.LDURSH, arm64asm.LDURSW:
		d.loadStore(false, 1)

	case arm64asm.LDP, arm64asm.LDNP:
		d.loadStore(false, 2)

	case arm64asm.STR, arm64asm.STUR, arm64asm.STRB, arm64asm.STURB, arm64asm.STRH, arm64asm.STURH:
		d.loadStore(true, 1)

	case arm64asm.STP, arm64asm.STNP:
		d.loadStore(true, 2)

	default:
		d.generic()
	}
}

func (d *arm64Decoder) conditional() {
	if t, ok := d.branchTarget(); ok && d.view.inside(t) {
		d.in.targets = append(d.in.targets, t)
	}
}

func (d *arm64Decoder) move() {
	dst := arm64Reg(d.inst.Args[0])
	if !dst.valid || dst.zero {
		return
	}
	switch src := d.inst.Args[1].(type) {
	case arm64asm.Imm:
		d.add(effect{kind: effConst, dst: dst.r, n: uint64(src.Imm)})
		return
	case arm64asm.Imm64:
		n := src.Imm
		if !dst.wide {
			n = uint64(uint32(n))
		}
		d.add(effect{kind: effConst, dst: dst.r, n: n})
		return
	default:
		s := arm64Reg(src)
		switch {
		case s.valid && s.zero:
			d.add(effect{kind: effConst, dst: dst.r})
			return
		case s.valid && s.wide && dst.wide:
			d.add(effect{kind: effCopy, dst: dst.r, src: s.r})
			return
		}
	}
	d.add(effect{kind: effClobber, dst: dst.r})
}

// addImmediate handles add with an immediate: the low half of an adrp
// pair when a relocation supplies it, else an offset from the source.
func (d *arm64Decoder) addImmediate() {
	dst := arm64Reg(d.inst.Args[0])
	src := arm64Reg(d.inst.Args[1])
	if !dst.valid || dst.zero {
		return
	}
	_, isImm := d.inst.Args[2].(arm64asm.ImmShift)
	if !isImm || !src.valid || !dst.wide || !src.wide {
		d.add(effect{kind: effClobber, dst: dst.r})
		return
	}
	if low := d.lowReloc(); low != nil {
		d.add(effect{kind: effLow, dst: dst.r, src: src.r, sym: *low})
		return
	}
	// ADD (immediate), 64-bit: imm12 in bits 10-21, shifted by 12 when bit
	// 22 is set.
	enc := d.inst.Enc
	n := uint64(enc>>10) & 0xfff
	if enc>>22&1 == 1 {
		n <<= 12
	}
	d.add(effect{kind: effAddImm, dst: dst.r, src: src.r, n: n})
}

// arm64AccessWidth returns the bytes one register of a load or store
// moves.
func arm64AccessWidth(op arm64asm.Op, wide bool) int {
	switch op {
	case arm64asm.LDRB, arm64asm.LDURB, arm64asm.LDRSB, arm64asm.LDURSB, arm64asm.STRB, arm64asm.STURB:
		return 1
	case arm64asm.LDRH, arm64asm.LDURH, arm64asm.LDRSH, arm64asm.LDURSH, arm64asm.STRH, arm64asm.STURH:
		return 2
	case arm64asm.LDRSW, arm64asm.LDURSW:
		return 4
	}
	if wide {
		return 8
	}
	return 4
}

// loadStore handles single and pair loads and stores with a
// base-plus-immediate address, including pre- and post-index writeback.
func (d *arm64Decoder) loadStore(store bool, count int) {
	inst := d.inst
	regs := make([]arm64Operand, count)
	for i := range regs {
		regs[i] = arm64Reg(inst.Args[i])
	}
	m, isMem := inst.Args[count].(arm64asm.MemImmediate)
	base, disp, ok := noReg, int64(0), false
	if isMem {
		base, disp, ok = arm64Mem(m)
	}
	ref := memRef{base: base, disp: disp, indexed: !ok}
	if ok && m.Mode == arm64asm.AddrPostIndex {
		ref.disp = 0
	}
	if low := d.lowReloc(); low != nil && ok {
		ref.low = low
	}
	if !isMem {
		// A literal load or a register-indexed address.
		if mem, ok := inst.Args[count].(arm64asm.MemExtend); ok {
			b := arm64Reg(arm64asm.RegSP(mem.Base))
			ref = memRef{base: b.r, indexed: true}
		}
	}

	for i, r := range regs {
		if !r.valid {
			if store {
				d.add(effect{kind: effStore, mem: ref, width: 8, src: noReg})
			}
			continue
		}
		width := arm64AccessWidth(inst.Op, r.wide)
		part := ref
		part.disp += int64(i * width)
		switch {
		case store && r.zero:
			d.add(effect{kind: effStore, mem: part, width: width, imm: true})
		case store:
			d.add(effect{kind: effStore, mem: part, width: width, src: r.r, srcName: strings.ToLower(inst.Args[i].String())})
		case !r.zero:
			d.add(effect{kind: effLoad, dst: r.r, mem: part, width: width})
		}
	}

	if ok && (m.Mode == arm64asm.AddrPreIndex || m.Mode == arm64asm.AddrPostIndex) {
		_, step, _ := arm64Mem(m)
		d.add(effect{kind: effAddImm, dst: base, src: base, n: uint64(step)})
	}
}

// arm64MemoryWriters are the other instructions that write memory:
// store-release, exclusive and atomic forms.
var arm64MemoryWriters = []string{"ST", "SWP", "CAS", "LDADD", "LDCLR", "LDEOR", "LDSET", "LDSMAX", "LDSMIN", "LDUMAX", "LDUMIN"}

// generic handles every other instruction conservatively: the first
// register operand becomes unknown, since A64 lists the destination first,
// and a memory operand of a storing instruction receives an unknown value.
// Instructions that only read their first operand, such as ccmp, lose a
// fact they could keep, which never makes a result wrong.
func (d *arm64Decoder) generic() {
	inst := d.inst
	name := inst.Op.String()
	for _, prefix := range arm64MemoryWriters {
		if !strings.HasPrefix(name, prefix) {
			continue
		}
		for _, a := range inst.Args {
			if m, ok := a.(arm64asm.MemImmediate); ok {
				base, disp, ok := arm64Mem(m)
				d.add(effect{kind: effStore, mem: memRef{base: base, disp: disp, indexed: !ok}, width: unknownLength, src: noReg})
			}
		}
		break
	}
	if r := arm64Reg(inst.Args[0]); r.valid && !r.zero {
		d.add(effect{kind: effClobber, dst: r.r})
	}
	if name == "LDXP" || name == "LDAXP" || strings.HasPrefix(name, "CASP") {
		// Pair forms write a second register.
		if r := arm64Reg(inst.Args[1]); r.valid && !r.zero {
			d.add(effect{kind: effClobber, dst: r.r})
		}
	}
}
