package elfscan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/klpcheck/klpcheck/livepatch"
)

// initFunction is a module's init function with the relocations inside it.
type initFunction struct {
	arch    livepatch.Arch
	section string // e.g. ".init.text", for messages
	start   uint64 // section offset of code[0]
	code    []byte
	relocs  []codeReloc // every relocation whose offset falls in the function, sorted by offset
	// symbols are the module's function symbols. They name the target of a
	// call that goes through a section symbol or has no relocation, such as
	// the out-of-line copy kzalloc.constprop.0 that gcc 12 emits for 6.1
	// kernels.
	symbols []codeSymbol
}

// codeReloc is one relocation inside an init function.
type codeReloc struct {
	offset uint64 // section offset of the relocated field
	typ    uint32 // raw ELF relocation type for the arch
	symbol string // symbol name ("" for a section symbol)
	// section is the name of the section a section symbol refers to, and
	// empty for other symbols. Compilers address a module's static
	// variables as .bss+N or .data+N, so the analysis needs the section
	// name to distinguish them.
	section string
	addend  int64
}

// codeSymbol is a function symbol defined by the module.
type codeSymbol struct {
	name    string
	section string
	value   uint64 // section offset of the first instruction
}

// kmallocFunctions are the functions whose return value is a new object from
// the slab allocator. kzalloc, kmalloc and kcalloc are inline wrappers in
// include/linux/slab.h, so a module calls one of the exported entry points
// below, chosen by kernel version and by whether the size is a compile-time
// constant. Inline wrappers appear too: gcc may emit an out-of-line local
// copy such as kzalloc.constprop.0 or kmalloc_array.constprop.0 (seen with
// gcc 12 and the 6.1 headers).
//
// The versions come from include/linux/slab.h of 6.1 and 6.12; the 6.10
// names are the ones those two releases bracket.
var kmallocFunctions = []struct {
	name    string
	kernels string
}{
	{"__kmalloc", "up to 6.9, size not constant"},
	{"__kmalloc_noprof", "6.10+, size not constant"},
	{"kmem_cache_alloc_trace", "up to 6.0, constant size with CONFIG_TRACING"},
	{"kmem_cache_alloc", "up to 6.0, constant size without CONFIG_TRACING"},
	{"kmem_cache_alloc_noprof", "6.10+"},
	{"kmalloc_order_trace", "up to 6.0, constant size above KMALLOC_MAX_CACHE_SIZE"},
	{"kmalloc_order", "up to 6.0, constant size above KMALLOC_MAX_CACHE_SIZE"},
	{"kmalloc_trace", "6.1 to 6.9, constant size"},
	{"kmalloc_trace_noprof", "6.10, constant size"},
	{"__kmalloc_cache_noprof", "6.11+, constant size"},
	{"kmalloc_large", "6.1 to 6.9, constant size above KMALLOC_MAX_CACHE_SIZE"},
	{"kmalloc_large_noprof", "6.10, constant size above KMALLOC_MAX_CACHE_SIZE"},
	{"__kmalloc_large_noprof", "6.11+, constant size above KMALLOC_MAX_CACHE_SIZE"},
	{"__kmalloc_node", "up to 6.9, kzalloc_node"},
	{"kmem_cache_alloc_node_trace", "up to 6.0, kzalloc_node"},
	{"kmalloc_node_trace", "6.1 to 6.9, kzalloc_node"},
	{"__kmalloc_node_noprof", "6.10+, kzalloc_node"},
	{"__kmalloc_cache_node_noprof", "6.11+, kzalloc_node"},
	// Inline wrappers, seen only as local out-of-line copies.
	{"kmalloc", "inline wrapper"},
	{"kzalloc", "inline wrapper"},
	{"kcalloc", "inline wrapper"},
	{"kmalloc_array", "inline wrapper"},
	{"kmalloc_noprof", "inline wrapper, 6.10+"},
	{"kzalloc_noprof", "inline wrapper, 6.10+"},
	{"kmalloc_array_noprof", "inline wrapper, 6.10+"},
	{"kcalloc_noprof", "inline wrapper, 6.10+"},
	// 7.2's kzalloc_noprof and kmalloc_noprof are macros around static
	// inline _kzalloc_noprof and friends, which gcc -Os emits out of line
	// as .constprop copies that tail-call __kmalloc_noprof (seen in
	// klp-build outputs of 7.2.13).
	{"_kzalloc_noprof", "seen in 7.2, out-of-line copy of the inline wrapper"},
	{"_kmalloc_noprof", "seen in 7.2, out-of-line copy of the inline wrapper"},
	{"_kmalloc_node_noprof", "seen in 7.2, out-of-line copy of the inline wrapper"},
	{"_kmalloc_array_noprof", "seen in 7.2, out-of-line copy of the inline wrapper"},
	{"_kmalloc_array_node_noprof", "seen in 7.2, out-of-line copy of the inline wrapper"},
}

// enableFunction is the call that registers and enables a klp_patch (5.1+).
const enableFunction = "klp_enable_patch"

// freeFunction may receive the patch on an error path without writing it.
const freeFunction = "kfree"

var kmallocNames = func() map[string]bool {
	names := make(map[string]bool, len(kmallocFunctions))
	for _, f := range kmallocFunctions {
		names[f.name] = true
	}
	return names
}()

// isKmalloc reports whether a call to name returns a new slab object. gcc
// clone suffixes (.constprop.N, .isra.N, .part.N) are ignored, because a
// clone returns what the original returns.
func isKmalloc(name string) bool {
	return kmallocNames[baseFunctionName(name)]
}

// baseFunctionName strips gcc clone suffixes from a function name.
func baseFunctionName(name string) string {
	for _, suffix := range []string{".constprop.", ".isra.", ".part."} {
		if i := strings.Index(name, suffix); i > 0 {
			name = name[:i]
		}
	}
	return name
}

// replaceFromInitCode recovers the replace value that a module's init
// function stores into the klp_patch it allocates, or returns Source unknown
// with a Detail that gives the reason. fieldOffset is the offset of replace in
// struct klp_patch: 24 on 5.5+ kernels, 16 on 5.1 to 5.4.
//
// The function is interpreted along every path from its entry. Registers
// and the module's own variables are followed from each kmalloc call to the
// stores through them, and the allocation passed to klp_enable_patch is the
// patch. The result is known only when every store of the field on that
// allocation is the same immediate and nothing else may write the field.
func replaceFromInitCode(fn initFunction, fieldOffset uint64) livepatch.Replace {
	model := archModelFor(fn.arch)
	if model == nil {
		return unknownReplace("reading replace from init code is not supported on %s", archName(fn.arch))
	}

	facts, err := analyseInitFunction(fn, model, fieldOffset)
	if err != nil {
		return unknownReplace("%v", err)
	}
	return facts.decide(fn.section, fieldOffset)
}

func unknownReplace(format string, args ...any) livepatch.Replace {
	return livepatch.Replace{Source: livepatch.ReplaceUnknown, Detail: fmt.Sprintf(format, args...)}
}

func archName(arch livepatch.Arch) string {
	if arch.Name != "" {
		return arch.Name
	}
	return arch.Machine.String()
}

// initFacts are the observations made while interpreting an init function.
type initFacts struct {
	section string
	// enables are the calls of klp_enable_patch, in address order.
	enables []enableCall
	// fieldStores are the stores through a kmalloc result that overlap the
	// replace field.
	fieldStores []fieldStore
	// untrackedStores are 1- or 4-byte stores at the field offset through a
	// pointer whose origin is unknown. They may write the patch too.
	untrackedStores []fieldStore
	// handOffs are calls other than klp_enable_patch and kfree that receive
	// a kmalloc result as their first argument; the callee may write it.
	handOffs []handOff
}

type enableCall struct {
	at    uint64
	text  string
	arg   value
	reach bool // false when found only by the linear scan of unreached code
	// stored is set when every path to the call stored to the replace
	// field of the patch it enables.
	stored bool
}

type fieldStore struct {
	site  uint64 // kmalloc call that produced the base pointer
	at    uint64
	text  string
	disp  int64
	width int
	// known is set when the stored value is an immediate or a register
	// holding a constant; value is then the value truncated to width.
	known bool
	value uint64
	// source names the register that held the value, empty for an
	// immediate.
	source string
	// late is set for a store that every path reaches after
	// klp_enable_patch, which has read replace by then.
	late bool
}

type handOff struct {
	site   uint64
	at     uint64
	callee string
}

func (f *initFacts) place(at uint64) string {
	return fmt.Sprintf("%s+%#x", f.section, at)
}

func (f *initFacts) describe(s fieldStore) string {
	text := fmt.Sprintf("%s at %s", s.text, f.place(s.at))
	if s.known && s.source != "" {
		text += fmt.Sprintf(" with %s = %#x", s.source, s.value)
	}
	return text
}

// decide turns the observations into a replace value, or explains why
// there is none.
func (f *initFacts) decide(section string, fieldOffset uint64) livepatch.Replace {
	// Step 1: the patch is the allocation that reaches klp_enable_patch.
	if len(f.enables) == 0 {
		return unknownReplace("init function does not call %s", enableFunction)
	}
	patchSites := map[uint64]bool{}
	for _, call := range f.enables {
		if !call.reach {
			return unknownReplace("call of %s at %s is not on a path the analysis follows", enableFunction, f.place(call.at))
		}
		if call.arg.kind == valueAddr {
			return unknownReplace("%s at %s gets the address of %s, not a kmalloc result", enableFunction, f.place(call.at), describeAddr(call.arg.addr))
		}
		if call.arg.kind != valueAlloc {
			return unknownReplace("pointer passed to %s at %s is not traced to a kmalloc call", enableFunction, f.place(call.at))
		}
		patchSites[call.arg.n] = true
	}

	// Step 2: a callee that gets the patch before it is enabled may write
	// replace itself.
	for _, h := range f.handOffs {
		if patchSites[h.site] {
			return unknownReplace("klp_patch is passed to %s at %s, which may set replace", h.callee, f.place(h.at))
		}
	}

	// Step 3: every store to the field of the patch must be the same
	// 1- or 4-byte immediate.
	var stores []fieldStore
	for _, s := range f.fieldStores {
		if !patchSites[s.site] {
			continue
		}
		if s.disp != int64(fieldOffset) || (s.width != 1 && s.width != 4) {
			return unknownReplace("%d-byte store at offset %#x of the klp_patch overlaps replace: %s", s.width, s.disp, f.describe(s))
		}
		if !s.known {
			return unknownReplace("replace is set to a value computed at run time: %s", f.describe(s))
		}
		if s.late {
			return unknownReplace("replace is set after %s read it: %s", enableFunction, f.describe(s))
		}
		stores = append(stores, s)
	}
	if len(stores) == 0 {
		if len(f.untrackedStores) > 0 {
			return unknownReplace("no store to replace at offset %#x of the klp_patch; a store through an untraced pointer may set it: %s",
				fieldOffset, f.describe(f.untrackedStores[0]))
		}
		return unknownReplace("no store to replace at offset %#x of the klp_patch", fieldOffset)
	}
	// The stores must cover every path to the enable call: on a path
	// without one, the patch keeps kzalloc's zero.
	for _, call := range f.enables {
		if call.reach && call.arg.kind == valueAlloc && !call.stored {
			return unknownReplace("replace is set on some paths to %s at %s but not on all, so it depends on the path taken: %s",
				enableFunction, f.place(call.at), f.describe(stores[0]))
		}
	}
	first := stores[0]
	for _, s := range stores[1:] {
		if s.width != first.width || s.value != first.value {
			return unknownReplace("stores to replace disagree: %s; %s", f.describe(first), f.describe(s))
		}
	}
	for _, s := range f.untrackedStores {
		if !s.known || s.width != first.width || s.value != first.value {
			return unknownReplace("a store through an untraced pointer may set replace differently: %s; %s", f.describe(first), f.describe(s))
		}
	}
	if first.width == 1 && first.value > 1 {
		return unknownReplace("byte store of %#x is not a bool: %s", first.value, f.describe(first))
	}

	detail := f.describe(first)
	if len(stores) > 1 {
		detail += fmt.Sprintf(" (and %d more stores of the same value)", len(stores)-1)
	}
	return livepatch.Replace{
		Known:  true,
		Value:  uint32(first.value),
		Width:  livepatch.ReplaceWidth(first.width),
		Source: livepatch.ReplaceFromInitCode,
		Detail: detail,
	}
}

// describeAddr writes a module address as objdump does: symbol+offset,
// with a section symbol named by its section.
func describeAddr(addr symAddr) string {
	name := strings.TrimPrefix(addr.key, "section ")
	if addr.off == 0 {
		return name
	}
	if addr.off < 0 {
		return fmt.Sprintf("%s-%#x", name, -addr.off)
	}
	return fmt.Sprintf("%s+%#x", name, addr.off)
}

// sortFacts orders the observations by address, so that messages do not
// depend on the order the paths were explored in.
func (f *initFacts) sortFacts() {
	sort.SliceStable(f.enables, func(i, j int) bool { return f.enables[i].at < f.enables[j].at })
	sort.SliceStable(f.fieldStores, func(i, j int) bool { return f.fieldStores[i].at < f.fieldStores[j].at })
	sort.SliceStable(f.untrackedStores, func(i, j int) bool { return f.untrackedStores[i].at < f.untrackedStores[j].at })
	sort.SliceStable(f.handOffs, func(i, j int) bool { return f.handOffs[i].at < f.handOffs[j].at })
}
