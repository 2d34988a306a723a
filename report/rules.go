package report

import (
	"io"
	"strings"
	"text/tabwriter"

	"github.com/klpcheck/klpcheck/conflict"
)

// WriteRules writes one line per rule for klpcheck rules, in the order
// given: ID, default severity, name and title in aligned columns, for
// example "KLP0201  warning  func-overlap  two patches replace the same
// function".
func WriteRules(w io.Writer, rules []*conflict.Rule) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	out := &errWriter{w: tw}
	for _, r := range rules {
		out.printf("%s\t%s\t%s\t%s\n", displayString(r.ID), r.Severity, displayString(r.Name), displayString(r.Title))
	}
	if out.err != nil {
		return out.err
	}
	return tw.Flush()
}

// WriteExplain writes the full documentation of one rule for klpcheck
// explain: the ID, name and title, the default severity, the semantics it
// runs under, then what it detects, the kernel behaviour behind it and how
// to fix a finding, each wrapped to 100 columns.
func WriteExplain(w io.Writer, r *conflict.Rule) error {
	out := &errWriter{w: w}

	writeWrapped(out, "", "  ", displayString(r.ID)+" "+displayString(r.Name)+": "+displayString(r.Title))
	out.printf("Default severity: %s\n", r.Severity)
	out.printf("Semantics: %s\n", ruleSemanticsText(r))

	for _, section := range ruleSections(r) {
		out.printf("\n%s\n", section.title)
		writeDoc(out, "  ", section.text)
	}
	return out.err
}

// ruleSection is one titled paragraph group of a rule's documentation.
type ruleSection struct {
	title string
	text  string
}

// ruleSections returns the documentation sections of r that are not empty,
// in the order explain and SARIF help show them.
func ruleSections(r *conflict.Rule) []ruleSection {
	var sections []ruleSection
	for _, s := range []ruleSection{
		{"What it detects", r.Doc},
		{"Kernel behaviour", r.Kernel},
		{"How to fix it", r.Fix},
	} {
		if strings.TrimSpace(s.text) != "" {
			sections = append(sections, s)
		}
	}
	return sections
}

// ruleSemanticsText names the replace semantics a rule runs under.
func ruleSemanticsText(r *conflict.Rule) string {
	if len(r.Semantics) == 0 {
		return "all"
	}
	names := make([]string, len(r.Semantics))
	for i, s := range r.Semantics {
		names[i] = displayString(string(s))
	}
	return strings.Join(names, ", ")
}

// writeDoc writes documentation text reflowed to textWidth columns, each
// line prefixed by indent. Paragraphs stay separated by a blank line, and
// list items keep a hanging indent under their "- ".
func writeDoc(out *errWriter, indent string, text string) {
	for i, para := range docParagraphs(text) {
		if i > 0 {
			out.printf("\n")
		}
		for _, item := range para {
			if rest, ok := strings.CutPrefix(item, "- "); ok {
				writeWrapped(out, indent+"- ", indent+"  ", displayString(rest))
				continue
			}
			writeWrapped(out, indent, indent, displayString(item))
		}
	}
}

// docParagraphs splits rule documentation into paragraphs at blank lines,
// and each paragraph into items. A line that starts with "- " begins a new
// list item; any other line continues the current item. The lines of an
// item are joined with single spaces, because rule texts are wrapped by
// hand in the source and every output wraps them again or not at all.
func docParagraphs(text string) [][]string {
	var paragraphs [][]string
	var items []string
	var item []string

	endItem := func() {
		if len(item) > 0 {
			items = append(items, strings.Join(item, " "))
			item = nil
		}
	}
	endParagraph := func() {
		endItem()
		if len(items) > 0 {
			paragraphs = append(paragraphs, items)
			items = nil
		}
	}

	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			endParagraph()
		case strings.HasPrefix(line, "- "):
			endItem()
			item = []string{line}
		default:
			item = append(item, line)
		}
	}
	endParagraph()
	return paragraphs
}
