package conflict

import (
	"fmt"
	"strings"

	"github.com/klpcheck/klpcheck/livepatch"
)

var replaceUnknown = &Rule{
	ID:       "KLP0106",
	Name:     "replace-unknown",
	Severity: SeverityWarning,
	Title:    "the replace mode of a module could not be determined",
	Doc: `Reports a module whose replace mode came from no source: no --replace flag or
plan entry sets it, and the module file does not show it without a guess. The
simulation then treats the module as a replace patch, because kpatch-build (since
v0.9.4) and klp-build build replace patches unless told otherwise, and says so in the
result's notes. Every finding after that step rests on this assumption.`,
	Kernel: `kpatch-build and klp-build store the replace flag with an instruction in the
module's init function rather than in data (kpatch's KLP_REPLACE_ENABLE, klp-build's
KLP_NO_REPLACE in scripts/livepatch/init.c), and some test modules take it from a module
parameter at insmod time. Whether the patch is a replace patch decides whether loading it
disables every other patch and reverts the functions it leaves out (5.1 and later). On a
running host, /sys/kernel/livepatch/<patch>/replace shows the value since 6.11.`,
	Fix: `State the mode in the plan entry (replace: true or false, or the tag or set under
the proposed semantics), or pass it on the command line.`,
	checkModule: checkReplaceUnknown,
}

var vermagicDiffers = &Rule{
	ID:       "KLP0107",
	Name:     "vermagic-differs",
	Severity: SeverityError,
	Title:    "modules of the plan are built for different kernel releases",
	Doc: `Reports a module whose vermagic release (the first word of the vermagic modinfo
string) differs from the release the plan deploys to: the target kernel's when the plan
names one, else the release of a live patch's file, which the host accepted, else the
release of the first module of the plan. In the first two cases the load is refused,
unless the module carries modversions CRCs; in the last the finding shows that the plan
mixes builds but cannot tell which one matches the host.`,
	Kernel: `The module loader compares the module's vermagic with the running kernel's
(check_modinfo in kernel/module/main.c) and fails the load with -ENOEXEC ("version magic
'...' should be '...'") unless insmod forces it, which taints the kernel. When the module
has a __versions section (CONFIG_MODVERSIONS), same_magic skips the release word and the
load goes on to the per-symbol CRC checks, so the module may load. A livepatch built
for another release also patches functions whose code, offsets and sympos were taken from
another vmlinux.`,
	Fix: `Rebuild the module against the source, configuration and vmlinux of the target
kernel release, or remove it from this plan.`,
	checkModule: checkVermagic,
}

var patchSrcversionMismatch = &Rule{
	ID:       "KLP0108",
	Name:     "patch-srcversion-mismatch",
	Severity: SeverityError,
	Title:    "a patch module is not the build the plan expects",
	Doc: `Reports a plan entry whose module file has neither the srcversion nor the GNU build
ID that the entry's expect value gives, so that a plan reviewed for one build of a patch
does not deploy another. The value is compared, ignoring case, with the srcversion of the
module's modinfo and the build ID of its .note.gnu.build-id. A file with neither gets a
"not checked" note.`,
	Kernel: `The kernel does not compare them: insmod loads whatever file it is given.
modpost writes srcversion, a checksum of the module's source files, into modinfo when the
module has MODULE_VERSION or the kernel has CONFIG_MODULE_SRCVERSION_ALL, and the linker
writes the build ID into every module. /sys/module/<name>/srcversion and
/sys/module/<name>/notes/.note.gnu.build-id show them on a running host.`,
	Fix: `Point the entry at the reviewed file, or update expect when the patch was rebuilt on
purpose.`,
	checkModule: checkPatchSrcversion,
	checkFinal:  checkLivePatchSrcversion,
}

// checkPatchSrcversion compares the module of a load with the identity
// its plan entry expects.
func checkPatchSrcversion(p *pass, c *candidate) {
	if c.patch.Expect == "" {
		return
	}
	if msg, ok := identityMismatch(p, c.patch, c.module); ok {
		p.report(placeInPlan(moduleFinding(c, msg), c.patch))
	}
}

// checkLivePatchSrcversion does the same for the entries that give the
// file of a live patch, which the plan does not load.
func checkLivePatchSrcversion(p *pass) {
	for i := range p.s.plan.Patches {
		patch := &p.s.plan.Patches[i]
		if patch.LiveName == "" || patch.Expect == "" || patch.Module == nil {
			continue
		}
		if msg, ok := identityMismatch(p, patch, patch.Module); ok {
			p.report(placeInPlan(Finding{Message: msg, Module: patch.LiveName, Path: patch.Module.Path}, patch))
		}
	}
}

// placeInPlan points f at the expect line of the plan entry, which is
// where the fix goes, when the plan file is known.
func placeInPlan(f Finding, patch *Patch) Finding {
	if patch.ExpectFile != "" {
		f.Path, f.Line = patch.ExpectFile, patch.ExpectLine
	}
	return f
}

// identityMismatch returns the message for a module that has neither the
// srcversion nor the build ID its plan entry expects. A module with
// neither gets a "not checked" note instead.
func identityMismatch(p *pass, patch *Patch, m *livepatch.Module) (string, bool) {
	srcversion, _ := m.ModInfo.Get("srcversion")
	if srcversion == "" && m.BuildID == "" {
		notChecked(p, m.Path, fmt.Sprintf("%s gives expect, but the file has neither a srcversion nor a build ID", patch.ExpectWhere))
		return "", false
	}
	if strings.EqualFold(srcversion, patch.Expect) || strings.EqualFold(m.BuildID, patch.Expect) {
		return "", false
	}

	var actual []string
	if srcversion != "" {
		actual = append(actual, "srcversion "+srcversion)
	}
	if m.BuildID != "" {
		actual = append(actual, "build ID "+m.BuildID)
	}
	return fmt.Sprintf("%s expects %s of %s, but the file has %s: it is not the build the plan was reviewed with",
		patch.ExpectWhere, expectedIdentity(patch.Expect), m.Path, strings.Join(actual, " and ")), true
}

// checkReplaceUnknown reports a module whose mode is assumed.
func checkReplaceUnknown(p *pass, c *candidate) {
	if c.patch.ModeKnown {
		return
	}
	why := c.module.Replace.Detail
	if why == "" {
		why = "the module file does not record it"
	}
	p.report(moduleFinding(c, fmt.Sprintf("the replace mode of %s is unknown (%s): simulated as %s, the kpatch-build and klp-build default", c.state.name, why, modeString(p.sem(), c.state.mode))))
	p.s.notef("%s was simulated as %s because its replace mode is unknown; every later step depends on that assumption", c.state.name, modeString(p.sem(), c.state.mode))
}

// checkVermagic reports a module built for another release.
func checkVermagic(p *pass, c *candidate) {
	release := c.module.Kernel.Release
	if release == "" || p.s.vermagicRef == "" || release == p.s.vermagicRef {
		return
	}
	var f Finding
	switch {
	case p.s.vermagicModule == nil:
		f = moduleFinding(c, fmt.Sprintf("%s is built for %s, but the target kernel is %s: the module loader fails with -ENOEXEC", c.state.name, release, p.s.vermagicRef))
	case p.s.vermagicHost:
		f = moduleFinding(c, fmt.Sprintf("%s is built for %s, but %s is built for %s: the module loader fails with -ENOEXEC", c.state.name, release, p.s.vermagicFrom, p.s.vermagicRef))
		f.Related = []Related{*p.s.vermagicModule}
	default:
		f = moduleFinding(c, fmt.Sprintf("%s is built for %s, but %s is built for %s: at most one of them matches the host", c.state.name, release, p.s.vermagicFrom, p.s.vermagicRef))
		f.Related = []Related{*p.s.vermagicModule}
	}
	// same_magic skips the release word when the module has a __versions
	// section, so such a module loads on another release as long as every
	// CRC matches (kernel/module/version.c, since 2.6.x and still in 6.19).
	if p.s.vermagicHost && len(c.module.Versions) > 0 {
		f.Message = fmt.Sprintf("%s is built for %s, but the target kernel is %s: modversions make the loader skip the release, so the load depends on every CRC matching, and a load runs code built from another vmlinux", c.state.name, release, p.s.vermagicRef)
		p.report(f)
		return
	}
	p.report(f)
	if p.s.vermagicHost {
		p.refuse("ENOEXEC")
	}
}
