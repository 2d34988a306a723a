package conflict

import (
	"fmt"
	"strings"

	"github.com/klpcheck/klpcheck/livepatch"
)

var objectNameInvalid = &Rule{
	ID:       "KLP0104",
	Name:     "object-name-invalid",
	Severity: SeverityError,
	Title:    "an object name can never match a loaded module",
	Doc: `Reports a klp_object whose module name contains '.' or '-', or is 56 bytes or
longer. Module names as the kernel stores them come from KBUILD_MODNAME, in which kbuild
turns '-' into '_', and contain no '.'; MODULE_NAME_LEN is 56 bytes including the NUL on
64-bit kernels.`,
	Kernel: `klp_init_object rejects a name of MODULE_NAME_LEN bytes or more with -EINVAL, so
insmod fails. A shorter name with '.' or '-' is accepted, but klp_module_coming compares
it with the name of each module that loads, which never matches: the object stays
unpatched without any message. A '.' also breaks the object's .klp.rela.<object> section
names, because the kernel reads the object name there up to the first '.'.`,
	Fix: `Write the module name as lsmod shows it: ext4, nf_tables, snd_hda_intel (not
snd-hda-intel, not snd-hda-intel.ko).`,
	checkModule: checkObjectNames,
}

// checkObjectNames reports object names that no module can have.
func checkObjectNames(p *pass, c *candidate) {
	for _, obj := range c.module.Objects {
		f := moduleFinding(c, "")
		f.Object = obj.Name
		switch {
		case len(obj.Name) >= livepatch.ModuleNameLen:
			f.Message = fmt.Sprintf("object name %s is %d bytes long, and MODULE_NAME_LEN is %d: klp_init_object fails with -EINVAL", obj.Name, len(obj.Name), livepatch.ModuleNameLen)
			p.report(f)
			p.refuse("EINVAL")
		case strings.ContainsAny(obj.Name, ".-"):
			f.Message = fmt.Sprintf("object name %s contains '.' or '-', which no loaded module name has: the object is never patched", obj.Name)
			p.report(f)
		}
	}
}
