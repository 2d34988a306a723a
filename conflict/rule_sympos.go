package conflict

import (
	"fmt"
)

var symposZeroOne = &Rule{
	ID:       "KLP0304",
	Name:     "sympos-zero-one",
	Severity: SeverityError,
	Title:    "a replace patch and an active patch differ in sympos 0 and 1",
	Doc: `Reports each function that a replace patch and an active patch both patch, where
one stores old_sympos 0 and the other 1. Both values select the same function when its
name is unique, so the patches mean the same thing, but kernels without commit
139560e8b973 compare the stored values when they add nops. It is common when patches come
from different producers: kpatch-build writes 1 for a unique local function, klp-build
and most hand-written patches write 0.

The severity follows the target kernel: error when it lacks the commit, note when it has
it, warning when that is unknown. docs/sympos-zero-one.md lists the releases known to
have the commit; a release not listed counts as unknown, and the plan or command line
can state the answer for the target.`,
	Kernel: `klp_add_nops (5.1 and later) looks up every function of every active patch in
the new replace patch with klp_find_func, which before commit 139560e8b973 ("livepatch:
Match old_sympos 0 and 1 in klp_find_func()", merged for 6.19 and backported to stable
lines) compared old_name and the stored old_sympos. A function stored as 0 in one patch
and as 1 in the other is not found, so a nop for it is added to the new patch. The nop and
the patch's own entry both want the sysfs directory "<name>,1", kobject_add fails with
-EEXIST ("sysfs: cannot create duplicate filename"), and insmod fails. Kernels with the
commit treat 0 and 1 as equal and load the patch.`,
	Fix: `Rebuild one of the patches so that both store the same old_sympos for the function,
or deploy on a kernel that has the commit. When the target is known to have it, say so in
the plan (or on the command line) to lower the finding to a note.`,
	Semantics: []Semantics{Mainline},
	checkLoad: checkSymposZeroOne,
}

// checkSymposZeroOne compares the stored sympos of a replace patch's
// functions with those of the active patches.
func checkSymposZeroOne(p *pass, c *candidate) {
	n := c.state
	if !n.mode.Replace {
		return
	}
	match, why := p.s.symposMatch, p.s.symposReason

	for _, fn := range n.funcs {
		if fn.key.Sympos != 1 {
			continue
		}
		var clash []*patchState
		for _, h := range p.s.activeHolders(fn.key, nil) {
			old, _ := h.lookup(fn.key)
			if !old.rawKnown {
				if match != Yes {
					p.notef("%s stores sympos %d for %s, and sysfs shows %s's as 1, which a stored 0 also shows as: not checked without the file of %s (map it with live_name)", n.name, fn.raw, fn.key, h.name, h.name)
				}
				continue
			}
			if old.raw != fn.raw {
				clash = append(clash, h)
			}
		}
		if len(clash) == 0 {
			continue
		}

		f := funcFinding(n, fn, "")
		for _, h := range clash {
			old, _ := h.lookup(fn.key)
			f.Related = append(f.Related, related(h, fmt.Sprintf("stores sympos %d", old.raw)))
		}
		stored := fmt.Sprintf("%s stores sympos %d for %s, and %s %s the other of 0 and 1", n.name, fn.raw, fn.key, names(clash), plural(len(clash), "stores", "store"))
		switch match {
		case No:
			f.Severity = SeverityError
			f.Message = stored + fmt.Sprintf(": the target kernel lacks commit 139560e8b973 (%s), so klp_add_nops adds a second %s,1 and the load fails with -EEXIST", why, fn.key.Function)
			p.refuse("EEXIST")
		case Yes:
			f.Severity = SeverityNote
			f.Message = stored + fmt.Sprintf(": the target kernel matches 0 and 1 (%s), but a kernel without commit 139560e8b973 fails the load with -EEXIST", why)
		default:
			f.Severity = SeverityWarning
			f.Message = stored + fmt.Sprintf(": a kernel without commit 139560e8b973 fails the load with -EEXIST, and whether the target has it is unknown (%s)", why)
		}
		p.report(f)
	}
}
