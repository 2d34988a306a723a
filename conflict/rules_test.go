package conflict

import (
	"slices"
	"strings"
	"testing"

	"github.com/klpcheck/klpcheck/livepatch"
)

func TestValidateRegistry(t *testing.T) {
	if err := Validate(); err != nil {
		t.Fatalf("Validate() = %v", err)
	}
}

func TestValidateRejectsBadRules(t *testing.T) {
	check := func(*pass) {}
	good := func() *Rule {
		return &Rule{
			ID: "KLP9901", Name: "good-rule", Severity: SeverityWarning,
			Title: "a title", Doc: "Detects.", Kernel: "Behaves.", Fix: "Fix it.",
			checkFinal: check,
		}
	}
	tests := []struct {
		name   string
		modify func(r *Rule)
		want   string
	}{
		{"bad ID", func(r *Rule) { r.ID = "KLP12" }, `invalid ID "KLP12"`},
		{"lowercase ID", func(r *Rule) { r.ID = "klp9901" }, `invalid ID "klp9901"`},
		{"camel name", func(r *Rule) { r.Name = "goodRule" }, `invalid name "goodRule"`},
		{"trailing dash", func(r *Rule) { r.Name = "good-" }, `invalid name "good-"`},
		{"no severity", func(r *Rule) { r.Severity = SeverityNone }, "invalid default severity"},
		{"capital title", func(r *Rule) { r.Title = "A title" }, "must start lowercase"},
		{"title period", func(r *Rule) { r.Title = "a title." }, "end without a period"},
		{"long title", func(r *Rule) { r.Title = strings.Repeat("a", maxTitleLen+1) }, "title longer than"},
		{"no doc", func(r *Rule) { r.Doc = " " }, "missing Doc"},
		{"no kernel", func(r *Rule) { r.Kernel = "" }, "missing Kernel"},
		{"fix fragment", func(r *Rule) { r.Fix = "rebuild" }, "Fix must end with a full sentence"},
		{"bad semantics", func(r *Rule) { r.Semantics = []Semantics{"bool"} }, `unknown semantics "bool"`},
		{"no check", func(r *Rule) { r.checkFinal = nil }, "no check function"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good()
			tt.modify(r)
			err := validateRules([]*Rule{r})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("validateRules() = %v, want an error containing %q", err, tt.want)
			}
		})
	}

	t.Run("duplicates", func(t *testing.T) {
		err := validateRules([]*Rule{good(), good()})
		if err == nil || !strings.Contains(err.Error(), "duplicate ID") || !strings.Contains(err.Error(), `duplicate name "good-rule"`) {
			t.Errorf("validateRules() = %v, want duplicate ID and name errors", err)
		}
	})
	t.Run("good", func(t *testing.T) {
		if err := validateRules([]*Rule{good()}); err != nil {
			t.Errorf("validateRules() = %v, want nil", err)
		}
	})
}

func TestRulesSortedAndComplete(t *testing.T) {
	var ids, names []string
	for _, r := range Rules() {
		ids = append(ids, r.ID)
		names = append(names, r.Name)
	}
	if !slices.IsSorted(ids) {
		t.Errorf("Rules() IDs not sorted: %v", ids)
	}

	wantIDs := []string{
		"KLP0101 metadata-invalid", "KLP0102 duplicate-object", "KLP0103 duplicate-func",
		"KLP0104 object-name-invalid", "KLP0105 klp-reloc-invalid", "KLP0106 replace-unknown",
		"KLP0107 vermagic-differs", "KLP0108 patch-srcversion-mismatch", "KLP0201 func-overlap", "KLP0202 override-cumulative",
		"KLP0203 stack-order-dependent", "KLP0204 set-conflict", "KLP0301 replace-reverts",
		"KLP0302 replace-disables", "KLP0303 empty-replace", "KLP0304 sympos-zero-one",
		"KLP0401 state-incompatible", "KLP0402 state-set-conflict", "KLP0501 module-name-clash",
		"KLP0502 transition-busy", "KLP0601 symbol-not-found", "KLP0602 symbol-ambiguous",
		"KLP0603 sympos-out-of-range", "KLP0604 sympos-first-of-many", "KLP0605 not-ftraceable",
		"KLP0606 unexported-symbol", "KLP0607 crc-mismatch", "KLP0608 vermagic-mismatch",
		"KLP0609 no-livepatch-support", "KLP0610 object-not-in-target", "KLP0611 object-not-loaded",
		"KLP0612 target-srcversion-mismatch", "KLP0613 pre-5.1-api", "KLP0614 namespace-not-imported",
		"KLP0701 suppression-invalid", "KLP0702 suppression-stale",
		"KLP0703 baseline-stale",
	}
	var got []string
	for i := range ids {
		got = append(got, ids[i]+" "+names[i])
	}
	if !slices.Equal(wantIDs, got) {
		t.Errorf("Rules() = %q, want %q", got, wantIDs)
	}
}

func TestRulesReturnsCopy(t *testing.T) {
	rules := Rules()
	rules[0] = nil
	if Rules()[0] == nil {
		t.Error("changing the slice from Rules() changed the registry")
	}
}

func TestLookupRule(t *testing.T) {
	for _, key := range []string{"KLP0201", "klp0201", "func-overlap", "FUNC-OVERLAP"} {
		r, ok := LookupRule(key)
		if !ok || r.ID != "KLP0201" {
			t.Errorf("LookupRule(%q) = %v, %v; want KLP0201", key, r, ok)
		}
	}
	if r, ok := LookupRule("KLP0999"); ok {
		t.Errorf("LookupRule(KLP0999) = %v, want not found", r.ID)
	}
}

func TestExplanationSections(t *testing.T) {
	r, _ := LookupRule("sympos-zero-one")
	text := r.Explanation()
	for _, part := range []string{
		"KLP0304 sympos-zero-one (error)\n",
		"\nWhat it detects\n\n",
		"\nKernel behaviour\n\n",
		"\nHow to fix it\n\n",
		"Runs under the mainline semantics.",
		"139560e8b973",
	} {
		if !strings.Contains(text, part) {
			t.Errorf("Explanation() lacks %q:\n%s", part, text)
		}
	}
}

func TestParseSemantics(t *testing.T) {
	for _, name := range []string{"mainline", "tag", "replace-set"} {
		if s, err := ParseSemantics(name); err != nil || string(s) != name {
			t.Errorf("ParseSemantics(%q) = %q, %v", name, s, err)
		}
	}
	if _, err := ParseSemantics("replace_set"); err == nil || !strings.Contains(err.Error(), `invalid semantics "replace_set"`) {
		t.Errorf("ParseSemantics(replace_set) error = %v", err)
	}
}

func TestModeFromModule(t *testing.T) {
	tests := []struct {
		name      string
		replace   livepatch.Replace
		want      Mode
		wantKnown bool
	}{
		{"bool true", livepatch.Replace{Known: true, Value: 1, Width: 1, Source: livepatch.ReplaceFromData}, Mode{Replace: true, Value: 1, Source: "data"}, true},
		{"bool false", livepatch.Replace{Known: true, Value: 0, Width: 1, Source: livepatch.ReplaceFromInitCode}, Mode{Source: "init-code"}, true},
		{"replace set", livepatch.Replace{Known: true, Value: 16, Width: 4, Source: livepatch.ReplaceFromData}, Mode{Replace: true, Value: 16, Source: "data"}, true},
		{"unknown", livepatch.Replace{Source: livepatch.ReplaceUnknown}, Mode{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, known := ModeFromModule(&livepatch.Module{Replace: tt.replace})
			if got != tt.want || known != tt.wantKnown {
				t.Errorf("ModeFromModule() = %+v, %v; want %+v, %v", got, known, tt.want, tt.wantKnown)
			}
		})
	}
}

func TestTristateString(t *testing.T) {
	for v, want := range map[Tristate]string{Unknown: "unknown", Yes: "yes", No: "no"} {
		if got := v.String(); got != want {
			t.Errorf("Tristate(%d).String() = %q, want %q", v, got, want)
		}
	}
}
