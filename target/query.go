package target

// livepatchEntry is the function every livepatch module calls to enable
// itself. kernel/livepatch/core.c defines and exports it (EXPORT_SYMBOL_GPL)
// since livepatch appeared in 4.0, and only when CONFIG_LIVEPATCH is set.
const livepatchEntry = "klp_enable_patch"

// HasSymbol reports whether vmlinux has a kallsyms-visible symbol name.
// known is false when no input gave vmlinux's symbols.
func (t *Target) HasSymbol(name string) (found, known bool) {
	if t.Vmlinux == nil {
		return false, false
	}
	return len(t.Vmlinux.Matches(name)) > 0, true
}

// Livepatch reports whether the target kernel supports livepatch
// (CONFIG_LIVEPATCH): whether vmlinux defines or exports klp_enable_patch.
// known is false when no input gave vmlinux's symbols or exports.
func (t *Target) Livepatch() (yes, known bool) {
	if found, known := t.HasSymbol(livepatchEntry); known {
		return found, true
	}
	if t.exportsVmlinux {
		e, found := t.exports[livepatchEntry]
		return found && e.Owner == "vmlinux", true
	}
	return false, false
}

// Loaded reports whether a /proc/kallsyms dump lists symbols of the module
// name, which means the module was loaded when the dump was taken. known
// is false when no dump was read.
func (t *Target) Loaded(name string) (loaded, known bool) {
	if t.loaded == nil {
		return false, false
	}
	return t.loaded[name], true
}
