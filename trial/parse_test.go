package trial

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseReportStep(t *testing.T) {
	seqs := []Sequence{{Name: "s", Actions: []Action{
		{Kind: ActionInsmod, Path: "/x/a.ko", Module: "a"},
		{Kind: ActionInsmod, Path: "/x/b.ko", Module: "b"},
	}}}
	data := "noise from elsewhere\r\n" +
		"KLPTRIAL boot 6.1.0-57-amd64\r\n" +
		"KLPTRIAL kallsyms ffffffff814105a0 t cmdline_proc_show\r\n" +
		"KLPTRIAL seq 1 begin\r\n" +
		"KLPTRIAL step 1 1 begin\r\n" +
		"KLPTRIAL step 1 1 exit 0\r\n" +
		"KLPTRIAL step 1 1 settled 0\r\n" +
		"KLPTRIAL step 1 1 kmsg [    1.869895] livepatch: enabling patch 'a'\r\n" +
		"KLPTRIAL step 1 1 patch a 1 0\r\n" +
		"KLPTRIAL step 1 1 object a vmlinux 1\r\n" +
		"KLPTRIAL step 1 1 func a vmlinux cmdline_proc_show,1\r\n" +
		"KLPTRIAL step 1 1 module a (OEK)\r\n" +
		"KLPTRIAL step 1 1 probe /proc/cmdline line a says hi\r\n" +
		"KLPTRIAL step 1 1 end\r\n" +
		"KLPTRIAL step 1 2 begin\r\n" +
		"KLPTRIAL step 1 2 exit 22\r\n" +
		"KLPTRIAL step 1 2 out insmod: can't insert '/trial/02-b.ko': Invalid argument\r\n" +
		"KLPTRIAL step 1 2 kmsg [    2.1] livepatch: module b is not marked as a livepatch module\r\n" +
		"KLPTRIAL step 1 2 kmsg [    2.2] livepatch: module b is not marked as a livepatch module\r\n" +
		"KLPTRIAL step 1 2 end\r\n" +
		"KLPTRIAL end\r\n"

	r := parseReport(data, seqs)
	if !r.booted || !r.ended || r.release != "6.1.0-57-amd64" || len(r.errs) > 0 {
		t.Fatalf("booted=%v ended=%v release=%q errs=%v", r.booted, r.ended, r.release, r.errs)
	}
	if diff := cmp.Diff([]string{"ffffffff814105a0 t cmdline_proc_show"}, r.kallsyms); diff != "" {
		t.Errorf("kallsyms (-want +got):\n%s", diff)
	}

	want := []StepOutcome{
		{
			Action:     seqs[0].Actions[0],
			Accepted:   true,
			ExitStatus: 0,
			Messages:   []string{"livepatch: enabling patch 'a'"},
			State: State{
				Patches: []Patch{{Name: "a", Enabled: true, Objects: []Object{{Name: "vmlinux", Patched: true, Funcs: []Func{{Name: "cmdline_proc_show", Sympos: 1}}}}}},
				Modules: []LoadedModule{{Name: "a", Taints: "OEK"}},
			},
			Probes: []Probe{{Path: "/proc/cmdline", Lines: []string{"a says hi"}}},
		},
		{
			Action:     seqs[0].Actions[1],
			ExitStatus: 22,
			Errno:      22,
			ErrnoName:  "EINVAL",
			Output:     []string{"insmod: can't insert '/trial/02-b.ko': Invalid argument"},
			// The second line is busybox's init_module retry.
			Messages: []string{"livepatch: module b is not marked as a livepatch module"},
		},
	}
	if diff := cmp.Diff(want, r.seqs[0].Steps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
}

func TestParseReportInvalidLine(t *testing.T) {
	seqs := []Sequence{{Name: "s", Actions: []Action{{Kind: ActionRmmod, Module: "a"}}}}
	r := parseReport("KLPTRIAL step 1 7 exit 0\nKLPTRIAL bogus\n", seqs)
	if len(r.errs) != 2 {
		t.Errorf("errors %q, want 2", r.errs)
	}
}

func TestErrnoOf(t *testing.T) {
	tests := []struct {
		kind   ActionKind
		status int
		output []string
		want   int
	}{
		{ActionInsmod, 17, []string{"insmod: can't insert 'x.ko': File exists"}, 17},
		{ActionRmmod, 1, []string{"rmmod: can't unload module 'x': Resource temporarily unavailable"}, 11},
		{ActionDisable, 1, []string{"sh: write error: Device or resource busy"}, 16},
		{ActionInsmod, 12, []string{"insmod: can't insert 'x.ko': Unknown error 524"}, 524},
		{ActionRmmod, 1, []string{"rmmod: something else"}, 0},
	}
	for _, tt := range tests {
		if got := errnoOf(tt.kind, tt.status, tt.output); got != tt.want {
			t.Errorf("errnoOf(%s, %d, %q) = %d, want %d", tt.kind, tt.status, tt.output, got, tt.want)
		}
	}
}
