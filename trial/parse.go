package trial

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// report is the guest's report as parsed so far.
type report struct {
	booted  bool
	release string
	ended   bool
	seqs    []SequenceOutcome
	// kallsyms are the /proc/kallsyms lines the guest reported.
	kallsyms []string
	// current is the step being reported, "R S", for error messages.
	current string
	// errs are lines that had the prefix but could not be parsed.
	errs []string
}

// kmsgTimestamp is the "[    1.234567] " that dmesg puts before a kernel
// log line when the kernel has CONFIG_PRINTK_TIME.
var kmsgTimestamp = regexp.MustCompile(`^\[\s*\d+\.\d+\] `)

// parseReport parses the guest's report. Lines without the marker prefix
// are ignored, and a carriage return that the serial line adds is removed.
func parseReport(data string, seqs []Sequence) *report {
	r := &report{seqs: make([]SequenceOutcome, len(seqs))}
	for i, seq := range seqs {
		r.seqs[i].Name = seq.Name
	}
	for _, line := range strings.Split(data, "\n") {
		line = strings.TrimRight(line, "\r")
		_, rest, ok := strings.Cut(line, markerPrefix)
		if !ok {
			continue
		}
		if err := r.parseLine(rest, seqs); err != nil {
			r.errs = append(r.errs, fmt.Sprintf("%q: %v", line, err))
		}
	}
	for i := range r.seqs {
		for j := range r.seqs[i].Steps {
			finishStep(&r.seqs[i].Steps[j])
		}
	}
	return r
}

func (r *report) parseLine(line string, seqs []Sequence) error {
	kind, rest, _ := strings.Cut(line, " ")
	switch kind {
	case "boot":
		r.booted, r.release = true, rest
		return nil
	case "end":
		r.ended = true
		return nil
	case "kallsyms":
		r.kallsyms = append(r.kallsyms, rest)
		return nil
	case "seq":
		return r.parseSeq(rest)
	case "step":
		return r.parseStep(rest, seqs)
	}
	return fmt.Errorf("unknown report %q", kind)
}

func (r *report) parseSeq(rest string) error {
	fields := strings.SplitN(rest, " ", 3)
	if len(fields) < 2 {
		return fmt.Errorf("want a sequence number and an event")
	}
	seq, err := r.sequence(fields[0])
	if err != nil {
		return err
	}
	switch fields[1] {
	case "begin":
	case "reset":
		if len(fields) == 3 && fields[2] != "ok" {
			seq.ResetError = strings.TrimPrefix(fields[2], "failed")
			seq.ResetError = strings.TrimLeft(seq.ResetError, " :")
		}
	default:
		return fmt.Errorf("unknown sequence event %q", fields[1])
	}
	return nil
}

func (r *report) sequence(field string) (*SequenceOutcome, error) {
	n, err := strconv.Atoi(field)
	if err != nil || n < 1 || n > len(r.seqs) {
		return nil, fmt.Errorf("invalid sequence number %q", field)
	}
	return &r.seqs[n-1], nil
}

func (r *report) parseStep(rest string, seqs []Sequence) error {
	fields := strings.SplitN(rest, " ", 4)
	if len(fields) < 3 {
		return fmt.Errorf("want a sequence, a step and an event")
	}
	seq, err := r.sequence(fields[0])
	if err != nil {
		return err
	}
	actions := seqs[seqIndex(r, seq)].Actions
	n, err := strconv.Atoi(fields[1])
	if err != nil || n < 1 || n > len(actions) {
		return fmt.Errorf("invalid step number %q", fields[1])
	}
	for len(seq.Steps) < n {
		seq.Steps = append(seq.Steps, StepOutcome{Action: actions[len(seq.Steps)], ExitStatus: -1})
	}
	step := &seq.Steps[n-1]
	r.current = fields[0] + " " + fields[1]

	event, arg := fields[2], ""
	if len(fields) == 4 {
		arg = fields[3]
	}
	return parseStepEvent(step, event, arg)
}

// seqIndex returns the index of seq in r.seqs.
func seqIndex(r *report, seq *SequenceOutcome) int {
	for i := range r.seqs {
		if &r.seqs[i] == seq {
			return i
		}
	}
	return 0
}

func parseStepEvent(step *StepOutcome, event, arg string) error {
	switch event {
	case "begin", "end":
	case "exit":
		status, err := strconv.Atoi(arg)
		if err != nil {
			return fmt.Errorf("invalid exit status %q", arg)
		}
		step.ExitStatus = status
	case "out":
		step.Output = append(step.Output, arg)
	case "dep":
		name, status, _ := strings.Cut(arg, " ")
		if status == "0" {
			step.Loaded = append(step.Loaded, name)
		}
	case "settled":
		step.TransitionTimeout = arg == "1"
	case "kmsg":
		step.Messages = append(step.Messages, kmsgTimestamp.ReplaceAllString(arg, ""))
	case "patch":
		f := strings.Fields(arg)
		if len(f) != 3 {
			return fmt.Errorf("want a patch name, enabled and transition")
		}
		step.State.Patches = append(step.State.Patches, Patch{Name: f[0], Enabled: f[1] == "1", Transition: f[2] == "1"})
	case "object":
		f := strings.Fields(arg)
		if len(f) != 3 {
			return fmt.Errorf("want a patch, an object and patched")
		}
		p := step.State.patch(f[0])
		if p == nil {
			return fmt.Errorf("object of unlisted patch %s", f[0])
		}
		p.Objects = append(p.Objects, Object{Name: f[1], Patched: f[2] == "1"})
	case "func":
		f := strings.Fields(arg)
		if len(f) != 3 {
			return fmt.Errorf("want a patch, an object and a function directory")
		}
		p := step.State.patch(f[0])
		if p == nil || len(p.Objects) == 0 || p.Objects[len(p.Objects)-1].Name != f[1] {
			return fmt.Errorf("function of unlisted object %s/%s", f[0], f[1])
		}
		fn, err := parseFuncDir(f[2])
		if err != nil {
			return err
		}
		obj := &p.Objects[len(p.Objects)-1]
		obj.Funcs = append(obj.Funcs, fn)
	case "module":
		name, taints, _ := strings.Cut(arg, " ")
		taints = strings.Trim(strings.TrimSpace(taints), "()")
		step.State.Modules = append(step.State.Modules, LoadedModule{Name: name, Taints: taints})
	case "probe":
		return parseProbe(step, arg)
	default:
		return fmt.Errorf("unknown step event %q", event)
	}
	return nil
}

// parseFuncDir parses a function directory name, "<name>,<sympos>".
func parseFuncDir(dir string) (Func, error) {
	i := strings.LastIndexByte(dir, ',')
	if i <= 0 {
		return Func{}, fmt.Errorf("function directory %q has no ,sympos", dir)
	}
	sympos, err := strconv.ParseUint(dir[i+1:], 10, 64)
	if err != nil {
		return Func{}, fmt.Errorf("function directory %q: invalid sympos", dir)
	}
	return Func{Name: dir[:i], Sympos: sympos}, nil
}

func parseProbe(step *StepOutcome, arg string) error {
	f := strings.SplitN(arg, " ", 3)
	if len(f) < 2 {
		return fmt.Errorf("want a probe path and a kind")
	}
	text := ""
	if len(f) == 3 {
		text = f[2]
	}
	var p *Probe
	for i := range step.Probes {
		if step.Probes[i].Path == f[0] {
			p = &step.Probes[i]
		}
	}
	if p == nil {
		step.Probes = append(step.Probes, Probe{Path: f[0]})
		p = &step.Probes[len(step.Probes)-1]
	}
	switch f[1] {
	case "line":
		p.Lines = append(p.Lines, text)
	case "error":
		p.Error = strings.TrimSpace(p.Error + " " + text)
	default:
		return fmt.Errorf("unknown probe kind %q", f[1])
	}
	return nil
}

func (s *State) patch(name string) *Patch {
	for i := range s.Patches {
		if s.Patches[i].Name == name {
			return &s.Patches[i]
		}
	}
	return nil
}

// finishStep derives the result fields of a step from its exit status and
// output.
func finishStep(step *StepOutcome) {
	step.Messages = dropRetryRepeats(step.Messages, step.ExitStatus != 0)
	switch {
	case step.ExitStatus == 0:
		step.Accepted = true
	case step.ExitStatus > 0:
		step.Errno = errnoOf(step.Action.Kind, step.ExitStatus, step.Output)
		if step.Errno != 0 {
			step.ErrnoName = errnoName(step.Errno)
		}
	}
}

// dropRetryRepeats removes the kernel lines of a failed step that repeat
// an earlier line. busybox insmod (1.35) retries a failed finit_module
// with init_module, so the kernel refuses the module twice.
func dropRetryRepeats(lines []string, failed bool) []string {
	if !failed {
		return lines
	}
	seen := map[string]bool{}
	var out []string
	for _, l := range lines {
		if seen[l] {
			continue
		}
		seen[l] = true
		out = append(out, l)
	}
	return out
}
