package conflict

import (
	"fmt"
	"strings"

	"github.com/klpcheck/klpcheck/target"
)

var notFtraceable = &Rule{
	ID:       "KLP0605",
	Name:     "not-ftraceable",
	Severity: SeverityError,
	Title:    "ftrace has no call site in a patched function",
	Doc: `Reports a patched function that ftrace cannot hook in the target: no ftrace call
site lies inside the symbol the kernel resolves for it. Typical causes are notrace
functions, noinstr code (.noinstr.text), __init code, files built without -pg or -mfentry,
and data symbols patched as if they were functions.

The call sites come from the ftrace records of a vmlinux or module ELF (the addresses
between __start_mcount_loc and __stop_mcount_loc, or __mcount_loc or
__patchable_function_entries in a module), which need symbol sizes, or from the available_filter_functions file that klpcheck snapshot records.
System.map and /proc/kallsyms give neither, so with them alone the rule adds a "not checked"
note. A name that available_filter_functions lists counts as traceable, whichever copy of a
duplicated name the patch selects.`,
	Kernel: `klp_patch_func (kernel/livepatch/patch.c) asks ftrace_location() for the call
site of the resolved function and fails with -EINVAL: "failed to find location for function
'%s'". Since 5.18 (commit aebfd12521d9) ftrace_location() accepts a call site anywhere in
[address, address + size) of the function that starts at the address, which builds with
IBT need because the call follows the 4-byte endbr64 (Debian 6.12). Before 5.18 the call
site had to be at the function's address on x86, which is where builds without IBT put it.
The build records the call sites of __init code too, but ftrace_free_init_mem and
ftrace_free_mem drop them when that code is freed after boot or module init, so a function
in an .init section counts as untraceable.
The failure happens in klp_enable_patch for vmlinux and when the module is loaded for a
module object, and the kernel then refuses that module.`,
	Fix: `Patch a traceable function instead, usually a caller of the untraceable one, and
copy the changed code into the replacement of that caller.`,
	checkModule: checkNotFtraceable,
}

// checkNotFtraceable reports patched functions without an ftrace call site.
func checkNotFtraceable(p *pass, c *candidate) {
	t := targetOf(p)
	forEachLookup(p, c, nil, func(ref symbolRef, obj *target.Object, res resolution) {
		sym, ok := selectedSymbol(ref, res.matches)
		if !ref.isFunc() || !ok {
			return
		}

		traceable, known := obj.Ftraceable(sym)
		if !known {
			found, listed := t.FilterFunction(ref.object, ref.name)
			if !listed || !t.FilterListsObject(ref.object) {
				notChecked(p, ref.object, noFtraceReason(obj, sym))
				return
			}
			traceable = found
		}
		if traceable {
			return
		}

		msg := fmt.Sprintf("%s (%s) has no ftrace call site%s (\"failed to find location for function '%s'\"): %s",
			ref.name, symbolText(sym), untraceableCause(sym, known), ref.name, res.failure)
		p.report(refFinding(c, ref, msg))
		if res.refuse {
			p.refuse("EINVAL")
		}
	})
}

// selectedSymbol returns the symbol the kernel resolves for ref, or false
// when the lookup fails, which the symbol rules report.
func selectedSymbol(ref symbolRef, matches []target.Symbol) (target.Symbol, bool) {
	switch {
	case ref.sympos == 0 && len(matches) == 1:
		return matches[0], true
	case ref.sympos > 0 && ref.sympos <= uint64(len(matches)):
		return matches[ref.sympos-1], true
	}
	return target.Symbol{}, false
}

// untraceableCause explains, after "has no ftrace call site", why a
// function has none, as far as its section and type show.
func untraceableCause(sym target.Symbol, fromRecords bool) string {
	where := " (available_filter_functions does not list it)"
	if fromRecords {
		where = fmt.Sprintf(" in its %d bytes", sym.Size)
	}
	switch {
	case !sym.Func:
		return where + ", because it is not a function"
	case sym.Section == ".noinstr.text":
		return where + ", because noinstr code is never traced"
	case strings.HasPrefix(sym.Section, ".init"):
		return " (" + sym.Section + "), because the kernel drops the ftrace records of __init code when it frees that code after boot or module init"
	}
	return where
}

// noFtraceReason explains why the target inputs cannot show whether sym
// is traceable, for a "not checked" note about its object.
func noFtraceReason(obj *target.Object, sym target.Symbol) string {
	if obj.FtraceKnown && !sym.SizeKnown {
		return fmt.Sprintf("%s gives no symbol sizes", inputName(obj.Kind))
	}
	switch obj.Kind {
	case target.KindVmlinux:
		return "the vmlinux has no ftrace records between __start_mcount_loc and __stop_mcount_loc"
	case target.KindModule, target.KindModulesDir:
		return "the module file has no __mcount_loc or __patchable_function_entries records"
	}
	return inputName(obj.Kind) + " has no ftrace records"
}

// inputName names a kind of target input in a sentence.
func inputName(k target.Kind) string {
	switch k {
	case target.KindSystemMap:
		return "System.map"
	case target.KindKallsyms:
		return "/proc/kallsyms"
	case target.KindVmlinux:
		return "the vmlinux"
	case target.KindModule, target.KindModulesDir:
		return "the module file"
	case target.KindModuleSymvers:
		return "Module.symvers"
	case target.KindFilterFunctions:
		return "available_filter_functions"
	}
	return fmt.Sprintf("the %s input", k)
}
