package elfscan

import (
	"debug/elf"
	"errors"
	"sort"
	"strconv"

	"github.com/klpcheck/klpcheck/livepatch"
)

// The init function is interpreted abstractly. Each architecture decoder
// turns an instruction into a few effects on registers and memory, such as
// copy, constant, load, store and call. A forward data-flow pass over all
// paths then computes what is certain on entry to every basic block: which
// registers hold a kmalloc result, a constant or the address of a module
// variable, and which module variables or stack slots hold a kmalloc
// result. At a join only the facts that agree on every incoming path are
// kept, so a fact used later holds on every path that reaches its use.

// reg is a register number in an architecture decoder's own numbering.
type reg int16

const noReg reg = -1

type valueKind uint8

const (
	valueUnknown valueKind = iota
	// valueAlloc is a pointer returned by the kmalloc call at section offset
	// n.
	valueAlloc
	// valueConst is the integer n.
	valueConst
	// valueAddr is the address addr of a module variable.
	valueAddr
	// valueHigh is the upper part of the address addr, as left by arm64
	// adrp, ppc64 addis @ha, riscv64 auipc or loongarch64 pcalau12i. An
	// instruction whose relocation supplies the low part of the same address
	// completes it.
	valueHigh
)

// symAddr is an address relative to a symbol: its name, or a section name
// for a section symbol, or a stack register for a stack slot.
type symAddr struct {
	key string
	off int64
}

type value struct {
	kind valueKind
	n    uint64
	addr symAddr
}

// state is the set of facts certain at one point of the code. Registers and
// memory slots that are absent hold unknown values.
type state struct {
	regs map[reg]value
	mem  map[symAddr]value
	// enabled is set when every path to this point called
	// klp_enable_patch. The kernel reads replace inside that call, so a
	// later hand-off, such as kpatch's patch_free_livepatch on the error
	// path, cannot change what it read.
	enabled bool
	// stored holds the kmalloc sites whose replace field every path to this
	// point has stored to. A store on some paths only leaves the kzalloc
	// zero on the others.
	stored map[uint64]bool
}

func newState() *state {
	return &state{regs: map[reg]value{}, mem: map[symAddr]value{}, stored: map[uint64]bool{}}
}

func (s *state) clone() *state {
	c := &state{regs: make(map[reg]value, len(s.regs)), mem: make(map[symAddr]value, len(s.mem)), enabled: s.enabled, stored: make(map[uint64]bool, len(s.stored))}
	for r, v := range s.regs {
		c.regs[r] = v
	}
	for a, v := range s.mem {
		c.mem[a] = v
	}
	for site := range s.stored {
		c.stored[site] = true
	}
	return c
}

// meet returns the facts that old and incoming share, and whether the
// result differs from old. A nil old is an instruction not yet reached.
func meet(old, incoming *state) (*state, bool) {
	if old == nil {
		return incoming.clone(), true
	}
	changed := false
	merged := old.clone()
	if merged.enabled && !incoming.enabled {
		merged.enabled = false
		changed = true
	}
	for r, v := range merged.regs {
		if w, ok := incoming.regs[r]; !ok || w != v {
			delete(merged.regs, r)
			changed = true
		}
	}
	for a, v := range merged.mem {
		if w, ok := incoming.mem[a]; !ok || w != v {
			delete(merged.mem, a)
			changed = true
		}
	}
	for site := range merged.stored {
		if !incoming.stored[site] {
			delete(merged.stored, site)
			changed = true
		}
	}
	return merged, changed
}

type effectKind uint8

const (
	// effClobber: dst becomes unknown.
	effClobber effectKind = iota
	// effCopy: dst = src.
	effCopy
	// effConst: dst = n.
	effConst
	// effAddr: dst = address sym.
	effAddr
	// effHigh: dst = upper part of address sym.
	effHigh
	// effLow: dst = address sym when src holds its upper part, or the
	// address whose upper part src holds when fromBase is set.
	effLow
	// effAddImm: dst = src + n. Only constants and addresses keep a value,
	// except that adding 0 is a copy.
	effAddImm
	// effLoad: dst = the width-byte value at mem.
	effLoad
	// effStore: the width bytes at mem = src, or n when imm is set.
	effStore
	// effCall: a call of target; a tail call when tail is set.
	effCall
)

type effect struct {
	kind     effectKind
	dst, src reg
	n        uint64
	imm      bool
	sym      symAddr
	mem      memRef
	width    int
	target   string
	tail     bool
	fromBase bool
	// srcName is the stored register as the instruction text spells it.
	srcName string
}

// memRef is a memory operand.
type memRef struct {
	base reg
	disp int64
	// indexed is set when an index register takes part in the address,
	// which the analysis does not follow.
	indexed bool
	// abs is the complete address when a relocation supplies it (x86-64
	// rip-relative or absolute operands, s390x lgrl and stgrl).
	abs *symAddr
	// low is the address whose lower part a relocation supplies; base must
	// hold its upper part.
	low *symAddr
	// lowFromBase is set when a relocation supplies the lower part of
	// whatever address base holds the upper part of (riscv64 %pcrel_lo,
	// whose symbol is the label of the auipc).
	lowFromBase bool
}

// instr is one decoded instruction.
type instr struct {
	at, size uint64
	text     string
	// format returns text when a decoder leaves text empty. Formatting
	// costs more than decoding and only the instructions named in facts
	// need it, so x86 defers it to disassembly.
	format  func() string
	effects []effect
	// next is set when execution may continue with the following
	// instruction.
	next bool
	// targets are the section offsets of direct branches.
	targets []uint64
	// ok is false for bytes that do not decode.
	ok bool
}

// disassembly returns the instruction's text, formatting it on first use.
func (in *instr) disassembly() string {
	if in.text == "" && in.format != nil {
		in.text = in.format()
	}
	return in.text
}

// archModel describes an architecture to the interpreter.
type archModel struct {
	name string
	// returnReg holds a call's result and argReg its first argument.
	returnReg, argReg reg
	// callerSaved registers are unknown after a call.
	callerSaved []reg
	// stackRegs are the stack and frame pointers. Stores relative to them
	// are spill slots.
	stackRegs []reg
	regName   func(reg) string
	decode    func(c *codeView, at uint64) instr
}

// archModelFor returns the model for an architecture, or nil when klpcheck
// cannot interpret its code.
func archModelFor(arch livepatch.Arch) *archModel {
	switch arch.Machine {
	case elf.EM_X86_64:
		return x86ArchModel
	case elf.EM_AARCH64:
		return arm64ArchModel
	case elf.EM_PPC64:
		return ppc64ArchModel
	case elf.EM_S390:
		return s390xArchModel
	case elf.EM_RISCV:
		return riscv64ArchModel
	case elf.EM_LOONGARCH:
		return loong64ArchModel
	}
	return nil
}

// codeView gives decoders access to the function's bytes, relocations and
// symbols.
type codeView struct {
	fn initFunction
}

// bytesAt returns the code from section offset at to the end of the
// function.
func (c *codeView) bytesAt(at uint64) []byte {
	if at < c.fn.start || at-c.fn.start >= uint64(len(c.fn.code)) {
		return nil
	}
	return c.fn.code[at-c.fn.start:]
}

func (c *codeView) inside(at uint64) bool {
	return at >= c.fn.start && at-c.fn.start < uint64(len(c.fn.code))
}

// relocsIn returns the relocations at section offsets [lo, hi).
func (c *codeView) relocsIn(lo, hi uint64) []codeReloc {
	rs := c.fn.relocs
	i := sort.Search(len(rs), func(i int) bool { return rs[i].offset >= lo })
	j := i
	for j < len(rs) && rs[j].offset < hi {
		j++
	}
	return rs[i:j]
}

// symbolKey names the symbol of a relocation for use in a symAddr. A
// section symbol without its section name cannot be keyed.
func symbolKey(r codeReloc) (string, bool) {
	switch {
	case r.symbol != "":
		return r.symbol, true
	case r.section != "":
		return "section " + r.section, true
	}
	return "", false
}

// relocAddr returns the address a relocation refers to, offset by extra
// bytes, or nil when its symbol cannot be keyed.
func relocAddr(r codeReloc, extra int64) *symAddr {
	key, ok := symbolKey(r)
	if !ok {
		return nil
	}
	return &symAddr{key: key, off: r.addend + extra}
}

// callTarget names the function a call relocation refers to. target is the
// section offset the call reaches when the symbol is a section symbol.
func (c *codeView) callTarget(r codeReloc, target int64) string {
	if r.symbol != "" {
		return r.symbol
	}
	if r.section == "" || target < 0 {
		return ""
	}
	return c.symbolAt(r.section, uint64(target))
}

// localCallTarget names the function that a call without a relocation
// reaches in the function's own section.
func (c *codeView) localCallTarget(target uint64) string {
	if c.inside(target) {
		return ""
	}
	return c.symbolAt(c.fn.section, target)
}

func (c *codeView) symbolAt(section string, value uint64) string {
	for _, s := range c.fn.symbols {
		if s.section == section && s.value == value {
			return s.name
		}
	}
	return ""
}

// maxSteps bounds the data-flow iteration, counted in instructions
// interpreted. Each block's state can only lose facts, so the pass ends
// anyway; the bound keeps crafted input from taking long. Real init
// functions need a few thousand steps.
const maxSteps = 1 << 18

// maxSlots bounds the memory slots one state tracks. Slots past it are not
// recorded, which only loses facts.
const maxSlots = 64

type analysis struct {
	view        codeView
	model       *archModel
	fieldOffset uint64
	instrs      map[uint64]*instr
	// blocks are the basic blocks reachable from the entry, by leader.
	blocks map[uint64]*block
	// in is the state on entry to each block reached so far.
	in map[uint64]*state
}

// block is a basic block: instructions that run in sequence, entered only
// at the first.
type block struct {
	instrs []*instr
	succs  []uint64
}

func analyseInitFunction(fn initFunction, model *archModel, fieldOffset uint64) (*initFacts, error) {
	if len(fn.code) == 0 {
		return nil, errors.New("init function is empty")
	}
	a := &analysis{
		view:        codeView{fn: fn},
		model:       model,
		fieldOffset: fieldOffset,
		instrs:      map[uint64]*instr{},
		blocks:      map[uint64]*block{},
		in:          map[uint64]*state{},
	}

	if err := a.buildBlocks(); err != nil {
		return nil, err
	}
	if err := a.solve(); err != nil {
		return nil, err
	}

	facts := &initFacts{section: fn.section}
	a.observe(facts)
	a.scanUnreached(facts)
	facts.sortFacts()
	return facts, nil
}

func (a *analysis) instrAt(at uint64) *instr {
	if in, ok := a.instrs[at]; ok {
		return in
	}
	in := a.model.decode(&a.view, at)
	if in.size == 0 {
		in.ok = false
	}
	a.instrs[at] = &in
	return &in
}

// successors returns where execution goes after in, inside the function.
// Branches that leave the function end the path, like returns.
func (a *analysis) successors(in *instr) []uint64 {
	if !in.ok {
		return nil
	}
	var next []uint64
	if in.next && a.view.inside(in.at+in.size) {
		next = append(next, in.at+in.size)
	}
	for _, t := range in.targets {
		if a.view.inside(t) {
			next = append(next, t)
		}
	}
	return next
}

// buildBlocks decodes every instruction reachable from the entry and
// splits them into basic blocks. A leader is the entry, a branch target,
// an instruction with several predecessors, or one that follows an
// instruction with several successors.
func (a *analysis) buildBlocks() error {
	entry := a.view.fn.start
	preds := map[uint64]int{entry: 1}
	leaders := map[uint64]bool{entry: true}
	seen := map[uint64]bool{entry: true}
	work := []uint64{entry}
	for len(work) > 0 {
		if len(seen) > maxSteps {
			return errTooComplex
		}
		at := work[len(work)-1]
		work = work[:len(work)-1]
		in := a.instrAt(at)
		succs := a.successors(in)
		for _, t := range in.targets {
			leaders[t] = true
		}
		for _, next := range succs {
			preds[next]++
			if len(succs) > 1 || preds[next] > 1 {
				leaders[next] = true
			}
			if !seen[next] {
				seen[next] = true
				work = append(work, next)
			}
		}
	}

	for leader := range leaders {
		if !seen[leader] {
			continue
		}
		b := &block{}
		at := leader
		for {
			in := a.instrAt(at)
			b.instrs = append(b.instrs, in)
			succs := a.successors(in)
			if len(succs) != 1 || leaders[succs[0]] || len(b.instrs) > maxSteps {
				b.succs = succs
				break
			}
			at = succs[0]
		}
		a.blocks[leader] = b
	}
	return nil
}

var errTooComplex = errors.New("init function is too complex to follow")

// solve runs the data-flow pass over the blocks to its fixed point.
func (a *analysis) solve() error {
	entry := a.view.fn.start
	a.in[entry] = newState()
	work := []uint64{entry}
	queued := map[uint64]bool{entry: true}

	steps := 0
	for len(work) > 0 {
		leader := work[len(work)-1]
		work = work[:len(work)-1]
		queued[leader] = false

		b := a.blocks[leader]
		if b == nil {
			continue
		}
		steps += len(b.instrs)
		if steps > maxSteps {
			return errTooComplex
		}
		out := a.transferBlock(b, a.in[leader], nil)
		for _, succ := range b.succs {
			merged, changed := meet(a.in[succ], out)
			if !changed {
				continue
			}
			a.in[succ] = merged
			if !queued[succ] {
				queued[succ] = true
				work = append(work, succ)
			}
		}
	}
	return nil
}

// transferBlock interprets a block from its entry state. With facts set
// it also records the observations.
func (a *analysis) transferBlock(b *block, in *state, facts *initFacts) *state {
	st := in.clone()
	for _, inst := range b.instrs {
		if !inst.ok {
			break
		}
		for _, e := range inst.effects {
			a.apply(st, inst, e, facts)
		}
	}
	return st
}

// observe replays every reached block with its final entry state and
// records the stores and calls that decide replace.
func (a *analysis) observe(facts *initFacts) {
	leaders := make([]uint64, 0, len(a.in))
	for at := range a.in {
		leaders = append(leaders, at)
	}
	sort.Slice(leaders, func(i, j int) bool { return leaders[i] < leaders[j] })

	for _, leader := range leaders {
		if b := a.blocks[leader]; b != nil {
			a.transferBlock(b, a.in[leader], facts)
		}
	}
}

// reachedSet returns the offsets of the instructions the data-flow pass
// interpreted.
func (a *analysis) reachedSet() map[uint64]bool {
	reached := map[uint64]bool{}
	for leader := range a.in {
		if b := a.blocks[leader]; b != nil {
			for _, in := range b.instrs {
				reached[in.at] = true
			}
		}
	}
	return reached
}

// scanUnreached decodes the function linearly and looks at the
// instructions the data-flow pass never reached, such as the targets of a
// jump table. A call of klp_enable_patch or a field-sized store at the
// field offset there could change the result, so they are recorded as
// untraced.
func (a *analysis) scanUnreached(facts *initFacts) {
	reached := a.reachedSet()
	at := a.view.fn.start
	for a.view.inside(at) {
		in := a.instrAt(at)
		size := in.size
		if size == 0 {
			size = 1
		}
		if !reached[at] && in.ok {
			for _, e := range in.effects {
				switch {
				case e.kind == effCall && e.target == enableFunction:
					facts.enables = append(facts.enables, enableCall{at: at, text: in.disassembly()})
				case e.kind == effStore && !e.mem.indexed && e.mem.disp == int64(a.fieldOffset) && (e.width == 1 || e.width == 4):
					facts.untrackedStores = append(facts.untrackedStores, fieldStore{at: at, text: in.disassembly(), disp: e.mem.disp, width: e.width})
				}
			}
		}
		at += size
	}
}

func (a *analysis) isStackReg(r reg) bool {
	for _, s := range a.model.stackRegs {
		if s == r {
			return true
		}
	}
	return false
}

func stackKey(r reg) string {
	return "\x00stack " + strconv.Itoa(int(r))
}

// setReg writes a register. Writing a stack register moves the frame, so
// the spill slots relative to it are dropped.
func (a *analysis) setReg(st *state, r reg, v value) {
	if r == noReg {
		return
	}
	if v.kind == valueUnknown {
		delete(st.regs, r)
	} else {
		st.regs[r] = v
	}
	if a.isStackReg(r) {
		key := stackKey(r)
		for slot := range st.mem {
			if slot.key == key {
				delete(st.mem, slot)
			}
		}
	}
}

type placeKind uint8

const (
	placeUnknown placeKind = iota
	placeSlot              // a module variable or a stack slot
	placeAlloc             // an offset inside a kmalloc result
)

type place struct {
	kind placeKind
	slot symAddr
	site uint64
	disp int64
}

// resolve finds where a memory operand points.
func (a *analysis) resolve(st *state, m memRef) place {
	if m.indexed {
		return place{}
	}
	if m.abs != nil {
		return place{kind: placeSlot, slot: *m.abs}
	}
	if m.base == noReg {
		return place{}
	}
	base := st.regs[m.base]
	if m.lowFromBase {
		if base.kind == valueHigh {
			return place{kind: placeSlot, slot: symAddr{key: base.addr.key, off: base.addr.off + m.disp}}
		}
		return place{}
	}
	if m.low != nil {
		if base.kind == valueHigh && base.addr == *m.low {
			return place{kind: placeSlot, slot: symAddr{key: m.low.key, off: m.low.off + m.disp}}
		}
		return place{}
	}
	switch {
	case base.kind == valueAlloc:
		return place{kind: placeAlloc, site: base.n, disp: m.disp}
	case base.kind == valueAddr:
		return place{kind: placeSlot, slot: symAddr{key: base.addr.key, off: base.addr.off + m.disp}}
	case a.isStackReg(m.base):
		return place{kind: placeSlot, slot: symAddr{key: stackKey(m.base), off: m.disp}}
	}
	return place{}
}

func (a *analysis) apply(st *state, in *instr, e effect, facts *initFacts) {
	switch e.kind {
	case effClobber:
		a.setReg(st, e.dst, value{})

	case effCopy:
		a.setReg(st, e.dst, st.regs[e.src])

	case effConst:
		a.setReg(st, e.dst, value{kind: valueConst, n: e.n})

	case effAddr:
		a.setReg(st, e.dst, value{kind: valueAddr, addr: e.sym})

	case effHigh:
		a.setReg(st, e.dst, value{kind: valueHigh, addr: e.sym})

	case effLow:
		src := st.regs[e.src]
		if src.kind == valueHigh && (e.fromBase || src.addr == e.sym) {
			a.setReg(st, e.dst, value{kind: valueAddr, addr: src.addr})
		} else {
			a.setReg(st, e.dst, value{})
		}

	case effAddImm:
		src := st.regs[e.src]
		switch {
		case e.n == 0:
			a.setReg(st, e.dst, src)
			return
		}
		switch src.kind {
		case valueConst:
			a.setReg(st, e.dst, value{kind: valueConst, n: src.n + e.n})
		case valueAddr:
			a.setReg(st, e.dst, value{kind: valueAddr, addr: symAddr{key: src.addr.key, off: src.addr.off + int64(e.n)}})
		default:
			a.setReg(st, e.dst, value{})
		}

	case effLoad:
		p := a.resolve(st, e.mem)
		v := value{}
		if p.kind == placeSlot && e.width == 8 {
			v = st.mem[p.slot]
		}
		a.setReg(st, e.dst, v)

	case effStore:
		a.applyStore(st, in, e, facts)

	case effCall:
		a.applyCall(st, in, e, facts)
	}
}

func (a *analysis) applyStore(st *state, in *instr, e effect, facts *initFacts) {
	p := a.resolve(st, e.mem)

	stored := value{kind: valueConst, n: e.n}
	source := ""
	if !e.imm {
		stored = st.regs[e.src]
		source = e.srcName
		if source == "" {
			source = a.model.regName(e.src)
		}
	}
	known := stored.kind == valueConst
	truncated := stored.n
	if e.width > 0 && e.width < 8 {
		truncated &= 1<<(8*e.width) - 1
	}

	switch p.kind {
	case placeSlot:
		// Drop every slot the store overlaps, then keep a whole pointer.
		for slot := range st.mem {
			if slot.key == p.slot.key && slot.off < p.slot.off+int64(e.width) && p.slot.off < slot.off+8 {
				delete(st.mem, slot)
			}
		}
		if e.width == 8 && stored.kind != valueUnknown && len(st.mem) < maxSlots {
			st.mem[p.slot] = stored
		}

	case placeAlloc:
		field := int64(a.fieldOffset)
		if p.disp < field+4 && field < p.disp+int64(e.width) {
			st.stored[p.site] = true
			if facts != nil {
				facts.fieldStores = append(facts.fieldStores, fieldStore{
					site: p.site, at: in.at, text: in.disassembly(), disp: p.disp, width: e.width,
					known: known, value: truncated, source: source, late: st.enabled,
				})
			}
		}

	case placeUnknown:
		if facts != nil && !e.mem.indexed && e.mem.base != noReg && !a.isStackReg(e.mem.base) &&
			e.mem.disp == int64(a.fieldOffset) && (e.width == 1 || e.width == 4) {
			facts.untrackedStores = append(facts.untrackedStores, fieldStore{
				at: in.at, text: in.disassembly(), disp: e.mem.disp, width: e.width,
				known: known, value: truncated, source: source,
			})
		}
	}
}

func (a *analysis) applyCall(st *state, in *instr, e effect, facts *initFacts) {
	if facts != nil {
		arg := st.regs[a.model.argReg]
		switch {
		case e.target == enableFunction:
			stored := arg.kind == valueAlloc && st.stored[arg.n]
			facts.enables = append(facts.enables, enableCall{at: in.at, text: in.disassembly(), arg: arg, reach: true, stored: stored})
		case arg.kind == valueAlloc && !st.enabled && baseFunctionName(e.target) != freeFunction && !isKmalloc(e.target):
			callee := e.target
			if callee == "" {
				callee = "an unnamed function"
			}
			facts.handOffs = append(facts.handOffs, handOff{site: arg.n, at: in.at, callee: callee})
		}
	}

	// NOTE: facts about module variables and stack slots survive the call.
	// A callee that rewrote the module's klp_patch pointer variable would
	// mislead the analysis; the kpatch and klp-build init code has none.
	if e.target == enableFunction {
		st.enabled = true
	}
	for _, r := range a.model.callerSaved {
		a.setReg(st, r, value{})
	}
	result := value{}
	if isKmalloc(e.target) {
		result = value{kind: valueAlloc, n: in.at}
	}
	a.setReg(st, a.model.returnReg, result)
}
