package report

import (
	"bytes"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/klpcheck/klpcheck/conflict"
)

func TestRulesGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteRules(&buf, checkRules()); err != nil {
		t.Fatalf("WriteRules: %v", err)
	}
	compareGolden(t, filepath.Join("testdata", "check", "rules.text"), buf.Bytes())
}

func TestExplainGolden(t *testing.T) {
	for _, r := range checkRules()[:3] {
		var buf bytes.Buffer
		if err := WriteExplain(&buf, r); err != nil {
			t.Fatalf("WriteExplain(%s): %v", r.ID, err)
		}
		compareGolden(t, filepath.Join("testdata", "check", "explain-"+r.ID+".text"), buf.Bytes())
	}
}

func TestRulesWriteErrors(t *testing.T) {
	writers := map[string]func(w *failingWriter) error{
		"rules":   func(w *failingWriter) error { return WriteRules(w, checkRules()) },
		"explain": func(w *failingWriter) error { return WriteExplain(w, checkRules()[0]) },
	}
	for name, write := range writers {
		counter := &failingWriter{okWrites: math.MaxInt}
		if err := write(counter); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for ok := 0; ok < counter.calls; ok++ {
			if err := write(&failingWriter{okWrites: ok}); !errors.Is(err, errInjected) {
				t.Fatalf("%s: write %d of %d failing: got error %v, want %v", name, ok+1, counter.calls, err, errInjected)
			}
		}
	}
}

func TestDocParagraphs(t *testing.T) {
	text := `First paragraph,
wrapped by hand.

Second paragraph:
- item one,
  continued;
- item two.


Third.`
	want := [][]string{
		{"First paragraph, wrapped by hand."},
		{"Second paragraph:", "- item one, continued;", "- item two."},
		{"Third."},
	}
	if diff := cmp.Diff(want, docParagraphs(text)); diff != "" {
		t.Errorf("docParagraphs (-want +got):\n%s", diff)
	}
	if got := docParagraphs("  \n\n "); got != nil {
		t.Errorf("docParagraphs of blank text = %q, want nil", got)
	}
}

func TestMarkdownEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text.", "plain text."},
		{"__klp_objects and *objs", `\_\_klp\_objects and \*objs`},
		{"a [link](1) <b> `code` #1 a|b ~x~ +1 !", "a \\[link\\](1) \\<b\\> \\`code\\` \\#1 a\\|b \\~x\\~ \\+1 \\!"},
		{`back\slash`, `back\\slash`},
	}
	for _, tt := range tests {
		if got := markdownEscape(tt.in); got != tt.want {
			t.Errorf("markdownEscape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRuleHelpMarkdown(t *testing.T) {
	want := "**KLP0101 metadata-invalid**: the klp\\_patch, klp\\_object or klp\\_func data is invalid\n\n" +
		"Default severity: error. Semantics: all.\n\n" +
		"**What it detects**\n\n" +
		"Reports livepatch metadata that klp\\_enable\\_patch rejects: a hand-written patch whose \\*objs pointer is NULL, or a klp-build module whose \\_\\_klp\\_objects section is empty.\n\n" +
		"The checks cover:\n" +
		"- a named object whose funcs pointer is NULL;\n" +
		"- a function whose old\\_name is KSYM\\_NAME\\_LEN bytes or longer, which is 512 from 6.1 and 128 before.\n\n" +
		"**Kernel behaviour**\n\n" +
		"klp\\_enable\\_patch (kernel/livepatch/core.c, 5.1 and later) returns -EINVAL, so insmod fails.\n\n" +
		"**How to fix it**\n\n" +
		"Rebuild the module with its producer."
	if diff := cmp.Diff(want, ruleHelpMarkdown(checkRules()[0])); diff != "" {
		t.Errorf("ruleHelpMarkdown (-want +got):\n%s", diff)
	}
}

// TestRegistryRules renders the real rule registry: SARIF must match the
// schema with every rule described, and explain must wrap every rule's
// documentation within the text width.
func TestRegistryRules(t *testing.T) {
	rules := conflict.Rules()
	if len(rules) == 0 {
		t.Skip("the conflict rule registry is empty")
	}

	var buf bytes.Buffer
	if err := WriteCheckSARIF(&buf, Check{Result: conflict.Result{Semantics: conflict.Mainline}, Rules: rules}); err != nil {
		t.Fatal(err)
	}
	validateSARIF(t, buf.Bytes())

	for _, r := range rules {
		buf.Reset()
		if err := WriteExplain(&buf, r); err != nil {
			t.Fatalf("WriteExplain(%s): %v", r.ID, err)
		}
		for i, line := range strings.Split(buf.String(), "\n") {
			if n := utf8.RuneCountInString(line); n > textWidth && strings.Contains(strings.TrimSpace(line), " ") {
				t.Errorf("explain %s: line %d has %d columns, want at most %d: %q", r.ID, i+1, n, textWidth, line)
			}
		}
	}
}
