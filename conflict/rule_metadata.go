package conflict

import (
	"fmt"

	"github.com/klpcheck/klpcheck/livepatch"
)

var metadataInvalid = &Rule{
	ID:       "KLP0101",
	Name:     "metadata-invalid",
	Severity: SeverityError,
	Title:    "the klp_patch, klp_object or klp_func data is invalid",
	Doc: `Reports livepatch metadata that klp_enable_patch rejects or that can never take effect:
a module with klp structures or .klp.* sections but no "livepatch" modinfo key; a
hand-written patch whose objs pointer is NULL; a named object whose funcs pointer is NULL;
a function whose old_name or new_func is NULL; an old_name of KSYM_NAME_LEN bytes or more;
and an object named with the string "vmlinux" instead of a NULL name.

An object whose funcs array holds only the terminator is legal, as is a patch with no
objects at all when its objs array holds only the terminator.`,
	Kernel: `klp_enable_patch (kernel/livepatch/core.c, 5.1 and later) returns -EINVAL, so
insmod fails, when patch->objs is NULL, when a static object has a name but no funcs, and
when the module is not marked as a livepatch module ("module %s is not marked as a
livepatch module"); the mark is set by the module loader only when .modinfo has a
livepatch= key. klp_init_func returns -EINVAL for a NULL old_name, for a NULL new_func,
and when strlen(old_name) >= KSYM_NAME_LEN, which is 512 from 6.1 and 128 before. An
object whose name is the string "vmlinux" is taken for a module called vmlinux: the patch
loads, but the object waits for a module that never comes, because since 5.8 the kernel
refuses to load a module named vmlinux (klp_module_coming: "vmlinux.ko: invalid module
name"), so its functions are never patched.`,
	Fix: `Rebuild the module with its producer. In a hand-written patch, add
MODULE_INFO(livepatch, "Y"), point objs and every funcs field at an array ended by an
empty entry, set both old_name and new_func in every klp_func, and leave the name of the
vmlinux object NULL.`,
	checkModule: checkMetadata,
}

// checkMetadata reports invalid patch, object and function metadata.
func checkMetadata(p *pass, c *candidate) {
	m := c.module
	invalid := func(f Finding, refuse bool) {
		p.report(f)
		if refuse {
			p.refuse("EINVAL")
		}
	}

	if !m.Livepatch {
		invalid(moduleFinding(c, fmt.Sprintf(`%s has livepatch data but no "livepatch" modinfo key: klp_enable_patch fails with -EINVAL ("not marked as a livepatch module")`, m.Name)), true)
	}
	if m.ObjsNull {
		invalid(moduleFinding(c, fmt.Sprintf("%s has a klp_patch whose objs pointer is NULL: klp_enable_patch fails with -EINVAL", m.Name)), true)
	}

	maxName := livepatch.KsymNameLen(c.kernel)
	for _, obj := range m.Objects {
		objFinding := moduleFinding(c, "")
		objFinding.Object = obj.Name

		if obj.LiteralVmlinux {
			f := objFinding
			f.Message = `the vmlinux object is named with the string "vmlinux" instead of NULL: the kernel waits for a module called vmlinux, which never loads, so none of its functions is patched`
			invalid(f, false)
		}
		if obj.FuncsNull {
			f := objFinding
			f.Message = fmt.Sprintf("object %s has a NULL funcs pointer: klp_enable_patch fails with -EINVAL", obj.Name)
			invalid(f, true)
		}

		for i, fn := range obj.Funcs {
			f := objFinding
			f.Function, f.Sympos, f.HasSympos = fn.OldName, fn.Sympos, !fn.OldNameNull
			switch {
			case fn.OldNameNull:
				f.Message = fmt.Sprintf("function %d of object %s has a NULL old_name: klp_init_func fails with -EINVAL", i, obj.Name)
				invalid(f, true)
				continue
			case len(fn.OldName) >= maxName:
				f.Message = fmt.Sprintf("old_name is %d bytes long, and KSYM_NAME_LEN is %d %s: klp_init_func fails with -EINVAL", len(fn.OldName), maxName, ksymNameLenSource(c.kernel))
				invalid(f, true)
			}
			if fn.NewFuncNull {
				f.Message = fmt.Sprintf("%s has a NULL new_func: klp_init_func fails with -EINVAL", fn.OldName)
				invalid(f, true)
			}
		}
	}
}

// ksymNameLenSource returns the phrase that names the kernel a
// KSYM_NAME_LEN value in a message belongs to.
func ksymNameLenSource(v livepatch.KernelVersion) string {
	if !v.Known() {
		return "(the value since 6.1; the kernel release is unknown)"
	}
	return "on " + v.Release
}
