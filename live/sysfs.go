package live

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/klpcheck/klpcheck/livepatch"
)

// readPatches reads every patch directory of sys/kernel/livepatch, in name
// order. orderPatches sorts them afterwards.
func (r *reader) readPatches() error {
	dir := r.path(livepatchDirPath)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		r.note("%s is missing, as on a kernel built without CONFIG_LIVEPATCH; no patch is active", livepatchDirPath)
		return nil
	}
	if err != nil {
		return err
	}

	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.Name() == keepFile && e.Type().IsRegular() {
			continue
		}
		if !e.IsDir() {
			return fmt.Errorf("%s: unexpected %s; the kernel creates only patch directories here", p, describeType(e.Type()))
		}

		patch, err := r.readPatch(p, e.Name())
		if err != nil {
			return err
		}
		r.state.Patches = append(r.state.Patches, patch)
	}
	return nil
}

// readPatch reads one patch directory. Regular files other than the known
// attributes are skipped, since the kernel may add attributes (force is
// write-only and never copied).
func (r *reader) readPatch(dir, name string) (Patch, error) {
	if err := checkModuleName(name); err != nil {
		return Patch{}, fmt.Errorf("%s: invalid patch directory name: %w", dir, err)
	}
	patch := Patch{Name: name}

	enabled, present, err := r.readFlag(filepath.Join(dir, "enabled"))
	if err != nil {
		return Patch{}, err
	}
	if !present {
		return Patch{}, fmt.Errorf("%s: missing; every patch directory has one", filepath.Join(dir, "enabled"))
	}
	patch.Enabled = enabled

	transition, present, err := r.readFlag(filepath.Join(dir, "transition"))
	if err != nil {
		return Patch{}, err
	}
	if !present {
		r.note("patch %s has no transition file (kernels before 4.12); taken as not in transition", name)
	}
	patch.Transition = transition

	replace, present, err := r.readUint32(filepath.Join(dir, "replace"))
	if err != nil {
		return Patch{}, err
	}
	if present {
		flag := replace != 0
		patch.Replace, patch.ReplaceValue = &flag, &replace
	}

	set, present, err := r.readUint32(filepath.Join(dir, "replace_set"))
	if err != nil {
		return Patch{}, err
	}
	if present {
		patch.ReplaceSet = &set
	}

	stackOrderFile := filepath.Join(dir, "stack_order")
	stackOrder, present, err := r.readValue(stackOrderFile)
	if err != nil {
		return Patch{}, err
	}
	if present && stackOrder < 1 {
		return Patch{}, fmt.Errorf("%s: invalid value %d: positions start at 1", stackOrderFile, stackOrder)
	}
	patch.StackOrder = stackOrder

	patch.Objects, err = r.readObjects(dir)
	if err != nil {
		return Patch{}, err
	}
	return patch, nil
}

func (r *reader) readObjects(patchDir string) ([]Object, error) {
	entries, err := os.ReadDir(patchDir)
	if err != nil {
		return nil, err
	}

	var objects []Object
	for _, e := range entries {
		p := filepath.Join(patchDir, e.Name())
		if e.Type().IsRegular() {
			continue
		}
		if !e.IsDir() {
			return nil, fmt.Errorf("%s: unexpected %s in a patch directory", p, describeType(e.Type()))
		}
		if len(e.Name()) > livepatch.ModuleNameLen-1 {
			return nil, fmt.Errorf("%s: invalid object directory name: longer than %d bytes, which klp_init_object rejects", p, livepatch.ModuleNameLen-1)
		}

		funcs, err := readFuncs(p)
		if err != nil {
			return nil, err
		}
		objects = append(objects, Object{Name: e.Name(), Funcs: funcs})
	}

	slices.SortFunc(objects, func(a, b Object) int { return strings.Compare(a.Name, b.Name) })
	return objects, nil
}

// readFuncs reads the function directories of an object directory. Regular
// files, such as patched (6.0+), are skipped.
func readFuncs(objectDir string) ([]Func, error) {
	entries, err := os.ReadDir(objectDir)
	if err != nil {
		return nil, err
	}

	var funcs []Func
	for _, e := range entries {
		p := filepath.Join(objectDir, e.Name())
		if e.Type().IsRegular() {
			continue
		}
		if !e.IsDir() {
			return nil, fmt.Errorf("%s: unexpected %s in an object directory", p, describeType(e.Type()))
		}

		f, err := parseFuncDir(e.Name())
		if err != nil {
			return nil, fmt.Errorf("%s: invalid function directory name: %w", p, err)
		}
		funcs = append(funcs, f)
	}

	slices.SortFunc(funcs, func(a, b Func) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), cmp.Compare(a.Sympos, b.Sympos))
	})
	return funcs, nil
}

// maxFuncNameLen is the longest function name any kernel accepts:
// KSYM_NAME_LEN-1, where KSYM_NAME_LEN is 512 from 6.1 and 128 before.
var maxFuncNameLen = livepatch.KsymNameLen(livepatch.KernelVersion{}) - 1

// parseFuncDir splits a function directory name "<func>,<sympos>" at the
// last comma, as the kernel names it with "%s,%lu". The kernel shows an
// old_sympos of 0 as 1, so 0 marks a name it cannot have made.
func parseFuncDir(name string) (Func, error) {
	i := strings.LastIndexByte(name, ',')
	if i < 0 {
		return Func{}, fmt.Errorf("%q has no ',<sympos>' suffix", name)
	}
	funcName, position := name[:i], name[i+1:]

	if funcName == "" {
		return Func{}, fmt.Errorf("%q has an empty function name", name)
	}
	if len(funcName) > maxFuncNameLen {
		return Func{}, fmt.Errorf("function name in %q is longer than %d bytes", name, maxFuncNameLen)
	}
	sympos, err := strconv.ParseUint(position, 10, 64)
	if err != nil {
		return Func{}, fmt.Errorf("sympos %q in %q is not a decimal number", position, name)
	}
	if sympos == 0 {
		return Func{}, fmt.Errorf("sympos 0 in %q: the kernel shows an old_sympos of 0 as 1", name)
	}
	return Func{Name: funcName, Sympos: sympos}, nil
}

// orderPatches sorts the patches oldest first. The stack_order files give
// the order when present (6.14+). Older kernels have none, and the order is
// then taken from proc/modules, which lists the newest module first: module
// load order matches enable order because a patch is enabled by its own
// module's init.
func (r *reader) orderPatches() error {
	patches := r.state.Patches
	if len(patches) == 0 {
		return nil
	}

	var with, without []string
	for _, p := range patches {
		if p.StackOrder > 0 {
			with = append(with, p.Name)
		} else {
			without = append(without, p.Name)
		}
	}

	switch {
	case len(without) == 0:
		return r.orderByStackOrder()
	case len(with) == 0:
		return r.orderByProcModules()
	}
	return fmt.Errorf("%s: stack_order exists for %s but not for %s; a kernel has it for every patch or for none",
		r.path(livepatchDirPath), strings.Join(with, ", "), strings.Join(without, ", "))
}

func (r *reader) orderByStackOrder() error {
	patches := r.state.Patches
	slices.SortStableFunc(patches, func(a, b Patch) int { return cmp.Compare(a.StackOrder, b.StackOrder) })

	for i := 1; i < len(patches); i++ {
		if patches[i].StackOrder == patches[i-1].StackOrder {
			return fmt.Errorf("%s: patches %s and %s both have stack_order %d; the snapshot was probably taken while a patch was removed, so take it again",
				r.path(livepatchDirPath), patches[i-1].Name, patches[i].Name, patches[i].StackOrder)
		}
	}
	if patches[len(patches)-1].StackOrder != len(patches) {
		r.note("stack_order values of the %d patches are not 1 to %d; the snapshot was probably taken while a patch was removed", len(patches), len(patches))
	}

	r.state.OrderSource = OrderStackOrder
	return nil
}

func (r *reader) orderByProcModules() error {
	position := map[string]int{}
	for i, m := range r.state.Modules {
		position[m.Name] = i
	}

	patches := r.state.Patches
	for _, p := range patches {
		if _, ok := position[p.Name]; !ok {
			return fmt.Errorf("patch %s is active but its module is not in %s, so the patch order is unknown (no stack_order files)",
				p.Name, r.path(procModulesPath))
		}
	}

	// proc/modules lists the newest module first, so the highest position
	// is the oldest patch.
	slices.SortFunc(patches, func(a, b Patch) int { return cmp.Compare(position[b.Name], position[a.Name]) })
	for i := range patches {
		patches[i].StackOrder = i + 1
	}

	r.state.OrderSource = OrderProcModules
	r.note("patch order taken from %s, newest module first (no stack_order files, kernels before 6.14)", procModulesPath)
	return nil
}

// checkConsistency notes combinations a kernel shows only when the
// snapshot read its files at different moments, or that a hand-made
// snapshot got wrong.
func (r *reader) checkConsistency() {
	modules := map[string]Module{}
	for _, m := range r.state.Modules {
		modules[m.Name] = m
	}

	var inTransition []string
	for _, p := range r.state.Patches {
		m, loaded := modules[p.Name]
		switch {
		case !loaded:
			r.note("patch %s is active but its module is not in %s", p.Name, procModulesPath)
		case !m.Livepatch():
			r.note("module %s of active patch %s lacks the livepatch taint flag K", m.Name, p.Name)
		}

		if p.Transition {
			inTransition = append(inTransition, p.Name)
		}
		if !p.Enabled && !p.Transition {
			r.note("patch %s is disabled and not in transition; the kernel removes such a patch from %s right away", p.Name, livepatchDirPath)
		}
	}

	if len(inTransition) > 1 {
		r.note("patches %s are all in transition; the kernel allows one transition at a time", strings.Join(inTransition, ", "))
	}
}

// describeType names a non-regular, non-directory file type for messages.
func describeType(mode fs.FileMode) string {
	switch {
	case mode&fs.ModeSymlink != 0:
		return "symbolic link"
	case mode.IsRegular():
		return "regular file"
	case mode&fs.ModeNamedPipe != 0:
		return "named pipe"
	case mode&fs.ModeSocket != 0:
		return "socket"
	case mode&fs.ModeDevice != 0:
		return "device file"
	}
	return "file of type " + mode.Type().String()
}
