package elfscan

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ianlancetaylor/demangle"
	"github.com/klpcheck/klpcheck/livepatch"
)

// thisModuleNameOffset is the offset of name[MODULE_NAME_LEN] in struct
// module on 64-bit kernels: after enum module_state (padded to 8) and
// struct list_head. It has not moved since livepatch was introduced (4.0).
const thisModuleNameOffset = 24

// modversionInfoSize is sizeof(struct modversion_info) on 64-bit kernels:
// an unsigned long CRC and a 56-byte name.
const modversionInfoSize = 64

// readModInfo splits .modinfo into its NUL-terminated key=value strings and
// fills the fields derived from them.
func readModInfo(mf *moduleFile, m *livepatch.Module) error {
	idx := mf.sectionIndex(".modinfo")
	if idx < 0 {
		return nil
	}
	data, err := mf.sectionData(idx)
	if err != nil {
		return err
	}

	for _, field := range bytes.Split(data, []byte{0}) {
		if len(field) == 0 {
			continue // padding between entries
		}
		key, value, _ := strings.Cut(string(field), "=")
		m.ModInfo.Fields = append(m.ModInfo.Fields, livepatch.ModInfoField{Key: key, Value: value})
	}

	_, m.Livepatch = m.ModInfo.Get("livepatch")
	if vermagic, ok := m.ModInfo.Get("vermagic"); ok {
		m.Kernel = livepatch.ParseVermagic(vermagic)
	}
	return nil
}

// hasLivepatchMarker reports whether the module shows any sign of being a
// livepatch: livepatch modinfo, a producer's sections, klp relocation
// sections or symbols, or a reference to the livepatch API. Only header
// data and the symbol table are read, so other modules are rejected fast.
func hasLivepatchMarker(mf *moduleFile, m *livepatch.Module) bool {
	if m.Livepatch || hasSectionMarker(mf) {
		return true
	}

	for _, s := range mf.symbols {
		if s.Section == livepatch.SHN_LIVEPATCH {
			return true
		}
		if s.Section == elf.SHN_UNDEF && isLivepatchAPI(s.Name) {
			return true
		}
	}
	return false
}

// hasSectionMarker reports whether a section shows that the module is a
// livepatch: a klp relocation section, or a producer's metadata section.
func hasSectionMarker(mf *moduleFile) bool {
	for _, s := range mf.elf.Sections {
		switch {
		case s.Flags&livepatch.SHF_RELA_LIVEPATCH != 0,
			strings.HasPrefix(s.Name, livepatch.RelocSectionPrefix),
			strings.HasPrefix(s.Name, livepatch.ArchSectionPrefix),
			s.Name == ".kpatch.funcs",
			isKlpBuildObjects(s):
			return true
		}
	}
	return false
}

// hasSymbolMarker reports whether .symtab has a SHN_LIVEPATCH symbol or an
// undefined reference to the livepatch API, the symbol markers of
// hasLivepatchMarker. It walks the raw Elf64_Sym entries and reads only
// the names of undefined symbols, so that a module that is not a livepatch
// is rejected without decoding its symbol table. An error means the table
// is malformed; loadSymbols then reports it.
func hasSymbolMarker(mf *moduleFile) (bool, error) {
	if mf.symtabIdx < 0 {
		return false, nil
	}
	symtab := mf.elf.Sections[mf.symtabIdx]
	link := int(symtab.Link)
	if link <= 0 || link >= len(mf.elf.Sections) {
		return false, fmt.Errorf(".symtab sh_link %d is not a section", link)
	}
	syms, err := mf.sectionData(mf.symtabIdx)
	if err != nil {
		return false, err
	}
	if len(syms)%elf.Sym64Size != 0 {
		return false, fmt.Errorf(".symtab size %d is not a multiple of %d", len(syms), elf.Sym64Size)
	}
	names, err := mf.sectionData(link)
	if err != nil {
		return false, err
	}

	bo := mf.arch.ByteOrder
	// Entry 0 is the null symbol, which debug/elf leaves out too.
	for off := elf.Sym64Size; off < len(syms); off += elf.Sym64Size {
		// st_name is at offset 0 and st_shndx at offset 6 of Elf64_Sym.
		switch elf.SectionIndex(bo.Uint16(syms[off+6:])) {
		case livepatch.SHN_LIVEPATCH:
			return true, nil
		case elf.SHN_UNDEF:
			start := uint64(bo.Uint32(syms[off:]))
			if start >= uint64(len(names)) {
				continue
			}
			// debug/elf reads a name without a NUL as empty.
			end := bytes.IndexByte(names[start:], 0)
			if end >= 0 && isLivepatchAPI(string(names[start:start+uint64(end)])) {
				return true, nil
			}
		}
	}
	return false, nil
}

// isLivepatchAPI reports whether name is a livepatch core entry point: the
// current klp_enable_patch, or the register/unregister/disable calls that
// kernels before 5.1 required.
func isLivepatchAPI(name string) bool {
	switch name {
	case "klp_enable_patch", "klp_register_patch", "klp_unregister_patch", "klp_disable_patch":
		return true
	}
	return false
}

// readModuleName sets the name the kernel will use: modinfo name= if
// present, else __this_module.name (setup_load_info in
// kernel/module/main.c), else the file name with '-' turned into '_', as
// KBUILD_MODNAME does.
func readModuleName(mf *moduleFile, m *livepatch.Module, path string) error {
	if name, ok := m.ModInfo.Get("name"); ok && name != "" {
		m.Name, m.NameSource = name, "modinfo"
		return nil
	}

	if idx := mf.sectionIndex(".gnu.linkonce.this_module"); idx >= 0 && mf.elf.Sections[idx].Type != elf.SHT_NOBITS {
		data, err := mf.sectionData(idx)
		if err != nil {
			return err
		}
		if len(data) > thisModuleNameOffset {
			field := data[thisModuleNameOffset:min(len(data), thisModuleNameOffset+livepatch.ModuleNameLen)]
			if n := bytes.IndexByte(field, 0); n > 0 {
				m.Name, m.NameSource = string(field[:n]), "this_module"
				return nil
			}
		}
	}

	base := filepath.Base(path)
	for _, s := range moduleSuffixes {
		if cut, ok := strings.CutSuffix(base, s); ok {
			base = cut
			break
		}
	}
	m.Name, m.NameSource = strings.ReplaceAll(base, "-", "_"), "file"
	return nil
}

// readUndefined lists the normal undefined symbols, which the module loader
// resolves against exported symbols. SHN_LIVEPATCH symbols are left out.
func readUndefined(mf *moduleFile, m *livepatch.Module) {
	for _, s := range mf.symbols {
		if s.Section != elf.SHN_UNDEF || s.Name == "" {
			continue
		}
		m.Undefined = append(m.Undefined, livepatch.UndefinedSymbol{
			Name: s.Name,
			Weak: elf.ST_BIND(s.Info) == elf.STB_WEAK,
		})
	}
}

// readVersions reads the __versions table that CONFIG_MODVERSIONS builds
// add: one struct modversion_info per undefined exported symbol.
func readVersions(mf *moduleFile, m *livepatch.Module) error {
	idx := mf.sectionIndex("__versions")
	if idx < 0 {
		return nil
	}
	data, err := mf.sectionData(idx)
	if err != nil {
		return err
	}
	if len(data)%modversionInfoSize != 0 {
		return errIn("__versions", "size %d is not a multiple of %d", len(data), modversionInfoSize)
	}

	for off := 0; off < len(data); off += modversionInfoSize {
		entry := data[off : off+modversionInfoSize]
		name := entry[8:]
		n := bytes.IndexByte(name, 0)
		if n < 0 {
			return errAt("__versions", uint64(off), "symbol name has no NUL terminator")
		}
		m.Versions = append(m.Versions, livepatch.SymbolVersion{
			Name: string(name[:n]),
			CRC:  uint32(mf.arch.ByteOrder.Uint64(entry)),
		})
	}
	return nil
}

// readBuildID fills m.BuildID from the GNU build ID note, which plans
// compare with expect. A module without the section keeps it empty. The
// module loader does not parse the note, so a malformed one only adds a
// note to m and leaves the build ID unknown.
func readBuildID(mf *moduleFile, m *livepatch.Module) error {
	idx := mf.sectionIndex(livepatch.BuildIDSection)
	if idx < 0 {
		return nil
	}
	data, err := mf.sectionData(idx)
	if err != nil {
		return err
	}

	id, err := livepatch.BuildID(data, mf.arch.ByteOrder)
	var noteErr *livepatch.NoteError
	if errors.As(err, &noteErr) {
		m.Notes = append(m.Notes, fmt.Sprintf("section %s+%#x: %s; the build ID is unknown", livepatch.BuildIDSection, noteErr.Offset, noteErr.Reason))
		return nil
	}
	m.BuildID = id
	return err
}

// demangleNames fills Demangled for Rust and C++ replacement functions.
func demangleNames(m *livepatch.Module) {
	for i := range m.Objects {
		for j := range m.Objects[i].Funcs {
			fn := &m.Objects[i].Funcs[j].NewFunc
			if fn.Name == "" || !(strings.HasPrefix(fn.Name, "_Z") || strings.HasPrefix(fn.Name, "_R")) {
				continue
			}
			if d, err := demangle.ToString(fn.Name); err == nil && d != fn.Name {
				fn.Demangled = d
			}
		}
	}
}
