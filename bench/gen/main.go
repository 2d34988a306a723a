// Command gen writes the synthetic corpus of klpcheck's benchmarks: an
// x86-64 vmlinux with 200,000 symbols, and for each requested N a
// directory of N livepatch modules with 50 patched functions each and a
// plan file that loads them in order.
//
// Usage:
//
//	go run ./bench/gen -out DIR [-n 100,1000,10000] [-seed 1] [-workers N]
//
// DIR receives:
//
//	vmlinux
//	nN/modules/lpIIIII-PRODUCER.ko   one per module, in load order
//	nN/plan.yaml
//
// Module i is the same file in every nN directory (a hard link when the
// file system allows it), so larger corpora extend smaller ones. The
// output depends only on the seed.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// release is the kernel release of the synthetic vmlinux and of the
// modules' vermagic. klp-build exists from 6.19, so the corpus claims a
// kernel of that version.
const release = "6.19.0-1-amd64"

func main() {
	out := flag.String("out", "", "output `DIR`, created if missing; existing corpus files in it are replaced")
	counts := flag.String("n", "100,1000,10000", "comma-separated module `COUNTS`, one corpus directory each")
	seed := flag.Uint64("seed", 1, "random `SEED`; the same seed writes the same files")
	workers := flag.Int("workers", runtime.GOMAXPROCS(0), "number of modules encoded in parallel")
	flag.Parse()

	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: gen -out DIR [-n 100,1000,10000] [-seed 1] [-workers N]")
		os.Exit(2)
	}
	sizes, err := parseCounts(*counts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gen: -n: %v\n", err)
		os.Exit(2)
	}
	if err := generate(*out, sizes, *seed, max(1, *workers)); err != nil {
		fmt.Fprintf(os.Stderr, "gen: %v\n", err)
		os.Exit(1)
	}
}

func parseCounts(s string) ([]int, error) {
	var sizes []int
	for _, field := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(field))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("invalid module count %q: want a positive integer", field)
		}
		sizes = append(sizes, n)
	}
	slices.Sort(sizes)
	return slices.Compact(sizes), nil
}

// generate writes vmlinux, then the modules of the largest corpus, then
// links the first n of them into each smaller corpus.
func generate(out string, sizes []int, seed uint64, workers int) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}

	raw, ks, err := buildVmlinux(seed, release)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "vmlinux"), raw, 0o644); err != nil {
		return err
	}

	largest := sizes[len(sizes)-1]
	specs := chooseModules(seed, largest, ks)
	poolDir := filepath.Join(out, corpusDir(largest), "modules")
	if err := writeModules(poolDir, specs, seed, workers); err != nil {
		return err
	}

	for _, n := range sizes {
		dir := filepath.Join(out, corpusDir(n))
		if n != largest {
			if err := linkModules(poolDir, filepath.Join(dir, "modules"), specs[:n]); err != nil {
				return err
			}
		}
		if err := writePlan(filepath.Join(dir, "plan.yaml"), specs[:n]); err != nil {
			return err
		}
	}
	return nil
}

func corpusDir(n int) string { return "n" + strconv.Itoa(n) }

// writeModules encodes the modules on workers goroutines. Every file
// depends only on its spec, so the order of writing does not matter.
func writeModules(dir string, specs []moduleSpec, seed uint64, workers int) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}

	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				raw, err := buildModule(specs[i], seed, i)
				if err == nil {
					err = os.WriteFile(filepath.Join(dir, specs[i].fileName), raw, 0o644)
				}
				if err != nil {
					errs[i] = fmt.Errorf("module %d (%s): %w", i, specs[i].fileName, err)
				}
			}
		}()
	}
	for i := range specs {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// linkModules fills dir with hard links to the pool's files, or copies
// where the file system has no hard links.
func linkModules(pool, dir string, specs []moduleSpec) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, spec := range specs {
		src, dst := filepath.Join(pool, spec.fileName), filepath.Join(dir, spec.fileName)
		if err := os.Link(src, dst); err == nil {
			continue
		}
		raw, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.WriteFile(dst, raw, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writePlan writes a plan that loads the modules in index order with
// mainline semantics. fail_on none keeps the exit status at 0 whatever the
// findings, so that timing tools do not treat a run as failed.
func writePlan(path string, specs []moduleSpec) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %d synthetic livepatch modules written by bench/gen, in load order.\n", len(specs))
	b.WriteString("semantics: mainline\nfail_on: none\npatches:\n")
	for _, spec := range specs {
		fmt.Fprintf(&b, "  - path: modules/%s\n", spec.fileName)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
