package conflict

import (
	"fmt"
)

var moduleNameClash = &Rule{
	ID:       "KLP0501",
	Name:     "module-name-clash",
	Severity: SeverityError,
	Title:    "a module with the same name is already loaded",
	Doc: `Reports a load whose module name is already taken: by a module loaded on the host,
including a livepatch module that was disabled or replaced and not removed, or by an
earlier plan entry that loaded successfully, including one that a later replace patch
disabled. A plan entry can name modules to remove with rmmod before it loads, which frees
their names.`,
	Kernel: `The module loader refuses a module whose name is already loaded
(add_unformed_module in kernel/module/main.c) with -EEXIST, whatever state that module is
in. A replace patch disables the patches it replaces, but their modules stay loaded until
rmmod (5.1 and later), so loading a new build under the same name, the usual cumulative
upgrade with kpatch-build's default name, fails until the old module is removed. Recent
versions of the kpatch tool remove such modules before loading.`,
	Fix: `Remove the old module with rmmod first (it must be disabled or replaced; an enabled
livepatch holds a reference to its own module), or give each build its own module name,
for example with kpatch-build -n or klp-build -o.`,
	checkLoad: checkModuleName,
}

var transitionBusy = &Rule{
	ID:       "KLP0502",
	Name:     "transition-busy",
	Severity: SeverityError,
	Title:    "a live patch is in transition, so the next load returns -EBUSY",
	Doc: `Reports, on the first load of the plan, a live patch whose transition attribute
reads 1. The load fails until that transition completes. The simulation assumes the
deployment waits for it: it starts from the state after the transition, and says so in
the notes.`,
	Kernel: `Only one patch may be in transition at a time (4.12 and later).
__klp_enable_patch returns -EBUSY while klp_transition_patch is set, so insmod of another
livepatch module fails. A transition can stay pending for a long time when tasks sleep in
a patched function; since 5.1 the kernel sends them a fake signal to move them along, and
writing 1 to /sys/kernel/livepatch/<patch>/force completes it unsafely.`,
	Fix: `Wait until /sys/kernel/livepatch/*/transition reads 0 for every patch before
loading, and investigate tasks whose /proc/<pid>/patch_state stays behind. Avoid force:
a forced patch's module can never be removed.`,
	checkLoad: checkTransitionBusy,
}

// checkModuleName refuses a load whose name is taken.
func checkModuleName(p *pass, c *candidate) {
	name := c.state.name
	taken, ok := p.s.loaded[name]
	if !ok {
		return
	}

	f := moduleFinding(c, "")
	var active *patchState
	for _, a := range p.s.active {
		if a.name == name {
			active = a
		}
	}
	switch {
	case active != nil && active.live:
		f.Message = fmt.Sprintf("module %s is already loaded and active as a live patch: insmod fails with -EEXIST", name)
		f.Related = []Related{related(active, "active on the host")}
	case active != nil:
		f.Message = fmt.Sprintf("module %s is already loaded by plan entry %d: insmod fails with -EEXIST", name, active.step)
		f.Related = []Related{related(active, "active")}
	case taken.step > 0:
		f.Message = fmt.Sprintf("module %s, loaded by plan entry %d, was disabled by a replace patch but stays loaded: insmod fails with -EEXIST unless it is removed with rmmod first", name, taken.step)
		f.Related = []Related{{Module: name, Path: p.s.plan.Patches[taken.step-1].Module.Path, Note: "disabled, still loaded"}}
	case taken.livepatch:
		f.Message = fmt.Sprintf("livepatch module %s is still loaded on the host, disabled or replaced: insmod fails with -EEXIST unless it is removed with rmmod first", name)
		f.Related = []Related{{Module: name, Note: "loaded, not active"}}
	default:
		f.Message = fmt.Sprintf("a module named %s is already loaded on the host: insmod fails with -EEXIST", name)
		f.Related = []Related{{Module: name, Note: "loaded"}}
	}
	p.report(f)
	p.refuse("EEXIST")
}

// checkTransitionBusy reports live patches in transition on the first load.
func checkTransitionBusy(p *pass, c *candidate) {
	if !c.first || len(p.s.transitioning) == 0 {
		return
	}
	f := moduleFinding(c, fmt.Sprintf("%s is in transition on the host: loading %s now fails with -EBUSY until the transition completes", names(p.s.transitioning), c.state.name))
	for _, t := range p.s.transitioning {
		f.Related = append(f.Related, related(t, "in transition"))
	}
	p.report(f)
}
