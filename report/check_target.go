package report

// TargetInfo describes the target kernel a check ran against: its release
// and the target inputs that were read.
type TargetInfo struct {
	// Release is the kernel release as uname -r prints it, empty when no
	// input names it; ReleaseFrom is the input it came from.
	Release     string
	ReleaseFrom string
	// Inputs are the target inputs that were read, in the order given.
	Inputs []TargetInput
}

// TargetInput is one target input that was read.
type TargetInput struct {
	Path string
	// Kind is the kind detected from the content: vmlinux, system-map,
	// kallsyms, module, modules-dir, module-symvers or filter-functions.
	Kind string
}

type targetJSON struct {
	Release *string           `json:"release"`
	Inputs  []targetInputJSON `json:"inputs"`
}

type targetInputJSON struct {
	Path string `json:"path"`
	Kind string `json:"kind"`
}

// targetToJSON returns the wire form of t, nil when no target was given.
func targetToJSON(t *TargetInfo) *targetJSON {
	if t == nil {
		return nil
	}
	out := &targetJSON{Release: optional(t.Release), Inputs: make([]targetInputJSON, 0, len(t.Inputs))}
	for _, in := range t.Inputs {
		out.Inputs = append(out.Inputs, targetInputJSON{Path: in.Path, Kind: in.Kind})
	}
	return out
}

// writeTargetText writes the target kernel's release and its inputs, one
// line each as "kind  path", or nothing when no target was given. When no
// input could be read it says so in place of an empty table.
//
// When no input names the release, the one from the settings (kernel, from)
// is shown, since the checks use it.
func writeTargetText(out *errWriter, t *TargetInfo, kernel, from string) {
	if t == nil {
		return
	}

	release := "release unknown"
	switch {
	case t.Release != "":
		release = displayString(t.Release)
		if t.ReleaseFrom != "" {
			release += " (from " + displayString(t.ReleaseFrom) + ")"
		}
	case kernel != "":
		release = displayString(kernel) + " (from " + displayString(from) + ")"
	}
	out.printf("Target kernel: %s\n", release)
	if len(t.Inputs) == 0 {
		out.printf("  no target input could be read\n")
		return
	}

	rows := make([][]string, len(t.Inputs))
	for i, in := range t.Inputs {
		rows[i] = []string{displayString(in.Kind), displayString(in.Path)}
	}
	writeTable(out, "  ", []string{"KIND", "INPUT"}, rows)
}
