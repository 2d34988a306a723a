package conflict

import (
	"fmt"
	"slices"
	"strings"

	"github.com/klpcheck/klpcheck/livepatch"
	"github.com/klpcheck/klpcheck/target"
)

// The target rules (KLP06xx) check each plan module against the files of
// the kernel it is deployed on. Every patched function and klp symbol must
// resolve the way klp_find_object_symbol resolves it, and ftrace must be
// able to hook the function. Normal undefined symbols must be exported
// with the CRC the module expects, and the module must be built for that
// kernel.
//
// They run only when Plan.Kernel.Target is set. Where the target inputs
// cannot answer a rule, such as sizes and ftrace records from a
// System.map, the rule adds one "not checked" note per object to the
// result, and never a finding.

// targetOf returns the target of the simulation, or nil.
func targetOf(p *pass) *target.Target {
	return p.s.plan.Kernel.Target
}

// notChecked records that the rule could not check subject ("vmlinux", a
// module name, a file, or "" for the whole module) for reason. Result
// turns the records into notes, one per subject and reason.
func notChecked(p *pass, subject, reason string) {
	p.s.notChecked.add(p.rule, subject, reason)
}

// notCheckedNotes collects the "not checked" records of a simulation. One
// missing input usually stops several rules for the same object, such as
// every symbol rule for a module that no input covers, so the rules that
// share a subject and reason share one note.
type notCheckedNotes struct {
	causes []*notCheckedCause
}

// notCheckedCause is one subject and reason with the rules it stopped.
type notCheckedCause struct {
	subject, reason string
	rules           []*Rule
}

// add records that rule could not check subject for reason.
func (n *notCheckedNotes) add(rule *Rule, subject, reason string) {
	for _, c := range n.causes {
		if c.subject == subject && c.reason == reason {
			if !slices.Contains(c.rules, rule) {
				c.rules = append(c.rules, rule)
			}
			return
		}
	}
	n.causes = append(n.causes, &notCheckedCause{subject: subject, reason: reason, rules: []*Rule{rule}})
}

// notes returns one note per cause, in the order the causes were first
// met, as "symbol-not-found and not-ftraceable not checked for ext4:
// REASON", with the rules in ID order, or without "for" and the subject
// when it is empty.
func (n *notCheckedNotes) notes() []string {
	out := make([]string, 0, len(n.causes))
	for _, c := range n.causes {
		rules := slices.Clone(c.rules)
		slices.SortFunc(rules, func(a, b *Rule) int { return strings.Compare(a.ID, b.ID) })
		names := make([]string, len(rules))
		for i, r := range rules {
			names[i] = r.Name
		}

		note := joinAnd(names) + " not checked"
		if c.subject != "" {
			note += " for " + c.subject
		}
		out = append(out, note+": "+c.reason)
	}
	return out
}

// joinAnd joins words as "a", "a and b" or "a, b and c".
func joinAnd(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// symbolRef is a name that the kernel resolves in kallsyms: the old_name of
// a patched function, or the symbol of a klp symbol.
type symbolRef struct {
	// object is "vmlinux" or a module name; name and sympos are as stored.
	object string
	name   string
	sympos uint64
	// klpSymbol is the full .klp.sym name for a klp symbol, empty for a
	// patched function.
	klpSymbol string
	// patched is set when the patch has a klp_object for object.
	patched bool
}

// isFunc reports whether ref is the old_name of a patched function.
func (r symbolRef) isFunc() bool { return r.klpSymbol == "" }

// describe names ref at the start of a message: "klp symbol
// .klp.sym.vmlinux.saved_command_line,0: " for a klp symbol, nothing for a
// patched function, whose finding already names it.
func (r symbolRef) describe() string {
	if r.isFunc() {
		return ""
	}
	return "klp symbol " + r.klpSymbol + ": "
}

// symbolRefs returns the patched functions of m and the klp symbols its klp
// relocations use, in file order. Functions with a NULL old_name and klp
// symbols that do not parse are left out: metadata-invalid and
// klp-reloc-invalid report them, and the kernel fails before any lookup.
// Unreferenced klp symbols are left out because the kernel never resolves
// them.
func symbolRefs(m *livepatch.Module) []symbolRef {
	var refs []symbolRef
	patched := map[string]bool{}
	for _, obj := range m.Objects {
		patched[obj.Name] = true
		for _, fn := range obj.Funcs {
			if fn.OldNameNull || fn.OldName == "" {
				continue
			}
			refs = append(refs, symbolRef{object: obj.Name, name: fn.OldName, sympos: fn.Sympos, patched: true})
		}
	}

	seen := map[string]bool{}
	for _, sym := range m.KlpSymbols {
		if !sym.Referenced || sym.ParseErr != "" || seen[sym.Name] {
			continue
		}
		seen[sym.Name] = true
		refs = append(refs, symbolRef{object: sym.Object, name: sym.Symbol, sympos: sym.Sympos, klpSymbol: sym.Name, patched: patched[sym.Object]})
	}
	return refs
}

// refFinding returns a finding about ref in the module of c. A klp symbol
// is shown with its symbol name in the place of a function.
func refFinding(c *candidate, ref symbolRef, msg string) Finding {
	f := moduleFinding(c, ref.describe()+msg)
	f.Object, f.Function, f.Sympos, f.HasSympos = ref.object, ref.name, ref.sympos, true
	return f
}

// objectLookup is the outcome of looking up an object in the target.
type objectLookup struct {
	// obj holds the object's symbols; nil when the target cannot give them.
	obj *target.Object
	// absent is set when the target lists its modules and this one is not
	// among them, or is built into vmlinux. reason then explains which.
	absent bool
	// unknown is set when the target inputs do not cover the object.
	// reason then explains why, for a "not checked" note.
	unknown bool
	reason  string
}

// lookupObject finds the symbols of object ("vmlinux" or a module name) in
// the target.
func lookupObject(t *target.Target, object string) objectLookup {
	if object == "vmlinux" {
		if t.Vmlinux == nil {
			return objectLookup{unknown: true, reason: "no target input gives vmlinux symbols (a vmlinux, System.map or /proc/kallsyms)"}
		}
		return objectLookup{obj: t.Vmlinux}
	}

	if t.Builtin(object) {
		return objectLookup{absent: true, reason: fmt.Sprintf("%s is built into the target's vmlinux, and the kernel looks up module symbols only in a loaded module of that name", object)}
	}
	found, known := t.HasModule(object)
	switch {
	case !known:
		return objectLookup{unknown: true, reason: "no target input lists the target's modules (a modules directory, a module file or /proc/kallsyms)"}
	case !found:
		return objectLookup{absent: true, reason: fmt.Sprintf("the target has no module %s", object)}
	}

	obj, err := t.Module(object)
	if err != nil {
		return objectLookup{unknown: true, reason: fmt.Sprintf("reading its symbols failed: %v", err)}
	}
	if obj == nil {
		return objectLookup{unknown: true, reason: "the target lists the module but gives no symbols for it"}
	}
	return objectLookup{obj: obj}
}

// kernelObjectName returns the object name as klp_find_object_symbol's
// "unresolvable ambiguity" message prints it: the kernel passes NULL for
// vmlinux, which printk shows as "(null)".
func kernelObjectName(object string) string {
	if object == "vmlinux" {
		return "(null)"
	}
	return object
}

// resolution is one way the kernel may resolve a symbol reference: the
// symbols it counts, and what a failed lookup does.
type resolution struct {
	matches []target.Symbol
	// refuse is set when a failed lookup fails the current load. failure
	// describes the consequence for a message, for example "the load
	// fails with -EINVAL".
	refuse  bool
	failure string
}

// resolutions returns the ways the kernel may resolve ref in obj.
//
// vmlinux symbols are resolved while the patch module loads: klp symbols
// by the module loader (5.8 and later) or klp_enable_patch (before),
// function names by klp_enable_patch. A module's symbols are resolved when
// the module is loaded, and a failure then makes the kernel refuse it.
//
// The kernel counts different symbols in the two cases. A module loaded
// before the patch keeps only its core symbols. For a module that loads
// after the patch, klp_module_coming runs while every defined symbol of
// its .symtab is still in its kallsyms. When neither a live snapshot nor a
// /proc/kallsyms dump shows whether the module is loaded, and the two
// counts differ, both are returned.
func resolutions(p *pass, c *candidate, ref symbolRef, obj *target.Object) []resolution {
	core := obj.Matches(ref.name)
	if ref.object == "vmlinux" {
		return []resolution{{matches: core, refuse: true, failure: "the load fails with -EINVAL"}}
	}

	loading := core
	if obj.LoadingSymbols != nil {
		loading = obj.MatchesLoading(ref.name)
	}
	refusing := fmt.Sprintf(`the kernel refuses to load %s ("patch '%s' failed for module '%s', refusing to load module '%s'")`, ref.object, c.module.Name, ref.object, ref.object)

	loaded, known, source := moduleLoadState(p, ref.object)
	switch {
	case known && loaded:
		return []resolution{{matches: core, refuse: true, failure: fmt.Sprintf("%s is loaded (%s), so the load fails with -EINVAL", ref.object, source)}}
	case known:
		return []resolution{{matches: loading, failure: fmt.Sprintf("%s is not loaded (%s), and when it loads %s", ref.object, source, refusing)}}
	case sameSymbols(core, loading):
		return []resolution{{matches: core, failure: fmt.Sprintf("the load fails with -EINVAL if %s is loaded; otherwise, when it loads, %s", ref.object, refusing)}}
	}
	return []resolution{
		{matches: core, failure: fmt.Sprintf("if %s is loaded before the patch, counting its core symbols, the load fails with -EINVAL", ref.object)},
		{matches: loading, failure: fmt.Sprintf("if %s loads after the patch, counting every symbol of its .symtab, %s", ref.object, refusing)},
	}
}

// moduleLoadState reports whether the module name is loaded on the host,
// from the live snapshot, else from a /proc/kallsyms target input. known
// is false when neither shows it, and source names the evidence.
func moduleLoadState(p *pass, name string) (loaded, known bool, source string) {
	if live := p.s.plan.Live; live != nil {
		return moduleLoaded(live, name), true, "live snapshot"
	}
	if t := targetOf(p); t != nil {
		if loaded, known := t.Loaded(name); known {
			return loaded, true, "/proc/kallsyms"
		}
	}
	return false, false, ""
}

// sameSymbols reports whether two lists hold the same symbols in the same
// order.
func sameSymbols(a, b []target.Symbol) bool {
	return slices.EqualFunc(a, b, func(x, y target.Symbol) bool {
		return x.Name == y.Name && x.Addr == y.Addr
	})
}

// moduleLoaded reports whether the live state lists a loaded module name.
func moduleLoaded(live *LiveState, name string) bool {
	return slices.ContainsFunc(live.Modules, func(m LoadedModule) bool { return m.Name == name })
}

// symbolText describes a target symbol for a message: its address, size,
// section and source file, as far as the target input gives them, for
// example "0xffffffff81234560, 64 bytes, .text, fs/proc/cmdline.c".
func symbolText(s target.Symbol) string {
	parts := []string{fmt.Sprintf("%#x", s.Addr)}
	if s.SizeKnown {
		parts = append(parts, fmt.Sprintf("%d %s", s.Size, plural(int(s.Size), "byte", "bytes")))
	}
	if s.Section != "" {
		parts = append(parts, s.Section)
	}
	if s.File != "" {
		parts = append(parts, s.File)
	}
	return strings.Join(parts, ", ")
}

// ordinal returns 1st, 2nd, 3rd, 4th and so on.
func ordinal(n uint64) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprintf("%d%s", n, suffix)
}
