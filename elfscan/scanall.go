package elfscan

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/klpcheck/klpcheck/livepatch"
)

// Result is the outcome of reading one module file with OpenAll: a module,
// or the error Open returned for it.
type Result struct {
	Path   string
	Module *livepatch.Module
	Err    error
}

// OpenAll reads the module files at paths with up to workers goroutines
// and returns one Result per path, in the order of paths. workers <= 0
// means GOMAXPROCS.
//
// Each file is read by Open on its own, so a result does not depend on
// the number of workers or on which files share a run. At most workers
// files are open and being decoded at once.
func OpenAll(paths []string, workers int) []Result {
	results := make([]Result, len(paths))
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(paths))

	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(paths) {
					return
				}
				m, err := Open(paths[i])
				results[i] = Result{Path: paths[i], Module: m, Err: err}
			}
		}()
	}
	wg.Wait()
	return results
}
