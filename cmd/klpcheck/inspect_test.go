package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/klpcheck/klpcheck/elfscan"
	"github.com/klpcheck/klpcheck/livepatch"
	"github.com/klpcheck/klpcheck/report"
)

func TestInspectedModuleRead(t *testing.T) {
	m := &livepatch.Module{Name: "livepatch_sample"}
	got := inspectedModule("a.ko", m, nil)
	want := report.InspectedModule{Path: "a.ko", Module: m}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("inspectedModule (-want +got):\n%s", diff)
	}
}

func TestInspectedModuleNotLivepatch(t *testing.T) {
	err := &elfscan.Error{Path: "nouveau.ko", Err: elfscan.ErrNotLivepatch}
	got := inspectedModule("nouveau.ko", nil, err)
	want := report.InspectedModule{Path: "nouveau.ko", Skipped: "not a livepatch module"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("inspectedModule (-want +got):\n%s", diff)
	}
}

func TestInspectedModuleScanError(t *testing.T) {
	err := &elfscan.Error{
		Path:      "dir/bad.ko",
		Section:   ".symtab",
		Offset:    0x18,
		HasOffset: true,
		Err:       errors.New("read symbols: section .symtab+0x18: symbol name offset 4096 out of range"),
	}
	got := inspectedModule("dir/bad.ko", nil, err)
	want := report.InspectedModule{Path: "dir/bad.ko", Error: &report.InputError{
		File:      "dir/bad.ko",
		Section:   ".symtab",
		Offset:    0x18,
		HasOffset: true,
		Reason:    "read symbols: section .symtab+0x18: symbol name offset 4096 out of range",
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("inspectedModule (-want +got):\n%s", diff)
	}
}

func TestInspectedModulePlainError(t *testing.T) {
	got := inspectedModule("dir/bad.ko", nil, fmt.Errorf("read dir/bad.ko: %w", io.ErrUnexpectedEOF))
	want := report.InspectedModule{Path: "dir/bad.ko", Error: &report.InputError{
		File:   "dir/bad.ko",
		Reason: "read dir/bad.ko: unexpected EOF",
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("inspectedModule (-want +got):\n%s", diff)
	}
}

func TestParseArgsInterspersed(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantPaths  []string
		wantFormat string
	}{
		{"flags first", []string{"--format", "json", "a.ko", "b.ko"}, []string{"a.ko", "b.ko"}, "json"},
		{"flags last", []string{"a.ko", "b.ko", "-format=json"}, []string{"a.ko", "b.ko"}, "json"},
		{"flags between", []string{"a.ko", "--format", "json", "b.ko"}, []string{"a.ko", "b.ko"}, "json"},
		{"double dash", []string{"a.ko", "--", "--format", "-b.ko"}, []string{"a.ko", "--format", "-b.ko"}, "text"},
		{"single dash path", []string{"-", "a.ko"}, []string{"-", "a.ko"}, "text"},
		{"no arguments", nil, nil, "text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			format := "text"
			fs := newFlagSet("test")
			fs.StringVar(&format, "format", "text", "")

			var stdout, stderr bytes.Buffer
			std := streams{stdout: &stdout, stderr: &stderr}
			paths, status, ok := parseArgs(fs, tt.args, func(io.Writer) {}, std)

			if !ok || status != exitClean {
				t.Fatalf("parseArgs(%q) = status %d, ok %v; stderr: %s", tt.args, status, ok, stderr.String())
			}
			if diff := cmp.Diff(tt.wantPaths, paths); diff != "" {
				t.Errorf("paths (-want +got):\n%s", diff)
			}
			if format != tt.wantFormat {
				t.Errorf("format = %q, want %q", format, tt.wantFormat)
			}
		})
	}
}

func TestParseArgsHelpAndErrors(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStatus int
		wantStdout string
		wantStderr string
	}{
		{"help", []string{"a.ko", "-h"}, exitClean, "USAGE\n", ""},
		{"unknown flag", []string{"--bogus"}, exitUsage, "", "klpcheck test: flag provided but not defined: -bogus\nRun 'klpcheck help test' for usage.\n"},
		{"missing value", []string{"a.ko", "--format"}, exitUsage, "", "klpcheck test: flag needs an argument: -format\nRun 'klpcheck help test' for usage.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFlagSet("test")
			fs.String("format", "text", "")

			var stdout, stderr bytes.Buffer
			std := streams{stdout: &stdout, stderr: &stderr}
			usage := func(w io.Writer) { fmt.Fprint(w, "USAGE\n") }
			_, status, ok := parseArgs(fs, tt.args, usage, std)

			if ok {
				t.Fatalf("parseArgs(%q) ok = true, want false", tt.args)
			}
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d", status, tt.wantStatus)
			}
			if got := stdout.String(); got != tt.wantStdout {
				t.Errorf("stdout = %q, want %q", got, tt.wantStdout)
			}
			if got := stderr.String(); got != tt.wantStderr {
				t.Errorf("stderr = %q, want %q", got, tt.wantStderr)
			}
		})
	}
}

func TestOutputsValue(t *testing.T) {
	var targets []outputTarget
	v := outputsValue{targets: &targets, allowed: report.InspectFormats()}

	for _, spec := range []string{"json=out/report.json", "text=report=final.txt"} {
		if err := v.Set(spec); err != nil {
			t.Fatalf("Set(%q): %v", spec, err)
		}
	}
	want := []outputTarget{
		{format: report.FormatJSON, path: "out/report.json"},
		{format: report.FormatText, path: "report=final.txt"},
	}
	if diff := cmp.Diff(want, targets, cmp.AllowUnexported(outputTarget{})); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}

	bad := map[string]string{
		"report.json":   "want FORMAT=PATH, for example json=report.json",
		"json=":         "want FORMAT=PATH, for example json=report.json",
		"sarif=r.sarif": `unknown format "sarif": want text or json`,
	}
	for spec, wantErr := range bad {
		err := v.Set(spec)
		if err == nil || err.Error() != wantErr {
			t.Errorf("Set(%q) error = %v, want %q", spec, err, wantErr)
		}
	}
}

func TestFormatList(t *testing.T) {
	tests := []struct {
		formats []report.Format
		want    string
	}{
		{[]report.Format{report.FormatText}, "text"},
		{[]report.Format{report.FormatText, report.FormatJSON}, "text or json"},
		{[]report.Format{report.FormatText, report.FormatJSON, "sarif"}, "text, json or sarif"},
	}
	for _, tt := range tests {
		if got := formatList(tt.formats); got != tt.want {
			t.Errorf("formatList(%v) = %q, want %q", tt.formats, got, tt.want)
		}
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestWriteReportsStdoutFailure(t *testing.T) {
	var stderr bytes.Buffer
	std := streams{stdout: failingWriter{}, stderr: &stderr}
	render := func(w io.Writer, f report.Format) error {
		return report.WriteInspection(w, f, report.Inspection{})
	}

	status := writeReports("klpcheck inspect", std, report.FormatJSON, nil, render)

	if status != exitUsage {
		t.Errorf("status = %d, want %d", status, exitUsage)
	}
	want := "klpcheck inspect: write json report to standard output: broken pipe\n"
	if got := stderr.String(); got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
}

func TestWorseExit(t *testing.T) {
	tests := []struct{ a, b, want int }{
		{exitClean, exitClean, exitClean},
		{exitClean, exitFindings, exitFindings},
		{exitUsage, exitFindings, exitUsage},
		{exitInputError, exitUsage, exitInputError},
		{exitFindings, exitInputError, exitInputError},
	}
	for _, tt := range tests {
		if got := worseExit(tt.a, tt.b); got != tt.want {
			t.Errorf("worseExit(%d, %d) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestCommandsHaveUniqueNames(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range commands() {
		if seen[c.name] {
			t.Errorf("command %q is listed twice", c.name)
		}
		seen[c.name] = true
		if c.summary == "" || c.run == nil {
			t.Errorf("command %q has no summary or no run function", c.name)
		}
		if strings.HasPrefix(c.name, "-") {
			t.Errorf("command %q starts with a dash", c.name)
		}
	}
}

// Every command prints its usage to stdout for -h and exits 0, which
// "klpcheck help <command>" relies on.
func TestCommandsHelp(t *testing.T) {
	for _, c := range commands() {
		var stdout, stderr bytes.Buffer
		status := run([]string{c.name, "-h"}, strings.NewReader(""), &stdout, &stderr)
		if status != exitClean {
			t.Errorf("klpcheck %s -h: status %d, want %d", c.name, status, exitClean)
		}
		if !strings.HasPrefix(stdout.String(), "Usage: klpcheck "+c.name) {
			t.Errorf("klpcheck %s -h: stdout does not start with its usage: %q", c.name, stdout.String())
		}
		if stderr.Len() > 0 {
			t.Errorf("klpcheck %s -h: unexpected stderr: %q", c.name, stderr.String())
		}
	}
}

var _ flag.Value = formatValue{}
var _ flag.Value = outputsValue{}
