package conflict

import (
	"fmt"

	"github.com/klpcheck/klpcheck/livepatch"
)

// funcKey identifies a patched function across patches: the object, the
// function name and the sympos as sysfs shows it, so that a stored 0 and a
// stored 1 are the same function. Since commit 139560e8b973 the kernel's
// klp_find_func agrees; older kernels compare the stored values, which rule
// sympos-zero-one checks separately.
type funcKey struct {
	Object   string
	Function string
	Sympos   uint64
}

// String returns "object:function", with ",sympos" added when the sympos
// selects a later one of several same-named symbols.
func (k funcKey) String() string {
	if k.Sympos > 1 {
		return fmt.Sprintf("%s:%s,%d", k.Object, k.Function, k.Sympos)
	}
	return k.Object + ":" + k.Function
}

// patchFunc is one function of a simulated patch.
type patchFunc struct {
	key funcKey
	// raw is old_sympos as stored in the module. For a live patch read from
	// sysfs without its file, raw is the sysfs value, and rawKnown is false
	// when that value is 1, which a stored 0 also shows as.
	raw      uint64
	rawKnown bool
}

// patchState is a patch in the simulated klp_patches list, or a patch about
// to be loaded.
type patchState struct {
	name string
	// path is the module file, empty for a live patch without one.
	path string
	// step is the 1-based plan entry, 0 for a patch that was active before
	// the plan.
	step int
	live bool
	// order is the position in load order over live patches and plan
	// entries, used to list related patches in load order.
	order int

	// modeKnown is false only for a live patch whose mode neither sysfs nor
	// its file shows. A plan entry's assumed mode counts as known, because
	// the simulation uses it.
	mode      Mode
	modeKnown bool

	funcs  []patchFunc
	byKey  map[funcKey]int
	states []livepatch.State
	// statesKnown is false for a live patch read from sysfs alone, which
	// does not show klp_state.
	statesKnown bool
	// transition is set for a live patch that is in transition on the host.
	transition bool
	module     *livepatch.Module
}

// addFunc appends a function unless the patch already has one with the same
// key. A module with two such functions fails with -EEXIST, which
// duplicate-func reports; the simulation keeps the first.
func (ps *patchState) addFunc(object, function string, raw uint64, rawKnown bool) {
	key := funcKey{Object: object, Function: function, Sympos: livepatch.SysfsSympos(raw)}
	if _, ok := ps.byKey[key]; ok {
		return
	}
	if ps.byKey == nil {
		ps.byKey = map[funcKey]int{}
	}
	ps.byKey[key] = len(ps.funcs)
	ps.funcs = append(ps.funcs, patchFunc{key: key, raw: raw, rawKnown: rawKnown})
}

// lookup returns the patch's function with key k.
func (ps *patchState) lookup(k funcKey) (patchFunc, bool) {
	i, ok := ps.byKey[k]
	if !ok {
		return patchFunc{}, false
	}
	return ps.funcs[i], true
}

// state returns the patch's klp_state with id.
func (ps *patchState) state(id uint64) (livepatch.State, bool) {
	for _, s := range ps.states {
		if s.ID == id {
			return s, true
		}
	}
	return livepatch.State{}, false
}

// moduleState builds the patch a plan entry loads. Functions with a NULL
// old_name cannot be named and are left out; metadata-invalid reports them.
func moduleState(m *livepatch.Module, name string) *patchState {
	ps := &patchState{
		name:        name,
		path:        m.Path,
		states:      m.States,
		statesKnown: true,
		module:      m,
	}

	// Sizing the list and the map once saves their regrowth, which was a
	// fifth of the simulation's allocations on a 1,000-module plan.
	n := 0
	for _, obj := range m.Objects {
		n += len(obj.Funcs)
	}
	ps.funcs = make([]patchFunc, 0, n)
	ps.byKey = make(map[funcKey]int, n)

	for _, obj := range m.Objects {
		for _, fn := range obj.Funcs {
			if fn.OldNameNull {
				continue
			}
			ps.addFunc(obj.Name, fn.OldName, fn.Sympos, true)
		}
	}
	return ps
}

// liveFuncs fills ps with the functions of a live patch, as sysfs lists
// them. When the patch's file is given, each stored sympos comes from the
// file, and a function the file lacks keeps its sysfs value, or is left out
// as a nop during a transition. It returns false when the file's functions
// and the sysfs list differ.
func liveFuncs(ps *patchState, lp LivePatch, file *patchState) bool {
	same := true
	for _, obj := range lp.Objects {
		for _, fn := range obj.Funcs {
			key := funcKey{Object: obj.Name, Function: fn.Name, Sympos: livepatch.SysfsSympos(fn.Sympos)}
			if file != nil {
				if f, ok := file.lookup(key); ok {
					ps.addFunc(obj.Name, fn.Name, f.raw, true)
					continue
				}
				// During a transition sysfs also lists the nops that a
				// replace patch added for the functions of the patches it
				// replaces (klp_add_nops runs before the objects are
				// initialised), and a function its file lacks is one. The
				// nops go away when the transition completes.
				if lp.Transition {
					continue
				}
				same = false
			}
			ps.addFunc(obj.Name, fn.Name, fn.Sympos, fn.Sympos != 1)
		}
	}
	if file != nil && len(file.funcs) != len(ps.funcs) {
		same = false
	}
	return same
}

// isReplace reports whether a patch with mode m replaces other patches
// under sem: the bool under mainline, a non-zero tag under tag, and always
// under replace-set.
func isReplace(sem Semantics, m Mode) bool {
	switch sem {
	case Tag:
		return m.Value != 0
	case ReplaceSet:
		return true
	}
	return m.Replace
}

// modeString describes a mode for messages: "replace" or "non-replace"
// under mainline, "tag N" or "set N" otherwise.
func modeString(sem Semantics, m Mode) string {
	switch sem {
	case Tag:
		return fmt.Sprintf("tag %d", m.Value)
	case ReplaceSet:
		return fmt.Sprintf("set %d", m.Value)
	}
	if m.Replace {
		return "replace"
	}
	return "non-replace"
}
