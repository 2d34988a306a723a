package report

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/klpcheck/klpcheck/livepatch"
)

// InspectSchemaVersion is the schema_version of inspect JSON output. It
// changes only when a field is removed, renamed or changes meaning, while
// new fields may appear in any version. docs/json-inspect.md describes every
// field.
const InspectSchemaVersion = 1

// The types below are the inspect JSON wire format. Lists are never nil,
// so that they encode as [] and not null. An optional string is a *string
// that encodes as null when the module does not have the value.

type inspectJSON struct {
	SchemaVersion int                 `json:"schema_version"`
	Modules       []inspectJSONModule `json:"modules"`
	Skipped       []skippedJSON       `json:"skipped"`
}

// inspectJSONModule is a module that was read, or one that failed with
// Error set. The embedded pointer is nil for a failed module, so that its
// entry holds only path and error.
type inspectJSONModule struct {
	Path  string          `json:"path"`
	Error *inputErrorJSON `json:"error,omitempty"`
	*moduleJSON
}

type moduleJSON struct {
	Name            string              `json:"name"`
	NameSource      string              `json:"name_source"`
	Arch            string              `json:"arch"`
	KernelRelease   *string             `json:"kernel_release"`
	BuildID         *string             `json:"build_id"`
	Livepatch       bool                `json:"livepatch"`
	Producer        string              `json:"producer"`
	Replace         replaceJSON         `json:"replace"`
	PatchLocation   *locationJSON       `json:"patch_location"`
	ModInfo         modinfoJSON         `json:"modinfo"`
	ObjsNull        bool                `json:"objs_null"`
	Objects         []objectJSON        `json:"objects"`
	States          []stateJSON         `json:"states"`
	KlpRelocations  []klpRelocationJSON `json:"klp_relocations"`
	KlpSymbols      []klpSymbolJSON     `json:"klp_symbols"`
	KlpArchSections []string            `json:"klp_arch_sections"`
	Notes           []string            `json:"notes"`
}

type replaceJSON struct {
	Known  bool    `json:"known"`
	Value  uint32  `json:"value"`
	Width  int     `json:"width"`
	Source string  `json:"source"`
	Detail *string `json:"detail"`
}

type locationJSON struct {
	Section string `json:"section"`
	Offset  uint64 `json:"offset"`
}

type modinfoJSON struct {
	Name        *string            `json:"name"`
	Vermagic    *string            `json:"vermagic"`
	Livepatch   *string            `json:"livepatch"`
	License     *string            `json:"license"`
	Depends     *string            `json:"depends"`
	Srcversion  *string            `json:"srcversion"`
	Retpoline   *string            `json:"retpoline"`
	Intree      *string            `json:"intree"`
	Version     *string            `json:"version"`
	Description *string            `json:"description"`
	ImportNS    []string           `json:"import_ns"`
	Fields      []modinfoFieldJSON `json:"fields"`
}

type modinfoFieldJSON struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type objectJSON struct {
	Name           string         `json:"name"`
	LiteralVmlinux bool           `json:"literal_vmlinux"`
	FuncsNull      bool           `json:"funcs_null"`
	Location       *locationJSON  `json:"location"`
	Functions      []functionJSON `json:"functions"`
	Callbacks      callbacksJSON  `json:"callbacks"`
}

type functionJSON struct {
	Name     *string       `json:"name"`
	Sympos   uint64        `json:"sympos"`
	NewFunc  *symbolJSON   `json:"new_func"`
	Location *locationJSON `json:"location"`
}

type symbolJSON struct {
	Name      string  `json:"name"`
	Section   *string `json:"section"`
	Size      uint64  `json:"size"`
	Demangled *string `json:"demangled"`
}

type callbacksJSON struct {
	PrePatch    *string `json:"pre_patch"`
	PostPatch   *string `json:"post_patch"`
	PreUnpatch  *string `json:"pre_unpatch"`
	PostUnpatch *string `json:"post_unpatch"`
}

type stateJSON struct {
	ID      uint64 `json:"id"`
	Version uint32 `json:"version"`
}

type klpRelocationJSON struct {
	Section          string  `json:"section"`
	SHFRelaLivepatch bool    `json:"shf_rela_livepatch"`
	TargetSection    *string `json:"target_section"`
	TargetIndex      uint32  `json:"target_index"`
	Object           *string `json:"object"`
	Entries          int     `json:"entries"`
	NameError        *string `json:"name_error"`
}

type klpSymbolJSON struct {
	Name       string  `json:"name"`
	Object     *string `json:"object"`
	Symbol     *string `json:"symbol"`
	Sympos     *uint64 `json:"sympos"`
	Referenced bool    `json:"referenced"`
	ParseError *string `json:"parse_error"`
}

type inputErrorJSON struct {
	File    string  `json:"file"`
	Section *string `json:"section"`
	Offset  *uint64 `json:"offset"`
	Reason  string  `json:"reason"`
}

type skippedJSON struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// WriteInspectJSON renders in as one indented JSON document, described in
// docs/json-inspect.md. Modules that were read and modules that failed are
// listed in input order under "modules", and skipped files under
// "skipped".
func WriteInspectJSON(w io.Writer, in Inspection) error {
	doc := inspectJSON{
		SchemaVersion: InspectSchemaVersion,
		Modules:       []inspectJSONModule{},
		Skipped:       []skippedJSON{},
	}

	for _, entry := range in.Modules {
		switch {
		case entry.Error != nil:
			doc.Modules = append(doc.Modules, inspectJSONModule{Path: entry.Path, Error: inputErrorToJSON(entry.Error)})
		case entry.Module != nil:
			doc.Modules = append(doc.Modules, inspectJSONModule{Path: entry.Path, moduleJSON: moduleToJSON(entry.Module)})
		default:
			doc.Skipped = append(doc.Skipped, skippedJSON{Path: entry.Path, Reason: entry.Skipped})
		}
	}

	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// Rust and C++ demangled names contain < and >, which would otherwise
	// be written as \u003c and \u003e.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write inspect JSON: %w", err)
	}
	return nil
}

func inputErrorToJSON(e *InputError) *inputErrorJSON {
	out := &inputErrorJSON{
		File:    e.File,
		Section: optional(e.Section),
		Reason:  e.Reason,
	}
	if e.HasOffset {
		offset := e.Offset
		out.Offset = &offset
	}
	return out
}

func moduleToJSON(m *livepatch.Module) *moduleJSON {
	out := &moduleJSON{
		Name:            m.Name,
		NameSource:      m.NameSource,
		Arch:            m.Arch.Name,
		KernelRelease:   optional(m.Kernel.Release),
		BuildID:         optional(m.BuildID),
		Livepatch:       m.Livepatch,
		Producer:        string(m.Producer),
		Replace:         replaceToJSON(m.Replace),
		PatchLocation:   locationToJSON(m.PatchLocation),
		ModInfo:         modinfoToJSON(m.ModInfo),
		ObjsNull:        m.ObjsNull,
		Objects:         []objectJSON{},
		States:          []stateJSON{},
		KlpRelocations:  []klpRelocationJSON{},
		KlpSymbols:      []klpSymbolJSON{},
		KlpArchSections: nonNil(m.KlpArchSections),
		Notes:           nonNil(m.Notes),
	}

	for _, obj := range m.Objects {
		out.Objects = append(out.Objects, objectToJSON(obj))
	}
	for _, s := range m.States {
		out.States = append(out.States, stateJSON{ID: s.ID, Version: s.Version})
	}
	for _, sec := range m.KlpRelocSections {
		out.KlpRelocations = append(out.KlpRelocations, relocationToJSON(sec))
	}
	for _, sym := range m.KlpSymbols {
		out.KlpSymbols = append(out.KlpSymbols, klpSymbolToJSON(sym))
	}
	return out
}

func replaceToJSON(r livepatch.Replace) replaceJSON {
	return replaceJSON{
		Known:  r.Known,
		Value:  r.Value,
		Width:  int(r.Width),
		Source: string(r.Source),
		Detail: optional(r.Detail),
	}
}

// locationToJSON returns nil for the zero Location, which the model uses
// when a place is not known.
func locationToJSON(loc livepatch.Location) *locationJSON {
	if loc.Section == "" {
		return nil
	}
	return &locationJSON{Section: loc.Section, Offset: loc.Offset}
}

// modinfoToJSON lifts the keys that klpcheck users look for out of the
// ordered field list. A key that appears more than once gives its first
// value, except import_ns, which lists all of them.
func modinfoToJSON(info livepatch.ModInfo) modinfoJSON {
	get := func(key string) *string {
		if value, ok := info.Get(key); ok {
			return &value
		}
		return nil
	}

	out := modinfoJSON{
		Name:        get("name"),
		Vermagic:    get("vermagic"),
		Livepatch:   get("livepatch"),
		License:     get("license"),
		Depends:     get("depends"),
		Srcversion:  get("srcversion"),
		Retpoline:   get("retpoline"),
		Intree:      get("intree"),
		Version:     get("version"),
		Description: get("description"),
		ImportNS:    nonNil(info.All("import_ns")),
		Fields:      []modinfoFieldJSON{},
	}
	for _, f := range info.Fields {
		out.Fields = append(out.Fields, modinfoFieldJSON{Key: f.Key, Value: f.Value})
	}
	return out
}

func objectToJSON(obj livepatch.Object) objectJSON {
	out := objectJSON{
		Name:           obj.Name,
		LiteralVmlinux: obj.LiteralVmlinux,
		FuncsNull:      obj.FuncsNull,
		Location:       locationToJSON(obj.Location),
		Functions:      []functionJSON{},
		Callbacks: callbacksJSON{
			PrePatch:    optional(obj.Callbacks.PrePatch),
			PostPatch:   optional(obj.Callbacks.PostPatch),
			PreUnpatch:  optional(obj.Callbacks.PreUnpatch),
			PostUnpatch: optional(obj.Callbacks.PostUnpatch),
		},
	}

	for _, fn := range obj.Funcs {
		f := functionJSON{
			Sympos:   fn.Sympos,
			Location: locationToJSON(fn.Location),
		}
		if !fn.OldNameNull {
			name := fn.OldName
			f.Name = &name
		}
		if !fn.NewFuncNull {
			f.NewFunc = &symbolJSON{
				Name:      fn.NewFunc.Name,
				Section:   optional(fn.NewFunc.Section),
				Size:      fn.NewFunc.Size,
				Demangled: optional(fn.NewFunc.Demangled),
			}
		}
		out.Functions = append(out.Functions, f)
	}
	return out
}

func relocationToJSON(sec livepatch.KlpRelocSection) klpRelocationJSON {
	out := klpRelocationJSON{
		Section:          sec.Name,
		SHFRelaLivepatch: sec.Flags&livepatch.SHF_RELA_LIVEPATCH != 0,
		TargetSection:    optional(sec.TargetName),
		TargetIndex:      sec.TargetIndex,
		Entries:          len(sec.Relocs),
		NameError:        optional(sec.NameErr),
	}
	if sec.NameErr == "" {
		out.Object = optional(sec.ObjName)
	}
	return out
}

func klpSymbolToJSON(sym livepatch.KlpSymbol) klpSymbolJSON {
	out := klpSymbolJSON{
		Name:       sym.Name,
		Referenced: sym.Referenced,
		ParseError: optional(sym.ParseErr),
	}
	if sym.ParseErr == "" {
		sympos := sym.Sympos
		out.Object = optional(sym.Object)
		out.Symbol = optional(sym.Symbol)
		out.Sympos = &sympos
	}
	return out
}

// optional returns nil for an empty string, which encodes as null.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// nonNil returns values, or an empty slice when values is nil, so that it
// encodes as [].
func nonNil(values []string) []string {
	if values == nil {
		return []string{}
	}
	return values
}
