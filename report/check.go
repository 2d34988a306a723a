package report

import (
	"fmt"
	"io"
	"path"
	"path/filepath"

	"github.com/klpcheck/klpcheck/conflict"
	"github.com/klpcheck/klpcheck/livepatch"
)

// FormatSARIF is SARIF 2.1.0, for GitHub code scanning and other SARIF
// viewers. Only klpcheck check writes it.
const FormatSARIF Format = "sarif"

// Check is the input of the check renderers: the outcome of simulating a
// plan and what happened to each input file.
type Check struct {
	// Result is the simulation outcome. Its findings are rendered in the
	// order given, which package conflict has already sorted.
	Result conflict.Result
	// Skipped lists the files left out on purpose, in input order.
	Skipped []Skip
	// Errors lists the files that could not be analysed, in input order.
	Errors []InputError
	// Rules is the whole rule registry, as conflict.Rules returns it. SARIF
	// output describes every rule, not only those that fired.
	Rules []*conflict.Rule

	// Version is the klpcheck version written to SARIF tool.driver.version;
	// it is left out when empty.
	Version string
	// Target is the target kernel the modules were checked against, or nil
	// when no target input was given.
	Target *TargetInfo
	// Kernel is the target kernel release the run took from --kernel, the
	// plan, a live snapshot or a target input. KernelFrom names the source.
	// Both are empty when none gave a release.
	Kernel     string
	KernelFrom string
	// PlanPath is the plan file, if any. SARIF output uses it as the location
	// of findings that have no module file, because GitHub code scanning
	// rejects results without a location.
	PlanPath string
	// LivePath is the live snapshot directory, if any. Without a plan file,
	// its proc/modules file is the location of such findings.
	LivePath string
}

// findingFile returns the file a finding is placed on: its module file,
// else the plan file, else the file of the first related patch that has
// one, else the live snapshot's proc/modules, else nothing.
func (c Check) findingFile(f conflict.Finding) string {
	if f.Path != "" {
		return f.Path
	}
	if c.PlanPath != "" {
		return c.PlanPath
	}
	for _, r := range f.Related {
		if r.Path != "" {
			return r.Path
		}
	}
	if c.LivePath != "" {
		return path.Join(filepath.ToSlash(c.LivePath), "proc", "modules")
	}
	return ""
}

// CheckFormats returns the formats that WriteCheck accepts.
func CheckFormats() []Format {
	return []Format{FormatText, FormatJSON, FormatSARIF, FormatGitHub}
}

// WriteCheck renders c to w in the given format and returns the first write
// error.
func WriteCheck(w io.Writer, format Format, c Check) error {
	switch format {
	case FormatText:
		return WriteCheckText(w, c)
	case FormatJSON:
		return WriteCheckJSON(w, c)
	case FormatSARIF:
		return WriteCheckSARIF(w, c)
	case FormatGitHub:
		return WriteCheckGitHub(w, c)
	}
	return fmt.Errorf("check: unsupported format %q (want text, json, sarif or github)", format)
}

// findingFunction returns the function a finding is about in the form
// "object:function,sympos" that kpatch and sysfs use. It leaves out the
// sympos when the finding has none, and returns only the object for a
// finding about a whole object, or "" when the finding names no object.
func findingFunction(f conflict.Finding) string {
	return livepatch.FuncName(f.Object, f.Function, f.Sympos, f.HasSympos)
}

// severityCounts counts the findings of each severity that are not
// suppressed, which are those that --fail-on looks at.
func severityCounts(findings []conflict.Finding) map[conflict.Severity]int {
	counts := make(map[conflict.Severity]int)
	for _, f := range findings {
		if f.Suppressed == nil {
			counts[f.Severity]++
		}
	}
	return counts
}

// suppressedCount counts the suppressed findings.
func suppressedCount(findings []conflict.Finding) int {
	n := 0
	for _, f := range findings {
		if f.Suppressed != nil {
			n++
		}
	}
	return n
}
