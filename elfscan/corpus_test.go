package elfscan

import (
	"errors"
	"os"
	"testing"
)

// TestCorpus scans every module under the directory named by
// KLPCHECK_CORPUS, such as a distro's /lib/modules/<release> or a build
// tree of kernel samples and kpatch-build outputs, and fails on any error
// other than "not a livepatch module". It is skipped when the variable is
// unset, so the default test run stays hermetic.
func TestCorpus(t *testing.T) {
	dir := os.Getenv("KLPCHECK_CORPUS")
	if dir == "" {
		t.Skip("KLPCHECK_CORPUS is not set")
	}

	paths, err := Discover([]string{dir})
	if err != nil {
		t.Fatalf("Discover(%s): %v", dir, err)
	}
	if len(paths) == 0 {
		t.Fatalf("no .ko, .ko.xz, .ko.zst or .ko.gz files under %s", dir)
	}

	var livepatches, skipped int
	for _, p := range paths {
		m, err := Open(p)
		switch {
		case errors.Is(err, ErrNotLivepatch):
			skipped++
		case err != nil:
			t.Errorf("%v", err)
		default:
			livepatches++
			if m.Producer == "unknown" {
				t.Logf("%s: livepatch markers but no known layout", p)
			}
		}
	}
	t.Logf("%d files: %d livepatch modules, %d skipped as not livepatch", len(paths), livepatches, skipped)
}
