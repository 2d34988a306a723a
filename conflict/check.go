package conflict

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/klpcheck/klpcheck/livepatch"
)

// Check simulates plan and returns every finding, what each step did and
// the function map at the end.
//
// The simulation follows the kernel's load path for each plan entry: the
// module loader (vermagic, module name, vmlinux klp relocations), then
// klp_enable_patch (metadata, state and set checks, nops, sysfs objects).
// A load that the kernel would refuse is reported with the error insmod
// returns, and it leaves the patch list unchanged. The plan then goes on
// with the next entry. Rules never stop at the first problem, so a refused
// load still gets every finding that applies to it.
func Check(plan Plan) Result {
	s := newSimulation(plan)
	s.mapLiveFiles()
	s.loadLive()
	for i := range plan.Patches {
		if plan.Patches[i].LiveName == "" {
			s.load(i)
		}
	}
	s.runFinal()
	return s.result()
}

// simulation is the state of one Check call.
type simulation struct {
	plan Plan
	sem  Semantics
	// kernel is the target release; it may be unknown.
	kernel livepatch.KernelVersion
	// symposMatch is whether the target has commit 139560e8b973, and
	// symposReason the evidence for that value.
	symposMatch  Tristate
	symposReason string
	// vermagicRef is the release the plan's modules must share, and
	// vermagicFrom what it was taken from. vermagicHost is set when it is
	// known to be the host's release: the target kernel's, or that of a
	// module already loaded there.
	vermagicRef  string
	vermagicFrom string
	vermagicHost bool
	// vermagicModule is the module vermagicRef was taken from, if any.
	vermagicModule *Related

	// active is the simulated klp_patches list, oldest first. Change it
	// only through setActive, which keeps index in step.
	active []*patchState
	index  funcIndex
	// loaded maps the name of every loaded module to how it was loaded.
	loaded map[string]loadedModule
	// files maps a live patch name to the plan entry that gives its file.
	files map[string]*patchState
	// transitioning lists the live patches that are in transition.
	transitioning []*patchState
	// order counts patches in load order.
	order int
	// loads counts the plan entries that were attempted.
	loads int

	refusals []refusal
	findings []Finding
	notes    []string
	noteSeen map[string]bool
	// notChecked collects the "not checked" notes of the target rules,
	// which result groups by object and reason.
	notChecked notCheckedNotes
	steps      []Step
}

// loadedModule records why a module name is taken.
type loadedModule struct {
	// step is the plan entry that loaded it, 0 for a module loaded before
	// the plan.
	step      int
	livepatch bool
	// refcount is the live reference count of a module loaded before the
	// plan, when the snapshot shows it.
	refcount      int
	refcountKnown bool
}

// refusal is a reason the kernel fails the current load.
type refusal struct {
	rule  *Rule
	errno string
	// rank overrides the rule's refusalRank when it is not 0, for a rule
	// whose checks the kernel makes at more than one point of a load.
	rank int
}

// order returns the refusal's rank in the kernel's order of checks.
func (r refusal) order() int {
	if r.rank != 0 {
		return r.rank
	}
	return refusalRank[r.rule.Name]
}

// refusalRank orders the rules that refuse a load by where the kernel
// checks. The module loader comes first: the module_layout CRC in
// check_modstruct_version (crc-mismatch refuses it with moduleLayoutRank),
// vermagic and livepatch support in check_modinfo, the name in
// add_unformed_module, exported symbols and their CRCs in
// simplify_symbols, vmlinux klp relocations in apply_relocations. Then
// klp_enable_patch checks the metadata, runs klp_is_patch_compatible and
// the proposed set checks, and klp_init_patch adds nops, objects,
// functions and their sysfs kobjects and looks up the symbols. ftrace
// comes last, in __klp_enable_patch. The first refusal is the error insmod
// returns, and rules of equal rank keep registry order.
//
// NOTE: a rule has one rank, so a klp symbol that fails to resolve ranks
// with the function lookups, although the module loader resolves vmlinux
// klp symbols before klp_enable_patch runs.
var refusalRank = map[string]int{
	"vermagic-differs":     10,
	"vermagic-mismatch":    10,
	"no-livepatch-support": 12,
	"module-name-clash":    20,
	"unexported-symbol":    30,
	"crc-mismatch":         30,
	"pre-5.1-api":          30,
	"klp-reloc-invalid":    40,
	"metadata-invalid":     50,
	"state-incompatible":   60,
	"state-set-conflict":   70,
	"set-conflict":         80,
	"sympos-zero-one":      90,
	"object-name-invalid":  100,
	"duplicate-object":     110,
	"duplicate-func":       120,
	"symbol-not-found":     130,
	"symbol-ambiguous":     130,
	"sympos-out-of-range":  130,
	"not-ftraceable":       140,
}

// candidate is a plan entry about to be loaded.
type candidate struct {
	// index is the 1-based position of the entry in the plan.
	index  int
	patch  *Patch
	module *livepatch.Module
	// state is the patch as it would be active after the load.
	state *patchState
	// kernel is the release the module is checked for: the target's when
	// known, else the module's own vermagic release.
	kernel livepatch.KernelVersion
	// first is set for the first load of the plan.
	first bool

	// lookups caches refLookups once lookupsDone is set.
	lookups     []refLookup
	lookupsDone bool
}

// effect is the change made to the patch list by a successful load or by
// a live patch.
type effect struct {
	// patch is the patch that was loaded, or the live patch being added.
	patch *patchState
	// live is set when the patch was active before the plan. Only overlap
	// rules look at live patches: what a live patch replaced is unknown.
	live bool
	// before is the patch list before the load, oldest first; replaced are
	// the patches the load disabled; kept are the others.
	before   []*patchState
	replaced []*patchState
	kept     []*patchState
	reverted []revertedFunc
}

// revertedFunc is a function that returns to the original code.
type revertedFunc struct {
	fn patchFunc
	// owner is the replaced patch whose code ran for the function; holders
	// are every replaced patch that patched it, in load order.
	owner   *patchState
	holders []*patchState
}

func newSimulation(plan Plan) *simulation {
	s := &simulation{
		plan:     plan,
		sem:      plan.Semantics,
		kernel:   plan.Kernel.Version,
		loaded:   map[string]loadedModule{},
		files:    map[string]*patchState{},
		noteSeen: map[string]bool{},
		index:    funcIndex{},
	}
	if s.sem == "" {
		s.sem = Mainline
	}
	if !s.sem.Valid() {
		s.notef("unknown semantics %q: simulated as mainline", s.sem)
		s.sem = Mainline
	}

	s.symposMatch = plan.Kernel.SymposMatch
	s.symposReason = "set by the user"
	if s.symposMatch == Unknown {
		s.symposMatch, s.symposReason = SymposMatch(s.kernel)
	}

	s.chooseVermagicRef()
	return s
}

// chooseVermagicRef picks the release every module of the plan must be
// built for. That is the target's release, else that of a live patch's
// file, else the first plan module's. A live patch's file shows the host's
// release because the module loader accepts only modules built for the
// running kernel, unless insmod forces them.
func (s *simulation) chooseVermagicRef() {
	if s.kernel.Release != "" {
		s.vermagicRef, s.vermagicFrom, s.vermagicHost = s.kernel.Release, "the target kernel", true
		return
	}
	for _, p := range s.plan.Patches {
		if p.LiveName != "" && p.Module != nil && p.Module.Kernel.Release != "" {
			s.vermagicRef = p.Module.Kernel.Release
			s.vermagicFrom = fmt.Sprintf("live patch %s, which runs on the host,", p.LiveName)
			s.vermagicHost = true
			s.vermagicModule = &Related{Module: p.LiveName, Path: p.Module.Path, Note: "active on the host, built for " + s.vermagicRef}
			return
		}
	}
	for i, p := range s.plan.Patches {
		if p.Module != nil && p.Module.Kernel.Release != "" {
			s.vermagicRef = p.Module.Kernel.Release
			s.vermagicFrom = fmt.Sprintf("%s (step %d)", p.Module.Name, i+1)
			s.vermagicModule = &Related{Module: p.Module.Name, Path: p.Module.Path, Note: "built for " + s.vermagicRef}
			return
		}
	}
}

// mapLiveFiles reads the plan entries that give the file of a live patch.
func (s *simulation) mapLiveFiles() {
	for i, p := range s.plan.Patches {
		if p.LiveName == "" || p.Module == nil {
			continue
		}
		ps := moduleState(p.Module, p.LiveName)
		ps.mode, ps.modeKnown = p.Mode, p.ModeKnown
		s.files[p.LiveName] = ps

		if s.livePatch(p.LiveName) == nil {
			s.notef("step %d maps %s to live patch %s, which is not active on the host: the entry is not loaded", i+1, p.Module.Path, p.LiveName)
		}
	}
}

// livePatch returns the live patch called name, or nil.
func (s *simulation) livePatch(name string) *LivePatch {
	if s.plan.Live == nil {
		return nil
	}
	for i := range s.plan.Live.Patches {
		if s.plan.Live.Patches[i].Name == name {
			return &s.plan.Live.Patches[i]
		}
	}
	return nil
}

// loadLive adds the patches active on the host, in stack order, and runs
// the overlap rules on them.
func (s *simulation) loadLive() {
	live := s.plan.Live
	if live == nil {
		return
	}
	if live.Order == OrderProcModules && len(live.Patches) > 1 {
		s.notef("the order of the live patches comes from /proc/modules because the kernel has no stack_order attribute (before 6.14): it assumes that modules were loaded in the order their patches were enabled")
	}

	for _, m := range live.Modules {
		s.loaded[m.Name] = loadedModule{livepatch: m.Livepatch, refcount: m.Refcount, refcountKnown: m.RefcountKnown}
	}

	// TODO: while a replace patch is in transition, sysfs lists the nops
	// it added for the functions of the patches it replaces, and nothing
	// tells them from its own functions. Those nops are simulated as real
	// functions of the patch, so they show up as overlaps and in the
	// effective map, unless the plan maps the patch's file with live_name.
	for _, lp := range live.Patches {
		s.loaded[lp.Name] = loadedModule{livepatch: true}
		if !lp.Enabled && !lp.Transition {
			s.notef("live patch %s is neither enabled nor in transition: it is not active and is left out", lp.Name)
			continue
		}

		ps := s.livePatchState(lp)
		s.steps = append(s.steps, Step{
			Module:  ps.name,
			Path:    ps.path,
			Live:    true,
			Mode:    ps.mode,
			Patched: funcRefs(ps, ps.funcs),
		})

		e := &effect{patch: ps, live: true, before: slices.Clone(s.active), kept: slices.Clone(s.active)}
		s.setActive(append(s.active, ps), nil, []*patchState{ps})
		s.runEffect(e, 0)
		if lp.Transition {
			s.transitioning = append(s.transitioning, ps)
		}
	}

	for _, ps := range s.transitioning {
		s.completeTransition(ps)
	}
}

// livePatchState builds the simulated patch for a live patch, taking from
// its file, when the plan gives one, what sysfs does not show.
func (s *simulation) livePatchState(lp LivePatch) *patchState {
	s.order++
	ps := &patchState{name: lp.Name, live: true, order: s.order, transition: lp.Transition}
	file := s.files[lp.Name]

	switch {
	case s.sem == Mainline && lp.Replace != Unknown:
		ps.mode = Mode{Replace: lp.Replace == Yes, Source: "live"}
		if lp.Replace == Yes {
			ps.mode.Value = 1
		}
		ps.modeKnown = true
	case s.sem != Mainline && lp.ReplaceSetKnown:
		ps.mode = Mode{Replace: lp.ReplaceSet != 0, Value: lp.ReplaceSet, Source: "live"}
		ps.modeKnown = true
	case s.sem == Tag && lp.Replace != Unknown:
		ps.mode = Mode{Replace: lp.ReplaceValue != 0, Value: lp.ReplaceValue, Source: "live"}
		ps.modeKnown = true
	case file != nil && file.modeKnown:
		ps.mode, ps.modeKnown = file.mode, true
	}
	if file != nil && file.modeKnown && ps.mode.Source == "live" && (isReplace(s.sem, file.mode) != isReplace(s.sem, ps.mode) || s.sem != Mainline && file.mode.Value != ps.mode.Value) {
		s.notef("live patch %s runs as %s but its file %s gives %s: the simulation uses the value from sysfs", lp.Name, modeString(s.sem, ps.mode), file.path, modeString(s.sem, file.mode))
	}

	if file != nil {
		ps.path, ps.module = file.path, file.module
		ps.states, ps.statesKnown = file.states, true
	}
	if !liveFuncs(ps, lp, file) && !lp.Transition {
		s.notef("the functions of live patch %s in sysfs differ from those in its file %s: the simulation uses the sysfs list", lp.Name, file.path)
	}
	return ps
}

// completeTransition simulates the end of a live patch's transition, which
// a deployment reaches by waiting for transition to read 0. A patch being
// disabled leaves the list, and a replace patch being enabled disables the
// patches it replaces.
func (s *simulation) completeTransition(ps *patchState) {
	lp := s.livePatch(ps.name)
	if lp != nil && !lp.Enabled {
		s.setActive(slices.DeleteFunc(s.active, func(p *patchState) bool { return p == ps }), []*patchState{ps}, nil)
		s.notef("live patch %s is being disabled: the simulation starts after its transition completes, without it", ps.name)
		return
	}
	if !ps.modeKnown {
		s.notef("live patch %s is in transition and its replace mode is unknown: the simulation keeps the older patches, which a replace patch would disable when the transition completes", ps.name)
		return
	}
	if !isReplace(s.sem, ps.mode) {
		return
	}

	var disabled []string
	var removed []*patchState
	active := slices.DeleteFunc(s.active, func(p *patchState) bool {
		if p != ps && p.order < ps.order && s.replaces(ps, p) {
			disabled = append(disabled, p.name)
			removed = append(removed, p)
			return true
		}
		return false
	})
	s.setActive(active, removed, nil)
	if len(disabled) > 0 {
		for i := range s.steps {
			if s.steps[i].Live && s.steps[i].Module == ps.name {
				s.steps[i].Disabled = disabled
			}
		}
		s.notef("live patch %s is a replace patch in transition: the simulation starts after its transition completes, with the patches it replaces disabled", ps.name)
	}
}

// replaces reports whether loading n disables the active patch p.
func (s *simulation) replaces(n, p *patchState) bool {
	switch s.sem {
	case Tag:
		return n.mode.Value != 0 && p.modeKnown && p.mode.Value == n.mode.Value
	case ReplaceSet:
		return p.modeKnown && p.mode.Value == n.mode.Value
	}
	return n.mode.Replace
}

// load simulates plan entry i.
func (s *simulation) load(i int) {
	p := &s.plan.Patches[i]
	index := i + 1
	if p.Module == nil {
		s.notef("step %d has no module: skipped", index)
		return
	}

	for _, name := range p.RemoveFirst {
		s.rmmod(name, index)
	}

	ps := moduleState(p.Module, p.Module.Name)
	s.order++
	ps.step, ps.order = index, s.order
	ps.mode, ps.modeKnown = p.Mode, true
	if !p.ModeKnown {
		ps.mode = assumedMode(s.sem)
	}

	c := &candidate{index: index, patch: p, module: p.Module, state: ps, kernel: s.kernelFor(p.Module), first: s.loads == 0}
	s.loads++
	s.refusals = nil
	for _, r := range registry {
		if r.checkModule != nil && r.appliesTo(s.sem) {
			r.checkModule(&pass{rule: r, s: s, step: index}, c)
		}
	}
	for _, r := range registry {
		if r.checkLoad != nil && r.appliesTo(s.sem) {
			r.checkLoad(&pass{rule: r, s: s, step: index}, c)
		}
	}

	step := Step{Index: index, Module: ps.name, Path: ps.path, Mode: ps.mode}
	if len(s.refusals) > 0 {
		first := slices.MinFunc(s.refusals, func(a, b refusal) int {
			return cmp.Compare(a.order(), b.order())
		})
		step.Refused, step.Errno, step.RefusedBy = true, first.errno, first.rule.Name
		s.steps = append(s.steps, step)
		return
	}

	// The code that ran before the load is that of the last active patch
	// with the function, which the index still shows before apply.
	step.Patched = funcRefs(ps, ps.funcs)
	for i, fn := range ps.funcs {
		if holders := s.index[fn.key]; len(holders) > 0 {
			step.Patched[i].Previous = holders[len(holders)-1].name
		}
	}
	e := s.apply(ps)
	for _, r := range e.reverted {
		ref := funcRef(r.owner, r.fn)
		step.Reverted = append(step.Reverted, ref)
	}
	for _, r := range e.replaced {
		step.Disabled = append(step.Disabled, r.name)
	}
	s.steps = append(s.steps, step)
	s.runEffect(e, index)
}

// rmmod simulates removing a module before plan entry index.
func (s *simulation) rmmod(name string, index int) {
	for _, p := range s.active {
		if p.name == name {
			s.notef("rmmod %s before step %d fails: it is an active livepatch, which holds a reference to its own module; disable it first", name, index)
			return
		}
	}
	m, ok := s.loaded[name]
	if !ok {
		s.notef("rmmod %s before plan entry %d has nothing to remove: no module of that name is loaded", name, index)
		return
	}
	if m.step == 0 && m.refcountKnown && m.refcount > 0 {
		s.notef("rmmod %s before step %d fails: /proc/modules shows a reference count of %d, held by modules that use it or, for a livepatch whose transition was forced, kept for good; the module and its name stay", name, index, m.refcount)
		return
	}
	delete(s.loaded, name)
}

// apply loads ps into the patch list and returns what changed.
func (s *simulation) apply(ps *patchState) *effect {
	e := &effect{patch: ps, before: slices.Clone(s.active)}
	replace := isReplace(s.sem, ps.mode)
	for _, p := range s.active {
		if replace && s.replaces(ps, p) {
			e.replaced = append(e.replaced, p)
			continue
		}
		if replace && s.sem != Mainline && !p.modeKnown {
			s.notef("%s (%s) may replace %s, whose replace mode is unknown: the simulation keeps %s active", ps.name, modeString(s.sem, ps.mode), p.name, p.name)
		}
		e.kept = append(e.kept, p)
	}

	// The index still describes the list before the load here, in which
	// every active patch is either replaced or kept.
	replaced := make(map[*patchState]bool, len(e.replaced))
	for _, p := range e.replaced {
		replaced[p] = true
	}
	isReplaced := func(p *patchState) bool { return replaced[p] }
	isKept := func(p *patchState) bool { return !replaced[p] }

	seen := map[funcKey]bool{}
	for _, old := range e.replaced {
		for _, fn := range old.funcs {
			if seen[fn.key] {
				continue
			}
			seen[fn.key] = true
			if _, ok := ps.lookup(fn.key); ok || s.activeHolds(fn.key, isKept) {
				continue
			}
			holders := s.activeHolders(fn.key, isReplaced)
			owner := holders[len(holders)-1]
			ownerFn, _ := owner.lookup(fn.key)
			e.reverted = append(e.reverted, revertedFunc{fn: ownerFn, owner: owner, holders: holders})
		}
	}

	s.setActive(append(slices.Clone(e.kept), ps), e.replaced, []*patchState{ps})
	s.loaded[ps.name] = loadedModule{step: ps.step, livepatch: true}
	return e
}

// runEffect runs the effect checks for a load or a live patch.
func (s *simulation) runEffect(e *effect, step int) {
	for _, r := range registry {
		if r.checkEffect != nil && r.appliesTo(s.sem) {
			r.checkEffect(&pass{rule: r, s: s, step: step}, e)
		}
	}
}

// runFinal runs the checks on the state at the end of the plan.
func (s *simulation) runFinal() {
	for _, r := range registry {
		if r.checkFinal != nil && r.appliesTo(s.sem) {
			r.checkFinal(&pass{rule: r, s: s})
		}
	}
}

// kernelFor returns the release a module is checked for.
func (s *simulation) kernelFor(m *livepatch.Module) livepatch.KernelVersion {
	if s.kernel.Known() {
		return s.kernel
	}
	return m.Kernel
}

// notef adds a plan-wide note once.
func (s *simulation) notef(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if s.noteSeen[msg] {
		return
	}
	s.noteSeen[msg] = true
	s.notes = append(s.notes, msg)
}

// result assembles the Result, sorting the findings once.
func (s *simulation) result() Result {
	slices.SortStableFunc(s.findings, compareFindings)
	return Result{
		Semantics: s.sem,
		Findings:  s.findings,
		Steps:     s.steps,
		Effective: s.effective(),
		Notes:     append(s.notes, s.notChecked.notes()...),
	}
}

// compareFindings orders findings by step, module, rule ID, object,
// function, sympos and message.
func compareFindings(a, b Finding) int {
	return cmp.Or(
		cmp.Compare(a.Step, b.Step),
		cmp.Compare(a.Module, b.Module),
		cmp.Compare(a.RuleID, b.RuleID),
		cmp.Compare(a.Object, b.Object),
		cmp.Compare(a.Function, b.Function),
		cmp.Compare(a.Sympos, b.Sympos),
		cmp.Compare(a.Message, b.Message),
	)
}

// effective returns the function map of the final patch list: for each
// function, the most recently enabled patch that has it.
func (s *simulation) effective() []EffectiveFunc {
	top := map[funcKey]*patchState{}
	for _, p := range s.active {
		for _, fn := range p.funcs {
			top[fn.key] = p
		}
	}

	out := make([]EffectiveFunc, 0, len(top))
	for k, p := range top {
		out = append(out, EffectiveFunc{
			Object:     k.Object,
			Function:   k.Function,
			Sympos:     k.Sympos,
			Module:     p.name,
			Transition: p.transition,
		})
	}
	slices.SortFunc(out, func(a, b EffectiveFunc) int {
		return cmp.Or(cmp.Compare(a.Object, b.Object), cmp.Compare(a.Function, b.Function), cmp.Compare(a.Sympos, b.Sympos))
	})
	return out
}

// funcRef returns a FuncRef for a function of ps.
func funcRef(ps *patchState, fn patchFunc) FuncRef {
	return FuncRef{Object: fn.key.Object, Function: fn.key.Function, Sympos: fn.raw, Module: ps.name}
}

// funcRefs returns FuncRefs for functions of ps, in the patch's order.
func funcRefs(ps *patchState, fns []patchFunc) []FuncRef {
	if len(fns) == 0 {
		return nil
	}
	out := make([]FuncRef, 0, len(fns))
	for _, fn := range fns {
		out = append(out, funcRef(ps, fn))
	}
	return out
}
