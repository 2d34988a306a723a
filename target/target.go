package target

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Kind is the kind of one target input, detected from its content.
type Kind string

const (
	KindVmlinux         Kind = "vmlinux"
	KindSystemMap       Kind = "system-map"
	KindKallsyms        Kind = "kallsyms"
	KindModule          Kind = "module"
	KindModulesDir      Kind = "modules-dir"
	KindModuleSymvers   Kind = "module-symvers"
	KindFilterFunctions Kind = "filter-functions"
)

// Input is one loaded target input.
type Input struct {
	Path string
	Kind Kind
	// Symbols counts the symbols or entries read from it: kallsyms-visible
	// symbols, exports, functions or, for a modules tree, modules.
	Symbols int
	// Notes are facts about the input that a user should see: what it
	// could not give, or what was found in a package directory.
	Notes []string
}

// Symbol is one symbol of a target object.
type Symbol struct {
	Name string
	Addr uint64
	// Size is the ELF st_size. SizeKnown is false for text inputs such as
	// System.map, which carry no sizes.
	Size      uint64
	SizeKnown bool
	// Func is set for a function: STT_FUNC in an ELF, type t or T in text.
	Func bool
	// Section is the name of the section the symbol is defined in, such as
	// .text or .noinstr.text, and empty when the input does not say.
	Section string
	// File is the source file named by the nearest preceding STT_FILE
	// symbol of an ELF symbol table, and empty when unknown. Only local
	// symbols get one: the ELF rule ties an STT_FILE entry to the local
	// symbols that follow it, and global symbols come after all locals.
	File string
	// Offset is the symbol's offset inside Section (st_value in a module,
	// the address minus the section address in vmlinux), and 0 when
	// Section is empty.
	Offset uint64
}

// Object is the symbol table of vmlinux or of one module.
type Object struct {
	// Name is "vmlinux" or the module name, with dashes as underscores.
	Name string
	// Path is the file the symbols were read from.
	Path string
	Kind Kind

	// Symbols are in the order the kernel counts old_sympos: for vmlinux,
	// the kallsyms-visible symbols by address; for a module, its core
	// symbols in .symtab order.
	//
	// For a module read from a .ko file, Addr is not a load address: the
	// reader places the module's SHF_ALLOC sections one after another in
	// section header order from address 0, each aligned to its
	// sh_addralign, so that symbols and ftrace records of different
	// sections do not overlap. Offset keeps the section-relative st_value.
	Symbols []Symbol

	// LoadingSymbols is set for a module read from a .ko file. It holds
	// every named, defined symbol in .symtab order, which is what the
	// kernel counts while the module is still loading: klp_module_coming
	// resolves a patch's symbols for a module that loads after the patch,
	// before the module's init has run and before the kernel drops the
	// non-core symbols. MatchesLoading searches it.
	LoadingSymbols []Symbol

	// AddrsHidden is set for a /proc/kallsyms dump read without
	// CAP_SYSLOG, where the kernel prints every address as zero. Names
	// and their order are still right, but Addr is 0.
	AddrsHidden bool

	// Ftrace holds the ftrace call-site addresses in ascending order, and
	// FtraceKnown says whether an input gave them. Addresses are in the
	// same space as Symbols[].Addr.
	Ftrace      []uint64
	FtraceKnown bool

	// Srcversion, BuildID (lowercase hex) and Vermagic come from the
	// module's .modinfo and .note.gnu.build-id, empty when absent.
	Srcversion string
	BuildID    string
	Vermagic   string

	// Exports are the symbols the object exports, from its __ksymtab
	// entries, in .symtab order. Nil for text inputs.
	Exports []Export

	// first maps each name to the index in Symbols of its first symbol,
	// and next[i] is the index of the next symbol with the name of
	// Symbols[i], or -1. A map of slices cost one allocation per name,
	// 200,000 for a large vmlinux.
	first     map[string]int32
	next      []int32
	indexOnce sync.Once
}

// Matches returns the symbols named name in counting order: the candidate
// for old_sympos N is Matches(name)[N-1]. Names compare exactly.
func (o *Object) Matches(name string) []Symbol {
	o.indexOnce.Do(o.buildIndex)

	i, ok := o.first[name]
	if !ok {
		return nil
	}
	n := 0
	for j := i; j >= 0; j = o.next[j] {
		n++
	}
	out := make([]Symbol, 0, n)
	for j := i; j >= 0; j = o.next[j] {
		out = append(out, o.Symbols[j])
	}
	return out
}

// MatchesLoading returns the symbols of LoadingSymbols named name, in
// counting order. It returns nil for an object without LoadingSymbols.
func (o *Object) MatchesLoading(name string) []Symbol {
	var out []Symbol
	for _, s := range o.LoadingSymbols {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// buildIndex fills first and next. It walks the symbols backwards, so
// that each name's chain runs in counting order.
func (o *Object) buildIndex() {
	o.first = make(map[string]int32, len(o.Symbols))
	o.next = make([]int32, len(o.Symbols))
	for i := len(o.Symbols) - 1; i >= 0; i-- {
		name := o.Symbols[i].Name
		if j, ok := o.first[name]; ok {
			o.next[i] = j
		} else {
			o.next[i] = -1
		}
		o.first[name] = int32(i)
	}
}

// Ftraceable reports whether ftrace can attach to s: an ftrace call site
// lies in [s.Addr, s.Addr+s.Size), which is how ftrace_location() decides.
// The call site is not at the entry on every build: with IBT (Debian 6.12)
// it follows the 4-byte endbr64. On arm64 the record is the first NOP at
// the entry, and with CONFIG_DYNAMIC_FTRACE_WITH_CALL_OPS (Debian 6.12) the
// file records a place 8 bytes before the entry, which the vmlinux reader
// moves to the entry. The second result is false when the object has no
// ftrace records or s has no size.
func (o *Object) Ftraceable(s Symbol) (yes, known bool) {
	if !o.FtraceKnown || !s.SizeKnown {
		return false, false
	}
	// The build records the call sites of init code too, but the kernel
	// drops them once that code is freed: ftrace_free_init_mem after boot
	// for vmlinux, ftrace_free_mem after a module's init.
	if strings.HasPrefix(s.Section, ".init") {
		return false, true
	}
	i, _ := slices.BinarySearch(o.Ftrace, s.Addr)
	return i < len(o.Ftrace) && o.Ftrace[i] < s.Addr+s.Size, true
}

// Export is one exported symbol.
type Export struct {
	Name string
	// Owner is "vmlinux" or the name of the module that exports it.
	Owner string
	// CRC is the modversions CRC; CRCKnown is false when the input has none.
	CRC      uint32
	CRCKnown bool
	// GPLOnly is set for EXPORT_SYMBOL_GPL. GPLUnknown is set instead
	// when the input does not say (modules.symbols), and GPLOnly is then
	// false.
	GPLOnly    bool
	GPLUnknown bool
	Namespace  string
}

// Target is the merged view of every target input. Load fills it from
// files; tests build one with the Add methods.
type Target struct {
	// Inputs lists what was loaded, in the order given.
	Inputs []Input

	// Release is the kernel release as uname -r prints it, for example
	// 6.1.0-57-amd64, and ReleaseFrom the input it was read from. Both are
	// empty when no input names it.
	Release     string
	ReleaseFrom string
	// Vermagic is the full vermagic string of the target's modules, empty
	// when no target module was read.
	Vermagic string

	// Vmlinux holds vmlinux's symbols, nil when no input gave them.
	Vmlinux *Object

	mu sync.Mutex
	// modules maps a module name to its symbols or to the file to read
	// them from on first use.
	modules      map[string]*moduleRef
	modulesKnown bool
	// builtin lists modules built into vmlinux (modules.builtin).
	builtin map[string]bool

	exports      map[string]Export
	exportsKnown bool
	// exportsVmlinux and exportsModules record whether the loaded inputs
	// list vmlinux's exports and the modules' exports. Export lookups
	// are known only when both are.
	exportsVmlinux bool
	exportsModules bool
	// partialExports are the inputs that list some exports but neither
	// all of vmlinux's nor all of the modules': module files, and a
	// Module.symvers of out-of-tree modules.
	partialExports []Input

	// loaded holds the modules a /proc/kallsyms dump lists, nil when no
	// dump was read.
	loaded map[string]bool

	// vmlinuxRank is the rank of the input that gave Vmlinux, so that a
	// vmlinux ELF wins over System.map whatever the order of the inputs.
	vmlinuxRank int

	// filter holds available_filter_functions: object name, then function
	// name. Nil when no input gave it.
	filter map[string]map[string]bool
}

// moduleRef is a target module whose symbols are read when first needed.
type moduleRef struct {
	path string
	obj  *Object
	err  error
	done bool
}

// AddObject adds the symbols of vmlinux or of a module.
func (t *Target) AddObject(o *Object) {
	if o.Name == "vmlinux" {
		t.Vmlinux = o
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.modules == nil {
		t.modules = map[string]*moduleRef{}
	}
	t.modules[o.Name] = &moduleRef{path: o.Path, obj: o, done: true}
	t.modulesKnown = true
}

// AddModulePath records that the target has the module name in the file
// at path, to be read only when a rule asks for its symbols.
func (t *Target) AddModulePath(name, path string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.modules == nil {
		t.modules = map[string]*moduleRef{}
	}
	if _, ok := t.modules[name]; !ok {
		t.modules[name] = &moduleRef{path: path}
	}
	t.modulesKnown = true
}

// AddBuiltin records a module that is built into vmlinux.
func (t *Target) AddBuiltin(name string) {
	if t.builtin == nil {
		t.builtin = map[string]bool{}
	}
	t.builtin[name] = true
}

// AddExport records an exported symbol. The first export of a name wins.
func (t *Target) AddExport(e Export) {
	if t.exports == nil {
		t.exports = map[string]Export{}
	}
	if _, ok := t.exports[e.Name]; !ok {
		t.exports[e.Name] = e
	}
	t.exportsKnown = true
}

// AddFilterFunction records one line of available_filter_functions.
func (t *Target) AddFilterFunction(object, name string) {
	if t.filter == nil {
		t.filter = map[string]map[string]bool{}
	}
	if t.filter[object] == nil {
		t.filter[object] = map[string]bool{}
	}
	t.filter[object][name] = true
}

// Module returns the symbols of the target module name, reading its file
// on first use. It returns nil and no error when the target has no such
// module or no input lists modules.
func (t *Target) Module(name string) (*Object, error) {
	t.mu.Lock()
	ref := t.modules[name]
	t.mu.Unlock()
	if ref == nil {
		return nil, nil
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	if !ref.done {
		ref.obj, ref.err = readModuleObject(ref.path)
		ref.done = true
		// A module built for another release, such as one left in the
		// wrong modules tree, does not describe the target kernel.
		if ref.err == nil && t.Release != "" && ref.obj.Vermagic != "" {
			if release := releaseOfVermagic(ref.obj.Vermagic); release != "" && release != t.Release {
				ref.obj, ref.err = nil, &Error{Path: ref.path, Err: fmt.Errorf("module %s is built for %s, but the target kernel is %s (from %s)", name, release, t.Release, t.ReleaseFrom)}
			}
		}
	}
	return ref.obj, ref.err
}

// HasModule reports whether the target has the module name. known is
// false when the module was not found and no input lists all of the
// target's modules: a module file or a /proc/kallsyms dump names some
// modules, but only a modules tree names all of them.
func (t *Target) HasModule(name string) (found, known bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, found = t.modules[name]
	return found, found || t.modulesKnown
}

// ModuleNames returns the names of the target's modules, sorted.
func (t *Target) ModuleNames() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	names := make([]string, 0, len(t.modules))
	for n := range t.modules {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Builtin reports whether the module name is built into vmlinux.
func (t *Target) Builtin(name string) bool {
	return t.builtin[name]
}

// Export looks up an exported symbol. known is false when no input lists
// exports.
func (t *Target) Export(name string) (e Export, found, known bool) {
	e, found = t.exports[name]
	return e, found, t.exportsKnown
}

// FilterFunction reports whether available_filter_functions lists name
// for object ("vmlinux" or a module name). known is false when no input
// gave that file.
func (t *Target) FilterFunction(object, name string) (found, known bool) {
	if t.filter == nil {
		return false, false
	}
	return t.filter[object][name], true
}
