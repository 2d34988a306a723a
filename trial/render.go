package trial

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is everything klpcheck trial prints for one sequence.
type Report struct {
	// Image is the kernel image that was booted.
	Image   string
	Release string
	// Boot and Total are wall times of the run (Outcome.Boot and Total).
	Boot, Total time.Duration
	Comparison
	// Notes are facts about the prediction, such as an assumption check
	// made, in the order they were found.
	Notes []string
}

// SchemaVersion is the version of the JSON output. It changes when a
// field is removed or changes meaning.
const SchemaVersion = 1

// WriteText writes r for a person to read.
func WriteText(w io.Writer, r Report) error {
	ew := &errWriter{w: w}
	ew.printf("Kernel: %s (%s), first report after %s, whole trial %s\n", r.Release, r.Image, seconds(r.Boot), seconds(r.Total))

	for _, s := range r.Steps {
		ew.printf("\nStep %d: %s\n", s.Index, actionText(s.Action))
		ew.printf("  kernel:     %s\n", kernelText(s.Kernel))
		if s.Predicted == nil {
			ew.printf("  predicted:  no prediction (check simulates livepatch loads only)\n")
		} else {
			ew.printf("  predicted:  %s\n", predictedText(*s.Predicted))
			ew.printf("  agrees:     %s\n", yesNo(*s.Agrees))
			for _, d := range s.Differences {
				ew.printf("    - %s\n", d)
			}
		}
		writeRefs(ew, "patched", s.Kernel.Patched)
		writeRefs(ew, "reverted", s.Kernel.Reverted)
		if len(s.Kernel.Disabled) > 0 {
			ew.printf("  disabled:   %s\n", strings.Join(s.Kernel.Disabled, " "))
		}
		if len(s.Kernel.Loaded) > 0 {
			ew.printf("  loaded first: %s\n", strings.Join(s.Kernel.Loaded, " "))
		}
		for _, line := range s.Kernel.Output {
			ew.printf("  output:     %s\n", line)
		}
		if len(s.Kernel.Messages) > 0 {
			ew.printf("  kernel messages:\n")
			for _, m := range s.Kernel.Messages {
				ew.printf("    %s\n", m)
			}
		}
		for _, p := range s.Kernel.Probes {
			if p.Error != "" {
				ew.printf("  %s: %s\n", p.Path, p.Error)
				continue
			}
			ew.printf("  %s: %s\n", p.Path, strings.Join(p.Lines, " | "))
		}
	}

	ew.printf("\n/sys/kernel/livepatch after the last step:\n")
	if len(r.Final.Patches) == 0 {
		ew.printf("  (empty)\n")
	}
	for _, p := range r.Final.Patches {
		ew.printf("  %s  enabled=%s transition=%s\n", p.Name, bit(p.Enabled), bit(p.Transition))
		for _, o := range p.Objects {
			ew.printf("    %s  patched=%s\n", o.Name, bit(o.Patched))
			for _, f := range o.Funcs {
				ew.printf("      %s,%d\n", f.Name, f.Sympos)
			}
		}
	}

	ew.printf("\nEffective functions:\n")
	writeEffective(ew, r.Effective, r.Predicted)
	for _, d := range r.EffectiveDifferences {
		ew.printf("  - %s\n", d)
	}

	if len(r.Notes) > 0 {
		ew.printf("\nNotes:\n")
		for _, n := range r.Notes {
			ew.printf("  - %s\n", n)
		}
	}

	ew.printf("\n%s\n", summary(r.Comparison))
	return ew.err
}

func writeRefs(ew *errWriter, label string, refs []FuncRef) {
	if len(refs) == 0 {
		return
	}
	parts := make([]string, len(refs))
	for i, r := range refs {
		parts[i] = r.String()
	}
	ew.printf("  %-11s %s\n", label+":", strings.Join(parts, " "))
}

// writeEffective prints the kernel's and the predicted map side by side.
func writeEffective(ew *errWriter, kernel, predicted []EffectiveFunc) {
	type row struct {
		object, function string
		sympos           uint64
		kernel, check    string
	}
	var rows []row
	find := func(e EffectiveFunc) int {
		for i, r := range rows {
			if r.object == e.Object && r.function == e.Function && r.sympos == e.Sympos {
				return i
			}
		}
		rows = append(rows, row{object: e.Object, function: e.Function, sympos: e.Sympos, kernel: "-", check: "-"})
		return len(rows) - 1
	}
	for _, e := range kernel {
		i := find(e)
		rows[i].kernel = e.Module
		if !e.Applied {
			rows[i].kernel += " (object not loaded)"
		}
	}
	for _, e := range predicted {
		rows[find(e)].check = e.Module
	}
	if len(rows) == 0 {
		ew.printf("  none: every function runs its original code\n")
		return
	}

	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  OBJECT\tFUNCTION\tSYMPOS\tKERNEL\tPREDICTED\n")
	for _, r := range rows {
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\n", r.object, r.function, r.sympos, r.kernel, r.check)
	}
	if err := tw.Flush(); err != nil && ew.err == nil {
		ew.err = err
	}
}

func summary(c Comparison) string {
	predicted, agreed := 0, 0
	for _, s := range c.Steps {
		if s.Agrees != nil {
			predicted++
			if *s.Agrees {
				agreed++
			}
		}
	}
	effective := "agrees with"
	if len(c.EffectiveDifferences) > 0 {
		effective = "differs from"
	}
	return fmt.Sprintf("Result: the kernel agreed with check on %d of %d predicted steps, and its effective function map %s the prediction.", agreed, predicted, effective)
}

func actionText(a Action) string {
	switch a.Kind {
	case ActionInsmod:
		return fmt.Sprintf("insmod %s (%s)", a.Module, a.Path)
	case ActionTarget:
		return "load target module " + a.Module
	case ActionDisable:
		return "disable " + a.Module
	}
	return "rmmod " + a.Module
}

func kernelText(k KernelResult) string {
	if k.Accepted {
		if k.TransitionTimeout {
			return "accepted, but the transition did not end in time"
		}
		return "accepted"
	}
	if k.Errno == "" {
		return fmt.Sprintf("refused (exit status %d)", k.ExitStatus)
	}
	return "refused with " + k.Errno
}

func predictedText(p PredictedResult) string {
	if p.Accepted {
		return "accepted"
	}
	return fmt.Sprintf("refused with %s (rule %s)", p.Errno, p.RefusedBy)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}

func bit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func seconds(d time.Duration) string {
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// errWriter keeps the first write error, so that a long sequence of
// prints checks it once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) {
	fmt.Fprintf(e, format, args...)
}

// JSON wire types. They are separate from the package's types so that the
// output only changes on purpose.
type (
	jsonReport struct {
		SchemaVersion        int             `json:"schema_version"`
		Kernel               jsonKernel      `json:"kernel"`
		BootSeconds          float64         `json:"boot_seconds"`
		TotalSeconds         float64         `json:"total_seconds"`
		Agrees               bool            `json:"agrees"`
		Steps                []jsonStep      `json:"steps"`
		Sysfs                []jsonPatch     `json:"sysfs"`
		Modules              []jsonModule    `json:"modules"`
		Effective            []jsonEffective `json:"effective"`
		PredictedEffective   []jsonEffective `json:"predicted_effective"`
		EffectiveDifferences []string        `json:"effective_differences"`
		Notes                []string        `json:"notes"`
	}
	jsonKernel struct {
		Image   string `json:"image"`
		Release string `json:"release"`
	}
	jsonStep struct {
		Index       int            `json:"index"`
		Action      string         `json:"action"`
		Module      string         `json:"module"`
		Path        string         `json:"path,omitempty"`
		Kernel      jsonKernelStep `json:"kernel"`
		Predicted   *jsonPredicted `json:"predicted"`
		Agrees      *bool          `json:"agrees"`
		Differences []string       `json:"differences"`
	}
	jsonKernelStep struct {
		Accepted          bool        `json:"accepted"`
		Errno             string      `json:"errno"`
		ExitStatus        int         `json:"exit_status"`
		Messages          []string    `json:"messages"`
		Output            []string    `json:"output"`
		Loaded            []string    `json:"loaded"`
		TransitionTimeout bool        `json:"transition_timeout"`
		Patched           []jsonFunc  `json:"patched"`
		Reverted          []jsonFunc  `json:"reverted"`
		Disabled          []string    `json:"disabled"`
		Probes            []jsonProbe `json:"probes"`
	}
	jsonPredicted struct {
		Accepted  bool       `json:"accepted"`
		Errno     string     `json:"errno"`
		RefusedBy string     `json:"refused_by"`
		Patched   []jsonFunc `json:"patched"`
		Reverted  []jsonFunc `json:"reverted"`
		Disabled  []string   `json:"disabled"`
	}
	jsonFunc struct {
		Object   string `json:"object"`
		Function string `json:"function"`
		Sympos   uint64 `json:"sympos"`
		Module   string `json:"module,omitempty"`
	}
	jsonProbe struct {
		Path  string   `json:"path"`
		Lines []string `json:"lines"`
		Error string   `json:"error,omitempty"`
	}
	jsonPatch struct {
		Name       string       `json:"name"`
		Enabled    bool         `json:"enabled"`
		Transition bool         `json:"transition"`
		Objects    []jsonObject `json:"objects"`
	}
	jsonObject struct {
		Name      string         `json:"name"`
		Patched   bool           `json:"patched"`
		Functions []jsonSysfsFun `json:"functions"`
	}
	jsonSysfsFun struct {
		Name   string `json:"name"`
		Sympos uint64 `json:"sympos"`
	}
	jsonModule struct {
		Name   string `json:"name"`
		Taints string `json:"taints"`
	}
	jsonEffective struct {
		Object   string `json:"object"`
		Function string `json:"function"`
		Sympos   uint64 `json:"sympos"`
		Module   string `json:"module"`
		Applied  *bool  `json:"applied,omitempty"`
	}
)

// WriteJSON writes r as one JSON document. Lists are empty arrays, never
// null.
func WriteJSON(w io.Writer, r Report) error {
	out := jsonReport{
		SchemaVersion:        SchemaVersion,
		Kernel:               jsonKernel{Image: r.Image, Release: r.Release},
		BootSeconds:          r.Boot.Seconds(),
		TotalSeconds:         r.Total.Seconds(),
		Agrees:               r.Agrees,
		Steps:                []jsonStep{},
		Sysfs:                []jsonPatch{},
		Modules:              []jsonModule{},
		Effective:            []jsonEffective{},
		PredictedEffective:   []jsonEffective{},
		EffectiveDifferences: nonNil(r.EffectiveDifferences),
		Notes:                nonNil(r.Notes),
	}
	for _, s := range r.Steps {
		js := jsonStep{
			Index:  s.Index,
			Action: string(s.Action.Kind),
			Module: s.Action.Module,
			Path:   s.Action.Path,
			Kernel: jsonKernelStep{
				Accepted:          s.Kernel.Accepted,
				Errno:             s.Kernel.Errno,
				ExitStatus:        s.Kernel.ExitStatus,
				Messages:          nonNil(s.Kernel.Messages),
				Output:            nonNil(s.Kernel.Output),
				Loaded:            nonNil(s.Kernel.Loaded),
				TransitionTimeout: s.Kernel.TransitionTimeout,
				Patched:           jsonFuncs(s.Kernel.Patched),
				Reverted:          jsonFuncs(s.Kernel.Reverted),
				Disabled:          nonNil(s.Kernel.Disabled),
				Probes:            []jsonProbe{},
			},
			Agrees:      s.Agrees,
			Differences: nonNil(s.Differences),
		}
		for _, p := range s.Kernel.Probes {
			js.Kernel.Probes = append(js.Kernel.Probes, jsonProbe{Path: p.Path, Lines: nonNil(p.Lines), Error: p.Error})
		}
		if p := s.Predicted; p != nil {
			js.Predicted = &jsonPredicted{
				Accepted:  p.Accepted,
				Errno:     p.Errno,
				RefusedBy: p.RefusedBy,
				Patched:   jsonFuncs(p.Patched),
				Reverted:  jsonFuncs(p.Reverted),
				Disabled:  nonNil(p.Disabled),
			}
		}
		out.Steps = append(out.Steps, js)
	}
	for _, p := range r.Final.Patches {
		jp := jsonPatch{Name: p.Name, Enabled: p.Enabled, Transition: p.Transition, Objects: []jsonObject{}}
		for _, o := range p.Objects {
			jo := jsonObject{Name: o.Name, Patched: o.Patched, Functions: []jsonSysfsFun{}}
			for _, f := range o.Funcs {
				jo.Functions = append(jo.Functions, jsonSysfsFun{Name: f.Name, Sympos: f.Sympos})
			}
			jp.Objects = append(jp.Objects, jo)
		}
		out.Sysfs = append(out.Sysfs, jp)
	}
	for _, m := range r.Final.Modules {
		out.Modules = append(out.Modules, jsonModule{Name: m.Name, Taints: m.Taints})
	}
	for _, e := range r.Effective {
		applied := e.Applied
		out.Effective = append(out.Effective, jsonEffective{Object: e.Object, Function: e.Function, Sympos: e.Sympos, Module: e.Module, Applied: &applied})
	}
	for _, e := range r.Predicted {
		out.PredictedEffective = append(out.PredictedEffective, jsonEffective{Object: e.Object, Function: e.Function, Sympos: e.Sympos, Module: e.Module})
	}

	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func jsonFuncs(refs []FuncRef) []jsonFunc {
	out := []jsonFunc{}
	for _, r := range refs {
		out = append(out, jsonFunc{Object: r.Object, Function: r.Function, Sympos: r.Sympos, Module: r.Module})
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
