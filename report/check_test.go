package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/klpcheck/klpcheck/conflict"
)

// checkRules is the rule registry of the check fixtures, sorted by ID like
// conflict.Rules. KLP0101 fires in no fixture, so it shows that SARIF lists
// rules that did not fire; its text exercises paragraphs, list items and
// Markdown escaping.
func checkRules() []*conflict.Rule {
	return []*conflict.Rule{
		{
			ID:       "KLP0101",
			Name:     "metadata-invalid",
			Severity: conflict.SeverityError,
			Title:    "the klp_patch, klp_object or klp_func data is invalid",
			Doc: `Reports livepatch metadata that klp_enable_patch rejects:
a hand-written patch whose *objs pointer is NULL, or a klp-build module whose
__klp_objects section is empty.

The checks cover:
- a named object whose funcs pointer is NULL;
- a function whose old_name is KSYM_NAME_LEN bytes or longer, which is 512
  from 6.1 and 128 before.`,
			Kernel: `klp_enable_patch (kernel/livepatch/core.c, 5.1 and later) returns -EINVAL,
so insmod fails.`,
			Fix: `Rebuild the module with its producer.`,
		},
		{
			ID:       "KLP0105",
			Name:     "replace-unknown",
			Severity: conflict.SeverityNote,
			Title:    "the module does not state its replace mode",
			Doc:      `Reports a module whose replace value could not be read, so the simulation assumed the kpatch-build and klp-build default.`,
			Kernel:   `The replace field of struct klp_patch decides whether the patch replaces the active patches.`,
			Fix:      `State the replace mode in the plan.`,
		},
		{
			ID:        "KLP0204",
			Name:      "set-conflict",
			Severity:  conflict.SeverityError,
			Title:     "two replace sets patch the same function",
			Doc:       `Reports a function that a patch of one replace set patches while an active patch of another set patches it too.`,
			Kernel:    `The replace_set proposal makes klp_enable_patch fail with -EINVAL for such a patch.`,
			Fix:       `Move both patches into one replace set, or drop the function from one of them.`,
			Semantics: []conflict.Semantics{conflict.ReplaceSet},
		},
		{
			ID:       "KLP0230",
			Name:     "object-not-loaded",
			Severity: conflict.SeverityWarning,
			Title:    "a patched object is not loaded on the host",
			Doc:      `Reports an object whose module is not loaded on the host.`,
			Kernel:   `The kernel patches the object's functions when its module loads.`,
			Fix:      `Load the module first if the fix must take effect now.`,
		},
		{
			ID:       "KLP0301",
			Name:     "replace-reverts",
			Severity: conflict.SeverityWarning,
			Title:    "a replace patch reverts a fix of an active patch",
			Doc:      `Reports a function that an active patch fixes and that a replace patch leaves out.`,
			Kernel:   `A replace patch adds nops for every function of the patches it replaces.`,
			Fix:      `Include the function in the replace patch.`,
		},
		{
			ID:       "KLP0602",
			Name:     "transition-busy",
			Severity: conflict.SeverityWarning,
			Title:    "a live patch is still in transition",
			Doc:      `Reports a live patch whose transition has not completed.`,
			Kernel:   `klp_enable_patch fails with -EBUSY while another transition runs.`,
			Fix:      `Wait for the transition to complete.`,
		},
	}
}

// fullCheck is the main check fixture. It has findings of every severity
// about a function, an object, a module and a live patch, and live and plan
// steps with patched, reverted and disabled functions. One step is refused
// and one changes nothing. The effective map has a function in transition,
// and there are notes, a skipped file and input errors with and without an
// offset.
func fullCheck() Check {
	return Check{
		Result: conflict.Result{
			Semantics: conflict.ReplaceSet,
			Findings: []conflict.Finding{
				{
					RuleID:    "KLP0301",
					Rule:      "replace-reverts",
					Severity:  conflict.SeverityWarning,
					Message:   "replace set 1 replaces klpc_base, so meminfo_proc_show returns to the original code",
					Module:    "klpc_overlap_a",
					Path:      "modules/klpc_overlap_a.ko",
					Object:    "vmlinux",
					Function:  "meminfo_proc_show",
					Sympos:    0,
					HasSympos: true,
					Step:      1,
					Related: []conflict.Related{
						{Module: "klpc_base", Note: "its fix of meminfo_proc_show is lost"},
					},
				},
				{
					RuleID:    "KLP0204",
					Rule:      "set-conflict",
					Severity:  conflict.SeverityError,
					Message:   "cmdline_proc_show is patched in replace set 1 and in replace set 2, so insmod fails with EINVAL",
					Module:    "klpc_overlap_b",
					Path:      "modules/klpc_overlap_b.ko",
					Object:    "vmlinux",
					Function:  "cmdline_proc_show",
					Sympos:    1,
					HasSympos: true,
					Step:      2,
					Related: []conflict.Related{
						{Module: "klpc_overlap_a", Path: "modules/klpc_overlap_a.ko", Note: "patches cmdline_proc_show in replace set 1"},
						{Module: "klpc_base"},
					},
				},
				{
					RuleID:   "KLP0105",
					Rule:     "replace-unknown",
					Severity: conflict.SeverityNote,
					Message:  "klpc_fs does not state its replace set, so the simulation assumes replace set 3",
					Module:   "klpc_fs",
					Path:     "modules/sub dir/klpc_fs.ko.xz",
					Step:     3,
				},
				{
					RuleID:   "KLP0230",
					Rule:     "object-not-loaded",
					Severity: conflict.SeverityWarning,
					Message:  "object nfs is not loaded on the host, so nfs_fs_mount is patched only when nfs loads",
					Module:   "klpc_fs",
					Path:     "modules/sub dir/klpc_fs.ko.xz",
					Object:   "nfs",
					Step:     3,
				},
				{
					RuleID:   "KLP0602",
					Rule:     "transition-busy",
					Severity: conflict.SeverityWarning,
					Message:  "klpc_base is still in transition on the host, so the first load fails with EBUSY until it completes",
					Module:   "klpc_base",
				},
			},
			Steps: []conflict.Step{
				{
					Module: "klpc_base",
					Live:   true,
					Mode:   conflict.Mode{Value: 1, Source: "live"},
					Patched: []conflict.FuncRef{
						{Object: "vmlinux", Function: "cmdline_proc_show"},
						{Object: "vmlinux", Function: "meminfo_proc_show"},
					},
				},
				{
					Index:    1,
					Module:   "klpc_overlap_a",
					Path:     "modules/klpc_overlap_a.ko",
					Mode:     conflict.Mode{Value: 1, Source: "data"},
					Patched:  []conflict.FuncRef{{Object: "vmlinux", Function: "cmdline_proc_show", Sympos: 1}},
					Reverted: []conflict.FuncRef{{Object: "vmlinux", Function: "meminfo_proc_show", Module: "klpc_base"}},
					Disabled: []string{"klpc_base"},
				},
				{
					Index:     2,
					Module:    "klpc_overlap_b",
					Path:      "modules/klpc_overlap_b.ko",
					Mode:      conflict.Mode{Value: 2, Source: "plan"},
					Refused:   true,
					Errno:     "EINVAL",
					RefusedBy: "set-conflict",
				},
				{
					Index:  3,
					Module: "klpc_fs",
					Path:   "modules/sub dir/klpc_fs.ko.xz",
					Mode:   conflict.Mode{Value: 3, Source: "assumed"},
					Patched: []conflict.FuncRef{
						{Object: "ext4", Function: "ext4_fill_super"},
						{Object: "ext4", Function: "ext4_get_block"},
						{Object: "ext4", Function: "ext4_map_blocks"},
						{Object: "ext4", Function: "ext4_writepages"},
						{Object: "ext4", Function: "ext4_da_write_begin"},
						{Object: "nfs", Function: "nfs_fs_mount", Sympos: 2},
					},
				},
				{
					Index:  4,
					Module: "klpc_empty",
					Path:   "modules/klpc_empty.ko",
					Mode:   conflict.Mode{Value: 4, Source: "init-code"},
				},
			},
			Effective: []conflict.EffectiveFunc{
				{Object: "ext4", Function: "ext4_da_write_begin", Sympos: 1, Module: "klpc_fs"},
				{Object: "ext4", Function: "ext4_fill_super", Sympos: 1, Module: "klpc_fs"},
				{Object: "ext4", Function: "ext4_get_block", Sympos: 1, Module: "klpc_fs"},
				{Object: "ext4", Function: "ext4_map_blocks", Sympos: 1, Module: "klpc_fs"},
				{Object: "ext4", Function: "ext4_writepages", Sympos: 1, Module: "klpc_fs"},
				{Object: "nfs", Function: "nfs_fs_mount", Sympos: 2, Module: "klpc_fs"},
				{Object: "vmlinux", Function: "cmdline_proc_show", Sympos: 1, Module: "klpc_overlap_a", Transition: true},
			},
			Notes: []string{
				"the host state comes from the snapshot in live/",
				"the simulation treats sympos 0 and 1 as the same function, as kernels do once they match old_sympos 0 and 1 in klp_find_func",
			},
		},
		Skipped: []Skip{{Path: "modules/helper.ko", Reason: "not a livepatch module"}},
		Errors: []InputError{
			{
				File:      "modules/broken.ko",
				Section:   ".klp.rela.vmlinux..text",
				Offset:    0x18,
				HasOffset: true,
				Reason:    "read klp relocations: section .klp.rela.vmlinux..text+0x18: symbol index 912 out of range (812 symbols)",
			},
			{File: "modules/empty.ko", Reason: "read ELF header: unexpected EOF"},
			{File: "targets/System.map", Line: 7, Reason: `line 7: invalid address "ffffffff8100zz00", want up to 16 hexadecimal digits`},
			{File: "modules/short.ko", Offset: 0x1800, HasOffset: true, Reason: "read ELF header: section header table [0x1800, +0x980) extends past end of file (3000 bytes)"},
		},
		Rules:    checkRules(),
		Version:  "0.1.0-test",
		PlanPath: "plans/rollout.yaml",
	}
}

// emptyCheck is a plan with no findings, steps or files of note, which
// shows that every list renders as empty and not as null.
func emptyCheck() Check {
	return Check{
		Result: conflict.Result{Semantics: conflict.Mainline},
		Rules:  checkRules(),
	}
}

var checkCases = []struct {
	name  string
	check func() Check
}{
	{"full", fullCheck},
	{"empty", emptyCheck},
	{"gate", gateCheck},
}

func TestCheckGolden(t *testing.T) {
	for _, tc := range checkCases {
		for _, format := range CheckFormats() {
			t.Run(tc.name+"."+string(format), func(t *testing.T) {
				var buf bytes.Buffer
				if err := WriteCheck(&buf, format, tc.check()); err != nil {
					t.Fatalf("WriteCheck: %v", err)
				}
				compareGolden(t, filepath.Join("testdata", "check", tc.name+"."+string(format)), buf.Bytes())
			})
		}
	}
}

func TestCheckTextWidth(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteCheckText(&buf, fullCheck()); err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(buf.String(), "\n") {
		if n := utf8.RuneCountInString(line); n > textWidth {
			t.Errorf("line %d has %d columns, want at most %d: %q", i+1, n, textWidth, line)
		}
	}
}

func TestCheckTextQuotesControlCharacters(t *testing.T) {
	c := emptyCheck()
	c.Result.Findings = []conflict.Finding{{
		RuleID:   "KLP0230",
		Rule:     "object-not-loaded",
		Severity: conflict.SeverityWarning,
		Message:  "object is not loaded",
		Module:   "evil\x1b[2J",
		Object:   "obj\nname",
	}}

	var buf bytes.Buffer
	if err := WriteCheckText(&buf, c); err != nil {
		t.Fatal(err)
	}
	want := `  warning KLP0230 object-not-loaded: "evil\x1b[2J": "obj\nname": object is not loaded` + "\n"
	if !strings.Contains(buf.String(), want) {
		t.Errorf("text output lacks the quoted finding line %q:\n%s", want, buf.String())
	}
}

// decodeJSON renders c with write and decodes the output into generic
// values, as a consumer of the format would see it.
func decodeJSON(t *testing.T, write func(*bytes.Buffer, Check) error, c Check) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	if err := write(&buf, c); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	return doc
}

func writeJSONTo(buf *bytes.Buffer, c Check) error  { return WriteCheckJSON(buf, c) }
func writeSARIFTo(buf *bytes.Buffer, c Check) error { return WriteCheckSARIF(buf, c) }

func TestCheckJSONEmptyListsAreArrays(t *testing.T) {
	doc := decodeJSON(t, writeJSONTo, emptyCheck())
	for _, key := range []string{"findings", "effective", "steps", "skipped", "errors", "notes"} {
		if diff := cmp.Diff([]any{}, doc[key]); diff != "" {
			t.Errorf("%s is not an empty array (-want +got):\n%s", key, diff)
		}
	}

	doc = decodeJSON(t, writeJSONTo, fullCheck())
	note := doc["findings"].([]any)[2].(map[string]any)
	if diff := cmp.Diff([]any{}, note["related"]); diff != "" {
		t.Errorf("related of a finding without related patches (-want +got):\n%s", diff)
	}
	refused := doc["steps"].([]any)[2].(map[string]any)
	for _, key := range []string{"patched", "reverted", "disabled"} {
		if diff := cmp.Diff([]any{}, refused[key]); diff != "" {
			t.Errorf("%s of the refused step (-want +got):\n%s", key, diff)
		}
	}
}

func TestCheckJSONAbsentValuesAreNull(t *testing.T) {
	doc := decodeJSON(t, writeJSONTo, fullCheck())
	findings := doc["findings"].([]any)
	steps := doc["steps"].([]any)
	errs := doc["errors"].([]any)

	tests := []struct {
		name string
		got  any
		want any
	}{
		{"schema_version", doc["schema_version"], 1.0},
		{"counts", doc["counts"], map[string]any{"error": 1.0, "warning": 3.0, "note": 1.0, "suppressed": 0.0}},
		{"sympos 0 of a finding", findings[0].(map[string]any)["sympos"], 0.0},
		{"sympos of a finding without one", findings[2].(map[string]any)["sympos"], nil},
		{"function of an object finding", findings[3].(map[string]any)["function"], nil},
		{"object of a module finding", findings[2].(map[string]any)["object"], nil},
		{"path of a live finding", findings[4].(map[string]any)["path"], nil},
		{"step of a live finding", findings[4].(map[string]any)["step"], nil},
		{"step of a plan finding", findings[1].(map[string]any)["step"], 2.0},
		{"related without path or note", findings[1].(map[string]any)["related"].([]any)[1], map[string]any{"module": "klpc_base", "path": nil, "note": nil}},
		{"index of a live step", steps[0].(map[string]any)["index"], nil},
		{"index of a plan step", steps[1].(map[string]any)["index"], 1.0},
		{"errno of a loaded step", steps[1].(map[string]any)["errno"], nil},
		{"errno of a refused step", steps[2].(map[string]any)["errno"], "EINVAL"},
		{"refused_by of a refused step", steps[2].(map[string]any)["refused_by"], "set-conflict"},
		{"reverted function", steps[1].(map[string]any)["reverted"], []any{map[string]any{"object": "vmlinux", "function": "meminfo_proc_show", "sympos": 0.0, "module": "klpc_base"}}},
		{"mode", steps[3].(map[string]any)["mode"], map[string]any{"replace": false, "value": 3.0, "source": "assumed"}},
		{"error with offset", errs[0], map[string]any{
			"file": "modules/broken.ko", "section": ".klp.rela.vmlinux..text", "offset": 24.0, "line": nil,
			"reason": "read klp relocations: section .klp.rela.vmlinux..text+0x18: symbol index 912 out of range (812 symbols)",
		}},
		{"error without section", errs[1], map[string]any{"file": "modules/empty.ko", "section": nil, "offset": nil, "line": nil, "reason": "read ELF header: unexpected EOF"}},
		{"error at a line", errs[2], map[string]any{
			"file": "targets/System.map", "section": nil, "offset": nil, "line": 7.0,
			"reason": `line 7: invalid address "ffffffff8100zz00", want up to 16 hexadecimal digits`,
		}},
		{"error at a file offset", errs[3], map[string]any{
			"file": "modules/short.ko", "section": nil, "offset": 6144.0, "line": nil,
			"reason": "read ELF header: section header table [0x1800, +0x980) extends past end of file (3000 bytes)",
		}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

// sarifSchema compiles the SARIF 2.1.0 schema kept in testdata/sarif, with
// format assertions on so that URIs are checked too.
func sarifSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	compiler := jsonschema.NewCompiler()
	compiler.AssertFormat()
	schema, err := compiler.Compile(filepath.Join("testdata", "sarif", "sarif-schema-2.1.0.json"))
	if err != nil {
		t.Fatalf("compile SARIF schema: %v", err)
	}
	return schema
}

// validateSARIF fails the test unless out matches the SARIF 2.1.0 schema.
func validateSARIF(t *testing.T, out []byte) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if err := sarifSchema(t).Validate(doc); err != nil {
		t.Errorf("output does not match the SARIF 2.1.0 schema: %v", err)
	}
}

func TestCheckSARIFMatchesSchema(t *testing.T) {
	for _, tc := range checkCases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteCheckSARIF(&buf, tc.check()); err != nil {
				t.Fatal(err)
			}
			validateSARIF(t, buf.Bytes())
		})
	}
}

func TestSARIFSchemaRejectsInvalidLogs(t *testing.T) {
	schema := sarifSchema(t)

	// A level outside the SARIF enum and a relative informationUri are
	// both invalid, so the schema test can fail.
	broken := map[string]func(run map[string]any){
		"result level": func(run map[string]any) {
			run["results"].([]any)[0].(map[string]any)["level"] = "fatal"
		},
		"informationUri": func(run map[string]any) {
			run["tool"].(map[string]any)["driver"].(map[string]any)["informationUri"] = "klpcheck"
		},
	}
	for name, breakRun := range broken {
		var buf bytes.Buffer
		if err := WriteCheckSARIF(&buf, fullCheck()); err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(&buf)
		if err != nil {
			t.Fatal(err)
		}
		breakRun(doc.(map[string]any)["runs"].([]any)[0].(map[string]any))
		if err := schema.Validate(doc); err == nil {
			t.Errorf("schema accepted SARIF with an invalid %s", name)
		}
	}
}

func TestCheckSARIFListsEveryRule(t *testing.T) {
	doc := decodeJSON(t, writeSARIFTo, emptyCheck())
	run := doc["runs"].([]any)[0].(map[string]any)
	driver := run["tool"].(map[string]any)["driver"].(map[string]any)

	var got []string
	for _, r := range driver["rules"].([]any) {
		rule := r.(map[string]any)
		got = append(got, rule["id"].(string)+" "+rule["defaultConfiguration"].(map[string]any)["level"].(string))
	}
	want := []string{"KLP0101 error", "KLP0105 note", "KLP0204 error", "KLP0230 warning", "KLP0301 warning", "KLP0602 warning"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("driver rules (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]any{}, run["results"]); diff != "" {
		t.Errorf("results of a clean run (-want +got):\n%s", diff)
	}
}

func TestCheckSARIFResults(t *testing.T) {
	doc := decodeJSON(t, writeSARIFTo, fullCheck())
	run := doc["runs"].([]any)[0].(map[string]any)
	rules := run["tool"].(map[string]any)["driver"].(map[string]any)["rules"].([]any)
	results := run["results"].([]any)

	type summary struct {
		RuleID  string
		Level   string
		Message string
		URI     string
		Logical []string
	}
	var got []summary
	for i, r := range results {
		result := r.(map[string]any)
		index := int(result["ruleIndex"].(float64))
		if id := rules[index].(map[string]any)["id"]; id != result["ruleId"] {
			t.Errorf("result %d: ruleIndex %d points at %v, want %v", i, index, id, result["ruleId"])
		}

		s := summary{
			RuleID:  result["ruleId"].(string),
			Level:   result["level"].(string),
			Message: result["message"].(map[string]any)["text"].(string),
		}
		loc := result["locations"].([]any)[0].(map[string]any)
		if phys, ok := loc["physicalLocation"].(map[string]any); ok {
			s.URI = phys["artifactLocation"].(map[string]any)["uri"].(string)
		}
		for _, l := range loc["logicalLocations"].([]any) {
			ll := l.(map[string]any)
			s.Logical = append(s.Logical, ll["kind"].(string)+" "+ll["fullyQualifiedName"].(string))
		}
		got = append(got, s)
	}

	want := []summary{
		{
			RuleID:  "KLP0301",
			Level:   "warning",
			Message: "replace set 1 replaces klpc_base, so meminfo_proc_show returns to the original code (related: klpc_base: its fix of meminfo_proc_show is lost)",
			URI:     "modules/klpc_overlap_a.ko",
			Logical: []string{"module vmlinux", "function vmlinux:meminfo_proc_show,0"},
		},
		{
			RuleID:  "KLP0204",
			Level:   "error",
			Message: "cmdline_proc_show is patched in replace set 1 and in replace set 2, so insmod fails with EINVAL (related: [klpc_overlap_a](1): patches cmdline_proc_show in replace set 1; klpc_base)",
			URI:     "modules/klpc_overlap_b.ko",
			Logical: []string{"module vmlinux", "function vmlinux:cmdline_proc_show,1"},
		},
		{
			RuleID:  "KLP0105",
			Level:   "note",
			Message: "klpc_fs does not state its replace set, so the simulation assumes replace set 3",
			URI:     "modules/sub%20dir/klpc_fs.ko.xz",
		},
		{
			RuleID:  "KLP0230",
			Level:   "warning",
			Message: "object nfs is not loaded on the host, so nfs_fs_mount is patched only when nfs loads",
			URI:     "modules/sub%20dir/klpc_fs.ko.xz",
			Logical: []string{"module nfs"},
		},
		{
			RuleID:  "KLP0602",
			Level:   "warning",
			Message: "klpc_base: klpc_base is still in transition on the host, so the first load fails with EBUSY until it completes",
			URI:     "plans/rollout.yaml",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

func TestCheckSARIFWithoutAnyFile(t *testing.T) {
	c := fullCheck()
	c.PlanPath = ""
	doc := decodeJSON(t, writeSARIFTo, c)
	live := doc["runs"].([]any)[0].(map[string]any)["results"].([]any)[4].(map[string]any)
	if diff := cmp.Diff([]any{}, live["locations"]); diff != "" {
		t.Errorf("locations of a live finding without a plan file (-want +got):\n%s", diff)
	}
}

func TestCheckSARIFUnknownRule(t *testing.T) {
	c := emptyCheck()
	c.Result.Findings = []conflict.Finding{{
		RuleID:   "KLP0999",
		Rule:     "future-rule",
		Severity: conflict.SeverityNote,
		Message:  "a finding of a rule that the registry lacks",
		Module:   "klpc_a",
		Path:     "klpc_a.ko",
	}}
	doc := decodeJSON(t, writeSARIFTo, c)
	run := doc["runs"].([]any)[0].(map[string]any)
	rules := run["tool"].(map[string]any)["driver"].(map[string]any)["rules"].([]any)
	result := run["results"].([]any)[0].(map[string]any)

	if got, want := result["ruleIndex"], float64(len(checkRules())); got != want {
		t.Fatalf("ruleIndex = %v, want %v, the index of an appended descriptor", got, want)
	}
	last := rules[len(rules)-1].(map[string]any)
	if last["id"] != "KLP0999" || last["name"] != "future-rule" {
		t.Errorf("appended descriptor has id %v and name %v, want KLP0999 and future-rule", last["id"], last["name"])
	}
}

func TestSARIFArtifact(t *testing.T) {
	tests := []struct {
		path string
		want sarifArtifactLocation
	}{
		{"modules/klpc_a.ko", sarifArtifactLocation{URI: "modules/klpc_a.ko", URIBaseID: "%SRCROOT%"}},
		{"./modules/klpc_a.ko", sarifArtifactLocation{URI: "modules/klpc_a.ko", URIBaseID: "%SRCROOT%"}},
		{"modules//sub/../klpc_a.ko", sarifArtifactLocation{URI: "modules/klpc_a.ko", URIBaseID: "%SRCROOT%"}},
		{"sub dir/klpc#1.ko", sarifArtifactLocation{URI: "sub%20dir/klpc%231.ko", URIBaseID: "%SRCROOT%"}},
		{"odd:name/klpc_a.ko", sarifArtifactLocation{URI: "./odd:name/klpc_a.ko", URIBaseID: "%SRCROOT%"}},
		{"../out/klpc_a.ko", sarifArtifactLocation{URI: "../out/klpc_a.ko", URIBaseID: "%SRCROOT%"}},
		{"/srv/modules/klpc a.ko", sarifArtifactLocation{URI: "file:///srv/modules/klpc%20a.ko"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, sarifArtifact(tt.path)); diff != "" {
			t.Errorf("sarifArtifact(%q) (-want +got):\n%s", tt.path, diff)
		}
	}
}

func TestCheckWriteErrors(t *testing.T) {
	c := fullCheck()
	for _, format := range CheckFormats() {
		counter := &failingWriter{okWrites: math.MaxInt}
		if err := WriteCheck(counter, format, c); err != nil {
			t.Fatalf("%s: WriteCheck: %v", format, err)
		}

		// Fail each write in turn, which for text covers every section.
		for ok := 0; ok < counter.calls; ok++ {
			err := WriteCheck(&failingWriter{okWrites: ok}, format, c)
			if !errors.Is(err, errInjected) {
				t.Fatalf("%s: write %d of %d failing: got error %v, want %v", format, ok+1, counter.calls, err, errInjected)
			}
		}
	}
}

func TestWriteCheckUnsupportedFormat(t *testing.T) {
	err := WriteCheck(&bytes.Buffer{}, Format("xml"), Check{})
	want := `check: unsupported format "xml" (want text, json, sarif or github)`
	if err == nil || err.Error() != want {
		t.Errorf("WriteCheck(xml) error = %v, want %q", err, want)
	}
}

func TestModeText(t *testing.T) {
	tests := []struct {
		semantics conflict.Semantics
		mode      conflict.Mode
		want      string
	}{
		{conflict.Mainline, conflict.Mode{Replace: true, Source: "init-code"}, "replace (from init-code)"},
		{conflict.Mainline, conflict.Mode{Replace: false, Source: "flag"}, "no replace (from flag)"},
		{conflict.Mainline, conflict.Mode{Replace: true, Source: "assumed"}, "replace (assumed)"},
		{conflict.Tag, conflict.Mode{Value: 0, Source: "plan"}, "no replace (tag 0) (from plan)"},
		{conflict.Tag, conflict.Mode{Value: 7, Source: "data"}, "replace tag 7 (from data)"},
		{conflict.ReplaceSet, conflict.Mode{Value: 0, Source: "module-param"}, "replace set 0 (from module-param)"},
		{conflict.ReplaceSet, conflict.Mode{Value: 2, Source: "live"}, "replace set 2 (from live)"},
		{"", conflict.Mode{Replace: true, Value: 1, Source: "flag"}, "replace true, value 1 (from flag)"},
		// A live patch on a kernel without the replace attribute.
		{conflict.Mainline, conflict.Mode{}, "replace mode unknown"},
	}
	for _, tt := range tests {
		if got := modeText(tt.semantics, tt.mode); got != tt.want {
			t.Errorf("modeText(%q, %+v) = %q, want %q", tt.semantics, tt.mode, got, tt.want)
		}
	}
}

func TestWriteWrapped(t *testing.T) {
	word := strings.Repeat("w", 9) // ten columns with its space
	line := strings.TrimSpace(strings.Repeat(word+" ", textWidth/10))
	long := strings.Repeat("x", textWidth+5)
	tests := []struct {
		name, first, indent, text, want string
	}{
		{"empty", "- ", "  ", "", "- \n"},
		{"fits", "- ", "  ", "one two three", "- one two three\n"},
		{"spaces collapse", "", "", "  spaced   out  ", "spaced out\n"},
		{"exactly one line", "", "    ", line, line + "\n"},
		{"first line shorter", "--", "", line, "--" + strings.TrimSuffix(line, " "+word) + "\n" + word + "\n"},
		{"long word alone", "> ", "  ", "a " + long + " b", "> a\n  " + long + "\n  b\n"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		out := &errWriter{w: &buf}
		writeWrapped(out, tt.first, tt.indent, tt.text)
		if out.err != nil {
			t.Fatalf("%s: %v", tt.name, out.err)
		}
		if diff := cmp.Diff(tt.want, buf.String()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}
