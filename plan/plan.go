// Package plan reads klpcheck plan files: YAML documents that list the
// livepatch modules to load, in order, with the replace mode of each, the
// host state to start from and the findings to suppress.
//
// The plan only records what the file contains. Which semantics or threshold
// applies in the end is decided by the command, where command-line flags
// override the plan and the plan overrides values read from the modules.
// docs/plan.md describes the format with a full example.
//
// Every key is fixed: an unknown key at any level is an error that names the
// key, the file and the line, so that a typo such as "replce" never silently
// drops a setting.
package plan

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Values of the semantics key.
const (
	SemanticsMainline   = "mainline"
	SemanticsTag        = "tag"
	SemanticsReplaceSet = "replace-set"
)

// Values of the fail_on key.
const (
	FailOnError   = "error"
	FailOnWarning = "warning"
	FailOnNote    = "note"
	FailOnNone    = "none"
)

// File is a parsed plan file. Optional keys that are absent leave their
// field empty. Paths are resolved against Dir.
type File struct {
	// Name is the file name given to Load or Parse, as it appears in
	// messages.
	Name string
	// Dir is the directory of Name, which relative paths in the plan are
	// resolved against.
	Dir string

	// Semantics is mainline, tag or replace-set.
	Semantics string
	// Kernel is the target kernel release, for example 6.1.0-57-amd64.
	Kernel string
	// SymposMatch states whether the target kernel has commit 139560e8b973,
	// which makes klp_find_func treat old_sympos 0 and 1 as equal. It is nil
	// when the plan has no sympos_match key.
	SymposMatch *bool
	// Live is the snapshot directory written by klpcheck snapshot.
	Live string
	// Targets are the files of the target kernel that klpcheck check
	// verifies the modules against (vmlinux, System.map, modules, ...), in
	// file order.
	Targets []Target
	// FailOn is error, warning, note or none.
	FailOn string

	// Patches are the modules to load, in load order.
	Patches      []Patch
	Suppressions []Suppression

	// Lines maps each top-level key present in the file to its line.
	Lines map[string]int
}

// Target is one entry of the targets list: a path, or a mapping with a
// path and the identity the file must have.
type Target struct {
	// Path is resolved against the plan's directory. RawPath is the value
	// as written.
	Path    string
	RawPath string
	// Expect is the srcversion or GNU build ID, in hex, that the file must
	// have, empty when the entry does not give one.
	Expect string

	// Line is the line of the entry. Lines maps each key of a mapping
	// entry to its line, and is nil for an entry written as a plain path.
	Line  int
	Lines map[string]int
}

// Patch is one entry of the patches list: a module to load and what the plan
// states about it. Nil pointers mean the key is absent.
type Patch struct {
	// Path is the module file resolved against the plan's directory.
	// RawPath is the value as written.
	Path    string
	RawPath string
	// Replace is the mainline bool replace flag.
	Replace *bool
	// Tag is the u32 replace tag of the April 2026 replace-tag proposal, 0
	// meaning no replace.
	Tag *uint32
	// Set is the u32 replace_set of the replace-set proposal.
	Set *uint32
	// Expect is the srcversion or GNU build ID, in hex, that the module
	// file must have.
	Expect string
	// LiveName is the name of the patch under /sys/kernel/livepatch when it
	// differs from the module name read from the file.
	LiveName string

	// Line is the line of the entry, and Lines maps each key given to its
	// line.
	Line  int
	Lines map[string]int
}

// Suppression is one entry of the suppressions list. Its fields are stored
// as written. Whether the rule exists and a reason is given is checked
// where suppressions are applied.
type Suppression struct {
	Rule     string
	Module   string
	Object   string
	Function string
	Reason   string

	// Line is the line of the entry, and Lines maps each key given to its
	// line.
	Line  int
	Lines map[string]int
}

// Error is a problem at one place in a plan file. Line is 0 when the
// problem concerns the file as a whole.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Load reads and parses the plan file at path. Relative paths inside the
// plan are resolved against the directory of path.
func Load(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load plan: %w", err)
	}
	return Parse(data, path)
}

// Parse parses the plan in data. Name is the file name used in messages,
// and relative paths inside the plan are resolved against its directory.
//
// Parse reports every problem it finds, not only the first: the error is a
// single *Error, or several *Error values joined with errors.Join, in line
// order. The returned File is nil whenever the error is not.
func Parse(data []byte, name string) (*File, error) {
	d := &decoder{name: name}
	f := d.decodeFile(data)
	if len(d.errs) == 1 {
		return nil, d.errs[0]
	}
	if len(d.errs) > 1 {
		errs := make([]error, len(d.errs))
		for i, e := range d.errs {
			errs[i] = e
		}
		return nil, errors.Join(errs...)
	}
	return f, nil
}

// Position returns "name:line" for a line of this plan, the prefix that
// later checks put on messages about a plan entry.
func (f *File) Position(line int) string {
	return fmt.Sprintf("%s:%d", f.Name, line)
}

// resolve returns p as an absolute or cleaned path: relative paths are
// joined to dir.
func resolve(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}
