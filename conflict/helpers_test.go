package conflict

import (
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/klpcheck/klpcheck/livepatch"
)

// Builders for synthetic modules. A module built here is a well-formed
// hand-written livepatch with no kernel release, so that it triggers no
// rule by itself.

// fn returns a function entry for name with sympos 0.
func fn(name string) livepatch.Func {
	return fnAt(name, 0)
}

// fnAt returns a function entry for name with the given stored sympos.
func fnAt(name string, sympos uint64) livepatch.Func {
	return livepatch.Func{
		OldName: name,
		NewFunc: livepatch.Symbol{Name: "livepatch_" + name, Section: ".text", Size: 32},
		Sympos:  sympos,
	}
}

// obj returns an object with the given functions.
func obj(name string, funcs ...livepatch.Func) livepatch.Object {
	return livepatch.Object{Name: name, Funcs: funcs}
}

// vmlinux returns a vmlinux object patching the named functions.
func vmlinux(names ...string) livepatch.Object {
	o := livepatch.Object{Name: "vmlinux"}
	for _, n := range names {
		o.Funcs = append(o.Funcs, fn(n))
	}
	return o
}

// module returns a module called name with the given objects.
func module(name string, objs ...livepatch.Object) *livepatch.Module {
	return &livepatch.Module{
		Path:       name + ".ko",
		Name:       name,
		NameSource: "modinfo",
		Livepatch:  true,
		Producer:   livepatch.ProducerHandWritten,
		Objects:    objs,
	}
}

// withStates sets the klp_state entries of m and returns m.
func withStates(m *livepatch.Module, states ...livepatch.State) *livepatch.Module {
	m.States = states
	return m
}

// nonReplace returns a plan entry loading m as a non-replace patch.
func nonReplace(m *livepatch.Module) Patch {
	return Patch{Module: m, Mode: Mode{Source: "plan"}, ModeKnown: true}
}

// replace returns a plan entry loading m as a replace patch.
func replace(m *livepatch.Module) Patch {
	return Patch{Module: m, Mode: Mode{Replace: true, Value: 1, Source: "plan"}, ModeKnown: true}
}

// tagged returns a plan entry loading m with a tag or set value.
func tagged(m *livepatch.Module, value uint32) Patch {
	return Patch{Module: m, Mode: Mode{Replace: value != 0, Value: value, Source: "plan"}, ModeKnown: true}
}

// release returns a kernel version for a release string of the form
// major.minor.patch with an optional suffix.
func release(major, minor, patch int, full string) livepatch.KernelVersion {
	return livepatch.KernelVersion{Major: major, Minor: minor, Patch: patch, Release: full}
}

// livePatch returns an enabled live patch with vmlinux functions, as sysfs
// shows them.
func livePatch(name string, replace Tristate, funcs ...string) LivePatch {
	lp := LivePatch{Name: name, Enabled: true, Replace: replace}
	o := LiveObject{Name: "vmlinux"}
	for _, f := range funcs {
		o.Funcs = append(o.Funcs, LiveFunc{Name: f, Sympos: 1})
	}
	lp.Objects = []LiveObject{o}
	return lp
}

// want is the part of a finding that the tests compare exactly.
type want struct {
	Rule     string
	Severity Severity
	Step     int
	Module   string
	Object   string
	Function string
	Related  []string
}

// summarize projects findings onto want.
func summarize(findings []Finding) []want {
	out := []want{}
	for _, f := range findings {
		w := want{Rule: f.Rule, Severity: f.Severity, Step: f.Step, Module: f.Module, Object: f.Object, Function: f.Function}
		for _, r := range f.Related {
			w.Related = append(w.Related, r.Module)
		}
		out = append(out, w)
	}
	return out
}

// checkFindings fails unless res has exactly the wanted findings, in
// order.
func checkFindings(t *testing.T, res Result, wanted ...want) {
	t.Helper()
	if wanted == nil {
		wanted = []want{}
	}
	if diff := cmp.Diff(wanted, summarize(res.Findings)); diff != "" {
		t.Errorf("findings mismatch (-want +got):\n%s\nmessages:\n%s", diff, messages(res.Findings))
	}
}

// messages lists finding messages, to explain a failure.
func messages(findings []Finding) string {
	var b strings.Builder
	for _, f := range findings {
		b.WriteString("  " + f.Rule + ": " + f.Message + "\n")
	}
	return b.String()
}

// checkMessage fails unless the finding's message contains every part.
func checkMessage(t *testing.T, f Finding, parts ...string) {
	t.Helper()
	for _, part := range parts {
		if !strings.Contains(f.Message, part) {
			t.Errorf("%s message %q does not contain %q", f.Rule, f.Message, part)
		}
	}
}

// effectiveMap returns the effective map as "object:function,sympos=module"
// strings.
func effectiveMap(res Result) []string {
	out := []string{}
	for _, e := range res.Effective {
		s := e.Object + ":" + e.Function + "," + strconv.FormatUint(e.Sympos, 10) + "=" + e.Module
		if e.Transition {
			s += " (transition)"
		}
		out = append(out, s)
	}
	return out
}

// checkRefused fails unless plan step index was refused with errno by rule.
func checkRefused(t *testing.T, res Result, index int, errno, rule string) {
	t.Helper()
	for _, s := range res.Steps {
		if s.Live || s.Index != index {
			continue
		}
		if !s.Refused || s.Errno != errno || s.RefusedBy != rule {
			t.Errorf("step %d: refused=%v errno=%q by=%q, want refused with %s by %s", index, s.Refused, s.Errno, s.RefusedBy, errno, rule)
		}
		return
	}
	t.Errorf("no step %d", index)
}

// checkLoaded fails if plan step index was refused.
func checkLoaded(t *testing.T, res Result, index int) {
	t.Helper()
	for _, s := range res.Steps {
		if !s.Live && s.Index == index {
			if s.Refused {
				t.Errorf("step %d refused with %s by %s, want loaded", index, s.Errno, s.RefusedBy)
			}
			return
		}
	}
	t.Errorf("no step %d", index)
}

// checkNote fails unless one of the result's notes contains part.
func checkNote(t *testing.T, res Result, part string) {
	t.Helper()
	for _, n := range res.Notes {
		if strings.Contains(n, part) {
			return
		}
	}
	t.Errorf("no note contains %q; notes:\n  %s", part, strings.Join(res.Notes, "\n  "))
}
