// Package report renders klpcheck results as text or JSON.
//
// Every renderer writes to an io.Writer and returns the first write error,
// because a CI job that loses its report has failed even when the analysis
// succeeded. Renderers never open files or write to os.Stdout, because
// package main chooses the destinations.
//
// JSON output uses wire structs declared in this package, never the model
// types of packages livepatch or conflict, so that a field renamed in the
// model does not change the published format.
package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Format names an output format, as given to --format and --output.
type Format string

const (
	FormatText Format = "text"
	FormatJSON Format = "json"
)

// InputError describes an input file that could not be analysed. It is
// filled from an *elfscan.Error or a *target.Error by package main, so
// that report depends on neither package.
type InputError struct {
	// File is the path of the file that failed.
	File string
	// Line is the 1-based line of a text input where the failure was
	// found, and 0 for other failures.
	Line int
	// Section is the ELF section where the failure was found, empty when
	// the failure concerns the whole file.
	Section string
	// Offset is a byte offset inside Section, or inside the file when
	// Section is empty. It is valid only when HasOffset is set.
	Offset    uint64
	HasOffset bool
	// Reason is the error message without the file path. It already names
	// the parsing step, the section and the offset.
	Reason string
}

// errWriter passes writes to w until one fails, then drops every later
// write and keeps the first error. Renderers write through it freely and
// check once at the end. Tables go through it too, because tablewriter
// v1.1.5 ignores the errors of its own writes.
type errWriter struct {
	w   io.Writer
	err error
	// table is the table that writeTable reuses for every table of one
	// report. tablewriter.NewTable (v1.1.5) allocates a cache map with
	// room for 10,240 entries, and making one table per section was half
	// of the time of inspect over 1,000 modules.
	table *textTable
}

// textTable returns the report's table, made on first use.
func (e *errWriter) textTable() *textTable {
	if e.table == nil {
		e.table = newTextTable()
	}
	return e.table
}

// writeString writes s to the underlying writer. A failure is kept in
// e.err.
func (e *errWriter) writeString(s string) {
	if e.err != nil {
		return
	}
	n, err := io.WriteString(e.w, s)
	if err == nil && n < len(s) {
		err = io.ErrShortWrite
	}
	e.err = err
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}

	n, err := e.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	e.err = err
	return n, err
}

// fail keeps err unless an earlier error is already kept.
func (e *errWriter) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// printf formats to the underlying writer. A failure is kept in e.err.
func (e *errWriter) printf(format string, args ...any) {
	fmt.Fprintf(e, format, args...)
}

// displayString returns s unchanged when it is printable UTF-8, and
// otherwise as a Go-quoted string. Module files are untrusted, and a name or
// modinfo value holding control characters could otherwise rewrite the
// terminal or split a table row.
func displayString(s string) string {
	if !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// DisplayString returns s unchanged when it is printable UTF-8, and
// otherwise as a Go-quoted string. Package main uses it for messages on
// stderr that repeat names read from module files.
func DisplayString(s string) string {
	return displayString(s)
}

// displayJoin returns the display forms of values joined by sep.
func displayJoin(values []string, sep string) string {
	display := make([]string, len(values))
	for i, v := range values {
		display[i] = displayString(v)
	}
	return strings.Join(display, sep)
}

// Skip is an input file that was left out on purpose, such as a module
// without any livepatch marker. A skipped file is not an error.
type Skip struct {
	// Path is the file as found on the command line or in a directory.
	Path string
	// Reason is why the file was left out, for example "not a livepatch
	// module".
	Reason string
}
