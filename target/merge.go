package target

import "strings"

// rankOf orders inputs of vmlinux's symbols by what they give: a vmlinux
// ELF (sizes, sections, files) over System.map and a kallsyms dump with
// addresses, over a kallsyms dump with hidden addresses.
func rankOf(o *Object) int {
	switch {
	case o.Kind == KindVmlinux:
		return 3
	case o.AddrsHidden:
		return 1
	}
	return 2
}

// moduleRank orders the sources of one module's symbols: a module file,
// read now or on first use, over a kallsyms dump.
func moduleRank(ref *moduleRef) int {
	if ref.obj != nil && ref.obj.Kind == KindKallsyms {
		return 1
	}
	return 2
}

// merge adds what one input gave to t. An input whose release differs
// from one read before is rejected with a *ReleaseError, and nothing of it
// is merged.
func (t *Target) merge(c *contents) error {
	if c.release != "" && t.Release != "" && c.release != t.Release {
		return &ReleaseError{Release: c.release, Other: t.Release, OtherFrom: t.ReleaseFrom}
	}
	in := c.input

	if c.vmlinux != nil {
		c.vmlinux.Path = in.Path
		t.mergeVmlinux(c.vmlinux, &in)
	}
	t.mergeModules(c)
	t.mergeExports(c)

	if c.filterRead {
		if t.filter == nil {
			t.filter = map[string]map[string]bool{}
		}
		for _, f := range c.filter {
			t.AddFilterFunction(f.object, f.name)
		}
	}

	if c.vermagic != "" && t.Vermagic == "" {
		t.Vermagic = c.vermagic
	}
	t.Inputs = append(t.Inputs, in)

	if c.release != "" && t.Release == "" {
		t.Release, t.ReleaseFrom = c.release, in.Path
	}
	return nil
}

// mergeVmlinux keeps the most detailed source of vmlinux's symbols and
// notes on the input which one is used.
func (t *Target) mergeVmlinux(o *Object, in *Input) {
	rank := rankOf(o)
	if t.Vmlinux == nil || rank > t.vmlinuxRank {
		if t.Vmlinux != nil {
			t.noteInput(t.Vmlinux.Path, "its vmlinux symbols are replaced by those of "+in.Path)
		}
		t.Vmlinux, t.vmlinuxRank = o, rank
		return
	}
	in.Notes = append(in.Notes, "its vmlinux symbols are not used, because "+t.Vmlinux.Path+" gives them with as much or more detail")
}

// noteInput adds a note to the loaded input path.
func (t *Target) noteInput(path, note string) {
	for i := range t.Inputs {
		if t.Inputs[i].Path == path {
			t.Inputs[i].Notes = append(t.Inputs[i].Notes, note)
		}
	}
}

// mergeModules adds module objects, module files and built-in modules.
func (t *Target) mergeModules(c *contents) {
	t.mu.Lock()
	defer t.mu.Unlock()

	if t.modules == nil && (len(c.modules) > 0 || len(c.modulePaths) > 0) {
		t.modules = map[string]*moduleRef{}
	}
	for _, o := range c.modules {
		if o.Path == "" {
			o.Path = c.input.Path
		}
		ref := &moduleRef{path: o.Path, obj: o, done: true}
		if old := t.modules[o.Name]; old == nil || moduleRank(ref) > moduleRank(old) {
			t.modules[o.Name] = ref
		}
	}
	for name, path := range c.modulePaths {
		ref := &moduleRef{path: path}
		if old := t.modules[name]; old == nil || moduleRank(ref) > moduleRank(old) {
			t.modules[name] = ref
		}
	}
	if c.allModules {
		t.modulesKnown = true
	}

	for _, name := range c.builtin {
		t.AddBuiltin(name)
	}
	if c.loaded != nil {
		if t.loaded == nil {
			t.loaded = map[string]bool{}
		}
		for _, name := range c.loaded {
			t.loaded[name] = true
		}
	}
}

// mergeExports adds exports. An export already known keeps its first
// source unless the new one says more: a CRC or whether it is GPL-only.
func (t *Target) mergeExports(c *contents) {
	if t.exports == nil && len(c.exports) > 0 {
		t.exports = map[string]Export{}
	}
	for _, e := range c.exports {
		old, ok := t.exports[e.Name]
		if !ok || (!old.CRCKnown && e.CRCKnown) || (old.GPLUnknown && !e.GPLUnknown) {
			t.exports[e.Name] = e
		}
	}
	if len(c.exports) > 0 && !c.exportsVmlinux && !c.exportsModules {
		t.partialExports = append(t.partialExports, c.input)
	}
	t.exportsVmlinux = t.exportsVmlinux || c.exportsVmlinux
	t.exportsModules = t.exportsModules || c.exportsModules
	if t.exportsVmlinux && t.exportsModules {
		t.exportsKnown = true
	}
}

// releaseOfVermagic returns the release that starts a vermagic string,
// "6.1.0-57-amd64 SMP preempt mod_unload modversions ".
func releaseOfVermagic(vermagic string) string {
	release, _, _ := strings.Cut(strings.TrimSpace(vermagic), " ")
	return release
}
