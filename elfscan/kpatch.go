package elfscan

import (
	"fmt"
	"strings"

	"github.com/klpcheck/klpcheck/livepatch"
)

// Layout of kpatch-build's struct kpatch_patch_func (kmod/patch/kpatch-patch.h
// in dynup/kpatch): new_addr, new_size, old_addr, old_size, sympos, name,
// objname, each 8 bytes.
const (
	kpatchFuncSize          = 56
	kpatchFuncNewAddrOffset = 0
	kpatchFuncSymposOffset  = 32
	kpatchFuncNameOffset    = 40
	kpatchFuncObjnameOffset = 48

	// kpatchCallbackSize is struct kpatch_callback: a function pointer and
	// an objname pointer. kpatch.lds.S appends QUAD(0) after the entries.
	kpatchCallbackSize = 16
)

// kpatchCallbackKinds maps each .kpatch.callbacks.<kind> section to the
// callback it fills.
var kpatchCallbackKinds = []struct {
	kind  string
	field func(*livepatch.Callbacks) *string
}{
	{"pre_patch", func(c *livepatch.Callbacks) *string { return &c.PrePatch }},
	{"post_patch", func(c *livepatch.Callbacks) *string { return &c.PostPatch }},
	{"pre_unpatch", func(c *livepatch.Callbacks) *string { return &c.PreUnpatch }},
	{"post_unpatch", func(c *livepatch.Callbacks) *string { return &c.PostUnpatch }},
}

// readKpatch reads .kpatch.funcs and the callback sections. kpatch-build's
// patch hook turns them into klp structures at module init: one object per
// distinct objname, where the string "vmlinux" becomes a NULL name.
func readKpatch(mf *moduleFile, m *livepatch.Module, sec int) error {
	m.Producer = livepatch.ProducerKpatchBuild
	name := mf.sectionName(sec)

	data, err := mf.sectionData(sec)
	if err != nil {
		return fmt.Errorf("read .kpatch.funcs: %w", err)
	}
	if len(data)%kpatchFuncSize != 0 {
		return fmt.Errorf("read .kpatch.funcs: %w", errIn(name, "size %d is not a multiple of %d", len(data), kpatchFuncSize))
	}

	n := len(data) / kpatchFuncSize
	fns := make([]livepatch.Func, 0, n)
	objNames := make([]string, 0, n)
	for off := uint64(0); off < uint64(len(data)); off += kpatchFuncSize {
		fn, objName, err := readKpatchFunc(mf, sec, off)
		if err != nil {
			return fmt.Errorf("read .kpatch.funcs entry %d: %w", off/kpatchFuncSize, err)
		}
		fns = append(fns, fn)
		objNames = append(objNames, objName)
	}

	// Each object's list is allocated at its final size, since a
	// module's functions are most of its model.
	counts := map[string]int{}
	for _, name := range objNames {
		counts[name]++
	}
	for i, fn := range fns {
		obj := objectNamed(m, objNames[i])
		if cap(obj.Funcs) == 0 {
			obj.Funcs = make([]livepatch.Func, 0, counts[objNames[i]])
		}
		obj.Funcs = append(obj.Funcs, fn)
	}

	for _, k := range kpatchCallbackKinds {
		if err := readKpatchCallbacks(mf, m, k.kind, k.field); err != nil {
			return fmt.Errorf("read .kpatch.callbacks.%s: %w", k.kind, err)
		}
	}
	return nil
}

// readKpatchFunc reads one kpatch_patch_func entry.
func readKpatchFunc(mf *moduleFile, sec int, off uint64) (livepatch.Func, string, error) {
	fn := livepatch.Func{Location: livepatch.Location{Section: mf.sectionName(sec), Offset: off}}

	newAddr, ok, err := mf.readPointer(sec, off+kpatchFuncNewAddrOffset)
	if err != nil {
		return fn, "", err
	}
	if ok {
		fn.NewFunc = mf.pointerSymbol(newAddr)
	} else {
		fn.NewFuncNull = true
	}

	if fn.Sympos, err = mf.readUint(sec, off+kpatchFuncSymposOffset, 8); err != nil {
		return fn, "", err
	}

	namePtr, ok, err := mf.readPointer(sec, off+kpatchFuncNameOffset)
	if err != nil {
		return fn, "", err
	}
	if ok {
		if fn.OldName, err = mf.readString(namePtr); err != nil {
			return fn, "", fmt.Errorf("read name: %w", err)
		}
	} else {
		fn.OldNameNull = true
	}

	objPtr, ok, err := mf.readPointer(sec, off+kpatchFuncObjnameOffset)
	if err != nil {
		return fn, "", err
	}
	if !ok {
		return fn, "", errAt(mf.sectionName(sec), off+kpatchFuncObjnameOffset, "objname is NULL")
	}
	objName, err := mf.readString(objPtr)
	if err != nil {
		return fn, "", fmt.Errorf("read objname: %w", err)
	}
	return fn, objName, nil
}

// readKpatchCallbacks reads one .kpatch.callbacks.<kind> section. Entries
// run until the QUAD(0) that kpatch.lds.S appends, or the section end.
func readKpatchCallbacks(mf *moduleFile, m *livepatch.Module, kind string, field func(*livepatch.Callbacks) *string) error {
	sec := mf.sectionIndex(".kpatch.callbacks." + kind)
	if sec < 0 {
		return nil
	}
	data, err := mf.sectionData(sec)
	if err != nil {
		return err
	}

	for off := uint64(0); off+kpatchCallbackSize <= uint64(len(data)); off += kpatchCallbackSize {
		fnPtr, ok, err := mf.readPointer(sec, off)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		objPtr, ok, err := mf.readPointer(sec, off+8)
		if err != nil {
			return err
		}
		if !ok {
			return errAt(mf.sectionName(sec), off+8, "callback objname is NULL")
		}
		objName, err := mf.readString(objPtr)
		if err != nil {
			return fmt.Errorf("read objname: %w", err)
		}

		cb := field(&objectNamed(m, objName).Callbacks)
		if *cb != "" {
			// NOTE: the kpatch hook fails module init with -EINVAL here;
			// the model has no field for it yet, so it is only a note.
			m.Notes = append(m.Notes, fmt.Sprintf("second %s callback for object %s at %s+%#x: the kpatch hook fails module init with -EINVAL",
				strings.ReplaceAll(kind, "_", "-"), objName, mf.sectionName(sec), off))
			continue
		}
		*cb = mf.pointerSymbol(fnPtr).Name
	}
	return nil
}

// objectNamed returns the object called name, adding it at the end if the
// module has none yet.
func objectNamed(m *livepatch.Module, name string) *livepatch.Object {
	for i := range m.Objects {
		if m.Objects[i].Name == name {
			return &m.Objects[i]
		}
	}
	m.Objects = append(m.Objects, livepatch.Object{Name: name, Funcs: []livepatch.Func{}})
	return &m.Objects[len(m.Objects)-1]
}
