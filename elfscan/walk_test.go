package elfscan_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/klpcheck/klpcheck/elfscan"
)

// TestWalk lists a directory with a module, a link to a module, a link to
// a directory, a dangling module link and a link loop.
func TestWalk(t *testing.T) {
	dir := t.TempDir()
	mods := filepath.Join(dir, "mods")
	other := filepath.Join(dir, "other")
	for _, d := range []string{mods, other} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string) {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, p string) {
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(mods, "a.ko"))
	write(filepath.Join(mods, "notes.txt"))
	write(filepath.Join(other, "b.ko"))
	write(filepath.Join(other, "c.ko.xz"))
	link(filepath.Join(other, "b.ko"), filepath.Join(mods, "b-link.ko"))
	link(other, filepath.Join(mods, "other-dir"))
	link(filepath.Join(dir, "missing.ko"), filepath.Join(mods, "dangling.ko"))
	link(filepath.Join(mods, "loopy.ko"), filepath.Join(mods, "loopx.ko"))
	link(filepath.Join(mods, "loopx.ko"), filepath.Join(mods, "loopy.ko"))

	files, problems := elfscan.Walk(mods)

	wantFiles := []string{filepath.Join(mods, "a.ko"), filepath.Join(mods, "b-link.ko")}
	if diff := cmp.Diff(wantFiles, files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.Error())
	}
	wantProblems := []string{
		filepath.Join(mods, "dangling.ko") + ": follow symbolic link: no such file or directory",
		filepath.Join(mods, "loopx.ko") + ": follow symbolic link: too many levels of symbolic links",
		filepath.Join(mods, "loopy.ko") + ": follow symbolic link: too many levels of symbolic links",
	}
	if diff := cmp.Diff(wantProblems, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}

	// A link to a directory given as the path is walked.
	files, problems = elfscan.Walk(filepath.Join(mods, "other-dir"))
	wantFiles = []string{filepath.Join(mods, "other-dir", "b.ko"), filepath.Join(mods, "other-dir", "c.ko.xz")}
	if diff := cmp.Diff(wantFiles, files); diff != "" || len(problems) != 0 {
		t.Errorf("files of a linked directory (-want +got):\n%s\nproblems: %v", diff, problems)
	}
}
