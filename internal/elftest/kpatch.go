package elftest

import (
	"debug/elf"
)

// kpatchFuncSize is sizeof(struct kpatch_patch_func): new_addr, new_size,
// old_addr, old_size, sympos, name, objname.
const kpatchFuncSize = 56

// kpatchCallbackKinds are the suffixes of the .kpatch.callbacks.* sections,
// in struct klp_callbacks order.
var kpatchCallbackKinds = [4]string{"pre_patch", "post_patch", "pre_unpatch", "post_unpatch"}

// KpatchBuild returns a module laid out as kpatch-build writes it for a
// livepatch kernel (dynup/kpatch create-diff-object, kpatch.lds.S and
// livepatch-patch-hook.c):
//   - each replacement function in its own .text.<name> section, as a
//     local symbol;
//   - one .kpatch.funcs entry (56 bytes, sh_entsize 56) per function, in
//     object order. Its new_addr relocates to the function symbol, and its
//     name and objname relocate to the .kpatch.strings section symbol plus
//     the string offset. objname is the string "vmlinux" for vmlinux;
//   - all four .kpatch.callbacks.<kind> sections, each with 16-byte
//     {callback, objname} entries followed by the 8-byte zero that the
//     linker script appends, and __kpatch_callbacks_<kind> and
//     __kpatch_callbacks_<kind>_end symbols around the entries;
//   - klp symbols with st_shndx SHN_LIVEPATCH, written as local functions
//     (kpatch copies the binding of the original symbol);
//   - an init function that allocates the klp_patch and stores replace in
//     code (see ReplaceSpec).
//
// old_addr and old_size are fixture values: old_addr counts up from
// 0xffffffff81000000 and old_size is new_size. Kernels since 4.5 do not
// read them.
// KpatchBuild panics on an unknown Arch or an invalid ReplaceSpec.
func KpatchBuild(p Patch) *File {
	m := newModule(p)
	m.functionSections = true

	strs := m.section(".kpatch.strings")
	strs.Addralign, strs.Entsize = 1, 1
	funcs := m.section(".kpatch.funcs")
	funcs.Entsize = kpatchFuncSize

	index := uint64(0)
	for _, o := range m.p.Objects {
		objname := objectName(o, "vmlinux")
		for _, fn := range o.Funcs {
			off := reserve(funcs, kpatchFuncSize, 8)
			var newSize uint64
			if fn.NewFunc != "" {
				f := m.function(fn.NewFunc)
				m.pointer(funcs, off, f, 0)
				newSize = f.Size
			}
			m.put64(funcs, off+8, newSize)
			m.put64(funcs, off+16, 0xffffffff81000000+index*0x1000)
			m.put64(funcs, off+24, newSize)
			m.put64(funcs, off+32, fn.Sympos)
			if fn.OldName != "" {
				m.pointerTo(funcs, off+40, strs, m.str(strs, fn.OldName))
			}
			m.pointerTo(funcs, off+48, strs, m.str(strs, objname))
			index++
		}
	}
	m.globalMarker("__kpatch_funcs", funcs, 0)
	m.globalMarker("__kpatch_funcs_end", funcs, uint64(len(funcs.Data)))

	for k, kind := range kpatchCallbackKinds {
		sec := m.section(".kpatch.callbacks." + kind)
		sec.Flags = elf.SHF_ALLOC | elf.SHF_WRITE
		m.globalMarker("__kpatch_callbacks_"+kind, sec, 0)
		for _, o := range m.p.Objects {
			cb := callbackNames(o.Callbacks)[k]
			if cb == "" {
				continue
			}
			off := reserve(sec, 16, 8)
			m.pointer(sec, off, m.function(cb), 0)
			m.pointerTo(sec, off+8, strs, m.str(strs, objectName(o, "vmlinux")))
		}
		m.globalMarker("__kpatch_callbacks_"+kind+"_end", sec, uint64(len(sec.Data)))
		reserve(sec, 8, 8) // QUAD(0)
	}

	m.initAndExit(m.allocatingInit(), "patch_init", "patch_exit")
	return m.finish([]string{"license=GPL"}, m.klpSymbolDefiner(elf.STB_LOCAL, elf.STT_FUNC), false)
}

// globalMarker defines a global STT_NOTYPE symbol at off in sec, like the
// symbols a linker script assigns.
func (m *module) globalMarker(name string, sec *Section, off uint64) *Symbol {
	return m.addSymbol(&Symbol{Name: name, Section: sec, Value: off, Bind: elf.STB_GLOBAL, Type: elf.STT_NOTYPE})
}
