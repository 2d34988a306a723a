package report

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/klpcheck/klpcheck/livepatch"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with the current output")

var x86_64 = livepatch.Arch{Name: "x86_64", Machine: elf.EM_X86_64, ByteOrder: binary.LittleEndian}

// handWrittenModule is shaped like the kernel's samples/livepatch module with
// states and callbacks added.
func handWrittenModule() *livepatch.Module {
	return &livepatch.Module{
		Path:       "/lib/modules/6.1.0-57-amd64/livepatch/livepatch-sample.ko",
		Name:       "livepatch_sample",
		NameSource: "modinfo",
		Arch:       x86_64,
		ModInfo: livepatch.ModInfo{Fields: []livepatch.ModInfoField{
			{Key: "livepatch", Value: "Y"},
			{Key: "license", Value: "GPL"},
			{Key: "depends", Value: ""},
			{Key: "retpoline", Value: "Y"},
			{Key: "name", Value: "livepatch_sample"},
			{Key: "vermagic", Value: "6.1.0-57-amd64 SMP preempt mod_unload modversions "},
		}},
		Kernel:    livepatch.KernelVersion{Major: 6, Minor: 1, Patch: 0, Release: "6.1.0-57-amd64"},
		Livepatch: true,
		Producer:  livepatch.ProducerHandWritten,
		Replace: livepatch.Replace{
			Known:  true,
			Value:  0,
			Width:  1,
			Source: livepatch.ReplaceFromData,
			Detail: "klp_patch.replace byte at .data+0x98",
		},
		Objects: []livepatch.Object{{
			Name: "vmlinux",
			Funcs: []livepatch.Func{{
				OldName: "cmdline_proc_show",
				NewFunc: livepatch.Symbol{
					Name:    "livepatch_cmdline_proc_show",
					Section: ".text",
					Size:    44,
					Value:   0x10,
					Index:   23,
				},
				Location: livepatch.Location{Section: ".data", Offset: 0x0},
			}},
			Callbacks: livepatch.Callbacks{
				PrePatch:    "pre_patch_callback",
				PostUnpatch: "post_unpatch_callback",
			},
			Location: livepatch.Location{Section: ".data", Offset: 0x60},
		}},
		States: []livepatch.State{
			{ID: 1, Version: 1},
			{ID: 0xdeadbeef, Version: 3},
		},
		PatchLocation: livepatch.Location{Section: ".data", Offset: 0x80},
	}
}

// kpatchModule is shaped like a kpatch-build module patching vmlinux and
// nfsd, with klp relocations and symbols.
func kpatchModule() *livepatch.Module {
	return &livepatch.Module{
		Path:       "testdata/kpatch-nfsd.ko",
		Name:       "kpatch_nfsd",
		NameSource: "this_module",
		Arch:       x86_64,
		ModInfo: livepatch.ModInfo{Fields: []livepatch.ModInfoField{
			{Key: "livepatch", Value: "Y"},
			{Key: "license", Value: "GPL"},
			{Key: "import_ns", Value: "EXPORTFS"},
			{Key: "import_ns", Value: "CRYPTO_INTERNAL"},
			{Key: "srcversion", Value: "5A1B2C3D4E5F60718293A4B"},
			{Key: "depends", Value: ""},
			{Key: "vermagic", Value: "6.8.0-40-generic SMP preempt mod_unload modversions "},
		}},
		Kernel:    livepatch.KernelVersion{Major: 6, Minor: 8, Patch: 0, Release: "6.8.0-40-generic"},
		Livepatch: true,
		Producer:  livepatch.ProducerKpatchBuild,
		Replace: livepatch.Replace{
			Known:  true,
			Value:  1,
			Width:  1,
			Source: livepatch.ReplaceFromInitCode,
			Detail: "movb $0x1,0x48(%rax) at .init.text+0x5e",
		},
		Objects: []livepatch.Object{
			{
				Name: "vmlinux",
				Funcs: []livepatch.Func{
					{
						OldName:  "cmdline_proc_show",
						NewFunc:  livepatch.Symbol{Name: "cmdline_proc_show", Section: ".text.cmdline_proc_show", Size: 61},
						Location: livepatch.Location{Section: ".kpatch.funcs", Offset: 0x0},
					},
					{
						OldName:  "meminfo_proc_show",
						NewFunc:  livepatch.Symbol{Name: "meminfo_proc_show", Section: ".text.meminfo_proc_show", Size: 1830},
						Location: livepatch.Location{Section: ".kpatch.funcs", Offset: 0x38},
					},
				},
			},
			{
				Name: "nfsd",
				Funcs: []livepatch.Func{{
					OldName:  "nfsd4_open",
					NewFunc:  livepatch.Symbol{Name: "nfsd4_open", Section: ".text.nfsd4_open", Size: 1234},
					Sympos:   1,
					Location: livepatch.Location{Section: ".kpatch.funcs", Offset: 0x70},
				}},
				Callbacks: livepatch.Callbacks{
					PostPatch:  "kpatch_nfsd_post_patch",
					PreUnpatch: "kpatch_nfsd_pre_unpatch",
				},
			},
		},
		KlpRelocSections: []livepatch.KlpRelocSection{
			{
				Name:        ".klp.rela.vmlinux..text.cmdline_proc_show",
				TargetIndex: 4,
				TargetName:  ".text.cmdline_proc_show",
				TargetAlloc: true,
				Flags:       elf.SHF_ALLOC | livepatch.SHF_RELA_LIVEPATCH,
				ObjName:     "vmlinux",
				Relocs:      make([]livepatch.KlpReloc, 3),
			},
			{
				Name:        ".klp.rela.nfsd..text.nfsd4_open",
				TargetIndex: 6,
				TargetName:  ".text.nfsd4_open",
				TargetAlloc: true,
				Flags:       elf.SHF_ALLOC | livepatch.SHF_RELA_LIVEPATCH,
				ObjName:     "nfsd",
				Relocs:      make([]livepatch.KlpReloc, 1),
			},
		},
		KlpSymbols: []livepatch.KlpSymbol{
			{Name: ".klp.sym.vmlinux.saved_command_line,0", Object: "vmlinux", Symbol: "saved_command_line", Sympos: 0, Referenced: true},
			{Name: ".klp.sym.nfsd.nfsd4_lock.isra.0,2", Object: "nfsd", Symbol: "nfsd4_lock.isra.0", Sympos: 2, Referenced: false},
		},
		Notes: []string{
			"function array stride 56 bytes, from .kpatch.funcs size 168 and 3 entries",
		},
	}
}

// oddModule holds what the model records without judging: NULL pointers, a
// literal "vmlinux" object name, names that do not parse, a Rust
// replacement, a pre-5.8 .klp.arch section, a replace_set value and a
// modinfo value with a terminal escape sequence.
func oddModule() *livepatch.Module {
	return &livepatch.Module{
		Path:       "odd.ko",
		Name:       "odd",
		NameSource: "file",
		Arch:       x86_64,
		ModInfo: livepatch.ModInfo{Fields: []livepatch.ModInfoField{
			{Key: "livepatch", Value: "N"},
			{Key: "srcversion", Value: "fix\x1b[31m red"},
			{Key: "license", Value: "GPL"},
		}},
		Livepatch: true,
		Producer:  livepatch.ProducerHandWritten,
		Replace: livepatch.Replace{
			Known:  true,
			Value:  3,
			Width:  4,
			Source: livepatch.ReplaceFromData,
			Detail: "klp_patch.replace_set at .data+0x98",
		},
		Objects: []livepatch.Object{
			{
				Name: "vmlinux",
				Funcs: []livepatch.Func{
					{
						OldName:  "rust_helper_example",
						NewFunc:  livepatch.Symbol{Name: "_RNvCs1234_6kernel7example", Demangled: "kernel::example", Section: ".text", Size: 12},
						Sympos:   2,
						Location: livepatch.Location{Section: ".data", Offset: 0x0},
					},
					{
						OldNameNull: true,
						NewFuncNull: true,
						Location:    livepatch.Location{Section: ".data", Offset: 0x38},
					},
				},
			},
			{Name: "vmlinux", LiteralVmlinux: true, Location: livepatch.Location{Section: ".data", Offset: 0x140}},
			{Name: "ext4", FuncsNull: true, Location: livepatch.Location{Section: ".data", Offset: 0x180}},
		},
		KlpRelocSections: []livepatch.KlpRelocSection{
			{
				Name:        ".klp.rela..text",
				TargetIndex: 99,
				NameErr:     "section .klp.rela..text has an incorrectly formatted name: empty object name",
			},
		},
		KlpSymbols: []livepatch.KlpSymbol{
			{Name: ".klp.sym.vmlinux.noposition", ParseErr: "symbol .klp.sym.vmlinux.noposition has an incorrectly formatted name: symbol name longer than 511 bytes or missing ',<sympos>'"},
		},
		KlpArchSections: []string{".klp.arch.vmlinux..altinstructions"},
	}
}

// emptyModule has no metadata at all beyond its name, so every list is
// empty and every optional value is missing.
func emptyModule() *livepatch.Module {
	return &livepatch.Module{
		Path:       "empty.ko",
		Name:       "empty",
		NameSource: "file",
		Arch:       x86_64,
		Producer:   livepatch.ProducerUnknown,
		Replace:    livepatch.Replace{Source: livepatch.ReplaceUnknown},
	}
}

// objsNullModule is a hand-written module whose struct klp_patch has a
// NULL objs pointer.
func objsNullModule() *livepatch.Module {
	m := emptyModule()
	m.Producer = livepatch.ProducerHandWritten
	m.ObjsNull = true
	m.PatchLocation = livepatch.Location{Section: ".data", Offset: 0x40}
	return m
}

func mixedInspection() Inspection {
	return Inspection{Modules: []InspectedModule{
		{Path: "a/livepatch-sample.ko", Module: handWrittenModule()},
		{Path: "a/nouveau.ko", Skipped: "not a livepatch module"},
		{Path: "a/truncated.ko", Error: &InputError{
			File:      "a/truncated.ko",
			Section:   ".symtab",
			Offset:    0x1c8,
			HasOffset: true,
			Reason:    "read symbols: section .symtab+0x1c8: entry 19 extends past the end of the section",
		}},
		{Path: "a/missing.ko", Error: &InputError{
			File:   "a/missing.ko",
			Reason: "open a/missing.ko: no such file or directory",
		}},
		{Path: "a/kpatch-nfsd.ko", Module: kpatchModule()},
	}}
}

var inspectCases = []struct {
	name string
	in   Inspection
}{
	{"hand-written", Inspection{Modules: []InspectedModule{{Path: "livepatch-sample.ko", Module: handWrittenModule()}}}},
	{"kpatch", Inspection{Modules: []InspectedModule{{Path: "kpatch-nfsd.ko", Module: kpatchModule()}}}},
	{"odd", Inspection{Modules: []InspectedModule{{Path: "odd.ko", Module: oddModule()}}}},
	{"empty-module", Inspection{Modules: []InspectedModule{{Path: "empty.ko", Module: emptyModule()}}}},
	{"objs-null", Inspection{Modules: []InspectedModule{{Path: "objs-null.ko", Module: objsNullModule()}}}},
	{"mixed", mixedInspection()},
	{"no-modules", Inspection{}},
}

func TestInspectGolden(t *testing.T) {
	for _, tc := range inspectCases {
		for _, format := range InspectFormats() {
			t.Run(tc.name+"/"+string(format), func(t *testing.T) {
				var buf bytes.Buffer
				if err := WriteInspection(&buf, format, tc.in); err != nil {
					t.Fatalf("WriteInspection: %v", err)
				}
				compareGolden(t, filepath.Join("testdata", "inspect", tc.name+"."+string(format)), buf.Bytes())
			})
		}
	}
}

func TestInspectTextWidth(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteInspectText(&buf, mixedInspection()); err != nil {
		t.Fatalf("WriteInspectText: %v", err)
	}
	for i, line := range strings.Split(buf.String(), "\n") {
		if n := len([]rune(line)); n > 100 {
			t.Errorf("line %d is %d columns wide, more than 100: %q", i+1, n, line)
		}
		if strings.TrimRight(line, " ") != line {
			t.Errorf("line %d has trailing spaces: %q", i+1, line)
		}
	}
}

func TestInspectJSONShape(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteInspectJSON(&buf, mixedInspection()); err != nil {
		t.Fatalf("WriteInspectJSON: %v", err)
	}

	var doc struct {
		SchemaVersion int              `json:"schema_version"`
		Modules       []map[string]any `json:"modules"`
		Skipped       []map[string]any `json:"skipped"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("output is not valid JSON: %v", err)
	}

	if doc.SchemaVersion != 1 {
		t.Errorf("schema_version = %d, want 1", doc.SchemaVersion)
	}

	var paths []string
	for _, m := range doc.Modules {
		paths = append(paths, m["path"].(string))
	}
	wantPaths := []string{"a/livepatch-sample.ko", "a/truncated.ko", "a/missing.ko", "a/kpatch-nfsd.ko"}
	if diff := cmp.Diff(wantPaths, paths); diff != "" {
		t.Errorf("module paths (-want +got):\n%s", diff)
	}

	// A failed module holds only its path and the error.
	failed := doc.Modules[1]
	if diff := cmp.Diff([]string{"error", "path"}, slices.Sorted(maps.Keys(failed))); diff != "" {
		t.Errorf("keys of a failed module (-want +got):\n%s", diff)
	}
	wantError := map[string]any{
		"file":    "a/truncated.ko",
		"section": ".symtab",
		"offset":  float64(0x1c8),
		"reason":  "read symbols: section .symtab+0x1c8: entry 19 extends past the end of the section",
	}
	if diff := cmp.Diff(wantError, failed["error"]); diff != "" {
		t.Errorf("error of a failed module (-want +got):\n%s", diff)
	}
	wantNoOffset := map[string]any{
		"file":    "a/missing.ko",
		"section": nil,
		"offset":  nil,
		"reason":  "open a/missing.ko: no such file or directory",
	}
	if diff := cmp.Diff(wantNoOffset, doc.Modules[2]["error"]); diff != "" {
		t.Errorf("error without a section (-want +got):\n%s", diff)
	}

	// A module that was read has no error key.
	if _, ok := doc.Modules[0]["error"]; ok {
		t.Errorf("module that was read has an error key: %v", doc.Modules[0]["error"])
	}

	wantSkipped := []map[string]any{{"path": "a/nouveau.ko", "reason": "not a livepatch module"}}
	if diff := cmp.Diff(wantSkipped, doc.Skipped); diff != "" {
		t.Errorf("skipped (-want +got):\n%s", diff)
	}
}

func TestInspectJSONEmptyListsAreArrays(t *testing.T) {
	var buf bytes.Buffer
	in := Inspection{Modules: []InspectedModule{{Path: "empty.ko", Module: emptyModule()}}}
	if err := WriteInspectJSON(&buf, in); err != nil {
		t.Fatalf("WriteInspectJSON: %v", err)
	}

	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("output is not valid JSON: %v", err)
	}
	module := doc["modules"].([]any)[0].(map[string]any)
	modinfo := module["modinfo"].(map[string]any)

	lists := map[string]any{
		"skipped":                      doc["skipped"],
		"modules[0].objects":           module["objects"],
		"modules[0].states":            module["states"],
		"modules[0].klp_relocations":   module["klp_relocations"],
		"modules[0].klp_symbols":       module["klp_symbols"],
		"modules[0].klp_arch_sections": module["klp_arch_sections"],
		"modules[0].notes":             module["notes"],
		"modules[0].modinfo.fields":    modinfo["fields"],
		"modinfo.import_ns":            modinfo["import_ns"],
	}
	for name, value := range lists {
		if diff := cmp.Diff([]any{}, value); diff != "" {
			t.Errorf("%s is not an empty array (-want +got):\n%s", name, diff)
		}
	}
}

var errInjected = errors.New("injected write failure")

// failingWriter accepts okWrites writes, then fails every write. It counts
// the calls in calls.
type failingWriter struct {
	okWrites int
	calls    int
}

func (w *failingWriter) Write(p []byte) (int, error) {
	w.calls++
	if w.calls > w.okWrites {
		return 0, errInjected
	}
	return len(p), nil
}

func TestInspectWriteErrors(t *testing.T) {
	in := mixedInspection()
	in.Modules = append(in.Modules, InspectedModule{Path: "odd.ko", Module: oddModule()})

	for _, format := range InspectFormats() {
		counter := &failingWriter{okWrites: math.MaxInt}
		if err := WriteInspection(counter, format, in); err != nil {
			t.Fatalf("%s: WriteInspection: %v", format, err)
		}

		// Fail each write in turn, which covers a failure in the header
		// block, in each table and in the skipped and failed lists.
		for ok := 0; ok < counter.calls; ok++ {
			err := WriteInspection(&failingWriter{okWrites: ok}, format, in)
			if !errors.Is(err, errInjected) {
				t.Fatalf("%s: write %d of %d failing: got error %v, want %v", format, ok+1, counter.calls, err, errInjected)
			}
		}
	}
}

func TestWriteInspectionUnsupportedFormat(t *testing.T) {
	err := WriteInspection(&bytes.Buffer{}, Format("sarif"), Inspection{})
	want := `inspect: unsupported format "sarif"`
	if err == nil || err.Error() != want {
		t.Errorf("WriteInspection(sarif) error = %v, want %q", err, want)
	}
}

func TestDisplayString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"cmdline_proc_show", "cmdline_proc_show"},
		{"kernel::example<T>", "kernel::example<T>"},
		{"with space", "with space"},
		{"", ""},
		{"tab\there", `"tab\there"`},
		{"esc\x1b[31m", `"esc\x1b[31m"`},
		{"bad\xffutf8", `"bad\xffutf8"`},
		{"line\nbreak", `"line\nbreak"`},
	}
	for _, tt := range tests {
		if got := displayString(tt.in); got != tt.want {
			t.Errorf("displayString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// compareGolden compares got with the golden file at path, or rewrites the
// file when -update is set.
func compareGolden(t *testing.T, path string, got []byte) {
	t.Helper()

	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}

	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file: %v (run go test ./report -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("output differs from %s (-want +got):\n%s", path, diff)
	}
}

// Every key of the inspect JSON output must be described in
// docs/json-inspect.md, which is the published reference.
func TestInspectJSONKeysDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "json-inspect.md"))
	if err != nil {
		t.Fatal(err)
	}

	keys := map[string]bool{}
	var collect func(v any)
	collect = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				keys[k] = true
				collect(child)
			}
		case []any:
			for _, child := range v {
				collect(child)
			}
		}
	}
	for _, tc := range inspectCases {
		var buf bytes.Buffer
		if err := WriteInspectJSON(&buf, tc.in); err != nil {
			t.Fatalf("%s: WriteInspectJSON: %v", tc.name, err)
		}
		var decoded any
		if err := json.Unmarshal(buf.Bytes(), &decoded); err != nil {
			t.Fatalf("%s: output is not valid JSON: %v", tc.name, err)
		}
		collect(decoded)
	}

	for _, key := range slices.Sorted(maps.Keys(keys)) {
		if !bytes.Contains(doc, []byte("`"+key+"`")) {
			t.Errorf("key %q is not described in docs/json-inspect.md", key)
		}
	}
}
