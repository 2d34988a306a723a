package conflict

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Rule is one check with a stable identity and its documentation, kept in
// code so that `klpcheck rules`, `klpcheck explain` and SARIF all read the
// same text.
type Rule struct {
	// ID is KLP followed by four digits. IDs are never reused.
	ID string
	// Name is the kebab-case name users write in plans and suppressions.
	Name string
	// Severity is the default severity. A few rules lower or raise it per
	// finding, as their Doc describes.
	Severity Severity
	// Title is a one-line lowercase summary without a final period.
	Title string
	// Doc says what the rule detects; Kernel the kernel behaviour behind it,
	// with the kernel version; Fix how to resolve a finding. Kernel is empty
	// for the gate rules, which check klpcheck's own configuration.
	Doc    string
	Kernel string
	Fix    string
	// Semantics lists the replace semantics the rule runs under; empty
	// means all of them.
	Semantics []Semantics

	// The checks, called by Check at four points of the simulation. A rule
	// sets one or more of them.
	//
	// checkModule runs once per module to be loaded, before the load, on
	// the module alone.
	checkModule func(p *pass, c *candidate)
	// checkLoad runs once per module to be loaded, before the load, against
	// the simulated patch list.
	checkLoad func(p *pass, c *candidate)
	// checkEffect runs after a load that succeeds, with what it changed.
	checkEffect func(p *pass, e *effect)
	// checkFinal runs once on the state at the end of the plan.
	checkFinal func(p *pass)

	// gate is set for the KLP07xx rules, which have no check. Their
	// findings come from ApplySuppressions and ApplyBaseline, after Check.
	gate bool
}

// appliesTo reports whether the rule runs under sem.
func (r *Rule) appliesTo(sem Semantics) bool {
	return len(r.Semantics) == 0 || slices.Contains(r.Semantics, sem)
}

// Explanation returns the text `klpcheck explain` prints: the heading, the
// title, and the Doc, Kernel and Fix paragraphs under their own headings.
func (r *Rule) Explanation() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s (%s)\n\n%s\n\n", r.ID, r.Name, r.Severity, r.Title)
	fmt.Fprintf(&b, "What it detects\n\n%s\n\n", r.Doc)
	if r.Kernel != "" {
		fmt.Fprintf(&b, "Kernel behaviour\n\n%s\n\n", r.Kernel)
	}
	fmt.Fprintf(&b, "How to fix it\n\n%s\n", r.Fix)
	if len(r.Semantics) > 0 {
		names := make([]string, len(r.Semantics))
		for i, s := range r.Semantics {
			names[i] = string(s)
		}
		fmt.Fprintf(&b, "\nRuns under the %s semantics.\n", strings.Join(names, " and "))
	}
	return b.String()
}

// ruleNamePattern allows a dot inside a word for a version, as in
// pre-5.1-api.
var (
	ruleIDPattern   = regexp.MustCompile(`^KLP[0-9]{4}$`)
	ruleNamePattern = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+(\.[a-z0-9]+)*)*$`)
)

// maxTitleLen is the longest title that fits one line of `klpcheck rules`
// next to the ID and the name.
const maxTitleLen = 72

// Validate checks every registered rule: unique, well-formed IDs and names,
// a lowercase title, the three documentation paragraphs, and at least one
// check. A gate rule has no check and may leave out Kernel, and only gate
// rules have KLP07xx IDs. It returns every problem found, joined.
func Validate() error {
	return validateRules(registry)
}

// validateRules checks rules as Validate describes.
func validateRules(rules []*Rule) error {
	var errs []error
	ids := map[string]bool{}
	names := map[string]bool{}

	for i, r := range rules {
		label := r.ID
		if label == "" {
			label = fmt.Sprintf("rule %d", i)
		}
		bad := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s: %s", label, fmt.Sprintf(format, args...)))
		}

		if !ruleIDPattern.MatchString(r.ID) {
			bad("invalid ID %q: want KLP and four digits", r.ID)
		}
		if ids[r.ID] {
			bad("duplicate ID")
		}
		ids[r.ID] = true

		if !ruleNamePattern.MatchString(r.Name) {
			bad("invalid name %q: want kebab-case", r.Name)
		}
		if names[r.Name] {
			bad("duplicate name %q", r.Name)
		}
		names[r.Name] = true

		if r.Severity < SeverityNote || r.Severity > SeverityError {
			bad("invalid default severity %d", r.Severity)
		}
		switch {
		case r.Title == "":
			bad("missing title")
		case len(r.Title) > maxTitleLen:
			bad("title longer than %d bytes", maxTitleLen)
		case strings.ToLower(r.Title[:1]) != r.Title[:1] || strings.HasSuffix(r.Title, "."):
			bad("title %q must start lowercase and end without a period", r.Title)
		}
		for _, doc := range []struct{ field, text string }{{"Doc", r.Doc}, {"Kernel", r.Kernel}, {"Fix", r.Fix}} {
			if doc.field == "Kernel" && r.gate && doc.text == "" {
				continue
			}
			if strings.TrimSpace(doc.text) == "" {
				bad("missing %s", doc.field)
			} else if !strings.HasSuffix(strings.TrimSpace(doc.text), ".") {
				bad("%s must end with a full sentence", doc.field)
			}
		}
		for _, s := range r.Semantics {
			if !s.Valid() {
				bad("unknown semantics %q", s)
			}
		}
		hasCheck := r.checkModule != nil || r.checkLoad != nil || r.checkEffect != nil || r.checkFinal != nil
		switch {
		case r.gate && hasCheck:
			bad("a gate rule must have no check function")
		case !r.gate && !hasCheck:
			bad("no check function")
		case r.gate != strings.HasPrefix(r.ID, gateIDPrefix):
			bad("IDs %sxx are for the gate rules, and only for them", gateIDPrefix)
		}
	}
	return errors.Join(errs...)
}
