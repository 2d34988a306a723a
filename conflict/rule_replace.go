package conflict

import (
	"fmt"
)

var replaceReverts = &Rule{
	ID:       "KLP0301",
	Name:     "replace-reverts",
	Severity: SeverityWarning,
	Title:    "a replace patch leaves out functions that active patches fix",
	Doc: `Reports each function that an active patch patches and that a replace patch leaves
out, so that the function goes back to the original code when the replace patch loads.
The finding names the patch whose code ran for the function, whose fix is lost; Related
lists every replaced patch that patched it. Under the tag and replace-set semantics only
patches of the same tag or set are replaced, and a function that a patch of another tag
or set still patches is not reported.`,
	Kernel: `Since 5.1, klp_add_nops gives a replace patch a nop entry for every function of
every active patch that it does not patch itself. When the transition completes, the
replaced patches are disabled and their entries removed (klp_unpatch_replaced_patches),
then the nops are discarded, so those functions run the original code again. The
replaced modules stay loaded until rmmod. Reverting a fix this way is legitimate, but a
cumulative patch is expected to carry every fix it should keep.`,
	Fix: `Add the function's fix to the replace patch, or, if reverting the fix is the
intent, suppress the finding with a reason that says so.`,
	checkEffect: checkReplaceReverts,
}

var replaceDisables = &Rule{
	ID:       "KLP0302",
	Name:     "replace-disables",
	Severity: SeverityWarning,
	Title:    "a replace patch disables non-replace patches",
	Doc: `Reports a replace patch that disables active non-replace patches, such as
off-band hotfixes, naming them in Related. Replacing an earlier replace (cumulative) patch
is the normal upgrade and is not reported. A disabled patch whose replace mode is unknown
is mentioned in the notes instead.`,
	Kernel: `Under mainline (5.1 and later) a replace patch replaces every active patch,
whatever that patch's own replace flag: when its transition completes, all older patches
are disabled and removed from /sys/kernel/livepatch, and their functions fall back to the
new patch or to the original code. A disabled patch cannot be enabled again; its module
must be removed and loaded again.`,
	Fix: `Fold the hotfixes into the replace patch before deploying it, or, if they are meant
to end, remove their modules (rmmod) after the replace patch has loaded.`,
	Semantics:   []Semantics{Mainline},
	checkEffect: checkReplaceDisables,
}

var emptyReplace = &Rule{
	ID:       "KLP0303",
	Name:     "empty-replace",
	Severity: SeverityNote,
	Title:    "a replace patch with no functions reverts every patch it replaces",
	Doc: `Reports a replace patch that patches no function. Loading it disables every patch
it replaces and returns all their functions to the original code: under mainline every
active patch, under the tag and replace-set semantics every patch of its tag or set. This
is the documented way to remove all livepatches at once, so it is a note.`,
	Kernel: `klp_enable_patch accepts a patch whose objects have empty funcs arrays, or
whose objs array holds only the terminator (5.1 and later). klp_add_nops adds a nop for
every function of the replaced patches, and the transition reverts them all. klp-build
refuses to build such a patch ("nothing to patch"); hand-written modules can.`,
	Fix: `Nothing to fix if reverting everything is the intent. Otherwise check that the
right module was built: an empty replace patch usually means the patch file was empty or
the build found no changed function.`,
	checkEffect: checkEmptyReplace,
}

// checkReplaceReverts reports each function that returns to the original
// code.
func checkReplaceReverts(p *pass, e *effect) {
	if e.live {
		return
	}
	n := e.patch
	for _, r := range e.reverted {
		f := Finding{
			Message:   fmt.Sprintf("%s reverts to the original code: replace patch %s leaves it out, so the fix of %s is lost", r.fn.key, n.name, r.owner.name),
			Module:    n.name,
			Path:      n.path,
			Object:    r.fn.key.Object,
			Function:  r.fn.key.Function,
			Sympos:    r.fn.raw,
			HasSympos: true,
		}
		for _, h := range r.holders {
			note := fmt.Sprintf("its %s is replaced by a nop", r.fn.key.Function)
			if h == r.owner {
				note = fmt.Sprintf("its fix for %s is lost", r.fn.key.Function)
			}
			f.Related = append(f.Related, related(h, note))
		}
		p.report(f)
	}
}

// checkReplaceDisables reports non-replace patches that a replace patch
// disables.
func checkReplaceDisables(p *pass, e *effect) {
	if e.live || len(e.replaced) == 0 {
		return
	}
	n := e.patch
	var hotfixes []*patchState
	for _, r := range e.replaced {
		switch {
		case !r.modeKnown:
			p.notef("%s disables %s, whose replace mode is unknown; not checked whether it is a non-replace patch", n.name, r.name)
		case !r.mode.Replace:
			hotfixes = append(hotfixes, r)
		}
	}
	if len(hotfixes) == 0 {
		return
	}

	f := Finding{
		Message: fmt.Sprintf("replace patch %s disables non-replace %s %s: only the fixes that %s carries stay in effect", n.name, plural(len(hotfixes), "patch", "patches"), names(hotfixes), n.name),
		Module:  n.name,
		Path:    n.path,
	}
	for _, h := range hotfixes {
		f.Related = append(f.Related, related(h, "disabled; its module stays loaded until rmmod"))
	}
	p.report(f)
}

// checkEmptyReplace reports a replace patch without functions.
func checkEmptyReplace(p *pass, e *effect) {
	n := e.patch
	if e.live || len(n.funcs) > 0 || !isReplace(p.sem(), n.mode) {
		return
	}
	f := Finding{
		Message: fmt.Sprintf("replace patch %s patches no function: it disables %s and returns their functions to the original code", n.name, replacedScope(p.sem(), n)),
		Module:  n.name,
		Path:    n.path,
	}
	for _, r := range e.replaced {
		f.Related = append(f.Related, related(r, "disabled"))
	}
	p.report(f)
}

// replacedScope describes the patches that a replace patch replaces.
func replacedScope(sem Semantics, n *patchState) string {
	switch sem {
	case Tag:
		return fmt.Sprintf("every active patch with tag %d", n.mode.Value)
	case ReplaceSet:
		return fmt.Sprintf("every active patch of set %d", n.mode.Value)
	}
	return "every active patch"
}

// plural returns one or many depending on n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
