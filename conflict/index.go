package conflict

import "slices"

// funcIndex maps each function key to the active patches that have a
// function with that key, in the order of the simulated patch list. The
// rules ask, for every function of a new patch, which active patches also
// patch it. Scanning the patch list for each function made the cost of a
// load grow with the number of stacked patches. With the index, it grows
// only with the load's own functions.
//
// The index follows simulation.active: setActive is the only place that
// changes the list, and it updates both.
type funcIndex map[funcKey][]*patchState

// add records the functions of p, which has just been appended to the
// end of the patch list.
func (x funcIndex) add(p *patchState) {
	for _, fn := range p.funcs {
		x[fn.key] = append(x[fn.key], p)
	}
}

// remove drops the functions of p, which has left the patch list.
func (x funcIndex) remove(p *patchState) {
	for _, fn := range p.funcs {
		holders := slices.DeleteFunc(x[fn.key], func(h *patchState) bool { return h == p })
		if len(holders) == 0 {
			delete(x, fn.key)
			continue
		}
		x[fn.key] = holders
	}
}

// setActive replaces the simulated patch list and updates the index:
// removed are the patches that left the list and added the patches
// appended at its end, which keeps the index in list order.
func (s *simulation) setActive(active, removed, added []*patchState) {
	for _, p := range removed {
		s.index.remove(p)
	}
	for _, p := range added {
		s.index.add(p)
	}
	s.active = active
}

// activeHolders returns the active patches that have a function with key
// k and for which keep returns true, in list order. keep may be nil. The
// result is a new slice, so callers may keep or change it.
func (s *simulation) activeHolders(k funcKey, keep func(*patchState) bool) []*patchState {
	var out []*patchState
	for _, h := range s.index[k] {
		if keep == nil || keep(h) {
			out = append(out, h)
		}
	}
	return out
}

// activeHolds reports whether an active patch for which keep returns true
// has a function with key k.
func (s *simulation) activeHolds(k funcKey, keep func(*patchState) bool) bool {
	for _, h := range s.index[k] {
		if keep == nil || keep(h) {
			return true
		}
	}
	return false
}
