package elfscan

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/klpcheck/klpcheck/livepatch"
)

// patchCandidate is a data relocation to __this_module: the mod field of a
// static struct klp_patch, or of any other structure that names its owner
// (file_operations, kernel_param, ...).
type patchCandidate struct {
	section int
	offset  uint64
}

// findStaticPatches returns the data locations that relocate to
// __this_module, outside the sections where the module loader and
// module_param put such pointers for other reasons.
func findStaticPatches(mf *moduleFile) ([]patchCandidate, error) {
	var found []patchCandidate
	for i, s := range mf.elf.Sections {
		if s.Flags&elf.SHF_ALLOC == 0 || s.Flags&elf.SHF_EXECINSTR != 0 {
			continue
		}
		switch {
		case s.Name == ".gnu.linkonce.this_module", s.Name == "__param", strings.HasPrefix(s.Name, "__ksymtab"):
			continue
		}

		rs, err := mf.relocsFor(i)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			if r.typ != mf.abs64 {
				continue
			}
			sym, err := mf.symbol(r.sym)
			if err != nil || sym.Name != "__this_module" || r.addend != 0 {
				continue
			}
			found = append(found, patchCandidate{section: i, offset: r.offset})
		}
	}
	return found, nil
}

// readHandWritten reads a static struct klp_patch and everything it points
// to. A module may hold other structures that point at __this_module, so
// each candidate is tried and the one whose objs field points into data is
// taken; code that passes it to klp_enable_patch breaks a tie.
func readHandWritten(mf *moduleFile, m *livepatch.Module, candidates []patchCandidate) error {
	var (
		good     []*livepatch.Module
		goodLoc  []patchCandidate
		firstErr error
	)
	for _, c := range candidates {
		trial := *m
		ok, err := readStaticPatch(mf, &trial, c)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if ok {
			good = append(good, &trial)
			goodLoc = append(goodLoc, c)
		}
	}

	if len(good) > 1 {
		good, goodLoc = preferEnabled(mf, good, goodLoc)
	}

	switch {
	case len(good) == 1:
		*m = *good[0]
		return nil
	case len(good) > 1:
		var where []string
		for _, c := range goodLoc {
			where = append(where, fmt.Sprintf("%s+%#x", mf.sectionName(c.section), c.offset))
		}
		return fmt.Errorf("find struct klp_patch: %d candidates (%s); a module may enable only one patch", len(good), strings.Join(where, ", "))
	case firstErr != nil:
		return firstErr
	}
	return errors.New("find struct klp_patch: no candidate structure")
}

// preferEnabled keeps the candidates that code refers to, the way
// klp_enable_patch(&patch) loads the address of the patch.
func preferEnabled(mf *moduleFile, good []*livepatch.Module, locs []patchCandidate) ([]*livepatch.Module, []patchCandidate) {
	var keptModules []*livepatch.Module
	var keptLocs []patchCandidate
	for i, c := range locs {
		if mf.codeRefersTo(c) {
			keptModules = append(keptModules, good[i])
			keptLocs = append(keptLocs, c)
		}
	}
	if len(keptModules) == 0 {
		return good, locs
	}
	return keptModules, keptLocs
}

// codeRefersTo reports whether a relocation in an executable section points
// at the start of candidate c.
func (mf *moduleFile) codeRefersTo(c patchCandidate) bool {
	for i, s := range mf.elf.Sections {
		if s.Flags&elf.SHF_EXECINSTR == 0 {
			continue
		}
		rs, err := mf.relocsFor(i)
		if err != nil {
			continue
		}
		for _, r := range rs {
			sym, err := mf.symbol(r.sym)
			if err != nil || int(sym.Section) != c.section {
				continue
			}
			// x86-64 loads addresses with PC-relative relocations whose
			// addend is biased by -4; accept that bias too.
			target := int64(sym.Value) + r.addend
			if target == int64(c.offset) || target+4 == int64(c.offset) {
				return true
			}
		}
	}
	return false
}

// readStaticPatch reads the struct klp_patch at c into m. It returns false
// without error when c is not a klp_patch at all: its objs field points
// into code or outside the module.
func readStaticPatch(mf *moduleFile, m *livepatch.Module, c patchCandidate) (bool, error) {
	name := mf.sectionName(c.section)
	m.Producer = livepatch.ProducerHandWritten
	m.PatchLocation = livepatch.Location{Section: name, Offset: c.offset}

	objs, ok, err := mf.readPointer(c.section, c.offset+patchObjsOffset)
	if err != nil {
		return false, fmt.Errorf("read klp_patch.objs: %w", err)
	}
	if ok && (!objs.inSection() || !mf.isDataSection(int(objs.section))) {
		return false, nil
	}

	if err := readPatchReplace(mf, m, c); err != nil {
		return false, err
	}

	if !ok {
		m.ObjsNull = true
	} else if err := readStaticObjects(mf, m, objs); err != nil {
		return false, err
	}

	if m.Kernel.AtLeast(5, 5) || !m.Kernel.Known() {
		if err := readStates(mf, m, c); err != nil {
			return false, err
		}
	}
	return true, nil
}

// isDataSection reports whether section i is allocated and not code.
func (mf *moduleFile) isDataSection(i int) bool {
	if i <= 0 || i >= len(mf.elf.Sections) {
		return false
	}
	f := mf.elf.Sections[i].Flags
	return f&elf.SHF_ALLOC != 0 && f&elf.SHF_EXECINSTR == 0
}

// readPatchReplace reads the replace byte, whose offset depends on the
// kernel that vermagic names: +24 from 5.5, +16 in 5.1 to 5.4, and absent
// before 5.1. An unknown kernel is read with the current layout.
func readPatchReplace(mf *moduleFile, m *livepatch.Module, c patchCandidate) error {
	if replace, ok := preReplaceKernel(m.Kernel); ok {
		m.Replace = replace
		return nil
	}

	field := uint64(patchReplaceOffset)
	if m.Kernel.Known() && !m.Kernel.AtLeast(5, 5) {
		field = patchReplaceOffsetPre55
	}
	value, width, err := readReplaceField(mf, c.section, c.offset+field)
	if err != nil {
		return fmt.Errorf("read klp_patch.replace: %w", err)
	}

	m.Replace = livepatch.Replace{
		Known:  true,
		Value:  value,
		Width:  width,
		Source: livepatch.ReplaceFromData,
		Detail: fmt.Sprintf("klp_patch.replace at %s+%#x", mf.sectionName(c.section), c.offset+field),
	}
	if !m.Kernel.Known() {
		m.Replace.Detail += " (kernel unknown, 5.5+ layout assumed)"
	}
	return nil
}

// readReplaceField reads the replace field of a static klp_patch at off:
// mainline's bool, or the unsigned int replace_set of the replace-set
// proposal, which sits at the same offset. The three bytes after a bool
// are padding, which is zero in a module's data, so the four bytes tell
// the two apart except where their encodings coincide. On little-endian
// arches a bool and a set of 0 or 1 have the same bytes and the same
// value, read as a bool. On big-endian arches a bool sets the first byte
// and a set the last. The field is 4-byte aligned, so the four bytes lie
// inside the structure either way.
func readReplaceField(mf *moduleFile, sec int, off uint64) (uint32, livepatch.ReplaceWidth, error) {
	v, err := mf.readUint(sec, off, 4)
	if err != nil {
		return 0, 0, err
	}
	u := uint32(v)

	if mf.arch.ByteOrder == binary.LittleEndian {
		if u > 1 {
			return u, 4, nil
		}
		return u, 1, nil
	}
	if first := u >> 24; first != 0 && u&0xffffff == 0 {
		return first, 1, nil
	}
	if u == 0 {
		return 0, 1, nil
	}
	return u, 4, nil
}

// readStaticObjects walks the klp_object array that objs points to.
func readStaticObjects(mf *moduleFile, m *livepatch.Module, objs pointer) error {
	sec := int(objs.section)
	external := uint64(objExternalSize)
	if m.Kernel.Known() && !m.Kernel.AtLeast(4, 15) {
		external = objExternalSizePre415
	}

	isTerminator := func(off uint64) (bool, error) {
		_, hasName, err := mf.readPointer(sec, off+objNameOffset)
		if err != nil {
			return false, err
		}
		_, hasFuncs, err := mf.readPointer(sec, off+objFuncsOffset)
		if err != nil {
			return false, err
		}
		return !hasName && !hasFuncs, nil
	}

	arr, err := mf.arrayStride("klp_object", sec, objs.offset, external, external+kobjectMinSize, isTerminator)
	if err != nil {
		return fmt.Errorf("read klp_object array: %w", err)
	}
	m.Notes = append(m.Notes, fmt.Sprintf("klp_object stride %d bytes, from the %s", arr.stride, arr.how))

	for i := 0; i < arr.count; i++ {
		off := arr.entry(i)
		obj, err := readStaticObject(mf, m, sec, off, external == objExternalSize)
		if err != nil {
			return fmt.Errorf("read klp_object %d: %w", i, err)
		}
		m.Objects = append(m.Objects, obj)
	}
	return nil
}

// readStaticObject reads one struct klp_object and its funcs.
func readStaticObject(mf *moduleFile, m *livepatch.Module, sec int, off uint64, hasCallbacks bool) (livepatch.Object, error) {
	obj := livepatch.Object{Name: "vmlinux", Location: livepatch.Location{Section: mf.sectionName(sec), Offset: off}}

	namePtr, hasName, err := mf.readPointer(sec, off+objNameOffset)
	if err != nil {
		return obj, err
	}
	if hasName {
		name, err := mf.readString(namePtr)
		if err != nil {
			return obj, fmt.Errorf("read name: %w", err)
		}
		obj.Name = name
		obj.LiteralVmlinux = name == "vmlinux"
	}

	if hasCallbacks {
		if obj.Callbacks, err = readCallbacks(mf, sec, off+objCallbacksOffset); err != nil {
			return obj, err
		}
	}

	funcs, hasFuncs, err := mf.readPointer(sec, off+objFuncsOffset)
	if err != nil {
		return obj, err
	}
	if !hasFuncs {
		obj.FuncsNull = true
		return obj, nil
	}
	if !funcs.inSection() || !mf.isDataSection(int(funcs.section)) {
		return obj, errAt(mf.sectionName(sec), off+objFuncsOffset, "funcs points to %s, not into module data", mf.pointerSymbol(funcs).Name)
	}

	obj.Funcs, err = readStaticFuncs(mf, m, funcs)
	return obj, err
}

// readCallbacks reads the four function pointers of struct klp_callbacks.
func readCallbacks(mf *moduleFile, sec int, off uint64) (livepatch.Callbacks, error) {
	var cb livepatch.Callbacks
	fields := []*string{&cb.PrePatch, &cb.PostPatch, &cb.PreUnpatch, &cb.PostUnpatch}
	for i, field := range fields {
		p, ok, err := mf.readPointer(sec, off+uint64(i)*8)
		if err != nil {
			return cb, fmt.Errorf("read callbacks: %w", err)
		}
		if ok {
			*field = mf.pointerSymbol(p).Name
		}
	}
	return cb, nil
}

// readStaticFuncs walks a klp_func array.
func readStaticFuncs(mf *moduleFile, m *livepatch.Module, funcs pointer) ([]livepatch.Func, error) {
	sec := int(funcs.section)

	isTerminator := func(off uint64) (bool, error) {
		_, hasOld, err := mf.readPointer(sec, off+funcOldNameOffset)
		if err != nil {
			return false, err
		}
		_, hasNew, err := mf.readPointer(sec, off+funcNewFuncOffset)
		if err != nil {
			return false, err
		}
		sympos, err := mf.readUint(sec, off+funcSymposOffset, 8)
		if err != nil {
			return false, err
		}
		return !hasOld && !hasNew && sympos == 0, nil
	}

	external := uint64(funcExternalSize)
	if m.Kernel.AtLeast(4, 12) && !m.Kernel.AtLeast(4, 16) {
		external = funcExternalSizeImmediate
	}
	arr, err := mf.arrayStride("klp_func", sec, funcs.offset, external, minFuncStride, isTerminator)
	if err != nil {
		return nil, fmt.Errorf("read klp_func array: %w", err)
	}
	if arr.count > 0 {
		m.Notes = append(m.Notes, fmt.Sprintf("klp_func stride %d bytes at %s+%#x, from the %s", arr.stride, mf.sectionName(sec), arr.start, arr.how))
	}

	out := make([]livepatch.Func, 0, arr.count)
	for i := 0; i < arr.count; i++ {
		fn, err := readFuncEntry(mf, sec, arr.entry(i))
		if err != nil {
			return nil, fmt.Errorf("read klp_func %d: %w", i, err)
		}
		out = append(out, fn)
	}
	return out, nil
}

// readFuncEntry reads old_name, new_func and old_sympos, the layout shared
// by struct klp_func and klp-build's struct klp_func_ext.
func readFuncEntry(mf *moduleFile, sec int, off uint64) (livepatch.Func, error) {
	fn := livepatch.Func{Location: livepatch.Location{Section: mf.sectionName(sec), Offset: off}}

	oldName, ok, err := mf.readPointer(sec, off+funcOldNameOffset)
	if err != nil {
		return fn, err
	}
	if ok {
		if fn.OldName, err = mf.readString(oldName); err != nil {
			return fn, fmt.Errorf("read old_name: %w", err)
		}
	} else {
		fn.OldNameNull = true
	}

	newFunc, ok, err := mf.readPointer(sec, off+funcNewFuncOffset)
	if err != nil {
		return fn, err
	}
	if ok {
		fn.NewFunc = mf.pointerSymbol(newFunc)
	} else {
		fn.NewFuncNull = true
	}

	fn.Sympos, err = mf.readUint(sec, off+funcSymposOffset, 8)
	return fn, err
}

// readStates walks the klp_state array (5.5+), terminated by id 0.
func readStates(mf *moduleFile, m *livepatch.Module, c patchCandidate) error {
	states, ok, err := mf.readPointer(c.section, c.offset+patchStatesOffset)
	if err != nil {
		return fmt.Errorf("read klp_patch.states: %w", err)
	}
	if !ok {
		return nil
	}
	if !states.inSection() || !mf.isDataSection(int(states.section)) {
		return errAt(mf.sectionName(c.section), c.offset+patchStatesOffset, "states points to %s, not into module data", mf.pointerSymbol(states).Name)
	}

	sec := int(states.section)
	isTerminator := func(off uint64) (bool, error) {
		id, err := mf.readUint(sec, off+stateIDOffset, 8)
		return id == 0, err
	}
	arr, err := mf.arrayStride("klp_state", sec, states.offset, stateSize, stateSize, isTerminator)
	if err != nil {
		return fmt.Errorf("read klp_state array: %w", err)
	}

	for i := 0; i < arr.count; i++ {
		off := arr.entry(i)
		id, err := mf.readUint(sec, off+stateIDOffset, 8)
		if err != nil {
			return err
		}
		version, err := mf.readUint(sec, off+stateVersionOffset, 4)
		if err != nil {
			return err
		}
		m.States = append(m.States, livepatch.State{ID: id, Version: uint32(version)})
	}
	return nil
}
