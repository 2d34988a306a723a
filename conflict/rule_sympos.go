package conflict

import (
	"fmt"
	"slices"
)

var symposZeroOne = &Rule{
	ID:       "KLP0304",
	Name:     "sympos-zero-one",
	Severity: SeverityError,
	Title:    "a replace patch and an active patch differ in sympos 0 and 1",
	Doc: `Reports each function that a replace patch and an active patch both patch, where
one stores old_sympos 0 and the other 1, and each function that the replace patch leaves
out while two active patches store it, one with 0 and one with 1. Both values select the
same function when its name is unique, so the patches mean the same thing, but kernels
without commit 139560e8b973 compare the stored values when they add nops. It is common when patches come
from different producers: a kpatch-build version that commit 139560e8b973 names as
downstream writes 1 for a unique local function, while klp-build and most hand-written
patches write 0.

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
-EEXIST ("sysfs: cannot create duplicate filename"), and insmod fails. For a function the
new patch leaves out, the nop added for the active patch that stores 0 does not match the
one that stores 1, so a second nop with the same directory is added and fails the same way.
Kernels with the commit treat 0 and 1 as equal and load the patch.`,
	Fix: `Rebuild one of the patches so that both store the same old_sympos for the function,
or deploy on a kernel that has the commit. When the target is known to have it, or to lack
it, say so with the plan key sympos_match or the flag --sympos-match: the finding becomes a
note, or an error that refuses the load.`,
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
		reportSymposClash(p, f, match, [3]string{
			stored + fmt.Sprintf(": the target kernel lacks commit 139560e8b973 (%s), so klp_add_nops adds a second %s,1 and the load fails with -EEXIST", why, fn.key.Function),
			stored + fmt.Sprintf(": the target kernel matches 0 and 1 (%s), but a kernel without commit 139560e8b973 fails the load with -EEXIST", why),
			stored + fmt.Sprintf(": a kernel without commit 139560e8b973 fails the load with -EEXIST, and whether the target has it is unknown (%s)", why),
		})
	}

	checkNopSymposZeroOne(p, c)
}

// checkNopSymposZeroOne reports functions that the replace patch leaves
// out while active patches store them with both sympos 0 and 1. klp_add_nops
// adds a nop for the first, does not find it again for the second, and adds
// a second nop with the same sysfs name.
func checkNopSymposZeroOne(p *pass, c *candidate) {
	n := c.state
	match, why := p.s.symposMatch, p.s.symposReason

	type stored struct {
		fn         patchFunc
		zero, one  []*patchState
		unknownRaw []*patchState
	}
	var order []funcKey
	byKey := map[funcKey]*stored{}
	for _, h := range p.s.active {
		for _, fn := range h.funcs {
			if fn.key.Sympos != 1 {
				continue
			}
			if _, ok := n.lookup(fn.key); ok {
				continue
			}
			st := byKey[fn.key]
			if st == nil {
				st = &stored{fn: fn}
				byKey[fn.key] = st
				order = append(order, fn.key)
			}
			switch {
			case !fn.rawKnown:
				st.unknownRaw = append(st.unknownRaw, h)
			case fn.raw == 0:
				st.zero = append(st.zero, h)
			default:
				st.one = append(st.one, h)
			}
		}
	}

	for _, k := range order {
		st := byKey[k]
		holders := len(st.zero) + len(st.one) + len(st.unknownRaw)
		if len(st.unknownRaw) > 0 && holders > 1 && match != Yes {
			p.notef("%s leaves out %s, which %s also patch with a sympos that sysfs shows as 1: whether klp_add_nops adds two nops for it is not checked without the files of %s (map them with live_name)", n.name, k, names(append(append(slices.Clone(st.zero), st.one...), st.unknownRaw...)), names(st.unknownRaw))
		}
		if len(st.zero) == 0 || len(st.one) == 0 {
			continue
		}

		f := moduleFinding(c, "")
		f.Object, f.Function, f.Sympos, f.HasSympos = k.Object, k.Function, 1, true
		for _, h := range st.zero {
			f.Related = append(f.Related, related(h, "stores sympos 0"))
		}
		for _, h := range st.one {
			f.Related = append(f.Related, related(h, "stores sympos 1"))
		}
		stored := fmt.Sprintf("%s leaves out %s, which %s %s with sympos 0 and %s with sympos 1, so klp_add_nops adds a nop for each", n.name, k, names(st.zero), plural(len(st.zero), "stores", "store"), names(st.one))
		reportSymposClash(p, f, match, [3]string{
			stored + fmt.Sprintf(": the target kernel lacks commit 139560e8b973 (%s), so the two nops both want %s,1 and the load fails with -EEXIST", why, k.Function),
			stored + fmt.Sprintf(" on a kernel without commit 139560e8b973, and the load fails with -EEXIST; the target kernel matches 0 and 1 (%s)", why),
			stored + fmt.Sprintf(" on a kernel without commit 139560e8b973, and the load fails with -EEXIST; whether the target has it is unknown (%s)", why),
		})
	}
}

// reportSymposClash reports f with the severity and message that match
// gives: an error that refuses the load with -EEXIST when the target lacks
// commit 139560e8b973, a note when it has it, and a warning when that is
// unknown. messages are in that order.
func reportSymposClash(p *pass, f Finding, match Tristate, messages [3]string) {
	switch match {
	case No:
		f.Severity, f.Message = SeverityError, messages[0]
		p.refuse("EEXIST")
	case Yes:
		f.Severity, f.Message = SeverityNote, messages[1]
	default:
		f.Severity, f.Message = SeverityWarning, messages[2]
	}
	p.report(f)
}
