package conflict

import (
	"fmt"
	"strings"
)

var vermagicMismatch = &Rule{
	ID:       "KLP0608",
	Name:     "vermagic-mismatch",
	Severity: SeverityError,
	Title:    "the module's vermagic does not match the target kernel",
	Doc: `Reports a module whose vermagic modinfo string does not match the target's, in
two ways. First as the module loader compares them, with the vermagic of the target's
modules: the whole string, or everything after the release when the module has a
__versions table. Then by release alone, the first word of the vermagic against the
target's release, because a livepatch built for another release carries old_sympos
values, klp relocations and replacement code made from another vmlinux, even where the
module loader accepts it.

When the plan's kernel release is the target's, vermagic-differs already reports a release
that differs, and this rule reports only the rest of the string.`,
	Kernel: `check_modinfo (kernel/module/main.c, kernel/module.c before 5.19) compares the
module's vermagic with the kernel's using same_magic, and fails the load with -ENOEXEC:
"%s: version magic '%s' should be '%s'". When the module has a __versions section,
same_magic skips the first word of both strings, which is the release, and leaves that to
the CRC checks of each symbol. The rest of the string names the configuration: SMP,
preempt model, mod_unload, modversions and architecture options.`,
	Fix: `Rebuild the module against the source, configuration and vmlinux of the target
kernel release.`,
	checkModule: checkVermagicMismatch,
}

var noLivepatchSupport = &Rule{
	ID:       "KLP0609",
	Name:     "no-livepatch-support",
	Severity: SeverityError,
	Title:    "the target kernel has no livepatch core",
	Doc: `Reports that the target kernel is built without CONFIG_LIVEPATCH: its vmlinux
symbols, from a vmlinux, System.map or /proc/kallsyms, have no klp_enable_patch, or, when
no input gives them, its exports do not include it.`,
	Kernel: `Without CONFIG_LIVEPATCH, check_modinfo_livepatch (kernel/module/main.c) refuses
every module with a livepatch modinfo key: "%s: module is marked as livepatch module, but
livepatch support is disabled", -ENOEXEC. A module without the key fails to resolve
klp_enable_patch instead ("Unknown symbol klp_enable_patch (err -2)").`,
	Fix: `Deploy on a kernel built with CONFIG_LIVEPATCH, or check the plan against the
files of the kernel that actually runs on the hosts.`,
	checkModule: checkNoLivepatchSupport,
}

// checkVermagicMismatch compares the module's vermagic with the target's.
func checkVermagicMismatch(p *pass, c *candidate) {
	t := targetOf(p)
	if t == nil {
		return
	}
	m := c.module
	modMagic, ok := m.ModInfo.Get("vermagic")
	if !ok {
		return
	}
	hasCRCs := len(m.Versions) > 0

	if t.Vermagic != "" && !sameMagic(modMagic, t.Vermagic, hasCRCs) {
		compared := "whole strings"
		if hasCRCs {
			compared = "strings after the release, because the module has __versions"
		}
		p.report(moduleFinding(c, fmt.Sprintf("vermagic %q differs from the target's %q in the %s: the module loader fails with -ENOEXEC (\"%s: version magic '%s' should be '%s'\")",
			modMagic, t.Vermagic, compared, m.Name, modMagic, t.Vermagic)))
		p.refuse("ENOEXEC")
		return
	}

	release, from := t.Release, t.ReleaseFrom
	if release == "" && t.Vermagic != "" {
		release, from = strings.Fields(t.Vermagic)[0], "the vermagic of the target's modules"
	}
	switch {
	case release == "" && p.s.vermagicFrom == "the target kernel":
		// The plan names the release, and vermagic-differs compares with it.
		return
	case release == "":
		notChecked(p, "", "no target input names the kernel release or vermagic, which a vmlinux, a module file, a modules directory named after its release or --kernel gives")
		return
	case m.Kernel.Release == release:
		return
	case p.s.vermagicRef == release && p.s.vermagicFrom == "the target kernel":
		// vermagic-differs compares with the same release.
		return
	}

	built := fmt.Sprintf("%s is built for %s, but the target kernel is %s (from %s)", m.Name, m.Kernel.Release, release, from)
	if hasCRCs {
		p.report(moduleFinding(c, built+": with __versions the module loader compares vermagic without the release, so the load may succeed, but old_sympos, klp relocations and the replacement code were made for another build"))
		return
	}
	p.report(moduleFinding(c, built+fmt.Sprintf(": the module loader fails with -ENOEXEC (\"%s: version magic '%s' should be ...\")", m.Name, modMagic)))
	p.refuse("ENOEXEC")
}

// sameMagic compares two vermagic strings as the kernel's same_magic does:
// exactly, or from the first space on when the module has CRCs.
func sameMagic(a, b string, hasCRCs bool) bool {
	if hasCRCs {
		a = a[strings.IndexByte(a+" ", ' '):]
		b = b[strings.IndexByte(b+" ", ' '):]
	}
	return a == b
}

// checkNoLivepatchSupport reports a target kernel without livepatch.
func checkNoLivepatchSupport(p *pass, c *candidate) {
	t := targetOf(p)
	if t == nil {
		return
	}
	supported, known, evidence := livepatchSupport(t)
	switch {
	case !known:
		notChecked(p, "vmlinux", "no target input gives vmlinux symbols or exports")
		return
	case supported:
		return
	}

	m := c.module
	if m.Livepatch {
		p.report(moduleFinding(c, fmt.Sprintf("%s, so the kernel is built without CONFIG_LIVEPATCH: the module loader fails with -ENOEXEC (\"%s: module is marked as livepatch module, but livepatch support is disabled\")", evidence, m.Name)))
		p.refuse("ENOEXEC")
		return
	}
	p.report(moduleFinding(c, fmt.Sprintf("%s, so the kernel is built without CONFIG_LIVEPATCH: insmod fails with -ENOENT (\"%s: Unknown symbol klp_enable_patch (err -2)\")", evidence, m.Name)))
	p.refuse("ENOENT")
}
