package target

import (
	"errors"
	"fmt"
)

// Error is a failure to read one target input. The message names the
// file, then the line of a text input or the section and byte offset of
// an ELF input. Line, Section and Offset repeat those places as fields.
type Error struct {
	Path string
	// Line is the 1-based line of a text input, and 0 for other inputs.
	Line int
	// Section is the ELF section of the failure, empty when unknown, and
	// Offset the byte offset inside it when HasOffset is set.
	Section   string
	Offset    uint64
	HasOffset bool
	Err       error
}

// Error returns "PATH:LINE: message" for a text input and "PATH: message"
// otherwise.
func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.Path, e.Line, e.Err)
	}
	return e.Path + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ReleaseError is a target input whose kernel release differs from the
// release of an input read before it. Such an input is rejected whole:
// nothing of it is merged and it is not listed in Target.Inputs, because
// the rules would otherwise mix the symbols of two kernel builds.
type ReleaseError struct {
	// Release is the release of the rejected input, and Other the
	// release of the input OtherFrom, read before it.
	Release   string
	Other     string
	OtherFrom string
}

func (e *ReleaseError) Error() string {
	return fmt.Sprintf("release %s differs from release %s of target input %s; all target inputs must come from one kernel build", e.Release, e.Other, e.OtherFrom)
}

// lineError returns an error at a line of a text input. The path is added
// by the caller that reads the file.
func lineError(line int, format string, args ...any) error {
	return &Error{Line: line, Err: fmt.Errorf(format, args...)}
}

// placeError is an error in a section of an ELF input, at a byte offset
// when hasOffset is set.
type placeError struct {
	section   string
	offset    uint64
	hasOffset bool
	err       error
}

func (e *placeError) Error() string {
	if e.hasOffset {
		return fmt.Sprintf("section %s+%#x: %v", e.section, e.offset, e.err)
	}
	return fmt.Sprintf("section %s: %v", e.section, e.err)
}

func (e *placeError) Unwrap() error { return e.err }

// sectionError returns an error in a section of an ELF input.
func sectionError(section string, format string, args ...any) error {
	return &placeError{section: section, err: fmt.Errorf(format, args...)}
}

// offsetError returns an error at a byte offset inside a section of an
// ELF input.
func offsetError(section string, offset uint64, format string, args ...any) error {
	return &placeError{section: section, offset: offset, hasOffset: true, err: fmt.Errorf(format, args...)}
}

// withPath returns err as an *Error for path. An *Error that a text
// parser returned, unwrapped, keeps its line.
func withPath(path string, err error) error {
	if err == nil {
		return nil
	}
	if e, ok := err.(*Error); ok {
		if e.Path == "" {
			return &Error{Path: path, Line: e.Line, Err: e.Err}
		}
		return err
	}
	out := &Error{Path: path, Err: err}
	var place *placeError
	if errors.As(err, &place) {
		out.Section, out.Offset, out.HasOffset = place.section, place.offset, place.hasOffset
	}
	return out
}
