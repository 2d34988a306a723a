package target

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// Queries that the target rules of package conflict and the check command
// need beyond the lookups of target.go.

// FilterListsObject reports whether available_filter_functions lists at
// least one function of object ("vmlinux" or a module name). The file
// lists only the modules loaded when it was read, so a module it does not
// mention may still be traceable.
func (t *Target) FilterListsObject(object string) bool {
	return len(t.filter[object]) > 0
}

// ExportsGap explains why Export cannot tell whether a symbol is
// exported, naming what the loaded inputs lack, for a "not checked" note.
// It returns "" when exports are known: Module.symvers, or a vmlinux
// together with a modules directory that has modules.symbols.
func (t *Target) ExportsGap() string {
	switch {
	case t.exportsKnown:
		return ""
	case t.exportsVmlinux:
		return "the target inputs list vmlinux's exports but not its modules', which Module.symvers or the modules.symbols of a modules directory gives"
	case t.exportsModules:
		return "the target inputs list the modules' exports but not vmlinux's, which Module.symvers or the vmlinux gives"
	case len(t.partialExports) > 0:
		return partialExportsGap(t.partialExports)
	}
	return "no target input lists exports, which Module.symvers gives, or the vmlinux with a modules directory that has modules.symbols"
}

// partialExportsGap describes inputs that list only some exports, such as
// a module file, which lists only its own.
func partialExportsGap(inputs []Input) string {
	var parts []string
	for _, in := range inputs {
		if in.Kind == KindModule {
			parts = append(parts, fmt.Sprintf("module file %s lists only its own exports", in.Path))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s lists no export of vmlinux", in.Kind, in.Path))
	}
	return strings.Join(parts, ", ") + ", and the exports of vmlinux and the other modules come from Module.symvers, or from the vmlinux with a modules directory that has modules.symbols"
}

// ObjectAt returns the symbols of the target file at path: vmlinux, or a
// module that an input named or listed, reading the module on first use.
// It returns nil and no error when no vmlinux or module came from that
// file, for example for a System.map or a modules directory.
func (t *Target) ObjectAt(path string) (*Object, error) {
	path = filepath.Clean(path)
	if t.Vmlinux != nil && filepath.Clean(t.Vmlinux.Path) == path {
		return t.Vmlinux, nil
	}

	t.mu.Lock()
	var name string
	for n, ref := range t.modules {
		if filepath.Clean(ref.path) == path {
			name = n
			break
		}
	}
	t.mu.Unlock()
	if name == "" {
		return nil, nil
	}
	return t.Module(name)
}

// ModuleErrors returns the errors of the module files that were read on
// demand and could not be, joined, or nil.
func (t *Target) ModuleErrors() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	for _, name := range sortedKeys(t.modules) {
		if ref := t.modules[name]; ref.done && ref.err != nil {
			errs = append(errs, ref.err)
		}
	}
	return errors.Join(errs...)
}

// sortedKeys returns the names of modules in order, so that errors come
// out the same way on every run.
func sortedKeys(modules map[string]*moduleRef) []string {
	names := make([]string, 0, len(modules))
	for n := range modules {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
