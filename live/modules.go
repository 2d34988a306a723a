package live

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/klpcheck/klpcheck/livepatch"
)

// procModule is one parsed line of /proc/modules.
type procModule struct {
	Name  string
	State string
	// Refcount is the reference count. RefcountKnown is false when the
	// kernel prints "-" (no CONFIG_MODULE_UNLOAD).
	Refcount      int
	RefcountKnown bool
	// Taint are the flags between the parentheses of the last field, without
	// the + and - that mark a module being loaded or unloaded.
	Taint string
}

// parseProcModules parses /proc/modules as m_show in
// kernel/module/procfs.c (kernel/module.c before 5.19) prints it, one
// module per line:
//
//	name size refcount users state address [(taint)]
//
// Refcount and users are "-" on kernels without CONFIG_MODULE_UNLOAD. Else
// users is "-" or a list of names, each followed by a comma. Path is used in
// messages only.
func parseProcModules(data []byte, path string) ([]procModule, error) {
	text := strings.TrimSuffix(string(data), "\n")
	if text == "" {
		return nil, nil
	}

	var modules []procModule
	for i, line := range strings.Split(text, "\n") {
		m, err := parseProcModulesLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, i+1, err)
		}
		modules = append(modules, m)
	}
	return modules, nil
}

func parseProcModulesLine(line string) (procModule, error) {
	fields := strings.Fields(line)
	if len(fields) != 6 && len(fields) != 7 {
		return procModule{}, fmt.Errorf("expected 6 or 7 fields (name size refcount users state address [taint]), got %d in %q", len(fields), line)
	}

	m := procModule{Name: fields[0], State: fields[4]}
	if err := checkModuleName(m.Name); err != nil {
		return procModule{}, err
	}
	if _, err := strconv.ParseUint(fields[1], 10, 64); err != nil {
		return procModule{}, fmt.Errorf("module %s: invalid size %q", m.Name, fields[1])
	}
	if fields[2] != "-" {
		n, err := strconv.Atoi(fields[2])
		if err != nil || n < 0 {
			return procModule{}, fmt.Errorf("module %s: invalid refcount %q", m.Name, fields[2])
		}
		m.Refcount, m.RefcountKnown = n, true
	}
	if m.State != "Live" && m.State != "Loading" && m.State != "Unloading" {
		return procModule{}, fmt.Errorf("module %s: invalid state %q: expected Live, Loading or Unloading", m.Name, m.State)
	}
	if _, err := strconv.ParseUint(strings.TrimPrefix(fields[5], "0x"), 16, 64); err != nil || !strings.HasPrefix(fields[5], "0x") {
		return procModule{}, fmt.Errorf("module %s: invalid address %q", m.Name, fields[5])
	}

	if len(fields) == 7 {
		flags, ok := strings.CutPrefix(fields[6], "(")
		flags, closed := strings.CutSuffix(flags, ")")
		if !ok || !closed {
			return procModule{}, fmt.Errorf("module %s: invalid taint field %q: expected flags in parentheses", m.Name, fields[6])
		}
		flags = strings.NewReplacer("+", "", "-", "").Replace(flags)
		if err := checkTaint(flags); err != nil {
			return procModule{}, fmt.Errorf("module %s: %w", m.Name, err)
		}
		m.Taint = flags
	}
	return m, nil
}

// checkModuleName rejects names the kernel cannot give a module, and in
// particular anything that would leave sys/module/ when used as a path.
func checkModuleName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("invalid module name %q", name)
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("invalid module name %q: contains '/' or NUL", name)
	case len(name) > livepatch.ModuleNameLen-1:
		return fmt.Errorf("invalid module name %q: longer than %d bytes", name, livepatch.ModuleNameLen-1)
	}
	return nil
}

// checkTaint accepts taint flags as the kernel prints them: upper-case
// letters.
func checkTaint(flags string) error {
	for _, c := range flags {
		if c < 'A' || c > 'Z' {
			return fmt.Errorf("invalid taint flags %q: expected upper-case letters", flags)
		}
	}
	return nil
}

// readModules reads proc/modules and the taint file of each module.
func (r *reader) readModules() error {
	p := r.path(procModulesPath)
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	procModules, err := parseProcModules(data, p)
	if err != nil {
		return err
	}

	seen := map[string]bool{}
	for _, pm := range procModules {
		if seen[pm.Name] {
			return fmt.Errorf("%s: module %s is listed twice", p, pm.Name)
		}
		seen[pm.Name] = true

		taint, err := r.readTaint(pm)
		if err != nil {
			return err
		}
		r.state.Modules = append(r.state.Modules, Module{Name: pm.Name, Taint: taint, State: pm.State, Refcount: pm.Refcount, RefcountKnown: pm.RefcountKnown})
	}
	return nil
}

// readTaint returns the flags of sys/module/<m>/taint, or those of
// proc/modules when that file is missing. The two can differ only when a
// module was tainted between reading them, which is worth a note.
func (r *reader) readTaint(pm procModule) (string, error) {
	rel := moduleDirPath + "/" + pm.Name + "/taint"
	p := r.path(rel)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return pm.Taint, nil
	}
	if err != nil {
		return "", err
	}

	taint := strings.TrimSuffix(string(data), "\n")
	if err := checkTaint(taint); err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	if taint != pm.Taint {
		r.note("module %s: %s has taint flags %q but %s shows %q; using %q", pm.Name, rel, taint, procModulesPath, pm.Taint, taint)
	}
	return taint, nil
}
