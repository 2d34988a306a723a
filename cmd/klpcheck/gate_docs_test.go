package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// ciExample is one YAML block of docs/ci.md with the klpcheck commands of
// its run: and script: entries.
type ciExample struct {
	// line is the line of docs/ci.md where the block starts.
	line     int
	text     string
	commands []ciCommand
}

// ciCommand is one klpcheck command line of an example.
type ciCommand struct {
	args []string
	// exit is the exit status its "# exit status N" comment states, or 0.
	exit int
}

// yamlBlockPattern matches a fenced YAML block of a Markdown page.
var yamlBlockPattern = regexp.MustCompile("(?ms)^```yaml\n(.*?)^```$")

// exitCommentPattern matches the comment that states a command's exit
// status.
var exitCommentPattern = regexp.MustCompile(`#\s*exit status (\d+)\b`)

// docFilePattern matches a first line that names the file a block shows.
var docFilePattern = regexp.MustCompile(`^# (docs/ci/\S+)$`)

// TestCIDocExamples runs the klpcheck commands of the CI examples in
// docs/ci.md against the committed fixtures and checks the exit status
// that each documents.
func TestCIDocExamples(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(root, "docs", "ci.md"))
	if err != nil {
		t.Fatal(err)
	}

	examples := ciExamples(t, string(page))
	var ci, commands int
	for _, ex := range examples {
		if len(ex.commands) > 0 {
			ci++
			commands += len(ex.commands)
		}
	}
	// The GitHub Actions job, the GitLab CI jobs and the release gate.
	if ci < 3 || commands < 4 {
		t.Fatalf("found %d CI examples with %d klpcheck commands in docs/ci.md, want at least 3 and 4", ci, commands)
	}

	for _, ex := range examples {
		if name, ok := shownFile(ex.text); ok {
			t.Run(fmt.Sprintf("line %d shows %s", ex.line, name), func(t *testing.T) {
				data, err := os.ReadFile(filepath.Join(root, name))
				if err != nil {
					t.Fatal(err)
				}
				body := strings.SplitN(ex.text, "\n", 2)[1]
				if body != string(data) {
					t.Errorf("the block differs from %s; copy the file into docs/ci.md", name)
				}
			})
		}
		if len(ex.commands) == 0 {
			continue
		}
		t.Run(fmt.Sprintf("line %d", ex.line), func(t *testing.T) {
			runCIExample(t, root, ex)
		})
	}
}

// ciExamples parses every YAML block of page.
func ciExamples(t *testing.T, page string) []ciExample {
	t.Helper()
	var examples []ciExample
	for _, m := range yamlBlockPattern.FindAllStringSubmatchIndex(page, -1) {
		text := page[m[2]:m[3]]
		ex := ciExample{line: strings.Count(page[:m[0]], "\n") + 1, text: text}

		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
			t.Fatalf("docs/ci.md:%d: invalid YAML: %v", ex.line, err)
		}
		for _, script := range ciScripts(&doc) {
			cmds, err := klpcheckCommands(script)
			if err != nil {
				t.Fatalf("docs/ci.md:%d: %v", ex.line, err)
			}
			ex.commands = append(ex.commands, cmds...)
		}
		examples = append(examples, ex)
	}
	return examples
}

// ciScripts returns the shell scripts of a CI file in document order: the
// value of each run: key (GitHub Actions) and each item of script:,
// before_script: and after_script: (GitLab CI).
func ciScripts(n *yaml.Node) []string {
	var scripts []string
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			scripts = append(scripts, ciScripts(c)...)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, value := n.Content[i].Value, n.Content[i+1]
			switch {
			case key == "run" && value.Kind == yaml.ScalarNode:
				scripts = append(scripts, value.Value)
			case key == "script" || key == "before_script" || key == "after_script":
				scripts = append(scripts, scalarItems(value)...)
			default:
				scripts = append(scripts, ciScripts(value)...)
			}
		}
	}
	return scripts
}

// scalarItems returns a scalar's value, or the scalar items of a sequence.
func scalarItems(n *yaml.Node) []string {
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	var items []string
	for _, c := range n.Content {
		if c.Kind == yaml.ScalarNode {
			items = append(items, c.Value)
		}
	}
	return items
}

// klpcheckCommands returns the klpcheck commands of a shell script. Lines
// ending in a backslash continue on the next line. A trailing comment may
// state the exit status, and other commands are left out.
func klpcheckCommands(script string) ([]ciCommand, error) {
	var commands []ciCommand
	for _, line := range strings.Split(strings.ReplaceAll(script, "\\\n", " "), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || fields[0] != "klpcheck" {
			continue
		}

		cmd := ciCommand{}
		code, comment, _ := strings.Cut(line, "#")
		if m := exitCommentPattern.FindStringSubmatch("#" + comment); m != nil {
			cmd.exit, _ = strconv.Atoi(m[1])
		}
		if strings.ContainsAny(code, `'"$;|&<>`+"`") {
			return nil, fmt.Errorf("klpcheck command %q uses shell syntax that the test does not run; keep examples to plain arguments", strings.TrimSpace(code))
		}
		cmd.args = strings.Fields(code)[1:]
		commands = append(commands, cmd)
	}
	return commands, nil
}

// shownFile returns the file a block names on its first line.
func shownFile(text string) (string, bool) {
	first, _, _ := strings.Cut(text, "\n")
	m := docFilePattern.FindStringSubmatch(first)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// runCIExample runs the commands of an example in order, in a fresh
// directory that links the repository's fixtures, the way a CI job runs
// them in a checkout.
func runCIExample(t *testing.T, root string, ex ciExample) {
	work := t.TempDir()
	for _, dir := range []string{"testdata", "live", "docs"} {
		if err := os.Symlink(filepath.Join(root, dir), filepath.Join(work, dir)); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(work)

	for _, cmd := range ex.commands {
		args, err := expandGlobs(cmd.args)
		if err != nil {
			t.Fatal(err)
		}

		var stdout, stderr bytes.Buffer
		status := run(args, strings.NewReader(""), &stdout, &stderr)
		if status != cmd.exit {
			t.Errorf("klpcheck %s\nexit status %d, want %d\nstdout:\n%s\nstderr:\n%s",
				strings.Join(cmd.args, " "), status, cmd.exit, stdout.String(), stderr.String())
			continue
		}
		for _, file := range writtenFiles(cmd.args) {
			if info, err := os.Stat(file); err != nil || info.Size() == 0 {
				t.Errorf("klpcheck %s: %s was not written (%v)", strings.Join(cmd.args, " "), file, err)
			}
		}
	}
}

// expandGlobs expands the arguments that contain a shell pattern, as the
// shell of a CI job does. A pattern that matches nothing is an error,
// because the shell would pass it on as it is.
func expandGlobs(args []string) ([]string, error) {
	var out []string
	for _, arg := range args {
		if !strings.ContainsAny(arg, "*?[") {
			out = append(out, arg)
			continue
		}
		matches, err := filepath.Glob(arg)
		if err != nil || len(matches) == 0 {
			return nil, fmt.Errorf("pattern %q matches no file (%v)", arg, err)
		}
		out = append(out, matches...)
	}
	return out, nil
}

// writtenFiles returns the files a command writes with --output and
// --write-baseline.
func writtenFiles(args []string) []string {
	var files []string
	for i := 0; i+1 < len(args); i++ {
		switch strings.TrimLeft(args[i], "-") {
		case "output":
			if _, path, ok := strings.Cut(args[i+1], "="); ok {
				files = append(files, path)
			}
		case "write-baseline":
			files = append(files, args[i+1])
		}
	}
	return files
}

func TestKlpcheckCommands(t *testing.T) {
	script := "go install github.com/klpcheck/klpcheck/cmd/klpcheck@latest\n" +
		"klpcheck check --plan p.yaml \\\n  --format github  # exit status 1: a fix is reverted\n" +
		"echo done\n" +
		"klpcheck rules\n"
	got, err := klpcheckCommands(script)
	if err != nil {
		t.Fatal(err)
	}
	want := []ciCommand{
		{args: []string{"check", "--plan", "p.yaml", "--format", "github"}, exit: 1},
		{args: []string{"rules"}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d commands %+v, want %+v", len(got), got, want)
	}
	for i := range want {
		if strings.Join(got[i].args, " ") != strings.Join(want[i].args, " ") || got[i].exit != want[i].exit {
			t.Errorf("command %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	for _, line := range []string{`klpcheck check "a b.ko"`, "klpcheck check $MODULES", "klpcheck check a.ko | tee out"} {
		if _, err := klpcheckCommands(line); err == nil {
			t.Errorf("klpcheckCommands(%q) = nil error, want an error for shell syntax", line)
		}
	}
}

func TestWrittenFiles(t *testing.T) {
	args := []string{"check", "--output", "sarif=k.sarif", "-output", "json=k.json", "--write-baseline", "b.json", "a.ko"}
	got := strings.Join(writtenFiles(args), " ")
	if want := "k.sarif k.json b.json"; got != want {
		t.Errorf("writtenFiles = %q, want %q", got, want)
	}
}
