package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/klpcheck/klpcheck/report"
)

// formatValue is a --format flag that accepts only the formats a command
// can render.
type formatValue struct {
	format  *report.Format
	allowed []report.Format
}

func (v formatValue) String() string {
	if v.format == nil {
		return ""
	}
	return string(*v.format)
}

func (v formatValue) Set(name string) error {
	f, err := parseFormat(name, v.allowed)
	if err != nil {
		return err
	}
	*v.format = f
	return nil
}

// outputTarget is one --output FORMAT=PATH: an extra copy of the report in
// format, written to the file at path.
type outputTarget struct {
	format report.Format
	path   string
}

// outputsValue is a repeatable --output flag.
type outputsValue struct {
	targets *[]outputTarget
	allowed []report.Format
}

func (v outputsValue) String() string {
	if v.targets == nil {
		return ""
	}
	var parts []string
	for _, t := range *v.targets {
		parts = append(parts, string(t.format)+"="+t.path)
	}
	return strings.Join(parts, ",")
}

func (v outputsValue) Set(spec string) error {
	name, path, ok := strings.Cut(spec, "=")
	if !ok || path == "" {
		return fmt.Errorf("want FORMAT=PATH, for example json=report.json")
	}
	f, err := parseFormat(name, v.allowed)
	if err != nil {
		return err
	}
	*v.targets = append(*v.targets, outputTarget{format: f, path: path})
	return nil
}

func parseFormat(name string, allowed []report.Format) (report.Format, error) {
	for _, f := range allowed {
		if string(f) == name {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown format %q: want %s", name, formatList(allowed))
}

func formatNames(formats []report.Format) []string {
	names := make([]string, len(formats))
	for i, f := range formats {
		names[i] = string(f)
	}
	return names
}

// formatList returns "text or json", "text, json or sarif" and so on.
func formatList(formats []report.Format) string {
	names := formatNames(formats)
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// writeReports writes the report to stdout in format, then one copy per
// --output target. Each failure is printed to stderr after prefix. The
// result is exitUsage if any write failed and exitClean otherwise. Every
// destination is buffered, so render may write in small pieces.
func writeReports(prefix string, std streams, format report.Format, targets []outputTarget, render func(io.Writer, report.Format) error) int {
	status := exitClean

	err := writeBuffered(std.stdout, func(w io.Writer) error { return render(w, format) })
	if err != nil {
		fmt.Fprintf(std.stderr, "%s: write %s report to standard output: %v\n", prefix, format, err)
		status = exitUsage
	}

	for _, t := range targets {
		err := writeReportFile(t.path, func(w io.Writer) error { return render(w, t.format) })
		if err != nil {
			fmt.Fprintf(std.stderr, "%s: write %s report: %v\n", prefix, t.format, err)
			status = exitUsage
		}
	}
	return status
}

// writeReportFile creates or truncates the file at path and renders into
// it. It returns the first error of rendering, flushing and closing.
func writeReportFile(path string, render func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}

	buffered := bufio.NewWriter(f)
	err = render(buffered)
	if err == nil {
		err = buffered.Flush()
	}
	if closeErr := f.Close(); err == nil && closeErr != nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// writeBuffered runs render on a buffered writer over w and flushes it.
// The text reports are written in many small pieces, and standard output
// is not buffered, so without it each piece would be one write system
// call. When w is already a large enough bufio.Writer, bufio.NewWriter
// returns w itself, so a second call adds no copy.
func writeBuffered(w io.Writer, render func(io.Writer) error) error {
	buffered := bufio.NewWriter(w)
	err := render(buffered)
	if flushErr := buffered.Flush(); err == nil {
		err = flushErr
	}
	return err
}
