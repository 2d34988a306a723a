package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/klpcheck/klpcheck/conflict"
)

func TestRulesListsEveryRule(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if status := run([]string{"rules"}, strings.NewReader(""), &stdout, &stderr); status != exitClean {
		t.Fatalf("exit status = %d, want %d\nstderr:\n%s", status, exitClean, stderr.String())
	}

	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	rules := conflict.Rules()
	if len(lines) != len(rules) {
		t.Fatalf("rules printed %d lines, want %d:\n%s", len(lines), len(rules), stdout.String())
	}
	for i, r := range rules {
		if fields := strings.Fields(lines[i]); len(fields) < 3 || fields[0] != r.ID || fields[2] != r.Name {
			t.Errorf("line %d = %q, want ID %s and name %s", i+1, lines[i], r.ID, r.Name)
		}
	}
}

func TestExplainEveryRule(t *testing.T) {
	for _, r := range conflict.Rules() {
		for _, arg := range []string{r.ID, r.Name, strings.ToLower(r.ID)} {
			var stdout, stderr bytes.Buffer
			if status := run([]string{"explain", arg}, strings.NewReader(""), &stdout, &stderr); status != exitClean {
				t.Errorf("explain %s: exit status = %d, want %d\nstderr:\n%s", arg, status, exitClean, stderr.String())
				continue
			}
			if want := r.ID + " " + r.Name + ": "; !strings.HasPrefix(stdout.String(), want) {
				t.Errorf("explain %s: output starts with %q, want %q", arg, firstLine(stdout.String()), want)
			}
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
