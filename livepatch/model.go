// Package livepatch is klpcheck's model of a Linux livepatch module: what a
// .ko declares (objects, functions, states, callbacks, replace mode), the klp
// relocations and symbols it carries, and the kernel's own rules for parsing
// their names.
//
// The model holds facts read from the file. It never judges them: a NULL
// old_name or an unparsable klp symbol is recorded as such, and the rules in
// package conflict decide what the kernel would do with it.
package livepatch

import (
	"debug/elf"
	"encoding/binary"
	"strconv"
	"strings"
)

// Producer names the tool that laid out a module's livepatch metadata.
type Producer string

const (
	// ProducerHandWritten is a static struct klp_patch in data, as in the
	// kernel's samples/livepatch and selftests.
	ProducerHandWritten Producer = "hand-written"
	// ProducerKpatchBuild is kpatch-build: .kpatch.funcs entries turned into
	// klp structures by the patch hook at module init.
	ProducerKpatchBuild Producer = "kpatch-build"
	// ProducerKlpBuild is the kernel's scripts/livepatch/klp-build (6.19+):
	// klp_object_ext and klp_func_ext arrays in .init.klp_objects and
	// .init.klp_funcs, or __klp_objects and __klp_funcs in its first release.
	ProducerKlpBuild Producer = "klp-build"
	// ProducerUnknown is a module with livepatch markers but no layout that
	// klpcheck recognises.
	ProducerUnknown Producer = "unknown"
)

// ReplaceSource is the origin of a module's replace value.
type ReplaceSource string

const (
	// ReplaceFromData is the replace byte of a static struct klp_patch.
	ReplaceFromData ReplaceSource = "data"
	// ReplaceFromInitCode is an immediate that the module's init function
	// stores into the replace field of the klp_patch it allocates
	// (kpatch-build and klp-build).
	ReplaceFromInitCode ReplaceSource = "init-code"
	// ReplaceFromModuleParam is a module parameter named "replace", as in the
	// kernel selftest test_klp_atomic_replace. The value is its default.
	ReplaceFromModuleParam ReplaceSource = "module-param"
	// ReplaceUnknown means the value could not be determined without a guess.
	ReplaceUnknown ReplaceSource = "unknown"
)

// ReplaceWidth is the width of the kernel's replace field in bytes: 1 for
// mainline's bool replace, 4 for the proposed unsigned int replace_set. A
// module parameter copied into bool replace has width 1 whatever the
// parameter's own type.
type ReplaceWidth int

// Replace is a module's replace mode as found in the file.
type Replace struct {
	// Known is false when Source is ReplaceUnknown.
	Known bool
	// Value is 0 or 1 for bool replace, or the replace_set number when Width
	// is 4.
	Value uint32
	// Width is the size of the kernel field the value is stored in; 0 when
	// unknown or when the kernel has no replace field (before 5.1).
	Width  ReplaceWidth
	Source ReplaceSource
	// Detail describes the evidence, for example the instruction and its
	// offset, or why the value stayed unknown.
	Detail string
}

// Location is a place in a module file: a section and a byte offset inside it.
type Location struct {
	Section string
	Offset  uint64
}

// Arch identifies the target architecture of a module.
type Arch struct {
	// Name is klpcheck's short name: x86_64, arm64, ppc64le, ppc64, s390x,
	// loongarch64 or riscv64.
	Name      string
	Machine   elf.Machine
	ByteOrder binary.ByteOrder
}

// Abs64Reloc returns the 64-bit absolute relocation type of machine m
// (include/uapi/linux/elf.h and each arch's ELF ABI), the type of every
// klp_func pointer and __mcount_loc entry. ok is false for a machine
// klpcheck does not support.
func Abs64Reloc(m elf.Machine) (typ uint32, ok bool) {
	switch m {
	case elf.EM_X86_64:
		return uint32(elf.R_X86_64_64), true
	case elf.EM_AARCH64:
		return uint32(elf.R_AARCH64_ABS64), true
	case elf.EM_PPC64:
		return uint32(elf.R_PPC64_ADDR64), true
	case elf.EM_S390:
		return uint32(elf.R_390_64), true
	case elf.EM_LOONGARCH:
		return uint32(elf.R_LARCH_64), true
	case elf.EM_RISCV:
		return uint32(elf.R_RISCV_64), true
	}
	return 0, false
}

// KernelVersion is the release parsed from the first word of a vermagic
// string, for example 6.1.0-57-amd64 gives 6, 1, 0.
type KernelVersion struct {
	Major, Minor, Patch int
	// Release is the whole first word of vermagic.
	Release string
}

// Known reports whether the release parsed to a version number.
func (v KernelVersion) Known() bool { return v.Major > 0 }

// AtLeast reports whether v is major.minor or newer. An unknown version is
// never at least anything.
func (v KernelVersion) AtLeast(major, minor int) bool {
	if !v.Known() {
		return false
	}
	if v.Major != major {
		return v.Major > major
	}
	return v.Minor >= minor
}

// ParseVermagic reads the kernel version from the first word of a vermagic
// string, such as "6.1.0-57-amd64 SMP preempt mod_unload modversions ", or
// from a release string as uname -r prints it. A release that does not
// start with a number gives a version whose Known is false.
func ParseVermagic(vermagic string) KernelVersion {
	fields := strings.Fields(vermagic)
	if len(fields) == 0 {
		return KernelVersion{}
	}
	v := KernelVersion{Release: fields[0]}

	head := strings.FieldsFunc(fields[0], func(r rune) bool { return r == '-' || r == '+' })
	if len(head) == 0 {
		return v
	}
	nums := strings.SplitN(head[0], ".", 3)
	parts := []*int{&v.Major, &v.Minor, &v.Patch}
	for i, s := range nums {
		end := 0
		for end < len(s) && s[end] >= '0' && s[end] <= '9' {
			end++
		}
		n, err := strconv.Atoi(s[:end])
		if err != nil {
			if i == 0 {
				return KernelVersion{Release: fields[0]}
			}
			break
		}
		*parts[i] = n
	}
	return v
}

// ModInfo is the content of a module's .modinfo section, in file order.
type ModInfo struct {
	Fields []ModInfoField
}

// ModInfoField is one key=value string of .modinfo.
type ModInfoField struct {
	Key, Value string
}

// Get returns the first value of key and whether it was present.
func (m ModInfo) Get(key string) (string, bool) {
	for _, f := range m.Fields {
		if f.Key == key {
			return f.Value, true
		}
	}
	return "", false
}

// All returns every value of key in file order. Keys such as import_ns may
// repeat.
func (m ModInfo) All(key string) []string {
	var values []string
	for _, f := range m.Fields {
		if f.Key == key {
			values = append(values, f.Value)
		}
	}
	return values
}

// Symbol is a symbol of the patch module itself, such as a replacement
// function or a callback.
type Symbol struct {
	Name string
	// Demangled is the demangled Rust or C++ name, empty for C names.
	Demangled string
	Section   string
	// Size is st_size in bytes. The kernel needs a non-zero size for a
	// replacement function (kallsyms size lookup in klp_init_object_loaded).
	Size  uint64
	Value uint64
	// Index is the symbol's index in .symtab, counting the null symbol as 0.
	Index int
}

// Func is one patched function: a struct klp_func, a klp_func_ext or a
// kpatch_patch_func entry.
type Func struct {
	// OldName is the name of the function to replace. OldNameNull is set when
	// the pointer is NULL, which the kernel rejects with -EINVAL.
	OldName     string
	OldNameNull bool
	// NewFunc is the replacement. NewFuncNull is set when the pointer is NULL.
	NewFunc     Symbol
	NewFuncNull bool
	// Sympos is old_sympos exactly as stored. 0 means "must be unique"; the
	// kernel shows it as 1 in sysfs.
	Sympos uint64
	// Location is the start of the entry in the file.
	Location Location
}

// Callbacks are the per-object callbacks, as symbol names. An empty name
// means no callback.
type Callbacks struct {
	PrePatch, PostPatch, PreUnpatch, PostUnpatch string
}

// Any reports whether at least one callback is set.
func (c Callbacks) Any() bool {
	return c.PrePatch != "" || c.PostPatch != "" || c.PreUnpatch != "" || c.PostUnpatch != ""
}

// Object is one patched object: vmlinux or a module.
type Object struct {
	// Name is the object name as the kernel compares it: "vmlinux" when the
	// static name pointer is NULL, else the module name.
	Name string
	// LiteralVmlinux is set when a static klp_object or klp_object_ext names
	// its object with the string "vmlinux" instead of NULL. The kernel then
	// waits for a module called vmlinux, which it refuses to load (5.8+), so
	// the object stays dormant. kpatch-build's .kpatch.funcs uses the string
	// by design and its hook turns it into NULL, so kpatch modules never set
	// this.
	LiteralVmlinux bool
	// FuncsNull is set when a named object's funcs pointer is NULL
	// (-EINVAL in klp_enable_patch). An array holding only the terminator is
	// legal and leaves Funcs empty with FuncsNull false.
	FuncsNull bool
	Funcs     []Func
	Callbacks Callbacks
	Location  Location
}

// State is one struct klp_state entry (kernel 5.5+).
type State struct {
	ID      uint64
	Version uint32
}

// KlpRelocSection is a section with SHF_RELA_LIVEPATCH, normally
// .klp.rela.<objname>.<section>.
type KlpRelocSection struct {
	Name  string
	Index int
	Type  elf.SectionType
	Flags elf.SectionFlag
	// Link is sh_link; it must be the .symtab index.
	Link uint32
	// SymtabIndex is the index of .symtab, for comparing with Link.
	SymtabIndex int
	// Target is the section named by sh_info, which is what the kernel
	// patches, whatever the name says. TargetName is empty and TargetAlloc
	// false when sh_info is out of range.
	TargetIndex uint32
	TargetName  string
	TargetAlloc bool
	// ObjName is the object name as the kernel parses it from Name
	// (".klp.rela.%55[^.]"). NameErr is non-empty when that parse fails.
	ObjName string
	NameErr string
	// Relocs are the entries, in file order.
	Relocs []KlpReloc
}

// KlpReloc is one Elf64_Rela entry of a klp relocation section.
type KlpReloc struct {
	Offset uint64
	Type   uint32
	// SymIndex is the .symtab index from r_info. SymName is empty when the
	// index is 0 or out of range.
	SymIndex uint32
	SymName  string
	// SymLivepatch is set when the symbol has st_shndx == SHN_LIVEPATCH,
	// which the kernel requires of every klp relocation.
	SymLivepatch bool
	Addend       int64
}

// KlpSymbol is a symbol with st_shndx == SHN_LIVEPATCH.
type KlpSymbol struct {
	Name  string
	Index int
	Bind  elf.SymBind
	Type  elf.SymType
	// Object, Symbol and Sympos come from the kernel's parse of
	// ".klp.sym.<objname>.<symbol>,<sympos>". ParseErr is non-empty when the
	// parse fails with the symbol-name width of the module's kernel.
	Object   string
	Symbol   string
	Sympos   uint64
	ParseErr string
	// Referenced is set when a relocation in a klp relocation section uses
	// this symbol. klp-build leaves unreferenced SHN_LIVEPATCH symbols behind
	// (its neutralised R_*_NONE relocations), which the kernel ignores.
	Referenced bool
}

// UndefinedSymbol is a normal undefined symbol of the module, resolved by
// the module loader against exported symbols at insmod.
type UndefinedSymbol struct {
	Name string
	Weak bool
}

// SymbolVersion is one __versions entry: the CRC a module expects for an
// exported symbol when the kernel has CONFIG_MODVERSIONS.
type SymbolVersion struct {
	Name string
	CRC  uint32
}

// Module is everything klpcheck reads from one livepatch module file.
type Module struct {
	// Path is the file the module was read from.
	Path string
	// Name is the module name the kernel uses: modinfo name=, else
	// __this_module.name. NameSource is "modinfo", "this_module" or "file".
	Name       string
	NameSource string
	Arch       Arch
	ModInfo    ModInfo
	// Kernel is the release from vermagic.
	Kernel KernelVersion
	// BuildID is the GNU build ID from .note.gnu.build-id in lowercase
	// hex, empty when the module has none.
	BuildID string
	// Livepatch is set when .modinfo has a livepatch= key. The kernel only
	// tests for presence, not for the value.
	Livepatch bool
	Producer  Producer
	Replace   Replace
	// ObjsNull is set for a hand-written patch whose objs pointer is NULL,
	// which klp_enable_patch rejects with -EINVAL.
	ObjsNull bool
	Objects  []Object
	// States are the klp_state entries of a hand-written patch. kpatch-build
	// and klp-build never set states.
	States []State
	// PatchLocation is the location of the struct klp_patch, for a
	// hand-written module.
	PatchLocation    Location
	KlpRelocSections []KlpRelocSection
	KlpSymbols       []KlpSymbol
	Undefined        []UndefinedSymbol
	Versions         []SymbolVersion
	// KlpArchSections lists .klp.arch.* sections (kernels before 5.8).
	KlpArchSections []string
	// Notes are facts worth showing that are not errors, such as how an
	// array stride was derived.
	Notes []string
}

// References reports whether the module has an undefined symbol called name.
func (m *Module) References(name string) bool {
	for _, u := range m.Undefined {
		if u.Name == name {
			return true
		}
	}
	return false
}
