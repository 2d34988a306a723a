package elfscan_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/klpcheck/klpcheck/elfscan"
	"github.com/klpcheck/klpcheck/livepatch"
)

// scanResult is an elfscan.Result with the error as text, for cmp.
type scanResult struct {
	Path   string
	Module *livepatch.Module
	Err    string
}

func comparable(results []elfscan.Result) []scanResult {
	out := make([]scanResult, len(results))
	for i, r := range results {
		out[i] = scanResult{Path: r.Path, Module: r.Module}
		if r.Err != nil {
			out[i].Err = r.Err.Error()
		}
	}
	return out
}

// openAllFiles writes modules of every producer, modules that are not
// livepatches, a truncated module and a missing path, in a fixed order.
func openAllFiles(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	producers := []string{"kpatch", "klpbuild", "handwritten"}
	for i := range 24 {
		name := fmt.Sprintf("lp%02d.ko", i)
		var raw []byte
		switch {
		case i%7 == 3:
			raw = plainDriver(t)
		case i == 12:
			raw = benchModule(t, "kpatch", i)[:4096]
		default:
			raw = benchModule(t, producers[i%len(producers)], i)
		}
		paths = append(paths, writeBenchFile(t, dir, name, raw))
	}
	return append(paths, filepath.Join(dir, "missing.ko"))
}

// TestOpenAllMatchesOpen checks that OpenAll returns, in input order, what
// Open returns for each path, with any number of workers.
func TestOpenAllMatchesOpen(t *testing.T) {
	paths := openAllFiles(t)

	var want []elfscan.Result
	for _, p := range paths {
		m, err := elfscan.Open(p)
		want = append(want, elfscan.Result{Path: p, Module: m, Err: err})
	}

	var modules, skipped, failed int
	for _, r := range want {
		switch {
		case r.Err == nil:
			modules++
		case errors.Is(r.Err, elfscan.ErrNotLivepatch):
			skipped++
		default:
			failed++
		}
	}
	if modules != 20 || skipped != 3 || failed != 2 {
		t.Fatalf("Open read %d modules, skipped %d and failed on %d files, want 20, 3 and 2", modules, skipped, failed)
	}

	for _, workers := range []int{1, 2, 3, 8, 100} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			got := elfscan.OpenAll(paths, workers)
			if diff := cmp.Diff(comparable(want), comparable(got)); diff != "" {
				t.Errorf("OpenAll(%d workers) differs from Open (-want +got):\n%s", workers, diff)
			}
		})
	}
}

// TestOpenAllGOMAXPROCS checks that the default worker count, which
// follows GOMAXPROCS, does not change the results. Run it with -race.
func TestOpenAllGOMAXPROCS(t *testing.T) {
	paths := openAllFiles(t)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))

	runtime.GOMAXPROCS(1)
	one := comparable(elfscan.OpenAll(paths, 0))
	runtime.GOMAXPROCS(2)
	two := comparable(elfscan.OpenAll(paths, 0))

	if diff := cmp.Diff(one, two); diff != "" {
		t.Errorf("results differ between GOMAXPROCS 1 and 2 (-1 +2):\n%s", diff)
	}
	if got := len(two); got != len(paths) {
		t.Errorf("got %d results, want %d", got, len(paths))
	}
}

func TestOpenAllEmpty(t *testing.T) {
	if got := elfscan.OpenAll(nil, 0); len(got) != 0 {
		t.Errorf("OpenAll(nil) = %v, want no results", got)
	}
}
