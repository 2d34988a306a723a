package elfscan

import (
	"debug/elf"
	"fmt"

	"github.com/klpcheck/klpcheck/livepatch"
)

// Layout of klp-build's struct klp_object_ext (include/linux/livepatch_external.h,
// 6.19): name, funcs, struct klp_callbacks (40 bytes), nr_funcs.
const (
	klpObjectExtSize          = 64
	klpObjectExtNrFuncsOffset = 56
	// klpFuncExtSize is struct klp_func_ext: old_name, new_func, sympos.
	klpFuncExtSize = 24
)

// isKlpBuildObjects reports whether a section holds klp-build's object
// array: .init.klp_objects since the 2026 rename that added
// klp_find_section_by_name, __klp_objects in the first 6.19 release.
//
// An empty section does not count: the module linker script of the first
// 6.19 release defines __start_klp_objects and __stop_klp_objects inside
// an __klp_objects output section, so every module built for it has one,
// empty unless klp-build filled it.
func isKlpBuildObjects(s *elf.Section) bool {
	return (s.Name == ".init.klp_objects" || s.Name == "__klp_objects") && s.Size > 0
}

// readKlpBuild reads klp-build's klp_object_ext array. It has no
// terminator: the section size gives the count. Each entry's funcs points
// into .init.klp_funcs through the section symbol plus an addend, and
// nr_funcs gives the number of klp_func_ext entries there.
func readKlpBuild(mf *moduleFile, m *livepatch.Module, sec int) error {
	m.Producer = livepatch.ProducerKlpBuild
	name := mf.sectionName(sec)

	data, err := mf.sectionData(sec)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if len(data)%klpObjectExtSize != 0 {
		return fmt.Errorf("read %s: %w", name, errIn(name, "size %d is not a multiple of %d", len(data), klpObjectExtSize))
	}

	for off := uint64(0); off < uint64(len(data)); off += klpObjectExtSize {
		obj, err := readKlpObjectExt(mf, sec, off)
		if err != nil {
			return fmt.Errorf("read %s entry %d: %w", name, off/klpObjectExtSize, err)
		}
		m.Objects = append(m.Objects, obj)
	}
	return nil
}

// readKlpObjectExt reads one klp_object_ext and its klp_func_ext entries.
func readKlpObjectExt(mf *moduleFile, sec int, off uint64) (livepatch.Object, error) {
	obj := livepatch.Object{Name: "vmlinux", Funcs: []livepatch.Func{}, Location: livepatch.Location{Section: mf.sectionName(sec), Offset: off}}

	namePtr, hasName, err := mf.readPointer(sec, off+objNameOffset)
	if err != nil {
		return obj, err
	}
	if hasName {
		if obj.Name, err = mf.readString(namePtr); err != nil {
			return obj, fmt.Errorf("read name: %w", err)
		}
		obj.LiteralVmlinux = obj.Name == "vmlinux"
	}

	if obj.Callbacks, err = readCallbacks(mf, sec, off+objCallbacksOffset); err != nil {
		return obj, err
	}

	nr, err := mf.readUint(sec, off+klpObjectExtNrFuncsOffset, 4)
	if err != nil {
		return obj, err
	}

	funcs, hasFuncs, err := mf.readPointer(sec, off+objFuncsOffset)
	if err != nil {
		return obj, err
	}
	if !hasFuncs {
		obj.FuncsNull = true
		if nr != 0 {
			return obj, errAt(mf.sectionName(sec), off+klpObjectExtNrFuncsOffset, "nr_funcs is %d but funcs is NULL", nr)
		}
		return obj, nil
	}
	if !funcs.inSection() || !mf.isDataSection(int(funcs.section)) {
		return obj, errAt(mf.sectionName(sec), off+objFuncsOffset, "funcs points to %s, not into module data", mf.pointerSymbol(funcs).Name)
	}

	fsec := int(funcs.section)
	fdata, err := mf.sectionData(fsec)
	if err != nil {
		return obj, err
	}
	if funcs.offset > uint64(len(fdata)) || nr > (uint64(len(fdata))-funcs.offset)/klpFuncExtSize {
		return obj, errAt(mf.sectionName(sec), off+klpObjectExtNrFuncsOffset, "nr_funcs %d at %s+%#x runs past the end of the section (%d bytes)", nr, mf.sectionName(fsec), funcs.offset, len(fdata))
	}

	obj.Funcs = make([]livepatch.Func, 0, nr)
	for i := uint64(0); i < nr; i++ {
		fn, err := readFuncEntry(mf, fsec, funcs.offset+i*klpFuncExtSize)
		if err != nil {
			return obj, fmt.Errorf("read klp_func_ext %d: %w", i, err)
		}
		obj.Funcs = append(obj.Funcs, fn)
	}
	return obj, nil
}
