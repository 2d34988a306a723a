package conflict

import (
	"fmt"
	"strings"

	"github.com/klpcheck/klpcheck/target"
)

// symposCounting is the paragraph on how the kernel counts old_sympos,
// shared by the Kernel text of the symbol rules.
const symposCounting = `The kernel counts vmlinux matches
among the kallsyms symbols in address order (kallsyms_on_each_match_symbol from 6.2,
kallsyms_on_each_symbol before), and module matches in .symtab order
(module_kallsyms_on_each_symbol): among the core symbols of a module loaded before the patch,
and among every defined symbol of a module that loads after it, because klp_module_coming
runs before the module's init function and the switch to its core symbols that follows. Both
include data symbols, since livepatch requires CONFIG_KALLSYMS_ALL. A vmlinux failure fails insmod: klp symbols are resolved by
the module loader in apply_relocations (5.8 and later) or by klp_enable_patch (before 5.8),
function names by klp_enable_patch. A module's symbols are resolved when that module is
loaded, at klp_enable_patch or later in klp_module_coming, and a failure then makes the
kernel refuse the module ("patch '%s' failed for module '%s', refusing to load module
'%s'").`

var symbolNotFound = &Rule{
	ID:       "KLP0601",
	Name:     "symbol-not-found",
	Severity: SeverityError,
	Title:    "a patched function or klp symbol is not in the target's symbols",
	Doc: `Reports a patched function (the old_name of a klp_func) or a klp symbol
(.klp.sym.<object>.<name>,<sympos>) whose name the target object does not have: vmlinux,
from a vmlinux, System.map or /proc/kallsyms input, or the target module, from its file or
from /proc/kallsyms. A klp symbol of a module that the target does not have is reported
too. A patched object whose module the target does not have is left to
object-not-in-target.

Names compare exactly. When the target has the name only with a Clang LTO suffix
(name.llvm.<hash>), the message says so, because whether such a name resolves depends on the
target's kallsyms.`,
	Kernel: `klp_find_object_symbol (kernel/livepatch/core.c) fails with -EINVAL when no
kallsyms symbol of the object has the name: "symbol '%s' not found in symbol table". ` + symposCounting + ` Some kernels built with Clang LTO compare kallsyms names after cutting a
.llvm.<hash> suffix (cleanup_symbol_name in kernel/kallsyms.c) and others compare exactly.`,
	Fix: `Check that the patch was built from the target kernel's source and configuration:
the function may be renamed, removed, built only with another configuration, or inlined
into its callers, which must then be patched instead. Rebuild the patch against the
target's source tree and vmlinux.`,
	checkModule: checkSymbolNotFound,
}

var symbolAmbiguous = &Rule{
	ID:       "KLP0602",
	Name:     "symbol-ambiguous",
	Severity: SeverityError,
	Title:    "sympos 0 on a name the target object has more than once",
	Doc: `Reports a patched function or klp symbol with sympos 0 whose name the target
object has more than once, usually static functions of the same name in different files.
The message lists the first 20 candidates in the order the kernel counts them, with their
position, address, size, section and the source file named by the nearest preceding
STT_FILE symbol, and counts the rest. A vmlinux or module ELF gives all of these; System.map
and /proc/kallsyms give the address only.`,
	Kernel: `old_sympos 0 means that the name must be unique. klp_find_object_symbol stops at
the second match and fails with -EINVAL: "unresolvable ambiguity for symbol '%s' in object
'%s'", where the object shows as "(null)" for vmlinux because the kernel passes a NULL
name. ` + symposCounting,
	Fix: `Set old_sympos (or the position at the end of the klp symbol's name) to the
position of the intended copy, counted from 1 in the order the message lists them.
kpatch-build and klp-build compute it from the vmlinux they build against, so a patch
built for the exact target kernel gets it right.`,
	checkModule: checkSymbolAmbiguous,
}

var symposOutOfRange = &Rule{
	ID:       "KLP0603",
	Name:     "sympos-out-of-range",
	Severity: SeverityError,
	Title:    "sympos N on a name the target object has fewer than N times",
	Doc: `Reports a patched function or klp symbol with sympos N greater than the number of
symbols of that name in the target object. The name exists, so the patch was probably built
for a kernel with more copies of it, or for another configuration.`,
	Kernel: `With old_sympos N > 0, klp_find_object_symbol looks for the Nth match and fails
with -EINVAL when there are fewer: "symbol position %lu for symbol '%s' in object '%s' not
found". ` + symposCounting,
	Fix: `Rebuild the patch against the target kernel's vmlinux and modules, which sets
the position of each copy as the target counts it.`,
	checkModule: checkSymposOutOfRange,
}

var symposFirstOfMany = &Rule{
	ID:       "KLP0604",
	Name:     "sympos-first-of-many",
	Severity: SeverityNote,
	Title:    "sympos 1 takes the first of several copies of a name",
	Doc: `Reports a patched function or klp symbol with sympos 1 whose name the target
object has more than once. The kernel takes the first copy without a message, so a patch
meant for another copy would replace the wrong function. The note names the copy that is
taken, with its address and source file, so that a reviewer can confirm it is the one
meant. kpatch-build writes 1 for the first copy of a duplicated local function by design,
so the note is expected for its patches.`,
	Kernel: `With old_sympos N > 0, klp_find_object_symbol takes the Nth match and does not
check for others, so sympos 1 never fails on a duplicated name. ` + symposCounting,
	Fix: `Nothing, when the named copy is the one the patch replaces. Otherwise set the
position of the intended copy, counted from 1 in address order for vmlinux and in .symtab
order for a module.`,
	checkModule: checkSymposFirstOfMany,
}

// maxCandidates is the largest number of candidates symbol-ambiguous lists.
// Some names, such as type_show in 6.1, have dozens of static copies.
const maxCandidates = 20

// forEachLookup calls visit for each symbol reference of c's module and
// each way the kernel may resolve it (see resolutions). A reference whose
// object the target inputs do not cover gets the rule's "not checked"
// note. One whose object the target does not have goes to absent, or is
// skipped when absent is nil.
func forEachLookup(p *pass, c *candidate, absent func(ref symbolRef, reason string), visit func(ref symbolRef, obj *target.Object, res resolution)) {
	t := targetOf(p)
	if t == nil {
		return
	}
	for _, l := range refLookups(p, c, t) {
		switch {
		case l.lookup.unknown:
			notChecked(p, l.ref.object, l.lookup.reason)
		case l.lookup.absent:
			if absent != nil {
				absent(l.ref, l.lookup.reason)
			}
		default:
			for _, res := range l.resolutions {
				visit(l.ref, l.lookup.obj, res)
			}
		}
	}
}

// refLookup is one symbol reference of a candidate with the outcome of
// looking it up in the target.
type refLookup struct {
	ref    symbolRef
	lookup objectLookup
	// resolutions is set only when the target has the object's symbols.
	resolutions []resolution
}

// refLookups looks up every symbol reference of c's module in t. Five
// rules walk the same references, so the lookups are made on the first
// call and kept in c: the target and the host state they read do not
// change while one load is checked.
func refLookups(p *pass, c *candidate, t *target.Target) []refLookup {
	if c.lookupsDone {
		return c.lookups
	}

	refs := symbolRefs(c.module)
	c.lookups = make([]refLookup, len(refs))
	for i, ref := range refs {
		l := refLookup{ref: ref, lookup: lookupObject(t, ref.object)}
		if !l.lookup.unknown && !l.lookup.absent {
			l.resolutions = resolutions(p, c, ref, l.lookup.obj)
		}
		c.lookups[i] = l
	}
	c.lookupsDone = true
	return c.lookups
}

// checkSymbolNotFound reports names that the target object does not have.
func checkSymbolNotFound(p *pass, c *candidate) {
	// A patched object missing from the target is object-not-in-target's
	// finding. A klp symbol may name a module that the patch does not
	// patch, such as a dependency of the patched module.
	absent := func(ref symbolRef, reason string) {
		if ref.patched {
			return
		}
		p.report(refFinding(c, ref, fmt.Sprintf("%s, so the relocation that uses the symbol fails when it is applied (\"symbol '%s' not found in symbol table\")", reason, ref.name)))
	}

	forEachLookup(p, c, absent, func(ref symbolRef, obj *target.Object, res resolution) {
		if len(res.matches) > 0 {
			return
		}
		msg := fmt.Sprintf("target %s has no symbol %s (\"symbol '%s' not found in symbol table\"): %s", objectLabel(ref.object), ref.name, ref.name, res.failure)
		if suffixed := llvmSuffixed(obj, ref.name); len(suffixed) > 0 {
			msg += fmt.Sprintf("; the target has %s, which only kernels whose kallsyms cut Clang LTO .llvm. suffixes match", strings.Join(suffixed, " and "))
		}
		p.report(refFinding(c, ref, msg))
		if res.refuse {
			p.refuse("EINVAL")
		}
	})
}

// checkSymbolAmbiguous reports sympos 0 on a duplicated name.
func checkSymbolAmbiguous(p *pass, c *candidate) {
	forEachLookup(p, c, nil, func(ref symbolRef, obj *target.Object, res resolution) {
		if ref.sympos != 0 || len(res.matches) < 2 {
			return
		}
		msg := fmt.Sprintf("sympos 0 requires a unique name, but target %s has %d symbols named %s (\"unresolvable ambiguity for symbol '%s' in object '%s'\"): %s; candidates: %s",
			objectLabel(ref.object), len(res.matches), ref.name, ref.name, kernelObjectName(ref.object), res.failure, candidateList(res.matches, 0))
		p.report(refFinding(c, ref, msg))
		if res.refuse {
			p.refuse("EINVAL")
		}
	})
}

// checkSymposOutOfRange reports sympos N on a name with fewer copies.
func checkSymposOutOfRange(p *pass, c *candidate) {
	forEachLookup(p, c, nil, func(ref symbolRef, obj *target.Object, res resolution) {
		n := uint64(len(res.matches))
		if ref.sympos == 0 || n == 0 || n >= ref.sympos {
			return
		}
		msg := fmt.Sprintf("sympos %d selects the %s symbol named %s, but target %s has %d (\"symbol position %d for symbol '%s' in object '%s' not found\"): %s",
			ref.sympos, ordinal(ref.sympos), ref.name, objectLabel(ref.object), n, ref.sympos, ref.name, ref.object, res.failure)
		p.report(refFinding(c, ref, msg))
		if res.refuse {
			p.refuse("EINVAL")
		}
	})
}

// checkSymposFirstOfMany notes sympos 1 on a duplicated name.
func checkSymposFirstOfMany(p *pass, c *candidate) {
	forEachLookup(p, c, nil, func(ref symbolRef, obj *target.Object, res resolution) {
		if ref.sympos != 1 || len(res.matches) < 2 {
			return
		}
		msg := fmt.Sprintf("sympos 1 takes the first of %d symbols named %s in target %s: %s; confirm that this copy is the one the patch replaces (the others: %s)",
			len(res.matches), ref.name, objectLabel(ref.object), symbolText(res.matches[0]), candidateList(res.matches, 1))
		p.report(refFinding(c, ref, msg))
	})
}

// objectLabel names a target object in a message: "vmlinux" or "module
// ext4".
func objectLabel(object string) string {
	if object == "vmlinux" {
		return "vmlinux"
	}
	return "module " + object
}

// candidateList lists matches[from:] with their 1-based position among
// matches, for example "1: 0xffffffff81234560, 64 bytes, .text,
// drivers/base/cpu.c; 2: ...". It lists at most maxCandidates and counts
// the rest.
func candidateList(matches []target.Symbol, from int) string {
	var parts []string
	for i := from; i < len(matches); i++ {
		if i-from == maxCandidates {
			parts = append(parts, fmt.Sprintf("and %d more", len(matches)-i))
			break
		}
		parts = append(parts, fmt.Sprintf("%d: %s", i+1, symbolText(matches[i])))
	}
	return strings.Join(parts, "; ")
}

// llvmSuffixed returns up to three names of obj that are name followed by
// a Clang LTO suffix, ".llvm." and a hash.
func llvmSuffixed(obj *target.Object, name string) []string {
	prefix := name + ".llvm."
	var out []string
	for _, s := range obj.Symbols {
		if strings.HasPrefix(s.Name, prefix) {
			out = append(out, s.Name)
			if len(out) == 3 {
				break
			}
		}
	}
	return out
}
