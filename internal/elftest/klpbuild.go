package elftest

import (
	"debug/elf"
)

// Sizes of struct klp_object_ext and struct klp_func_ext
// (include/linux/livepatch_external.h, 6.19).
const (
	klpObjectExtSize = 64
	klpFuncExtSize   = 24
)

// KlpBuild returns a module laid out as the kernel's klp-build writes it
// (objtool klp diff and klp post-link, scripts/livepatch/init.c, 6.19):
//   - each replacement function in its own .text.<name> section, as a
//     global symbol;
//   - .init.klp_objects with one 64-byte klp_object_ext per object and no
//     terminator. name relocates to .rodata.klp.str1.1 plus offset, or
//     has no relocation (NULL) for vmlinux. funcs relocates to the
//     .init.klp_funcs section symbol plus the offset of the object's
//     functions, callbacks relocate to the callback functions, and
//     nr_funcs is a u32 at offset 56;
//   - .init.klp_funcs with one 24-byte klp_func_ext per function: old_name
//     to the string section, new_func to the function symbol, sympos
//     inline;
//   - .rodata.klp.str1.1 starting with an empty string, as objtool writes
//     it;
//   - klp symbols as weak functions with st_shndx SHN_LIVEPATCH, and for
//     every klp relocation a R_*_NONE relocation left in the normal
//     relocation section against a SHN_LIVEPATCH .klp.tombstone.<name>
//     symbol;
//   - an init function that allocates the klp_patch and stores replace in
//     code (see ReplaceSpec).
//
// With LegacyKlpSections the sections are __klp_objects and __klp_funcs,
// with __start_klp_objects and __stop_klp_objects symbols. KlpBuild panics
// on an unknown Arch or an invalid ReplaceSpec.
func KlpBuild(p Patch) *File {
	m := newModule(p)
	m.functionSections = true
	m.functionBind = elf.STB_GLOBAL

	objectsName, funcsName := ".init.klp_objects", ".init.klp_funcs"
	if m.p.LegacyKlpSections {
		objectsName, funcsName = "__klp_objects", "__klp_funcs"
	}
	// objtool creates both with alignment 1 and the entry size as
	// sh_entsize.
	objects := m.section(objectsName)
	objects.Addralign, objects.Entsize = 1, klpObjectExtSize
	funcs := m.section(funcsName)
	funcs.Addralign, funcs.Entsize = 1, klpFuncExtSize
	strs := m.section(".rodata.klp.str1.1")
	m.str(strs, "")

	for _, o := range m.p.Objects {
		off := reserve(objects, klpObjectExtSize, 1)
		if o.Name != "" {
			m.pointerTo(objects, off, strs, m.str(strs, o.Name))
		}
		m.pointerTo(objects, off+8, funcs, uint64(len(funcs.Data)))
		for k, cb := range callbackNames(o.Callbacks) {
			if cb != "" {
				m.pointer(objects, off+16+uint64(k)*8, m.function(cb), 0)
			}
		}
		m.put32(objects, off+56, uint32(len(o.Funcs)))

		for _, fn := range o.Funcs {
			entry := reserve(funcs, klpFuncExtSize, 1)
			if fn.OldName != "" {
				m.pointerTo(funcs, entry, strs, m.str(strs, fn.OldName))
			}
			if fn.NewFunc != "" {
				m.pointer(funcs, entry+8, m.function(fn.NewFunc), 0)
			}
			m.put64(funcs, entry+16, fn.Sympos)
		}
	}
	if m.p.LegacyKlpSections {
		m.globalMarker("__start_klp_objects", objects, 0)
		m.globalMarker("__stop_klp_objects", objects, uint64(len(objects.Data)))
	}

	m.initAndExit(m.allocatingInit(), "livepatch_mod_init", "livepatch_mod_exit")
	defaults := []string{"license=GPL", "description=Livepatch module"}
	return m.finish(defaults, m.klpSymbolDefiner(elf.STB_WEAK, elf.STT_FUNC), true)
}
