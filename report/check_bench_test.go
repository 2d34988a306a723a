package report

import (
	"bufio"
	"fmt"
	"io"
	"testing"

	"github.com/klpcheck/klpcheck/conflict"
)

// benchCheck returns a check result shaped like that of the 1,000-module
// benchmark plan of bench/gen: 1,000 steps of 50 functions each and
// 12,000 function findings with two related patches, with messages of the
// length that func-overlap and replace-reverts write.
func benchCheck() Check {
	var res conflict.Result
	res.Semantics = conflict.Mainline
	for i := range 1000 {
		module := fmt.Sprintf("lp%05d", i)
		step := conflict.Step{Index: i + 1, Module: module, Path: "modules/" + module + ".ko", Mode: conflict.Mode{Replace: true, Source: "plan"}}
		for j := range 50 {
			step.Patched = append(step.Patched, conflict.FuncRef{Object: "vmlinux", Function: fmt.Sprintf("net_rcv_%d", (i*7+j)%5000), Module: module})
		}
		res.Steps = append(res.Steps, step)
	}
	for i := range 12000 {
		module := fmt.Sprintf("lp%05d", i/12)
		function := fmt.Sprintf("net_rcv_%d", i%5000)
		res.Findings = append(res.Findings, conflict.Finding{
			RuleID:   "KLP0301",
			Rule:     "func-overlap",
			Severity: conflict.SeverityWarning,
			Message:  fmt.Sprintf("vmlinux:%s is also patched by lp%05d and lp%05d; %s's code runs because the most recently enabled patch wins", function, i/12+1, i/12+2, module),
			Module:   module,
			Path:     "modules/" + module + ".ko",
			Object:   "vmlinux",
			Function: function,
			Step:     i/12 + 1,
			Related: []conflict.Related{
				{Module: fmt.Sprintf("lp%05d", i/12+1), Note: "its " + function + " is shadowed"},
				{Module: fmt.Sprintf("lp%05d", i/12+2), Note: "its " + function + " is shadowed"},
			},
		})
	}
	for i := range 5000 {
		res.Effective = append(res.Effective, conflict.EffectiveFunc{Object: "vmlinux", Function: fmt.Sprintf("net_rcv_%d", i), Module: "lp00999"})
	}
	return Check{Result: res}
}

// BenchmarkWriteCheckText renders the text report of a 1,000-module check
// through a bufio.Writer, as klpcheck check writes standard output.
func BenchmarkWriteCheckText(b *testing.B) {
	c := benchCheck()
	b.ReportAllocs()
	for b.Loop() {
		w := bufio.NewWriter(io.Discard)
		if err := WriteCheckText(w, c); err != nil {
			b.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
	}
}
