package conflict

import (
	"fmt"
	"slices"
	"strings"

	"github.com/klpcheck/klpcheck/livepatch"
	"github.com/klpcheck/klpcheck/target"
)

var unexportedSymbol = &Rule{
	ID:       "KLP0606",
	Name:     "unexported-symbol",
	Severity: SeverityError,
	Title:    "a normal undefined symbol is not exported by the target",
	Doc: `Reports a normal undefined symbol of the patch module (SHN_UNDEF, not a klp
symbol) that neither the target's vmlinux nor any target module exports. Such a reference
should have been a klp relocation, which may name unexported symbols. Exports come from
Module.symvers, or from the __ksymtab sections of a vmlinux and of the target modules that
were read. Weak undefined symbols are exempt, because the module loader leaves them 0.

A symbol that a target module exports, where that module is missing from the patch's
modinfo depends, gets a warning instead: modprobe does not load that module first, and the
patch module pins it while loaded. References to the livepatch API that 5.1 removed are
left to pre-5.1-api, and klp_* symbols on a kernel without livepatch support to
no-livepatch-support.`,
	Kernel: `The module loader resolves every SHN_UNDEF symbol against the exported symbols
of vmlinux and the loaded modules (simplify_symbols and resolve_symbol in
kernel/module/main.c, kernel/module.c before 5.19). A strong symbol that no one exports
fails to resolve with -ENOENT: "%s: Unknown symbol %s (err -2)". simplify_symbols goes on
through the whole .symtab and returns the error of the last symbol that failed, so when
several symbols fail, insmod returns -ENOENT or the -EINVAL of a CRC mismatch, whichever
comes last (6.1 and 6.12). A symbol exported by a module makes the patch module depend on
it: the exporting module must be loaded first, and cannot be unloaded while the patch
module is loaded.`,
	Fix: `Turn the reference into a klp relocation, which kpatch-build and klp-build do for
every unexported symbol they see, or rebuild against the target's Module.symvers. For a
module export, rebuild so that modpost records the module in depends.`,
	checkModule: checkUnexportedSymbol,
}

var crcMismatch = &Rule{
	ID:       "KLP0607",
	Name:     "crc-mismatch",
	Severity: SeverityError,
	Title:    "a __versions CRC differs from the target's export",
	Doc: `Reports an entry of the patch module's __versions table (CONFIG_MODVERSIONS) whose
CRC differs from the CRC the target exports the symbol with, as Module.symvers or the
__crc_ symbols of a vmlinux give it. The CRC covers the symbol's C type, so a difference
means the patch was built against headers of another kernel build.`,
	Kernel: `resolve_symbol (kernel/module/main.c, kernel/module.c before 5.19) calls
check_version (kernel/module/version.c) for every undefined symbol it finds exported. A CRC
that differs prints "%s: disagrees about version of symbol %s", and the symbol fails to
resolve with -EINVAL ("Unknown symbol %s (err -22)"). simplify_symbols returns the error of
the last symbol in .symtab order that failed, so insmod returns -EINVAL unless an
unexported symbol comes after it (-ENOENT). module_layout, an empty function that
kernel/module/version.c exports with CONFIG_MODVERSIONS in 6.1 and 6.12, is checked earlier:
check_modstruct_version runs in load_module before check_modinfo compares vermagic, and a
mismatch fails the load with -ENOEXEC before any symbol is resolved.`,
	Fix: `Rebuild the patch against the exact headers, configuration and Module.symvers of
the target kernel.`,
	checkModule: checkCRCMismatch,
}

var namespaceNotImported = &Rule{
	ID:       "KLP0614",
	Name:     "namespace-not-imported",
	Severity: SeverityError,
	Title:    "a symbol is exported in a namespace the module does not import",
	Doc: `Reports a normal undefined symbol of the patch module that the target exports in a
symbol namespace (EXPORT_SYMBOL_NS, 5.4 and later) which no import_ns entry of the
module's modinfo names. Namespaces come from the fifth column of Module.symvers (the third
in 5.4 and 5.5) and from the __kstrtabns_ symbols of a vmlinux or module file. A namespace
of the form "module:NAMES" (EXPORT_SYMBOL_GPL_FOR_MODULES, 6.16 and later) cannot be
imported: it admits only modules whose name matches one of its comma-separated patterns,
each of which may end in "*", with "-" and "_" taken as equal.`,
	Kernel: `resolve_symbol (kernel/module/main.c) calls verify_namespace_is_imported for
every exported symbol it finds, after the CRC check. A namespace that no import_ns entry
matches exactly prints "%s: module uses symbol (%s) from namespace %s, but does not import
it." and the symbol fails to resolve with -EINVAL, unless the kernel is built with
CONFIG_MODULE_ALLOW_MISSING_NAMESPACE_IMPORTS, which makes it a warning. simplify_symbols
returns the error of the last symbol in .symtab order that failed. setup_modinfo refuses an
import_ns entry that names a module namespace. modpost reports the same errors at build
time, but only against the Module.symvers it was given.`,
	Fix: `Add MODULE_IMPORT_NS for the namespace to the patch source and rebuild, or turn
the reference into a klp relocation. A module namespace cannot be imported: reach the
symbol through a klp relocation.`,
	checkModule: checkNamespaceImported,
}

// checkNamespaceImported reports undefined symbols that the target
// exports in a namespace the module does not import.
func checkNamespaceImported(p *pass, c *candidate) {
	t := targetOf(p)
	if t == nil {
		return
	}
	m := c.module
	crcs := versionCRCs(m)

	for _, u := range m.Undefined {
		e, found, known := t.Export(u.Name)
		if !found && !known {
			notChecked(p, "", t.ExportsGap())
			continue
		}
		if !found || namespaceImported(m, e.Namespace) {
			continue
		}
		// A CRC mismatch fails the symbol before its namespace is checked.
		if crc, ok := crcs[u.Name]; ok && e.CRCKnown && e.CRC != crc {
			continue
		}
		if patterns, ok := strings.CutPrefix(e.Namespace, moduleNamespacePrefix); ok {
			p.report(moduleFinding(c, fmt.Sprintf("%s is exported by %s only for the modules %s (namespace %s), which %s is not, so the module loader fails to resolve it with -EINVAL",
				u.Name, objectLabel(e.Owner), patterns, e.Namespace, m.Name)))
			continue
		}
		reason := m.Name + " imports no namespace"
		if ns := m.ModInfo.All("import_ns"); len(ns) > 0 {
			reason = m.Name + " imports only " + strings.Join(ns, ", ")
		}
		p.report(moduleFinding(c, fmt.Sprintf("%s is exported by %s in namespace %s, but %s, so the module loader fails to resolve it with -EINVAL (\"%s: module uses symbol (%s) from namespace %s, but does not import it.\")",
			u.Name, objectLabel(e.Owner), e.Namespace, reason, m.Name, u.Name, e.Namespace)))
	}
	refuseFailedSymbol(p, c)
}

// moduleNamespacePrefix starts the namespace that
// EXPORT_SYMBOL_GPL_FOR_MODULES gives an export (6.16 and later).
const moduleNamespacePrefix = "module:"

// namespaceImported reports whether m may use a symbol exported in
// namespace ns, as verify_namespace_is_imported decides: an empty
// namespace needs nothing, a module namespace a matching module name, and
// any other an import_ns entry equal to it.
//
// NOTE: patches posted in 2025 would also require the module to be built
// in tree for a module namespace. Whether a release has them is not
// checked here, so such a kernel may refuse a patch module that this
// accepts.
func namespaceImported(m *livepatch.Module, ns string) bool {
	if ns == "" {
		return true
	}
	if patterns, ok := strings.CutPrefix(ns, moduleNamespacePrefix); ok {
		return moduleNameMatches(patterns, m.Name)
	}
	return slices.Contains(m.ModInfo.All("import_ns"), ns)
}

// moduleNameMatches reports whether name matches one of the
// comma-separated patterns of a module namespace. A pattern that ends in
// "*" matches every name that starts with the rest of it. As in module
// names, "-" and "_" are the same character.
func moduleNameMatches(patterns, name string) bool {
	name = strings.ReplaceAll(name, "-", "_")
	for pattern := range strings.SplitSeq(strings.ReplaceAll(patterns, "-", "_"), ",") {
		if prefix, glob := strings.CutSuffix(pattern, "*"); glob {
			if strings.HasPrefix(name, prefix) {
				return true
			}
			continue
		}
		if pattern == name {
			return true
		}
	}
	return false
}

var pre51API = &Rule{
	ID:       "KLP0613",
	Name:     "pre-5.1-api",
	Severity: SeverityError,
	Title:    "the module calls livepatch functions that 5.1 removed",
	Doc: `Reports references to klp_register_patch, klp_unregister_patch or
klp_disable_patch on a target of 5.1 or later. The module was written for the livepatch
API before 5.1, in which a patch was registered and then enabled. The target counts as 5.1
or later when its release says so, or when it exports klp_enable_patch but not the old
function. The rule replaces unexported-symbol for these names.`,
	Kernel: `Commit 958ef1e39d24 ("livepatch: Simplify API by removing registration step",
5.1) removed klp_register_patch and klp_unregister_patch and made klp_disable_patch
internal: klp_enable_patch registers and enables the patch, and a patch is disabled through
/sys/kernel/livepatch/<patch>/enabled. The module loader fails the load with -ENOENT
("Unknown symbol klp_register_patch (err -2)").`,
	Fix: `Port the module to the current API: call only klp_enable_patch from the module's
init function, remove the klp_unregister_patch call from its exit function, and disable the
patch through sysfs. Rebuilding with kpatch-build or klp-build for the target does this.`,
	checkModule: checkPre51API,
}

// removedAPI are the livepatch functions that 5.1 removed.
var removedAPI = []string{"klp_register_patch", "klp_unregister_patch", "klp_disable_patch"}

// moduleLayoutRank is the rank of a module_layout CRC mismatch among the
// refusals: check_modstruct_version runs before check_modinfo, so it
// comes before vermagic-mismatch (rank 10 in refusalRank). load_module
// calls it directly in 6.1 and from early_mod_check in 6.4 and later.
const moduleLayoutRank = 5

// checkUnexportedSymbol reports undefined symbols the target does not
// export.
func checkUnexportedSymbol(p *pass, c *candidate) {
	t := targetOf(p)
	if t == nil {
		return
	}
	m := c.module
	depends := modinfoDepends(m)

	for _, u := range m.Undefined {
		e, found, known := t.Export(u.Name)
		switch {
		case found && (e.Owner == "vmlinux" || depends[moduleKey(e.Owner)]):
			continue
		case found:
			f := moduleFinding(c, fmt.Sprintf("%s is exported by module %s, which the modinfo depends of %s does not list: modprobe does not load %s first, so insmod fails with -ENOENT unless it is loaded, and %s then pins %s",
				u.Name, e.Owner, m.Name, e.Owner, m.Name, e.Owner))
			f.Severity = SeverityWarning
			p.report(f)
			continue
		}

		switch unresolvedCause(p, t, u) {
		case "unexported-symbol":
		case "":
			if !known && !u.Weak {
				notChecked(p, "", t.ExportsGap())
				return
			}
			continue
		default:
			continue
		}
		p.report(moduleFinding(c, fmt.Sprintf("%s is exported by neither vmlinux nor a target module%s, so the module loader fails to resolve it with -ENOENT (\"%s: Unknown symbol %s (err -2)\"); a reference to an unexported symbol must be a klp relocation",
			u.Name, definedNote(t, u.Name), m.Name, u.Name)))
	}
	refuseFailedSymbol(p, c)
}

// definedNote returns ", although vmlinux defines it" when the target's
// vmlinux has a symbol name, the common case of a reference that should
// have been a klp relocation.
func definedNote(t *target.Target, name string) string {
	if t.Vmlinux != nil && len(t.Vmlinux.Matches(name)) > 0 {
		return ", although vmlinux defines it"
	}
	return ""
}

// checkCRCMismatch compares __versions CRCs with the target's: that of
// module_layout, then those of the undefined symbols in .symtab order,
// which is the order the module loader checks them in.
func checkCRCMismatch(p *pass, c *candidate) {
	t := targetOf(p)
	if t == nil || len(c.module.Versions) == 0 {
		return
	}
	m := c.module
	crcs := versionCRCs(m)

	if crc, ok := crcs["module_layout"]; ok {
		if e, differs := crcDiffers(p, t, "module_layout", crc); differs {
			p.report(moduleFinding(c, fmt.Sprintf("__versions expects CRC 0x%08x for module_layout, but the target's %s exports it with CRC 0x%08x: check_modstruct_version fails the load with -ENOEXEC before the module loader compares vermagic or resolves any symbol (\"%s: disagrees about version of symbol module_layout\")",
				crc, objectLabel(e.Owner), e.CRC, m.Name)))
			p.s.refusals = append(p.s.refusals, refusal{rule: p.rule, errno: "ENOEXEC", rank: moduleLayoutRank})
		}
	}

	for _, u := range m.Undefined {
		crc, ok := crcs[u.Name]
		if !ok {
			continue
		}
		if e, differs := crcDiffers(p, t, u.Name, crc); differs {
			p.report(moduleFinding(c, fmt.Sprintf("__versions expects CRC 0x%08x for %s, but the target's %s exports it with CRC 0x%08x, so the module loader fails to resolve it with -EINVAL (\"%s: disagrees about version of symbol %s\")",
				crc, u.Name, objectLabel(e.Owner), e.CRC, m.Name, u.Name)))
		}
	}
	refuseFailedSymbol(p, c)
}

// crcDiffers reports whether the target exports name with a CRC other
// than crc, and returns the export. When the target cannot tell, it adds
// the rule's "not checked" note. An unexported name is unexported-symbol's
// finding and not compared.
func crcDiffers(p *pass, t *target.Target, name string, crc uint32) (target.Export, bool) {
	e, found, known := t.Export(name)
	switch {
	case !found && !known:
		notChecked(p, "", t.ExportsGap())
		return e, false
	case !found:
		return e, false
	case !e.CRCKnown:
		notChecked(p, "", fmt.Sprintf("the target's export of %s has no CRC", name))
		return e, false
	}
	return e, e.CRC != crc
}

// versionCRCs returns the __versions CRC of each symbol of m by name.
func versionCRCs(m *livepatch.Module) map[string]uint32 {
	crcs := make(map[string]uint32, len(m.Versions))
	for _, v := range m.Versions {
		crcs[v.Name] = v.CRC
	}
	return crcs
}

// unresolvedCause returns the name of the rule that reports the failure
// of an undefined symbol that the target does not export. It returns ""
// for a weak symbol, which stays 0, and when the target cannot tell. The
// livepatch API that 5.1 removed goes to pre-5.1-api, klp_* symbols on a
// kernel without livepatch to no-livepatch-support, and any other symbol
// to unexported-symbol.
func unresolvedCause(p *pass, t *target.Target, u livepatch.UndefinedSymbol) string {
	if u.Weak {
		return ""
	}
	if removed, _ := apiRemoved(p, t); removed && slices.Contains(removedAPI, u.Name) {
		return "pre-5.1-api"
	}
	if _, _, known := t.Export(u.Name); !known {
		return ""
	}
	if supported, known, _ := livepatchSupport(t); known && !supported && strings.HasPrefix(u.Name, "klp_") {
		return "no-livepatch-support"
	}
	return "unexported-symbol"
}

// symbolFailure is an undefined symbol that simplify_symbols fails to
// resolve, with the error and the rule whose finding reports it.
type symbolFailure struct {
	name  string
	errno string
	rule  string
}

// symbolFailures returns the undefined symbols of m that the module
// loader fails to resolve on t, in .symtab order. A symbol no one exports
// fails with -ENOENT. A symbol whose __versions CRC differs from the
// export's fails with -EINVAL, even when it is weak, because the kernel
// found it, and so does one exported in a namespace that m does not
// import. Symbols the target inputs cannot tell about are left out.
func symbolFailures(p *pass, t *target.Target, m *livepatch.Module) []symbolFailure {
	crcs := versionCRCs(m)
	var out []symbolFailure
	for _, u := range m.Undefined {
		e, found, _ := t.Export(u.Name)
		if found {
			switch crc, ok := crcs[u.Name]; {
			case ok && e.CRCKnown && e.CRC != crc:
				out = append(out, symbolFailure{name: u.Name, errno: "EINVAL", rule: "crc-mismatch"})
			case !namespaceImported(m, e.Namespace):
				out = append(out, symbolFailure{name: u.Name, errno: "EINVAL", rule: "namespace-not-imported"})
			}
			continue
		}
		if rule := unresolvedCause(p, t, u); rule != "" {
			out = append(out, symbolFailure{name: u.Name, errno: "ENOENT", rule: rule})
		}
	}
	return out
}

// refuseFailedSymbol refuses the load when p's rule reports the last
// undefined symbol that fails to resolve. simplify_symbols tries every
// symbol and returns the error of the last failure, so of the rules that
// share its rank exactly one refuses, with the errno insmod returns.
func refuseFailedSymbol(p *pass, c *candidate) {
	failures := symbolFailures(p, targetOf(p), c.module)
	if len(failures) == 0 {
		return
	}
	if last := failures[len(failures)-1]; last.rule == p.rule.Name {
		p.refuse(last.errno)
	}
}

// checkPre51API reports references to the livepatch API removed in 5.1.
func checkPre51API(p *pass, c *candidate) {
	t := targetOf(p)
	if t == nil {
		return
	}
	var used []string
	for _, name := range removedAPI {
		if c.module.References(name) {
			used = append(used, name)
		}
	}
	if len(used) == 0 {
		return
	}

	removed, why := apiRemoved(p, t)
	if why == "" {
		notChecked(p, "", "the target's release is unknown and no target input lists exports")
		return
	}
	if !removed {
		return
	}
	for _, name := range used {
		if _, exported, _ := t.Export(name); exported {
			continue
		}
		p.report(moduleFinding(c, fmt.Sprintf("%s calls %s, which kernels 5.1 and later do not have (%s), so the module loader fails to resolve it with -ENOENT (\"%s: Unknown symbol %s (err -2)\")",
			c.module.Name, name, why, c.module.Name, name)))
	}
	refuseFailedSymbol(p, c)
}

// apiRemoved reports whether the target has the livepatch API of 5.1 and
// later, and the evidence. why is empty when the target does not show it.
func apiRemoved(p *pass, t *target.Target) (removed bool, why string) {
	if v := targetVersion(p, t); v.Known() {
		return v.AtLeast(5, 1), "the target is " + v.Release
	}
	_, registerExported, known := t.Export("klp_register_patch")
	_, enableExported, _ := t.Export("klp_enable_patch")
	if known && enableExported {
		return !registerExported, "the target exports klp_enable_patch but not klp_register_patch"
	}
	return false, ""
}

// targetVersion returns the target's release: from the target inputs,
// else from the plan.
func targetVersion(p *pass, t *target.Target) livepatch.KernelVersion {
	if t.Release != "" {
		return livepatch.ParseVermagic(t.Release)
	}
	return p.s.kernel
}

// livepatchSupport reports whether the target kernel has the livepatch
// core, judged by klp_enable_patch in vmlinux's symbols or exports, with
// the evidence for a message. known is false when no input shows it.
func livepatchSupport(t *target.Target) (supported, known bool, evidence string) {
	supported, known = t.Livepatch()
	switch {
	case !known || supported:
		return supported, known, ""
	case t.Vmlinux != nil:
		return false, true, fmt.Sprintf("the target vmlinux (%s) has no symbol klp_enable_patch", inputName(t.Vmlinux.Kind))
	}
	return false, true, "the target's vmlinux exports no klp_enable_patch"
}

// modinfoDepends returns the modules named by the modinfo depends of m,
// keyed as moduleKey spells them.
func modinfoDepends(m *livepatch.Module) map[string]bool {
	out := map[string]bool{}
	value, _ := m.ModInfo.Get("depends")
	for _, name := range strings.Split(value, ",") {
		if name = strings.TrimSpace(name); name != "" {
			out[moduleKey(name)] = true
		}
	}
	return out
}

// moduleKey spells a module name as the kernel stores it: with
// underscores for dashes, as kbuild writes KBUILD_MODNAME.
func moduleKey(name string) string {
	return strings.ReplaceAll(name, "-", "_")
}
