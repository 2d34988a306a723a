// Package live reads and writes snapshots of a host's livepatch state: the
// active patches under /sys/kernel/livepatch, the loaded modules with their
// taint flags, and the kernel release.
//
// A snapshot is a directory that mirrors the host paths it was copied from,
// so the same reader works on a snapshot and, in tests, on a fake root
// tree. Snapshot writes these files and nothing else:
//
//	proc/sys/kernel/osrelease                              kernel release
//	proc/modules                                           copy of /proc/modules
//	sys/module/<module>/taint                              for each module in proc/modules
//	sys/kernel/livepatch/<patch>/enabled                   always
//	sys/kernel/livepatch/<patch>/transition                kernels 4.12 and later
//	sys/kernel/livepatch/<patch>/replace                   kernels 6.11 and later
//	sys/kernel/livepatch/<patch>/stack_order               kernels 6.14 and later
//	sys/kernel/livepatch/<patch>/<object>/<func>,<sympos>/ one directory per function
//	sys/kernel/tracing/available_filter_functions          when tracefs is mounted there
//
// Git does not store empty directories, and sysfs function directories are
// always empty, so Snapshot puts an empty .gitkeep file into every directory
// that would otherwise be empty. Read ignores those files, and a snapshot
// without them reads the same.
package live

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Paths of the snapshot files, relative to the snapshot directory or to the
// root of a host.
const (
	osReleasePath       = "proc/sys/kernel/osrelease"
	procModulesPath     = "proc/modules"
	moduleDirPath       = "sys/module"
	livepatchDirPath    = "sys/kernel/livepatch"
	filterFunctionsPath = "sys/kernel/tracing/available_filter_functions"

	// keepFile marks a directory that would otherwise be empty.
	keepFile = ".gitkeep"
)

// Values of State.OrderSource.
const (
	// OrderStackOrder means every patch had a stack_order file (6.14+).
	OrderStackOrder = "stack_order"
	// OrderProcModules means the order was derived from proc/modules, which
	// lists the newest module first.
	OrderProcModules = "proc-modules"
)

// State is a host's livepatch state as read from a snapshot.
type State struct {
	// KernelRelease is the content of proc/sys/kernel/osrelease, for
	// example 6.1.0-57-amd64.
	KernelRelease string
	// Patches are the active patches, the ones listed in
	// /sys/kernel/livepatch (enabled or in transition), oldest first.
	Patches []Patch
	// OrderSource is the source of the patch order: OrderStackOrder or
	// OrderProcModules, and empty when there are no patches.
	OrderSource string
	// Modules are the loaded modules in proc/modules order, newest first.
	// Livepatch modules carry the taint flag K.
	Modules []Module
	// FilterFunctions is the path of the snapshot's copy of
	// available_filter_functions, empty when the snapshot has none.
	FilterFunctions string
	// Notes are facts about the snapshot worth showing that do not stop it
	// from being read, such as an order that had to be inferred.
	Notes []string
}

// Patch is one directory of /sys/kernel/livepatch.
type Patch struct {
	// Name is the patch module's name.
	Name       string
	Enabled    bool
	Transition bool
	// Replace is nil on kernels before 6.11, which have no replace file.
	// ReplaceValue is the number in that file: 0 or 1 in mainline, the
	// u32 tag under the replace-tag proposal, which reuses the field.
	Replace      *bool
	ReplaceValue *uint32
	// ReplaceSet is the replace_set file of the replace-set proposal,
	// which takes the place of replace there; nil when absent.
	ReplaceSet *uint32
	// StackOrder is the 1-based position in the kernel's patch list: the
	// value of the stack_order file when OrderSource is OrderStackOrder,
	// else the position derived from proc/modules.
	StackOrder int
	// Objects are sorted by name.
	Objects []Object
}

// Object is a patched object: vmlinux or a module name. It is listed even
// when the module is not loaded.
type Object struct {
	Name string
	// Funcs are sorted by name, then sympos.
	Funcs []Func
}

// Func is a function directory "<func>,<sympos>". Sympos is the number
// sysfs shows, where the kernel turns an old_sympos of 0 into 1, so 0 never
// appears and 1 stands for both.
type Func struct {
	Name   string
	Sympos uint64
}

// Module is a loaded module, from one line of proc/modules.
type Module struct {
	Name string
	// Taint are the module's taint flags as sys/module/<m>/taint prints
	// them, for example OEK. When the taint file is missing they come from
	// proc/modules.
	Taint string
	// State is Live, Loading or Unloading, as proc/modules prints it.
	State string
	// Refcount is the module's reference count from proc/modules, and
	// RefcountKnown is false on kernels without CONFIG_MODULE_UNLOAD,
	// which print "-". rmmod fails while it is above 0.
	Refcount      int
	RefcountKnown bool
}

// Livepatch reports whether the module carries the livepatch taint flag K,
// which the kernel sets on every module with MODULE_INFO(livepatch, "Y")
// when it is loaded.
func (m Module) Livepatch() bool {
	return strings.Contains(m.Taint, "K")
}

// InactiveLivepatchModules returns the livepatch modules that are loaded
// but not active: tainted K and without a directory in
// /sys/kernel/livepatch. They are patches that were replaced or disabled and
// not yet removed with rmmod, or, briefly, modules whose init has not
// enabled their patch yet. A module of the same name cannot be loaded while
// one of them stays loaded. The order is that of Modules.
func (s *State) InactiveLivepatchModules() []Module {
	var inactive []Module
	for _, m := range s.Modules {
		if !m.Livepatch() {
			continue
		}
		active := slices.ContainsFunc(s.Patches, func(p Patch) bool { return p.Name == m.Name })
		if !active {
			inactive = append(inactive, m)
		}
	}
	return inactive
}

// Read reads the snapshot in dir. Errors name the file that could not be
// read or parsed.
func Read(dir string) (*State, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("read snapshot: %s is not a directory", dir)
	}

	r := &reader{dir: dir, state: &State{}}
	steps := []struct {
		verb string
		run  func() error
	}{
		{"read kernel release", r.readRelease},
		{"read modules", r.readModules},
		{"read livepatch directory", r.readPatches},
		{"order patches", r.orderPatches},
		{"find available_filter_functions", r.findFilterFunctions},
	}
	for _, step := range steps {
		if err := step.run(); err != nil {
			return nil, fmt.Errorf("read snapshot %s: %s: %w", dir, step.verb, err)
		}
	}

	r.checkConsistency()
	return r.state, nil
}

// reader carries the state of one Read.
type reader struct {
	dir   string
	state *State
}

// path returns the full path of a snapshot file.
func (r *reader) path(rel string) string {
	return filepath.Join(r.dir, filepath.FromSlash(rel))
}

func (r *reader) note(format string, args ...any) {
	r.state.Notes = append(r.state.Notes, fmt.Sprintf(format, args...))
}

func (r *reader) readRelease() error {
	p := r.path(osReleasePath)
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}

	release := strings.TrimSuffix(string(data), "\n")
	if release == "" || strings.ContainsAny(release, " \t\n") {
		return fmt.Errorf("%s: invalid kernel release %q", p, release)
	}
	r.state.KernelRelease = release
	return nil
}

func (r *reader) findFilterFunctions() error {
	p := r.path(filterFunctionsPath)
	info, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", p)
	}
	r.state.FilterFunctions = p
	return nil
}

// readAttr reads a one-line sysfs attribute without its newline. Present
// is false when the file does not exist.
func readAttr(p string) (text string, present bool, err error) {
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return strings.TrimSuffix(string(data), "\n"), true, nil
}

// readValue reads a sysfs attribute printed with "%d\n".
func (r *reader) readValue(p string) (value int, present bool, err error) {
	text, present, err := readAttr(p)
	if err != nil || !present {
		return 0, present, err
	}
	value, ok := parseDecimal(text)
	if !ok {
		return 0, true, fmt.Errorf("%s: invalid value %q: expected a decimal number", p, text)
	}
	return value, true, nil
}

// readUint32 reads a sysfs attribute printed with "%u\n".
func (r *reader) readUint32(p string) (value uint32, present bool, err error) {
	text, present, err := readAttr(p)
	if err != nil || !present {
		return 0, present, err
	}
	v, err := strconv.ParseUint(text, 10, 32)
	if err != nil || strings.HasPrefix(text, "+") {
		return 0, true, fmt.Errorf("%s: invalid value %q: expected an unsigned 32-bit decimal number", p, text)
	}
	return uint32(v), true, nil
}

// readFlag reads a 0 or 1 attribute.
func (r *reader) readFlag(p string) (flag, present bool, err error) {
	value, present, err := r.readValue(p)
	if err != nil || !present {
		return false, present, err
	}
	if value != 0 && value != 1 {
		return false, true, fmt.Errorf("%s: invalid value %d: expected 0 or 1", p, value)
	}
	return value == 1, true, nil
}

// parseDecimal parses a non-negative decimal int without sign or spaces,
// the way the kernel prints it.
func parseDecimal(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
