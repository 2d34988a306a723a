package elftest

import (
	"debug/elf"
	"fmt"
)

// HandWritten returns a module laid out as Kbuild compiles a hand-written
// livepatch such as samples/livepatch/livepatch-sample.c: static struct
// klp_func arrays, a struct klp_object array, optional struct klp_state
// array and a struct klp_patch in .data, each terminated by a zero entry.
//
// As gcc and gas write it:
//   - pointers to local data and functions are relocations against section
//     symbols plus an addend, never against the named arrays;
//   - the local STT_OBJECT symbols funcs (funcs1, funcs2, ... for further
//     objects), objs, states and patch exist with their sizes;
//   - a funcs array that is all zero goes to .bss;
//   - strings are in .rodata.str1.1 on x86_64, .rodata.str1.2 on s390x
//     and .rodata.str1.8 elsewhere, each string aligned to that number;
//   - the arrays are aligned to 32 bytes on x86_64, 16 on ppc64 and 8
//     elsewhere, so they need not be contiguous;
//   - patch.mod relocates to __this_module.
//
// The klp_patch layout follows the kernel version of Vermagic:
//   - 5.5 and later, and an empty or unparsable Vermagic: states at offset
//     16 and replace at 24;
//   - 5.1 to 5.4: replace at 16 and no states;
//   - before 5.1: neither, and the init code also calls klp_register_patch.
//
// HandWritten panics when p cannot be written: an unknown Arch, strides too
// small for the fields, States or a replace value for a kernel without
// them, or Replace.Omit, Conflicting, OnePath or AfterEnable, which apply to
// init code.
func HandWritten(p Patch) *File {
	m := newModule(p)
	p = m.p
	funcStride, objectStride := strides(p)
	if r := p.Replace; r.Omit || r.Conflicting || r.OnePath || r.AfterEnable {
		panic("elftest: Replace.Omit, Conflicting, OnePath and AfterEnable apply to generated init code, not to a static klp_patch")
	}

	replaceOff, hasReplace, hasStates, registerFirst := int64(24), true, true, false
	if major, minor, ok := kernelVersion(p.Vermagic); ok {
		switch {
		case major < 5 || major == 5 && minor < 1:
			hasReplace, hasStates, registerFirst = false, false, true
		case major == 5 && minor < 5:
			replaceOff, hasStates = 16, false
		}
	}
	if !hasReplace && (p.Replace.Value != 0 || p.KernelParam) {
		panic(fmt.Sprintf("elftest: kernel %q has no klp_patch.replace", p.Vermagic))
	}
	if !hasStates && len(p.States) > 0 {
		panic(fmt.Sprintf("elftest: kernel %q has no klp_patch.states", p.Vermagic))
	}

	data := m.section(".data")
	funcArrays := m.staticFuncs(funcStride)
	objsOff := m.staticObjects(data, objectStride, funcArrays)

	var statesOff uint64
	if len(p.States) > 0 {
		size := uint64(len(p.States)+1) * 24
		statesOff = reserve(data, size, m.compiler.arrayAlign)
		m.object("states", data, statesOff, size)
		for i, s := range p.States {
			m.put64(data, statesOff+uint64(i)*24, s.ID)
			m.put32(data, statesOff+uint64(i)*24+8, s.Version)
		}
	}

	patchOff := reserve(data, klpPatchSize, m.compiler.arrayAlign)
	patch := m.object("patch", data, patchOff, klpPatchSize)
	m.pointer(data, patchOff, m.thisModuleSymbol(), 0)
	m.pointerTo(data, patchOff+8, data, objsOff)
	if len(p.States) > 0 {
		m.pointerTo(data, patchOff+16, data, statesOff)
	}
	if hasReplace && !p.KernelParam {
		at := patchOff + uint64(replaceOff)
		if p.Replace.Width == 4 {
			m.put32(data, at, p.Replace.Value)
		} else {
			data.Data[at] = byte(p.Replace.Value)
		}
	}

	m.initAndExit(m.staticInit(patch, replaceOff, registerFirst), "livepatch_init", "livepatch_exit")
	return m.finish([]string{"license=GPL"}, m.klpSymbolDefiner(elf.STB_GLOBAL, elf.STT_NOTYPE), false)
}

// strides returns the klp_func and klp_object strides of p, checked
// against the fields HandWritten writes.
func strides(p Patch) (funcStride, objectStride uint64) {
	funcStride, objectStride = defaultFuncStride, defaultObjectStride
	if p.FuncStride != 0 {
		funcStride = uint64(p.FuncStride)
	}
	if p.ObjectStride != 0 {
		objectStride = uint64(p.ObjectStride)
	}
	// klp_func: old_name, new_func, old_sympos. klp_object: name, funcs,
	// four callbacks and post_unpatch_enabled.
	if funcStride < 24 || funcStride%8 != 0 {
		panic(fmt.Sprintf("elftest: klp_func stride %d is not a multiple of 8 of at least 24", funcStride))
	}
	if objectStride < 56 || objectStride%8 != 0 {
		panic(fmt.Sprintf("elftest: klp_object stride %d is not a multiple of 8 of at least 56", objectStride))
	}
	return funcStride, objectStride
}

// staticFuncArray is the location of one object's klp_func array.
type staticFuncArray struct {
	sec *Section
	off uint64
}

// staticFuncs writes one zero-terminated klp_func array per object.
func (m *module) staticFuncs(stride uint64) []staticFuncArray {
	var arrays []staticFuncArray
	for i, o := range m.p.Objects {
		allZero := true
		for _, fn := range o.Funcs {
			if fn.OldName != "" || fn.NewFunc != "" || fn.Sympos != 0 {
				allZero = false
			}
		}
		sec := m.section(".data")
		if allZero {
			sec = m.section(".bss")
		}

		size := uint64(len(o.Funcs)+1) * stride
		off := reserve(sec, size, m.compiler.arrayAlign)
		name := "funcs"
		if i > 0 {
			name = fmt.Sprintf("funcs%d", i)
		}
		m.object(name, sec, off, size)
		arrays = append(arrays, staticFuncArray{sec: sec, off: off})
		if allZero {
			continue
		}

		for j, fn := range o.Funcs {
			entry := off + uint64(j)*stride
			if fn.OldName != "" {
				strs := m.section(m.compiler.stringSection)
				m.pointerTo(sec, entry, strs, m.str(strs, fn.OldName))
			}
			if fn.NewFunc != "" {
				f := m.function(fn.NewFunc)
				m.pointerTo(sec, entry+8, f.Section, f.Value)
			}
			m.put64(sec, entry+16, fn.Sympos)
		}
	}
	return arrays
}

// staticObjects writes the zero-terminated klp_object array and returns
// its offset in data.
func (m *module) staticObjects(data *Section, stride uint64, funcArrays []staticFuncArray) uint64 {
	size := uint64(len(m.p.Objects)+1) * stride
	off := reserve(data, size, m.compiler.arrayAlign)
	m.object("objs", data, off, size)

	for i, o := range m.p.Objects {
		entry := off + uint64(i)*stride
		if o.Name != "" {
			strs := m.section(m.compiler.stringSection)
			m.pointerTo(data, entry, strs, m.str(strs, o.Name))
		}
		m.pointerTo(data, entry+8, funcArrays[i].sec, funcArrays[i].off)
		for k, cb := range callbackNames(o.Callbacks) {
			if cb != "" {
				f := m.function(cb)
				m.pointerTo(data, entry+16+uint64(k)*8, f.Section, f.Value)
			}
		}
	}
	return off
}

// callbackNames returns the callbacks in struct klp_callbacks order.
func callbackNames(c Callbacks) [4]string {
	return [4]string{c.PrePatch, c.PostPatch, c.PreUnpatch, c.PostUnpatch}
}
