package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the stdout, stderr and want: sections of testdata/script/*.txtar with the current output")

// TestScript runs each testdata/script/*.txtar file as one klpcheck
// invocation, in-process through run.
//
// The comment section of a script contains one directive per line, and
// lines starting with # are comments:
//
//	cp SRC DST        copy a file, into DST if DST ends in /
//	truncate FILE N   cut FILE to N bytes
//	klpcheck ARGS...  the command line, split on spaces without quoting
//	exit N            the expected exit status
//
// In directives, $ROOT is the repository root and $WORK a fresh temporary
// directory, which is also where the script's files are created.
// The sections "stdout" and "stderr" are the expected output, and a section
// "want:NAME" is the expected content of $WORK/NAME after the run. Other
// sections are input files. In expected output the two directories are
// written as $ROOT and $WORK.
func TestScript(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}

	scripts, err := filepath.Glob(filepath.Join("testdata", "script", "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(scripts) == 0 {
		t.Fatal("no scripts found in testdata/script")
	}

	for _, file := range scripts {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			runScript(t, file, root)
		})
	}
}

// script is a parsed test script.
type script struct {
	setup    [][]string
	args     []string
	exit     int
	hasExit  bool
	expected map[string]string
}

func runScript(t *testing.T, file, root string) {
	archive, err := txtar.ParseFile(file)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	expand := strings.NewReplacer("$ROOT", root, "$WORK", work).Replace

	s, err := parseScript(archive, expand)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}

	for _, f := range archive.Files {
		if isExpectation(f.Name) {
			continue
		}
		writeFile(t, filepath.Join(work, f.Name), f.Data)
	}
	for _, step := range s.setup {
		if err := runSetup(step); err != nil {
			t.Fatalf("%s: %s: %v", file, strings.Join(step, " "), err)
		}
	}

	var stdout, stderr bytes.Buffer
	status := run(s.args, strings.NewReader(""), &stdout, &stderr)

	// Normalise $WORK first: on some systems the temporary directory sits
	// inside the repository tree.
	normalise := strings.NewReplacer(work, "$WORK", root, "$ROOT").Replace
	got := map[string]string{
		"stdout": normalise(stdout.String()),
		"stderr": normalise(stderr.String()),
	}
	for name := range s.expected {
		if want, ok := strings.CutPrefix(name, "want:"); ok {
			data, err := os.ReadFile(filepath.Join(work, want))
			if err != nil {
				got[name] = fmt.Sprintf("(read failed: %v)\n", err)
				continue
			}
			got[name] = normalise(string(data))
		}
	}

	if *update {
		updateScript(t, file, archive, got, status)
		return
	}

	if !s.hasExit {
		t.Errorf("%s: missing exit line; the command exited %d", file, status)
	} else if status != s.exit {
		t.Errorf("exit status = %d, want %d\nstderr:\n%s", status, s.exit, got["stderr"])
	}
	for _, name := range []string{"stdout", "stderr"} {
		if diff := cmp.Diff(s.expected[name], got[name]); diff != "" {
			t.Errorf("%s differs (-want +got):\n%s", name, diff)
		}
	}
	for name, want := range s.expected {
		if strings.HasPrefix(name, "want:") {
			if diff := cmp.Diff(want, got[name]); diff != "" {
				t.Errorf("%s differs (-want +got):\n%s", name, diff)
			}
		}
	}
}

func parseScript(archive *txtar.Archive, expand func(string) string) (*script, error) {
	s := &script{expected: map[string]string{}}

	for i, line := range strings.Split(string(archive.Comment), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(expand(line))

		switch fields[0] {
		case "cp", "truncate":
			if len(fields) != 3 {
				return nil, fmt.Errorf("line %d: %s takes two arguments", i+1, fields[0])
			}
			s.setup = append(s.setup, fields)
		case "klpcheck":
			if s.args != nil {
				return nil, fmt.Errorf("line %d: a script runs klpcheck only once", i+1)
			}
			s.args = append([]string{}, fields[1:]...)
		case "exit":
			if len(fields) != 2 {
				return nil, fmt.Errorf("line %d: exit takes one number", i+1)
			}
			n, err := strconv.Atoi(fields[1])
			if err != nil {
				return nil, fmt.Errorf("line %d: invalid exit status: %v", i+1, err)
			}
			s.exit, s.hasExit = n, true
		default:
			return nil, fmt.Errorf("line %d: unknown directive %q", i+1, fields[0])
		}
	}
	if s.args == nil {
		return nil, fmt.Errorf("missing klpcheck line")
	}

	for _, f := range archive.Files {
		if isExpectation(f.Name) {
			s.expected[f.Name] = string(f.Data)
		}
	}
	return s, nil
}

func isExpectation(name string) bool {
	return name == "stdout" || name == "stderr" || strings.HasPrefix(name, "want:")
}

func runSetup(step []string) error {
	switch step[0] {
	case "cp":
		src, dst := step[1], step[2]
		if strings.HasSuffix(dst, "/") {
			dst = filepath.Join(dst, filepath.Base(src))
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	case "truncate":
		size, err := strconv.ParseInt(step[2], 10, 64)
		if err != nil {
			return fmt.Errorf("invalid size: %v", err)
		}
		return os.Truncate(step[1], size)
	}
	return fmt.Errorf("unknown directive %q", step[0])
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// updateScript rewrites the expected sections and the exit line of a
// script with the current results. A stdout or stderr section is added
// when the output is not empty, and other sections keep their order.
func updateScript(t *testing.T, file string, archive *txtar.Archive, got map[string]string, status int) {
	t.Helper()

	var comment []string
	for _, line := range strings.Split(strings.TrimRight(string(archive.Comment), "\n"), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "exit ") {
			continue
		}
		comment = append(comment, line)
	}
	comment = append(comment, fmt.Sprintf("exit %d", status))
	archive.Comment = []byte(strings.Join(comment, "\n") + "\n")

	present := map[string]bool{}
	for i, f := range archive.Files {
		if content, ok := got[f.Name]; ok {
			archive.Files[i].Data = []byte(content)
			present[f.Name] = true
		}
	}
	for _, name := range []string{"stdout", "stderr"} {
		if !present[name] && got[name] != "" {
			archive.Files = append(archive.Files, txtar.File{Name: name, Data: []byte(got[name])})
		}
	}

	if err := os.WriteFile(file, txtar.Format(archive), 0o644); err != nil {
		t.Fatal(err)
	}
}
