package conflict

import (
	"fmt"
)

var setConflict = &Rule{
	ID:       "KLP0204",
	Name:     "set-conflict",
	Severity: SeverityError,
	Title:    "a patch touches a function of another tag or replace set",
	Doc: `Under the tag and replace-set semantics, reports each function that the loaded
patch shares with an active patch of another tag or set, naming the later patch, which the
kernel refuses. Functions are the same when object, name and sympos match, with sympos 0
and 1 counted as equal. Under the tag semantics tag 0 (no replace) counts as a tag of its
own: two tag-0 patches may share a function, a tag-0 and a tagged patch may not. Patches
of the same tag or set do not conflict, because the later one replaces the earlier.`,
	Kernel: `Neither proposal is merged, and mainline kernels accept any overlap. The
replace-tag proposal (LKML, April 2026) makes klp_patch.replace a u32 and refuses a patch
that touches a function patched by an active patch with a different tag; whether tag 0
takes part was left open, and klpcheck treats it as a tag. The replace-set proposal
(live-patching list, May and June 2026) renames the field replace_set and has
klp_enable_patch fail with -EINVAL ("not compatible with the already installed
livepatches") when a function of the new patch matches a function of an active patch in
another set.`,
	Fix: `Put both fixes into one patch of one tag or set, or give the later patch the same
tag or set as the earlier one so that it replaces it (and then carries its fixes).`,
	Semantics: []Semantics{Tag, ReplaceSet},
	checkLoad: checkSetConflict,
}

// checkSetConflict refuses a patch that shares a function with an active
// patch of another tag or set.
func checkSetConflict(p *pass, c *candidate) {
	n := c.state
	refused := false
	for _, fn := range n.funcs {
		var other []*patchState
		for _, h := range p.s.activeHolders(fn.key, nil) {
			if !h.modeKnown {
				p.notef("%s patches %s like %s, whose %s is unknown; not checked", n.name, fn.key, h.name, groupWord(p.sem()))
				continue
			}
			if h.mode.Value != n.mode.Value {
				other = append(other, h)
			}
		}
		if len(other) == 0 {
			continue
		}

		f := funcFinding(n, fn, fmt.Sprintf("%s (%s) is refused: %s is already patched by %s of another %s", n.name, modeString(p.sem(), n.mode), fn.key, groupList(p.sem(), other), groupWord(p.sem())))
		for _, h := range other {
			f.Related = append(f.Related, related(h, fmt.Sprintf("%s, patches %s", modeString(p.sem(), h.mode), fn.key.Function)))
		}
		p.report(f)
		refused = true
	}
	if refused {
		p.refuse("EINVAL")
	}
}

// groupWord returns "tag" or "set".
func groupWord(sem Semantics) string {
	if sem == ReplaceSet {
		return "set"
	}
	return "tag"
}

// groupList names patches with their tag or set: "A (tag 1) and B (tag 2)".
func groupList(sem Semantics, patches []*patchState) string {
	out := ""
	for i, ps := range patches {
		switch {
		case i == 0:
		case i == len(patches)-1:
			out += " and "
		default:
			out += ", "
		}
		out += fmt.Sprintf("%s (%s)", ps.name, modeString(sem, ps.mode))
	}
	return out
}
