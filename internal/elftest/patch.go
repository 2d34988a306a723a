package elftest

import (
	"strconv"
	"strings"
)

// Patch is a short description of a livepatch module. HandWritten,
// KpatchBuild and KlpBuild turn it into the layout each producer writes.
type Patch struct {
	// Arch is x86_64 (the default), arm64, ppc64le, ppc64, s390x,
	// loongarch64 or riscv64.
	Arch string
	// Name is the module name, written as modinfo name= and as
	// __this_module.name. Empty leaves both out.
	Name string
	// ThisModuleName, when set, replaces Name in __this_module.name only.
	ThisModuleName string
	// Vermagic is the modinfo vermagic= string, for example
	// "6.1.0-57-amd64 SMP preempt mod_unload modversions ". Empty leaves
	// the key out. HandWritten also derives the klp_patch layout from its
	// kernel version.
	Vermagic string
	// ModInfo are extra key=value strings, written after livepatch= and
	// license=. A key given here replaces the builder's own entry for
	// livepatch, license, description, depends, name and vermagic.
	ModInfo []string
	// NoLivepatchInfo leaves out livepatch=Y.
	NoLivepatchInfo bool
	Objects         []Object
	// States are struct klp_state entries, written by HandWritten only.
	States  []State
	Replace ReplaceSpec
	// KernelParam adds a "replace" int module parameter, as the kernel
	// selftest test_klp_atomic_replace has: a __param entry, its
	// __param_str_replace name and the replace variable with default
	// Replace.Value. HandWritten's init code then copies the parameter
	// into klp_patch.replace, and the static replace field stays 0.
	KernelParam bool
	KlpRelocs   []KlpReloc
	// Undefined are extra undefined symbols, each called from a helper
	// function in the text with the architecture's call relocation.
	Undefined []string
	// Versions are __versions entries (CONFIG_MODVERSIONS).
	Versions []SymbolVersion

	// FuncStride and ObjectStride are sizeof(struct klp_func) and
	// sizeof(struct klp_object) for HandWritten: 152 and 168 by default,
	// as on Debian's 6.1 x86_64 kernel. They depend on the kernel
	// configuration, so readers must not assume them.
	FuncStride, ObjectStride int
	// Allocator is the function that the init code of KpatchBuild and
	// KlpBuild calls to allocate struct klp_patch: __kmalloc by default.
	// kmalloc_trace (6.1 to 6.9), __kmalloc_cache_noprof (6.10 and later)
	// and kmem_cache_alloc_trace take the kmem_cache first, which the code
	// loads from kmalloc_caches.
	Allocator string
	// LegacyKlpSections makes KlpBuild use __klp_objects and __klp_funcs,
	// the section names of klp-build's first release, with the
	// __start_klp_objects and __stop_klp_objects symbols.
	LegacyKlpSections bool
}

// Object is one patched object.
type Object struct {
	// Name is written as given. Empty is the producer's spelling of
	// vmlinux: a NULL name for HandWritten and KlpBuild, the string
	// "vmlinux" for KpatchBuild. Name "vmlinux" for HandWritten or KlpBuild
	// gives the literal-string bug that keeps an object dormant.
	Name      string
	Funcs     []Func
	Callbacks Callbacks
}

// Func is one patched function. An empty OldName or NewFunc writes a NULL
// pointer. NewFunc names a replacement function that the builder defines
// once in the module's text, whatever the number of entries using it.
type Func struct {
	OldName string
	NewFunc string
	Sympos  uint64
}

// Callbacks are the names of the per-object callback functions, which the
// builder defines in the module's text. An empty name means no callback.
type Callbacks struct {
	PrePatch, PostPatch, PreUnpatch, PostUnpatch string
}

// State is one struct klp_state.
type State struct {
	ID      uint64
	Version uint32
}

// ReplaceSpec is the replace mode a module is built with.
//
// HandWritten stores Value in the static klp_patch: a bool at offset 24
// (16 for kernels 5.1 to 5.4), or with Width 4 the u32 replace_set of the
// 2026 proposal at the same offset.
//
// KpatchBuild and KlpBuild compile it into the init function: the code
// allocates the klp_patch, keeps the pointer in a callee-saved register and
// stores Value at offset 24 with a store of Width bytes. Omit and
// Conflicting make the value unknowable from the code.
type ReplaceSpec struct {
	Value uint32
	// Width is 1 (the default) or 4.
	Width int
	// Omit leaves out the store, as a build for a kernel before 5.1 does.
	Omit bool
	// Conflicting stores Value on one path and Value^1 on another, chosen
	// by the result of a call.
	Conflicting bool
	// OnePath stores Value on one path only, chosen by the result of a
	// call; the other path keeps kzalloc's zero.
	OnePath bool
	// AfterEnable moves the store after the call of klp_enable_patch.
	AfterEnable bool
}

// KlpReloc is one relocation in a klp relocation section
// .klp.rela.<Object>.<Section>.
type KlpReloc struct {
	// Object is the object whose symbols the relocation needs. Empty
	// means vmlinux.
	Object string
	// Section is the target section. Empty places the relocation on a
	// call instruction in the builder's helper function, with the
	// architecture's call relocation type and addend.
	Section string
	// Symbol is the full klp symbol name, for example
	// ".klp.sym.vmlinux.saved_command_line,0". One SHN_LIVEPATCH symbol
	// is defined per distinct name.
	Symbol string
	// Type is the relocation type. 0 selects the architecture's call type.
	Type uint32
	// Offset and Addend apply when Section is set.
	Offset uint64
	Addend int64
}

// SymbolVersion is one __versions entry.
type SymbolVersion struct {
	Name string
	CRC  uint32
}

// kernelVersion parses major and minor from the first word of a vermagic
// string. ok is false when there is none.
func kernelVersion(vermagic string) (major, minor int, ok bool) {
	release, _, _ := strings.Cut(vermagic, " ")
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minorText := parts[1]
	if i := strings.IndexFunc(minorText, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minorText = minorText[:i]
	}
	minor, err2 := strconv.Atoi(minorText)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return major, minor, true
}
