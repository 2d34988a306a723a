package conflict

import (
	"fmt"
)

var funcOverlap = &Rule{
	ID:       "KLP0201",
	Name:     "func-overlap",
	Severity: SeverityWarning,
	Title:    "several active patches patch the same function",
	Doc: `Reports a function that the loaded patch patches while other active patches patch
it too, once per function, with the other patches in Related. The message names the patch
whose code runs. Functions are the same when object, name and sympos match, with sympos 0
and 1 counted as equal. Patches already active on the host are checked against each
other too, at step 0.

Under mainline this is a warning: the kernel allows it. Under the tag and replace-set
semantics an overlap between different tags or sets is refused and reported as
set-conflict instead; func-overlap remains for patches with tag 0, which stack as they do
under mainline. When one of the other patches is a replace (cumulative) patch,
override-cumulative reports the function instead.`,
	Kernel: `The kernel has no overlap check. Each patched function has one ftrace handler
with a stack of klp_func entries (kernel/livepatch/patch.c); every enabled patch pushes
its entry on top, and the handler runs the top entry, so the most recently enabled patch
wins. The fixes of the patches below are shadowed while it stays enabled, and come back,
one by one, as the patches above are disabled. Since 5.1 any patch can be disabled in any
order (commit d67a53720966), so which code runs depends on the order of loads and
disables. Functions are matched by address: two names that alias one address share one
stack, which a comparison by name does not see.`,
	Fix: `Build one cumulative patch that contains every fix for the function, or make sure
the later patch contains the earlier patch's fix. If the shadowing is intended, suppress
the finding with a reason.`,
	checkEffect: checkFuncOverlap,
}

var overrideCumulative = &Rule{
	ID:       "KLP0202",
	Name:     "override-cumulative",
	Severity: SeverityWarning,
	Title:    "a non-replace patch overrides a function of a cumulative patch",
	Doc: `Reports a function of a non-replace patch that an active replace (cumulative) patch
also patches, once per function. The non-replace patch's code runs in place of the
cumulative fix until the next cumulative patch replaces both.`,
	Kernel: `A non-replace patch loaded after a replace patch simply stacks on top of it
(5.1 and later): its klp_func is pushed on the function's stack and wins, and nothing in
the kernel compares it with the cumulative patch. When the next replace patch loads, it
disables both; if it lacks the hotfix, the hotfix's function falls back to the new
cumulative version.`,
	Fix: `Fold the fix into the next cumulative patch, or build the hotfix from the
cumulative patch's version of the function so that it keeps the cumulative fix. If the
override is intended, suppress the finding with a reason.`,
	Semantics:   []Semantics{Mainline},
	checkEffect: checkOverrideCumulative,
}

var stackOrderDependent = &Rule{
	ID:       "KLP0203",
	Name:     "stack-order-dependent",
	Severity: SeverityWarning,
	Title:    "a non-replace patch ends up partly shadowed by later patches",
	Doc: `Reports, at the end of the plan, a non-replace patch of which some functions run
while others are shadowed by later patches, once per shadowed function. Such a patch is
half applied: if its functions depend on each other, for example a caller and a callee
changed together, the host runs a combination that nobody built or tested, and the
combination changes with the order of loads and disables. A patch that is shadowed
entirely is reported only by func-overlap.`,
	Kernel: `Each function's ftrace handler runs the most recently enabled patch that has the
function (kernel/livepatch/patch.c), independently of the other functions of that patch.
Since 5.1 patches may be enabled and disabled in any order, and the kernel keeps no
notion of which patches belong together. The consistency model switches each task to a
whole patch at once, but only for the patch in transition, not for the stack underneath.`,
	Fix: `Replace the overlapping non-replace patches with one cumulative patch, or make the
later patch contain all functions of the earlier one that depend on the function it
overrides.`,
	Semantics:  []Semantics{Mainline, Tag},
	checkFinal: checkStackOrder,
}

// overlapHolders returns the other active patches that patch fn, in load
// order. The effect runs after the load, when the patch list is e.kept
// followed by e.patch. A live replace patch still in transition has not
// disabled the patches it replaces yet, but the simulation completes the
// transition next, so those patches do not count.
func overlapHolders(p *pass, e *effect, fn patchFunc) []*patchState {
	upgrading := e.live && e.patch.transition && e.patch.modeKnown && isReplace(p.sem(), e.patch.mode)
	return p.s.activeHolders(fn.key, func(h *patchState) bool {
		if h == e.patch {
			return false
		}
		return !upgrading || h.order > e.patch.order || !p.s.replaces(e.patch, h)
	})
}

// hasKnownReplace reports whether any of patches is known to be a replace
// patch under mainline.
func hasKnownReplace(patches []*patchState) bool {
	for _, p := range patches {
		if p.modeKnown && p.mode.Replace {
			return true
		}
	}
	return false
}

// checkFuncOverlap reports each function of the new patch that other
// active patches also patch.
func checkFuncOverlap(p *pass, e *effect) {
	n := e.patch
	for _, fn := range n.funcs {
		holders := overlapHolders(p, e, fn)
		if len(holders) == 0 {
			continue
		}
		if p.sem() == Mainline && !n.mode.Replace && hasKnownReplace(holders) {
			continue // override-cumulative reports it
		}

		f := funcFinding(n, fn, fmt.Sprintf("%s is also patched by %s; %s's code runs because the most recently enabled patch wins", fn.key, names(holders), n.name))
		for _, h := range holders {
			note := fmt.Sprintf("its %s is shadowed", fn.key.Function)
			if p.sem() == Mainline && !h.modeKnown {
				note += "; its replace mode is unknown"
			}
			f.Related = append(f.Related, related(h, note))
		}
		p.report(f)
	}
}

// checkOverrideCumulative reports each function of a non-replace patch that
// an active replace patch also patches.
func checkOverrideCumulative(p *pass, e *effect) {
	n := e.patch
	if n.mode.Replace {
		return
	}
	for _, fn := range n.funcs {
		holders := overlapHolders(p, e, fn)
		if !hasKnownReplace(holders) {
			continue
		}

		var cumulative []*patchState
		for _, h := range holders {
			if h.modeKnown && h.mode.Replace {
				cumulative = append(cumulative, h)
			}
		}
		f := funcFinding(n, fn, fmt.Sprintf("non-replace patch %s overrides %s of cumulative patch %s; %s's code runs until the next cumulative patch replaces both", n.name, fn.key, names(cumulative), n.name))
		for _, h := range holders {
			f.Related = append(f.Related, related(h, fmt.Sprintf("its %s is shadowed", fn.key.Function)))
		}
		p.report(f)
	}
}

// checkStackOrder reports partly shadowed non-replace patches at the end
// of the plan.
func checkStackOrder(p *pass) {
	active := p.s.active
	position := make(map[*patchState]int, len(active))
	for i, ps := range active {
		position[ps] = i
	}
	for i, ps := range active {
		isLater := func(h *patchState) bool { return position[h] > i }
		var runs, shadowed []patchFunc
		for _, fn := range ps.funcs {
			if p.s.activeHolds(fn.key, isLater) {
				shadowed = append(shadowed, fn)
			} else {
				runs = append(runs, fn)
			}
		}
		if len(runs) == 0 || len(shadowed) == 0 {
			continue
		}
		if !ps.modeKnown {
			p.notef("%s is partly shadowed by later patches; not checked because its replace mode is unknown", ps.name)
			continue
		}
		if isReplace(p.sem(), ps.mode) {
			continue // override-cumulative covers replace patches
		}

		for _, fn := range shadowed {
			by := p.s.activeHolders(fn.key, isLater)
			f := funcFinding(ps, fn, fmt.Sprintf("%s is partly effective: its %s is shadowed by %s, while its %s still runs, so the result depends on the load order", ps.name, fn.key, names(by), runningList(runs)))
			for _, h := range by {
				f.Related = append(f.Related, related(h, fmt.Sprintf("its %s runs", fn.key.Function)))
			}
			p.report(f)
		}
	}
}

// runningList names the functions that still run, up to three.
func runningList(fns []patchFunc) string {
	const max = 3
	out := ""
	for i, fn := range fns {
		if i == max {
			return out + fmt.Sprintf(" and %d more", len(fns)-max)
		}
		if i > 0 {
			out += ", "
		}
		out += fn.key.String()
	}
	return out
}
