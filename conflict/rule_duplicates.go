package conflict

import (
	"fmt"

	"github.com/klpcheck/klpcheck/livepatch"
)

var duplicateObject = &Rule{
	ID:       "KLP0102",
	Name:     "duplicate-object",
	Severity: SeverityError,
	Title:    "two objects of one patch name the same module or vmlinux",
	Doc: `Reports a patch with two klp_object entries for the same object: two entries for
vmlinux, or two entries with the same module name. Only hand-written patches can have this;
kpatch-build and klp-build emit one object per patched module.`,
	Kernel: `klp_init_object creates the sysfs directory /sys/kernel/livepatch/<patch>/<object>
for every object. The second directory with the same name makes kobject_add fail with
-EEXIST ("don't try to register things with the same name in the same directory"), so
klp_enable_patch fails and insmod returns the error. This holds for every kernel with
livepatch (3.19 and later).`,
	Fix: `Merge the two entries into one klp_object whose funcs array lists the functions of
both.`,
	checkModule: checkDuplicateObjects,
}

var duplicateFunc = &Rule{
	ID:       "KLP0103",
	Name:     "duplicate-func",
	Severity: SeverityError,
	Title:    "one object of a patch lists the same function twice",
	Doc: `Reports two klp_func entries in one object with the same old_name and the same
position as sysfs shows it, where an old_sympos of 0 counts as 1. Entries with sympos 0
and 1 for one name are duplicates; entries with sympos 1 and 2 are two different
functions.`,
	Kernel: `klp_init_func names each function's sysfs directory "<old_name>,<sympos>", with
sympos 0 written as 1 (kernel/livepatch/core.c). Two entries with the same name make
kobject_add fail with -EEXIST, and insmod returns the error. This holds for every kernel
with old_sympos (4.5 and later).`,
	Fix: `Remove the duplicate entry. When the object really has two functions of that name,
give each entry the sympos of the symbol it replaces (1, 2, ...) as kallsyms orders them.`,
	checkModule: checkDuplicateFuncs,
}

// checkDuplicateObjects reports objects whose sysfs names collide.
func checkDuplicateObjects(p *pass, c *candidate) {
	seen := map[string]int{}
	for _, obj := range c.module.Objects {
		seen[obj.Name]++
		if seen[obj.Name] != 2 {
			continue
		}
		f := moduleFinding(c, fmt.Sprintf("object %s appears more than once in the patch: the second sysfs directory fails with -EEXIST", obj.Name))
		f.Object = obj.Name
		p.report(f)
		p.refuse("EEXIST")
	}
}

// checkDuplicateFuncs reports functions of one object whose sysfs names
// collide.
func checkDuplicateFuncs(p *pass, c *candidate) {
	// c.state keeps one function per key, so when it has every named
	// function of the module there is no duplicate to look for.
	named := 0
	for _, obj := range c.module.Objects {
		for _, fn := range obj.Funcs {
			if !fn.OldNameNull {
				named++
			}
		}
	}
	if named == len(c.state.funcs) {
		return
	}

	for _, obj := range c.module.Objects {
		seen := map[funcKey]int{}
		for _, fn := range obj.Funcs {
			if fn.OldNameNull {
				continue
			}
			key := funcKey{Object: obj.Name, Function: fn.OldName, Sympos: livepatch.SysfsSympos(fn.Sympos)}
			seen[key]++
			if seen[key] != 2 {
				continue
			}
			f := moduleFinding(c, fmt.Sprintf("%s appears more than once in object %s (sysfs name %s,%d): the second sysfs directory fails with -EEXIST", fn.OldName, obj.Name, fn.OldName, key.Sympos))
			f.Object, f.Function, f.Sympos, f.HasSympos = obj.Name, fn.OldName, fn.Sympos, true
			p.report(f)
			p.refuse("EEXIST")
		}
	}
}
