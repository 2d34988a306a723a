package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// targetsDocExample matches the example of docs/targets.md that checks the
// committed target fixtures: a sh block with the command, then a text
// block with its report.
var targetsDocExample = regexp.MustCompile("(?ms)^```sh\n(klpcheck check --target testdata/target/.*?)^```\n.*?^```text\n(.*?)^```$")

// readmeTargetExample matches the target example of the README.
var readmeTargetExample = regexp.MustCompile("(?ms)^```\n(go run ./cmd/klpcheck check --target testdata/target/.*?)^```$")

// TestTargetsDocExample runs the fixture example of docs/targets.md from
// the repository root and compares its output with the report the page
// shows.
func TestTargetsDocExample(t *testing.T) {
	root, page := readRepoFile(t, "docs/targets.md")
	m := targetsDocExample.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("docs/targets.md has no sh block with a klpcheck check of testdata/target followed by a text block")
	}
	args := commandArgs(m[1])[1:]

	t.Chdir(root)
	var stdout, stderr bytes.Buffer
	status := run(args, strings.NewReader(""), &stdout, &stderr)

	if status != exitFindings {
		t.Errorf("exit status %d, want %d (the page says it exits 1); stderr:\n%s", status, exitFindings, stderr.String())
	}
	if diff := cmp.Diff(m[2], stdout.String()); diff != "" {
		t.Errorf("the report in docs/targets.md differs from the output (-page +output):\n%s", diff)
	}
}

// TestReadmeTargetExample runs the target example of the README and
// checks the two errors and the exit status that it states.
func TestReadmeTargetExample(t *testing.T) {
	root, page := readRepoFile(t, "README.md")
	m := readmeTargetExample.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("README.md has no block with a go run ./cmd/klpcheck check of testdata/target")
	}
	args := commandArgs(m[1])[3:]

	t.Chdir(root)
	var stdout, stderr bytes.Buffer
	status := run(args, strings.NewReader(""), &stdout, &stderr)

	if status != exitFindings {
		t.Errorf("exit status %d, want %d; stderr:\n%s", status, exitFindings, stderr.String())
	}
	for _, want := range []string{
		"Errors (2)\n",
		"error KLP0601 symbol-not-found: klpc_missing:",
		"error KLP0605 not-ftraceable: klpc_modobj:",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
}

// readRepoFile returns the repository root and the content of the file
// at name inside it.
func readRepoFile(t *testing.T, name string) (root, content string) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return root, string(data)
}

// commandArgs splits a shell command of plain words, with lines joined at
// a trailing backslash.
func commandArgs(command string) []string {
	return strings.Fields(strings.ReplaceAll(command, "\\\n", " "))
}
