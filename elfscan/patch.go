package elfscan

import (
	"debug/elf"
	"fmt"
	"strings"

	"github.com/klpcheck/klpcheck/livepatch"
)

// kernelParamSize is sizeof(struct kernel_param) on 64-bit kernels: name,
// mod and ops pointers, perm (u16), level (s8), flags (u8), padding and the
// arg union.
const (
	kernelParamSize      = 40
	kernelParamArgOffset = 32
)

// readPatch finds the producer's layout and reads the patched objects,
// functions, states and replace mode.
func readPatch(mf *moduleFile, m *livepatch.Module) error {
	switch {
	case klpBuildSection(mf) >= 0:
		if err := readKlpBuild(mf, m, klpBuildSection(mf)); err != nil {
			return err
		}
		readInitReplace(mf, m)

	case mf.sectionIndex(".kpatch.funcs") >= 0:
		if err := readKpatch(mf, m, mf.sectionIndex(".kpatch.funcs")); err != nil {
			return err
		}
		readInitReplace(mf, m)

	default:
		candidates, err := findStaticPatches(mf)
		if err != nil {
			return fmt.Errorf("find struct klp_patch: %w", err)
		}
		if len(candidates) == 0 {
			m.Producer = livepatch.ProducerUnknown
			m.Replace = livepatch.Replace{Source: livepatch.ReplaceUnknown,
				Detail: "no struct klp_patch in data and no kpatch-build or klp-build sections"}
			break
		}
		if err := readHandWritten(mf, m, candidates); err != nil {
			return fmt.Errorf("read struct klp_patch: %w", err)
		}
	}

	if err := readReplaceParam(mf, m); err != nil {
		return fmt.Errorf("read replace module parameter: %w", err)
	}
	return nil
}

// klpBuildSection returns the index of klp-build's object array, or -1.
func klpBuildSection(mf *moduleFile) int {
	for i, s := range mf.elf.Sections {
		if isKlpBuildObjects(s) {
			return i
		}
	}
	return -1
}

// preReplaceKernel returns the replace mode of a module built for a kernel
// before 5.1, which added atomic replace, and false for a later or unknown
// kernel, whose module the caller reads.
//
// RHEL 8 kernels are 4.18 with atomic replace backported from RHEL 8.2 on
// (kpatch's patch hook sets replace there), so for a release that names
// el8 the version does not tell, and the mode is unknown rather than off.
// NOTE: other distributions' backports are not known to klpcheck.
func preReplaceKernel(k livepatch.KernelVersion) (livepatch.Replace, bool) {
	switch {
	case !k.Known() || k.AtLeast(5, 1):
		return livepatch.Replace{}, false
	case strings.Contains(k.Release, ".el8"):
		return livepatch.Replace{Source: livepatch.ReplaceUnknown,
			Detail: fmt.Sprintf("kernel %s is RHEL 8, which backports atomic replace from 8.2 on; the replace value of this layout is not read", k.Release)}, true
	}
	return livepatch.Replace{Known: true, Source: livepatch.ReplaceFromData,
		Detail: fmt.Sprintf("kernel %s predates atomic replace (5.1)", k.Release)}, true
}

// readInitReplace recovers the replace value that kpatch-build and
// klp-build compile into the module's init function.
func readInitReplace(mf *moduleFile, m *livepatch.Module) {
	if replace, ok := preReplaceKernel(m.Kernel); ok {
		m.Replace = replace
		return
	}

	field := uint64(patchReplaceOffset)
	if m.Kernel.Known() && !m.Kernel.AtLeast(5, 5) {
		field = patchReplaceOffsetPre55
	}

	fn, err := initFunctionOf(mf)
	if err != nil {
		m.Replace = livepatch.Replace{Source: livepatch.ReplaceUnknown, Detail: err.Error()}
		return
	}
	m.Replace = replaceFromInitCode(fn, field)
}

// initFunctionOf returns the code and relocations of init_module, the alias
// that module_init() defines for the module's init function.
func initFunctionOf(mf *moduleFile) (initFunction, error) {
	var sym elf.Symbol
	found := false
	for _, s := range mf.symbols {
		if s.Name == "init_module" && elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Section != elf.SHN_UNDEF && s.Section < elf.SHN_LORESERVE {
			sym, found = s, true
			break
		}
	}
	if !found {
		return initFunction{}, fmt.Errorf("no init_module function symbol")
	}

	sec := int(sym.Section)
	data, err := mf.sectionData(sec)
	if err != nil {
		return initFunction{}, err
	}
	if sym.Value > uint64(len(data)) || sym.Size > uint64(len(data))-sym.Value || sym.Size == 0 {
		return initFunction{}, errAt(mf.sectionName(sec), sym.Value, "init_module size %d does not fit the section (%d bytes)", sym.Size, len(data))
	}

	rs, err := mf.relocsFor(sec)
	if err != nil {
		return initFunction{}, err
	}
	var relocs []codeReloc
	for _, r := range rs {
		if r.offset < sym.Value || r.offset >= sym.Value+sym.Size {
			continue
		}
		cr := codeReloc{offset: r.offset, typ: r.typ, addend: r.addend}
		if s, err := mf.symbol(r.sym); err == nil {
			if elf.ST_TYPE(s.Info) == elf.STT_SECTION {
				cr.section = mf.sectionName(int(s.Section))
			} else {
				cr.symbol = s.Name
			}
		}
		relocs = append(relocs, cr)
	}

	var symbols []codeSymbol
	for _, s := range mf.symbols {
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Section == elf.SHN_UNDEF || s.Section >= elf.SHN_LORESERVE {
			continue
		}
		symbols = append(symbols, codeSymbol{name: s.Name, section: mf.sectionName(int(s.Section)), value: s.Value})
	}

	return initFunction{
		arch:    mf.arch,
		section: mf.sectionName(sec),
		start:   sym.Value,
		code:    data[sym.Value : sym.Value+sym.Size],
		relocs:  relocs,
		symbols: symbols,
	}, nil
}

// readReplaceParam looks for a module parameter named "replace", as the
// kernel selftest test_klp_atomic_replace declares: the init function
// copies it into the patch, so it decides the mode at insmod time and its
// default is what a plain insmod gets.
func readReplaceParam(mf *moduleFile, m *livepatch.Module) error {
	sec := mf.sectionIndex("__param")
	if sec < 0 {
		return nil
	}
	data, err := mf.sectionData(sec)
	if err != nil {
		return err
	}
	if len(data)%kernelParamSize != 0 {
		return errIn("__param", "size %d is not a multiple of %d", len(data), kernelParamSize)
	}

	for off := uint64(0); off < uint64(len(data)); off += kernelParamSize {
		namePtr, ok, err := mf.readPointer(sec, off)
		if err != nil || !ok {
			continue
		}
		if name, err := mf.readString(namePtr); err != nil || name != "replace" {
			continue
		}

		arg, ok, err := mf.readPointer(sec, off+kernelParamArgOffset)
		if err != nil {
			return err
		}
		if !ok || !arg.inSection() {
			m.Replace = livepatch.Replace{Source: livepatch.ReplaceUnknown, Detail: "module parameter replace has no variable"}
			return nil
		}

		width := 4
		if v, ok := mf.objectCovering(arg.section, arg.offset); ok && (v.Size == 1 || v.Size == 8) {
			width = int(v.Size)
		}
		value, err := mf.readUint(int(arg.section), arg.offset, width)
		if err != nil {
			return err
		}
		if value > 1 {
			value = 1 // the init code assigns it to a bool
		}
		m.Replace = livepatch.Replace{
			Known:  true,
			Value:  uint32(value),
			Width:  1,
			Source: livepatch.ReplaceFromModuleParam,
			Detail: fmt.Sprintf("default of module parameter replace (%s); insmod replace=N overrides it", mf.pointerSymbol(arg).Name),
		}
		return nil
	}
	return nil
}
