package conflict

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/klpcheck/klpcheck/livepatch"
)

var stateIncompatible = &Rule{
	ID:       "KLP0401",
	Name:     "state-incompatible",
	Severity: SeverityError,
	Title:    "a patch's klp_state entries are incompatible with active patches",
	Doc: `Reports a load that the kernel's system-state check refuses, once per state id,
with the active patches that declare it in Related:

- mainline: the new patch declares a state id of an active patch with a lower version,
  or it is a replace patch and lacks a state id of an active patch;
- tag: the same rule among tag-0 patches; a tagged patch must carry every state id of the
  same-tag patches it replaces, each at the same or a higher version;
- replace-set: the new patch must carry every state id of the active patch of its set,
  each at the same or a higher version.

A state id used by a patch of another tag or set is reported by state-set-conflict.
Patches known only from sysfs show no klp_state; they are checked when the plan maps
their file with live_name, and otherwise listed in the notes as not checked.`,
	Kernel: `klp_is_patch_compatible (kernel/livepatch/state.c, 5.5 and later) runs in
klp_enable_patch. For every active patch and each of its states, the new patch must
declare the same id with a version at least as high, or, when it is not a replace patch,
not declare the id at all. Otherwise insmod fails with -EINVAL and the log says "Livepatch
patch (%s) is not compatible with the already installed livepatches." kpatch-build and
klp-build never set states, so their replace patches cannot replace a patch that declares
one. The replace-set proposal applies the replace rule to every patch of the same set.`,
	Fix: `Declare the state in the new patch with the same or a higher version, and make its
callbacks take over what the older patch set up (shadow variables, changed data). When
the old state must go, load a patch that handles the downgrade first, or disable the
older patch and remove its module.`,
	checkLoad: checkStateCompatible,
}

var stateSetConflict = &Rule{
	ID:       "KLP0402",
	Name:     "state-set-conflict",
	Severity: SeverityError,
	Title:    "a patch reuses a state id of another tag or replace set",
	Doc: `Under the tag and replace-set semantics, reports each klp_state id that the new
patch declares and an active patch of another tag or set declares too. Two independent
owners would then manage one piece of system state. Tag 0 counts as a tag of its own.`,
	Kernel: `Not in mainline. The replace-set proposal (live-patching list, May and June
2026) makes klp_enable_patch fail with -EINVAL when the new patch declares a state id
that an active patch of another set declares. The replace-tag proposal does not specify
states; klpcheck applies the same isolation between tags.`,
	Fix: `Give the state a new id owned by this tag or set, or move both fixes into one
patch of one tag or set.`,
	Semantics: []Semantics{Tag, ReplaceSet},
	checkLoad: checkStateSets,
}

// stateClash is one state id of the new patch that active patches object
// to.
type stateClash struct {
	id      uint64
	holders []Related
	reasons []string
}

// checkStateCompatible applies the system-state rules to the new patch.
func checkStateCompatible(p *pass, c *candidate) {
	n := c.state
	replace := isReplace(p.sem(), n.mode)
	clashes := map[uint64]*stateClash{}
	add := func(h *patchState, s livepatch.State, reason string) {
		cl := clashes[s.ID]
		if cl == nil {
			cl = &stateClash{id: s.ID}
			clashes[s.ID] = cl
		}
		cl.holders = append(cl.holders, related(h, fmt.Sprintf("declares klp_state %d version %d", s.ID, s.Version)))
		cl.reasons = append(cl.reasons, reason)
	}

	for _, h := range p.s.active {
		// Which active patches the rule applies to: all of them under
		// mainline, the same tag or set otherwise.
		if p.sem() != Mainline {
			if !h.modeKnown {
				// h may be of the same tag or set; only a patch that may
				// declare states matters.
				if (replace || len(n.states) > 0) && (!h.statesKnown || len(h.states) > 0) {
					p.notef("%s is not checked against %s, whose %s is unknown", n.name, h.name, groupWord(p.sem()))
				}
				continue
			}
			if h.mode.Value != n.mode.Value {
				continue
			}
		}
		if !h.statesKnown {
			// A non-replace patch without states is compatible with
			// any states, so only the others need the file.
			if replace || len(n.states) > 0 {
				p.notef("%s is not checked against live patch %s: sysfs does not show klp_state (map its file with live_name)", n.name, h.name)
			}
			continue
		}

		for _, s := range h.states {
			mine, ok := n.state(s.ID)
			switch {
			case !ok && replace:
				add(h, s, fmt.Sprintf("%s replaces %s but lacks klp_state %d, which %s declares at version %d", n.name, h.name, s.ID, h.name, s.Version))
			case ok && mine.Version < s.Version:
				add(h, s, fmt.Sprintf("%s declares klp_state %d at version %d, below version %d of %s", n.name, s.ID, mine.Version, s.Version, h.name))
			}
		}
	}
	reportStateClashes(p, c, clashes, "klp_is_patch_compatible fails with -EINVAL")
}

// checkStateSets reports state ids shared with patches of another tag or
// set.
func checkStateSets(p *pass, c *candidate) {
	n := c.state
	clashes := map[uint64]*stateClash{}
	for _, h := range p.s.active {
		if !h.modeKnown {
			if len(n.states) > 0 {
				p.notef("%s is not checked against %s, whose %s is unknown", n.name, h.name, groupWord(p.sem()))
			}
			continue
		}
		if h.mode.Value == n.mode.Value {
			continue
		}
		if !h.statesKnown {
			if len(n.states) > 0 {
				p.notef("%s is not checked against live patch %s: sysfs does not show klp_state (map its file with live_name)", n.name, h.name)
			}
			continue
		}
		for _, s := range n.states {
			theirs, ok := h.state(s.ID)
			if !ok {
				continue
			}
			cl := clashes[s.ID]
			if cl == nil {
				cl = &stateClash{id: s.ID}
				clashes[s.ID] = cl
			}
			cl.holders = append(cl.holders, related(h, fmt.Sprintf("%s, declares klp_state %d version %d", modeString(p.sem(), h.mode), s.ID, theirs.Version)))
			cl.reasons = append(cl.reasons, fmt.Sprintf("%s (%s) declares klp_state %d, which %s of %s also declares", n.name, modeString(p.sem(), n.mode), s.ID, h.name, modeString(p.sem(), h.mode)))
		}
	}
	reportStateClashes(p, c, clashes, fmt.Sprintf("a state id belongs to one %s, so the load fails with -EINVAL", groupWord(p.sem())))
}

// reportStateClashes reports one finding per state id, in id order, and
// refuses the load when there is any.
func reportStateClashes(p *pass, c *candidate, clashes map[uint64]*stateClash, consequence string) {
	if len(clashes) == 0 {
		return
	}
	ids := make([]uint64, 0, len(clashes))
	for id := range clashes {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b uint64) int { return cmp.Compare(a, b) })

	for _, id := range ids {
		cl := clashes[id]
		msg := cl.reasons[0]
		if len(cl.reasons) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(cl.reasons)-1)
		}
		f := moduleFinding(c, msg+": "+consequence)
		f.Related = cl.holders
		p.report(f)
	}
	p.refuse("EINVAL")
}
