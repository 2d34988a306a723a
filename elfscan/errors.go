package elfscan

import (
	"errors"
	"fmt"
)

// ErrNotLivepatch is returned, wrapped in an *Error, for a module that has
// no livepatch marker at all: no livepatch modinfo, no klp structures,
// sections or symbols, and no reference to klp_enable_patch. Callers list
// such files as skipped rather than failed.
var ErrNotLivepatch = errors.New("not a livepatch module")

// ErrUnsupported is returned, wrapped in an *Error, for a valid ELF file that
// klpcheck cannot analyse: 32-bit, not ET_REL, an unknown machine, or ppc64
// ELFv1.
var ErrUnsupported = errors.New("unsupported module")

// Error is a failure to read one module. Section and Offset repeat, as
// fields for JSON output, where the message places the failure; Offset is a
// byte offset inside Section, or inside the file when Section is empty.
type Error struct {
	Path    string
	Section string
	// Offset is valid when HasOffset is set.
	Offset    uint64
	HasOffset bool
	Err       error
}

// Error returns the path followed by the wrapped message, which already
// names the parsing step, the section and the offset.
func (e *Error) Error() string {
	return e.Path + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// formatError is an error inside one section, raised by the parsing steps
// and placed into an *Error with the file path by Parse.
type formatError struct {
	section   string
	offset    uint64
	hasOffset bool
	err       error
}

func (e *formatError) Error() string {
	switch {
	case e.section != "" && e.hasOffset:
		return fmt.Sprintf("section %s+%#x: %v", e.section, e.offset, e.err)
	case e.section != "":
		return fmt.Sprintf("section %s: %v", e.section, e.err)
	}
	return e.err.Error()
}

func (e *formatError) Unwrap() error { return e.err }

// errAt returns an error placed at an offset inside a section.
func errAt(section string, offset uint64, format string, args ...any) error {
	return &formatError{section: section, offset: offset, hasOffset: true, err: fmt.Errorf(format, args...)}
}

// errIn returns an error placed in a section.
func errIn(section string, format string, args ...any) error {
	return &formatError{section: section, err: fmt.Errorf(format, args...)}
}

// toError places err, returned by a parsing step, into an *Error for path.
func toError(path string, err error) *Error {
	var fe *formatError
	if errors.As(err, &fe) {
		return &Error{Path: path, Section: fe.section, Offset: fe.offset, HasOffset: fe.hasOffset, Err: err}
	}
	return &Error{Path: path, Err: err}
}
