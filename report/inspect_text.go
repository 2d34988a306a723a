package report

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/pkg/twcache"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/klpcheck/klpcheck/livepatch"
)

// WriteInspectText renders in as text for a terminal. Each module gets a
// block of identity fields followed by tables of objects, functions,
// callbacks, states, klp relocation sections and klp symbols, then its
// notes. Skipped and failed files are listed after all modules.
//
// Names are never wrapped or cut, so that they can be copied and searched
// for. Typical modules fit in 100 columns, but a long symbol or section name
// makes its table wider.
func WriteInspectText(w io.Writer, in Inspection) error {
	out := &errWriter{w: w}

	// Blocks (modules, then the skipped and failed lists) are separated by
	// a blank line.
	blocks := 0
	startBlock := func() {
		if blocks > 0 {
			out.printf("\n")
		}
		blocks++
	}

	var skipped, failed []InspectedModule
	for _, entry := range in.Modules {
		switch {
		case entry.Error != nil:
			failed = append(failed, entry)
		case entry.Module == nil:
			skipped = append(skipped, entry)
		default:
			startBlock()
			writeModuleText(out, entry.Path, entry.Module)
		}
	}

	if len(skipped) > 0 {
		startBlock()
		out.printf("Skipped (%d)\n", len(skipped))
		for _, entry := range skipped {
			out.printf("  %s: %s\n", displayString(entry.Path), displayString(entry.Skipped))
		}
	}

	if len(failed) > 0 {
		startBlock()
		out.printf("Failed (%d)\n", len(failed))
		for _, entry := range failed {
			out.printf("  %s: %s\n", displayString(entry.Error.File), displayString(entry.Error.Reason))
		}
	}

	return out.err
}

// writeModuleText renders one module: the header block, then one titled
// section per table.
func writeModuleText(out *errWriter, path string, m *livepatch.Module) {
	out.printf("%s\n", displayString(path))
	writeModuleFields(out, m)

	if m.ObjsNull {
		out.printf("\n  Objects: none, the objs pointer is NULL\n")
	} else {
		writeSection(out, "Objects", objectRows(m), nil, "OBJECT", "FUNCTIONS", "LOCATION", "NOTE")
	}
	writeSection(out, "Functions", functionRows(m), nil,
		"OBJECT", "FUNCTION", "SYMPOS", "REPLACEMENT", "SIZE", "SECTION")
	writeSection(out, "Callbacks", callbackRows(m), nil, "OBJECT", "CALLBACK", "SYMBOL")
	writeSection(out, "States", stateRows(m), nil, "ID", "VERSION")

	var relocErrors []string
	for _, sec := range m.KlpRelocSections {
		if sec.NameErr != "" {
			relocErrors = append(relocErrors, sec.NameErr)
		}
	}
	writeSection(out, "KLP relocation sections", relocationRows(m), relocErrors,
		"SECTION", "TARGET", "OBJECT", "ENTRIES")

	var symbolErrors []string
	for _, sym := range m.KlpSymbols {
		switch {
		case sym.ParseErr != "" && sym.Referenced:
			symbolErrors = append(symbolErrors, sym.ParseErr)
		case sym.ParseErr != "":
			// klp_resolve_symbols parses only the symbols that a klp
			// relocation uses, and the module loader skips SHN_LIVEPATCH
			// symbols, so klp-build's .klp.tombstone.* leftovers load.
			symbolErrors = append(symbolErrors, sym.ParseErr+" (unused by any klp relocation, so the kernel never parses it)")
		}
	}
	writeSection(out, "KLP symbols", klpSymbolRows(m), symbolErrors,
		"OBJECT", "SYMBOL", "SYMPOS", "REFERENCED")

	// .klp.arch sections only exist in modules built for kernels before
	// 5.8, so the section is left out instead of printing "none" for
	// every current module.
	if len(m.KlpArchSections) > 0 {
		out.printf("\n  KLP arch sections (%d)\n", len(m.KlpArchSections))
		for _, name := range m.KlpArchSections {
			out.printf("    %s\n", displayString(name))
		}
	}

	if len(m.Notes) > 0 {
		out.printf("\n  Notes (%d)\n", len(m.Notes))
		for _, note := range m.Notes {
			out.printf("    - %s\n", displayString(note))
		}
	}
}

// writeModuleFields writes the identity fields of a module, one per line.
func writeModuleFields(out *errWriter, m *livepatch.Module) {
	field := func(key, value string) {
		out.printf("  %-15s %s\n", key, value)
	}

	name := displayString(m.Name)
	if m.NameSource != "" {
		name += " (from " + m.NameSource + ")"
	}
	field("name", name)
	field("arch", orDash(displayString(m.Arch.Name)))

	release := "(unknown)"
	if m.Kernel.Release != "" {
		release = displayString(m.Kernel.Release)
	}
	field("kernel release", release)
	buildID := "(absent)"
	if m.BuildID != "" {
		buildID = m.BuildID
	}
	field("build id", buildID)

	for _, key := range []string{"livepatch", "license", "description", "depends", "srcversion", "retpoline", "intree"} {
		field(key, modinfoText(m.ModInfo, key))
	}
	importNS := "(absent)"
	if values := m.ModInfo.All("import_ns"); len(values) > 0 {
		importNS = displayJoin(values, ", ")
	}
	field("import_ns", importNS)

	field("producer", string(m.Producer))
	field("replace", replaceText(m.Replace))
	if m.Replace.Detail != "" {
		field("replace detail", displayString(m.Replace.Detail))
	}
	if m.PatchLocation.Section != "" {
		field("klp_patch", locationText(m.PatchLocation))
	}
}

// modinfoText returns the first value of a .modinfo key for display,
// telling an absent key from an empty value: depends= is normally present
// and empty.
func modinfoText(info livepatch.ModInfo, key string) string {
	value, ok := info.Get(key)
	switch {
	case !ok:
		return "(absent)"
	case value == "":
		return "(empty)"
	}
	return displayString(value)
}

// replaceText describes a replace value and where it came from, for example
// "1 (from init-code, 1-byte field)".
func replaceText(r livepatch.Replace) string {
	if !r.Known {
		return "unknown"
	}
	if r.Width == 0 {
		return fmt.Sprintf("%d (from %s)", r.Value, r.Source)
	}
	return fmt.Sprintf("%d (from %s, %d-byte field)", r.Value, r.Source, r.Width)
}

// locationText returns "section+0xoffset".
func locationText(loc livepatch.Location) string {
	if loc.Section == "" {
		return "-"
	}
	return fmt.Sprintf("%s+%#x", displayString(loc.Section), loc.Offset)
}

// callbackNames pairs the kernel's struct klp_callbacks field names with
// their values, in the order the kernel calls them.
func callbackNames(c livepatch.Callbacks) [4][2]string {
	return [4][2]string{
		{"pre_patch", c.PrePatch},
		{"post_patch", c.PostPatch},
		{"pre_unpatch", c.PreUnpatch},
		{"post_unpatch", c.PostUnpatch},
	}
}

func objectRows(m *livepatch.Module) [][]string {
	var rows [][]string
	for _, obj := range m.Objects {
		funcs := strconv.Itoa(len(obj.Funcs))
		var notes []string
		if obj.FuncsNull {
			funcs = "NULL"
			notes = append(notes, "funcs pointer is NULL")
		}
		if obj.LiteralVmlinux {
			notes = append(notes, `named by the string "vmlinux"`)
		}
		rows = append(rows, []string{
			displayString(obj.Name),
			funcs,
			locationText(obj.Location),
			strings.Join(notes, "; "),
		})
	}
	return rows
}

func functionRows(m *livepatch.Module) [][]string {
	var rows [][]string
	for _, obj := range m.Objects {
		for _, fn := range obj.Funcs {
			name := displayString(fn.OldName)
			if fn.OldNameNull {
				name = "(NULL)"
			}

			replacement, size, section := "(NULL)", "-", "-"
			if !fn.NewFuncNull {
				replacement = displayString(fn.NewFunc.Name)
				// A demangled Rust or C++ name goes on a second line of
				// the cell, where it costs no width.
				if fn.NewFunc.Demangled != "" {
					replacement += "\n(" + displayString(fn.NewFunc.Demangled) + ")"
				}
				size = strconv.FormatUint(fn.NewFunc.Size, 10)
				section = orDash(displayString(fn.NewFunc.Section))
			}

			rows = append(rows, []string{
				displayString(obj.Name),
				name,
				strconv.FormatUint(fn.Sympos, 10),
				replacement,
				size,
				section,
			})
		}
	}
	return rows
}

func callbackRows(m *livepatch.Module) [][]string {
	var rows [][]string
	for _, obj := range m.Objects {
		for _, cb := range callbackNames(obj.Callbacks) {
			if cb[1] == "" {
				continue
			}
			rows = append(rows, []string{displayString(obj.Name), cb[0], displayString(cb[1])})
		}
	}
	return rows
}

func stateRows(m *livepatch.Module) [][]string {
	var rows [][]string
	for _, s := range m.States {
		rows = append(rows, []string{
			strconv.FormatUint(s.ID, 10),
			strconv.FormatUint(uint64(s.Version), 10),
		})
	}
	return rows
}

func relocationRows(m *livepatch.Module) [][]string {
	var rows [][]string
	for _, sec := range m.KlpRelocSections {
		// The kernel patches the section that sh_info points to, not the
		// one the relocation section's name suggests.
		target := displayString(sec.TargetName)
		if sec.TargetName == "" {
			target = fmt.Sprintf("(sh_info %d)", sec.TargetIndex)
		}
		object := displayString(sec.ObjName)
		if sec.NameErr != "" {
			object = "-"
		}
		rows = append(rows, []string{
			displayString(sec.Name),
			target,
			object,
			strconv.Itoa(len(sec.Relocs)),
		})
	}
	return rows
}

func klpSymbolRows(m *livepatch.Module) [][]string {
	var rows [][]string
	for _, sym := range m.KlpSymbols {
		referenced := "no"
		if sym.Referenced {
			referenced = "yes"
		}
		row := []string{
			displayString(sym.Object),
			displayString(sym.Symbol),
			strconv.FormatUint(sym.Sympos, 10),
			referenced,
		}
		// A name that does not parse has no object, symbol or sympos, so
		// the raw name takes the symbol column.
		if sym.ParseErr != "" {
			row = []string{"-", displayString(sym.Name), "-", referenced}
		}
		rows = append(rows, row)
	}
	return rows
}

// writeSection writes a titled table followed by one line per error
// message, or "Title: none" when there are no rows. Error messages stay out
// of the table because they are long prose that would widen every row.
// Columns whose cells are all empty are hidden, header included.
func writeSection(out *errWriter, title string, rows [][]string, errs []string, header ...string) {
	if len(rows) == 0 {
		out.printf("\n  %s: none\n", title)
		return
	}
	out.printf("\n  %s (%d)\n", title, len(rows))
	writeTable(out, "    ", header, rows)
	for _, msg := range errs {
		out.printf("    error: %s\n", displayString(msg))
	}
}

// textTable is a tablewriter table that renders into its own buffer.
type textTable struct {
	buf   bytes.Buffer
	table *tablewriter.Table
}

// newTextTable returns a borderless table with two spaces between columns.
// Its stringer cache has room for one entry, which keeps Reset cheap.
// tablewriter reads that cache only for a table with a stringer function,
// which these tables do not set.
func newTextTable() *textTable {
	t := &textTable{}
	t.table = tablewriter.NewTable(&t.buf,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{
			Borders: tw.BorderNone,
			Symbols: tw.NewSymbols(tw.StyleASCII),
			Settings: tw.Settings{
				Separators: tw.Separators{BetweenColumns: tw.Off, BetweenRows: tw.Off, ShowHeader: tw.Off},
				Lines:      tw.Lines{ShowTop: tw.Off, ShowBottom: tw.Off, ShowHeaderLine: tw.Off},
			},
		})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithPadding(tw.Padding{Left: "", Right: "  ", Overwrite: true}),
		tablewriter.WithTrimSpace(tw.Off),
		tablewriter.WithAutoHide(tw.On),
		tablewriter.WithStringerCacheCustom(twcache.NewLRU[reflect.Type, reflect.Value](1)),
	)
	return t
}

// writeTable renders a table with each line prefixed by indent. The table
// is rendered into a buffer first so that trailing padding can be trimmed
// and write errors are kept by out.
func writeTable(out *errWriter, indent string, header []string, rows [][]string) {
	t := out.textTable()
	t.buf.Reset()
	t.table.Reset()

	cells := make([]any, len(header))
	for i, h := range header {
		cells[i] = h
	}
	t.table.Header(cells...)
	for _, row := range rows {
		if err := t.table.Append(row); err != nil {
			out.fail(fmt.Errorf("render table: %w", err))
			return
		}
	}
	if err := t.table.Render(); err != nil {
		out.fail(fmt.Errorf("render table: %w", err))
		return
	}

	for line := range strings.SplitSeq(strings.TrimRight(t.buf.String(), "\n"), "\n") {
		out.printf("%s%s\n", indent, strings.TrimRight(line, " "))
	}
}

// orDash returns s, or "-" when s is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
