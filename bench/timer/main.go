// Command timer runs shell commands several times, interleaved, and prints
// the median wall-clock and CPU time and the peak resident set size of
// each.
//
// Usage:
//
//	timer [-runs 5] [-warmup 1] NAME=COMMAND...
//
// Each COMMAND runs with sh -c, standard output to /dev/null and standard
// input from /dev/null. Every round runs all commands once in the order
// given, so that a slow spell of a shared machine affects all of them
// alike. The first -warmup rounds fill the page cache and are not
// counted. The output has one tab-separated line per command:
//
//	NAME  RUNS  MEDIAN_S  MIN_S  MAX_S  MAX_RSS_KIB  STATUS  CPU_S
//
// CPU_S is the median of user plus system CPU time, which on a shared
// machine varies less than the wall-clock time. MAX_RSS_KIB is the largest ru_maxrss over the counted runs, as wait4
// reports it for the shell and the processes it waited for. STATUS is ok,
// or "exit N" for the first non-zero exit status, whose standard error is
// copied to timer's standard error. timer exits 1 when a command failed.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

// command is one NAME=COMMAND argument and its measurements.
type command struct {
	name, script string
	seconds      []float64
	cpuSeconds   []float64
	maxRSS       int64 // KiB
	status       string
}

func main() {
	runs := flag.Int("runs", 5, "number of measured `ROUNDS`")
	warmup := flag.Int("warmup", 1, "number of unmeasured rounds before them")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: timer [-runs N] [-warmup N] NAME=COMMAND...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 || *runs < 1 || *warmup < 0 {
		flag.Usage()
		os.Exit(2)
	}

	var cmds []*command
	for _, arg := range flag.Args() {
		name, script, ok := strings.Cut(arg, "=")
		if !ok || name == "" || script == "" {
			fmt.Fprintf(os.Stderr, "timer: invalid argument %q: want NAME=COMMAND\n", arg)
			os.Exit(2)
		}
		cmds = append(cmds, &command{name: name, script: script, status: "ok"})
	}

	failed := false
	for round := range *warmup + *runs {
		for _, c := range cmds {
			if c.status != "ok" {
				continue
			}
			elapsed, cpu, rss, err := runOnce(c.script)
			if err != nil {
				c.status = err.Error()
				failed = true
				continue
			}
			if round >= *warmup {
				c.seconds = append(c.seconds, elapsed.Seconds())
				c.cpuSeconds = append(c.cpuSeconds, cpu.Seconds())
				c.maxRSS = max(c.maxRSS, rss)
			}
		}
	}

	for _, c := range cmds {
		if len(c.seconds) == 0 {
			fmt.Printf("%s\t0\t-\t-\t-\t-\t%s\t-\n", c.name, c.status)
			continue
		}
		slices.Sort(c.seconds)
		slices.Sort(c.cpuSeconds)
		fmt.Printf("%s\t%d\t%.4f\t%.4f\t%.4f\t%d\t%s\t%.4f\n", c.name, len(c.seconds),
			median(c.seconds), c.seconds[0], c.seconds[len(c.seconds)-1], c.maxRSS, c.status, median(c.cpuSeconds))
	}
	if failed {
		os.Exit(1)
	}
}

// runOnce runs script and returns its wall-clock time, its user plus
// system CPU time and ru_maxrss in KiB. A non-zero exit status is an error that carries the status, after
// the command's standard error is copied to ours.
func runOnce(script string) (time.Duration, time.Duration, int64, error) {
	cmd := exec.Command("sh", "-c", script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// A nil Stdin and Stdout connect the command to /dev/null.

	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		os.Stderr.Write(stderr.Bytes())
		if exit, ok := err.(*exec.ExitError); ok {
			return 0, 0, 0, fmt.Errorf("exit %d", exit.ExitCode())
		}
		return 0, 0, 0, fmt.Errorf("run: %v", err)
	}

	var rss int64
	if usage, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = usage.Maxrss // KiB on Linux
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return elapsed, cpu, rss, nil
}

// median returns the middle value of sorted, or the mean of the two
// middle values.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
