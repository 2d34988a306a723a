package conflict

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/klpcheck/klpcheck/target"
)

var objectNotInTarget = &Rule{
	ID:       "KLP0610",
	Name:     "object-not-in-target",
	Severity: SeverityWarning,
	Title:    "a patched module object is not a module of the target",
	Doc: `Reports a patched object named for a module that the target does not have, when
the target inputs list its modules (a modules directory, module files or /proc/kallsyms).
The message names near matches among the target's modules: the name with dashes as
underscores, without a .ko suffix, or within two edits. A module that the target builds
into vmlinux (modules.builtin) gets its own message, because its functions exist but
belong to the vmlinux object.`,
	Kernel: `An object waits until a module of its name is loaded (klp_find_object_module at
klp_enable_patch, then klp_module_coming), comparing the name exactly, and the kernel
spells module names with underscores. An object for a module that never loads is never
patched, and nothing reports it: the patch loads and sysfs shows the object with patched
0. Code of a module built into vmlinux is part of vmlinux, so no module of that name ever
loads.`,
	Fix: `Spell the object as the module's name in the target (modinfo name, with
underscores), patch the functions of a built-in module through the vmlinux object, or
remove the object when the target does not have the code.`,
	checkModule: checkObjectNotInTarget,
}

var objectNotLoaded = &Rule{
	ID:       "KLP0611",
	Name:     "object-not-loaded",
	Severity: SeverityNote,
	Title:    "a patched module is not loaded on the live host",
	Doc: `Reports, for a plan checked against a live snapshot, a patched object whose module
is not loaded on the host. The patch loads and the object waits for the module. The
object's symbol lookups, klp relocations and ftrace checks run only when the module loads,
and a failure then blocks that module, so the problem shows up later, when the module is
loaded, and on another command than the patch's insmod.`,
	Kernel: `klp_init_object_loaded runs for an object whose module is loaded at
klp_enable_patch, and otherwise from klp_module_coming when the module loads
(kernel/livepatch/core.c). A failure there makes the kernel refuse the module: "patch '%s'
failed for module '%s', refusing to load module '%s'".`,
	Fix: `Nothing, when the module is loaded only on some hosts. Run the target checks
against the module's file so that its failures are found before it loads.`,
	checkModule: checkObjectNotLoaded,
}

var targetSrcversionMismatch = &Rule{
	ID:       "KLP0612",
	Name:     "target-srcversion-mismatch",
	Severity: SeverityError,
	Title:    "a target file is not the build the plan expects",
	Doc: `Reports a target file whose srcversion or GNU build ID differs from the expect
value that the plan gives for it, so that a plan written for one build is not checked
against the files of another. The value is compared with both the srcversion of a module's
modinfo and the build ID of a vmlinux or module, ignoring case.`,
	Kernel: `modpost writes srcversion, a checksum of a module's source files, into its
modinfo, and the linker writes the build ID into .note.gnu.build-id of vmlinux and every
module. /sys/module/<name>/srcversion and the notes in /sys/module/<name>/notes show them
on a running host.`,
	Fix: `Point the targets entry at the files of the kernel the plan deploys to, or update
the expected value when the build changed on purpose.`,
	checkFinal: checkTargetSrcversion,
}

// checkObjectNotInTarget reports patched objects whose module the target
// lacks.
func checkObjectNotInTarget(p *pass, c *candidate) {
	t := targetOf(p)
	if t == nil {
		return
	}
	for _, obj := range c.module.Objects {
		if obj.Name == "vmlinux" {
			continue
		}
		f := moduleFinding(c, "")
		f.Object = obj.Name

		if t.Builtin(obj.Name) {
			f.Message = fmt.Sprintf("%s is built into the target's vmlinux (modules.builtin), so no module %s ever loads and the object is never patched; its functions are vmlinux functions", obj.Name, obj.Name)
			p.report(f)
			continue
		}
		found, known := t.HasModule(obj.Name)
		if !known {
			notChecked(p, obj.Name, "no target input lists the target's modules (a modules directory, a module file or /proc/kallsyms)")
			continue
		}
		if found {
			continue
		}

		f.Message = fmt.Sprintf("the target has no module %s: the object waits for a module that never loads, so its functions are never patched", obj.Name)
		if near := nearModules(obj.Name, t.ModuleNames()); len(near) > 0 {
			f.Message += "; near matches: " + strings.Join(near, ", ")
		}
		p.report(f)
	}
}

// maxNearModules is the largest number of near matches a message lists.
const maxNearModules = 5

// nearModules returns the target modules that name may have meant, each
// with the reason: the name spelled with underscores or without a .ko
// suffix, else the names within two edits, closest first.
func nearModules(name string, modules []string) []string {
	base := name
	for _, suffix := range []string{".ko.xz", ".ko.zst", ".ko.gz", ".ko"} {
		if cut, ok := strings.CutSuffix(base, suffix); ok {
			base = cut
			break
		}
	}
	spelled := moduleKey(base)
	if spelled != name && slices.Contains(modules, spelled) {
		var why []string
		if base != name {
			why = append(why, "without the file suffix")
		}
		if spelled != base {
			why = append(why, "with underscores for dashes")
		}
		return []string{fmt.Sprintf("%s (%s)", spelled, strings.Join(why, " and "))}
	}

	type near struct {
		name     string
		distance int
	}
	var close []near
	for _, m := range modules {
		if d := editDistance(spelled, m); d <= 2 {
			close = append(close, near{m, d})
		}
	}
	slices.SortFunc(close, func(a, b near) int {
		return cmp.Or(cmp.Compare(a.distance, b.distance), cmp.Compare(a.name, b.name))
	})
	var out []string
	for i, n := range close {
		if i == maxNearModules {
			break
		}
		out = append(out, fmt.Sprintf("%s (%d %s away)", n.name, n.distance, plural(n.distance, "edit", "edits")))
	}
	return out
}

// editDistance returns the Levenshtein distance between a and b, counted
// in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// checkObjectNotLoaded notes patched modules that the live host has not
// loaded. It needs only the live state, not the target inputs.
func checkObjectNotLoaded(p *pass, c *candidate) {
	live := p.s.plan.Live
	if live == nil {
		return
	}
	t := targetOf(p)
	for _, obj := range c.module.Objects {
		if obj.Name == "vmlinux" || moduleLoaded(live, obj.Name) {
			continue
		}
		if t != nil {
			// object-not-in-target reports a module that is built in or
			// missing from the target.
			found, known := t.HasModule(obj.Name)
			if t.Builtin(obj.Name) || known && !found {
				continue
			}
		}
		f := moduleFinding(c, fmt.Sprintf("module %s is not loaded on the host: the object waits, and its symbols, klp relocations and ftrace locations are resolved only when %s loads, where a failure makes the kernel refuse %s", obj.Name, obj.Name, obj.Name))
		f.Object = obj.Name
		p.report(f)
	}
}

// checkTargetSrcversion compares the target files the plan states an
// identity for with what they contain.
func checkTargetSrcversion(p *pass) {
	t := targetOf(p)
	if t == nil {
		return
	}
	for _, exp := range p.s.plan.Kernel.TargetExpect {
		obj, err := t.ObjectAt(exp.Path)
		switch {
		case err != nil:
			notChecked(p, exp.Path, fmt.Sprintf("reading it failed: %v", err))
			continue
		case obj == nil:
			notChecked(p, exp.Path, fmt.Sprintf("%s gives expect, but the file is %s, which has no srcversion or build ID", exp.Where, inputKindOf(t, exp.Path)))
			continue
		case obj.Srcversion == "" && obj.BuildID == "":
			notChecked(p, exp.Path, fmt.Sprintf("%s gives expect, but the file has neither a srcversion nor a build ID", exp.Where))
			continue
		case strings.EqualFold(obj.Srcversion, exp.Expect) || strings.EqualFold(obj.BuildID, exp.Expect):
			continue
		}

		f := Finding{
			Message: fmt.Sprintf("%s expects %s of %s, but the file has %s: the plan was written for another build, so the target checks describe files it was not meant for",
				exp.Where, expectedIdentity(exp.Expect), exp.Path, actualIdentity(obj)),
			Path:   exp.Path,
			Object: obj.Name,
		}
		// The fix goes to the expect line of the plan, when it is known.
		if exp.File != "" {
			f.Path, f.Line = exp.File, exp.Line
		}
		p.report(f)
	}
}

// expectedIdentity describes an expect value as what its length suggests:
// 23 hex digits are a srcversion, anything else a build ID.
func expectedIdentity(expect string) string {
	if len(expect) == 23 {
		return "srcversion " + expect
	}
	return "build ID " + expect
}

// actualIdentity lists the srcversion and build ID a target file has.
func actualIdentity(obj *target.Object) string {
	var parts []string
	if obj.Srcversion != "" {
		parts = append(parts, "srcversion "+obj.Srcversion)
	}
	if obj.BuildID != "" {
		parts = append(parts, "build ID "+obj.BuildID)
	}
	return strings.Join(parts, " and ")
}

// inputKindOf names the kind of the target input at path, for a message.
func inputKindOf(t *target.Target, path string) string {
	for _, in := range t.Inputs {
		if in.Path == path {
			return fmt.Sprintf("a %s input", in.Kind)
		}
	}
	return "neither a vmlinux nor a module"
}
