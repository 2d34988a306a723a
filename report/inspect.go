package report

import (
	"fmt"
	"io"

	"github.com/klpcheck/klpcheck/livepatch"
)

// Inspection is the input of the inspect renderers: one entry per module
// file, in the order the files were found on the command line.
type Inspection struct {
	Modules []InspectedModule
}

// InspectedModule is the outcome of reading one file. Exactly one of
// Module, Skipped and Error is set.
type InspectedModule struct {
	// Path is the file as found on the command line or in a directory.
	Path string
	// Module is the model read from the file.
	Module *livepatch.Module
	// Skipped is the reason the file was left out, such as "not a livepatch
	// module". A skipped file is not an error.
	Skipped string
	// Error describes why the file could not be analysed.
	Error *InputError
}

// InspectFormats returns the formats that WriteInspection accepts.
func InspectFormats() []Format {
	return []Format{FormatText, FormatJSON}
}

// WriteInspection renders in to w in the given format and returns the first
// write error.
func WriteInspection(w io.Writer, format Format, in Inspection) error {
	switch format {
	case FormatText:
		return WriteInspectText(w, in)
	case FormatJSON:
		return WriteInspectJSON(w, in)
	}
	return fmt.Errorf("inspect: unsupported format %q", format)
}
