package target

import (
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/klpcheck/klpcheck/internal/elftest"
)

// checkContents fails the test unless exactly one of c and err is set,
// and checks the order invariants of what a reader returned.
func checkContents(t *testing.T, c *contents, err error) {
	t.Helper()
	if (c == nil) == (err == nil) {
		t.Fatalf("got contents %v and error %v, want exactly one", c != nil, err)
	}
	if c == nil {
		return
	}
	objects := append([]*Object{c.vmlinux}, c.modules...)
	for _, o := range objects {
		if o == nil {
			continue
		}
		if !slices.IsSorted(o.Ftrace) {
			t.Errorf("%s: ftrace call sites are not sorted", o.Name)
		}
		if o.Kind == KindVmlinux || o.Kind == KindSystemMap {
			if !slices.IsSortedFunc(o.Symbols, func(a, b Symbol) int { return compareUint64(a.Addr, b.Addr) }) {
				t.Errorf("%s: symbols are not in address order", o.Name)
			}
		}
	}
}

func compareUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// addFiles adds every file matching pattern to the fuzz corpus.
func addFiles(f *testing.F, pattern string) {
	paths, err := filepath.Glob(pattern)
	if err != nil {
		f.Fatal(err)
	}
	if len(paths) == 0 {
		f.Fatalf("no file matches %s", pattern)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// fuzzText runs readText, which detects the format and parses it, on
// data.
func fuzzText(t *testing.T, data []byte) {
	c, err := readText(bytes.NewReader(data), int64(len(data)))
	checkContents(t, c, err)
}

func FuzzSymbolMap(f *testing.F) {
	addFiles(f, "testdata/system.map")
	addFiles(f, "testdata/kallsyms*")
	f.Fuzz(fuzzText)
}

func FuzzModuleSymvers(f *testing.F) {
	addFiles(f, "testdata/Module.symvers")
	f.Add([]byte("0x00000001\tvfs_read\t\tvmlinux\tEXPORT_SYMBOL\n"))
	f.Fuzz(fuzzText)
}

func FuzzFilterFunctions(f *testing.F) {
	addFiles(f, "testdata/available_filter_functions")
	f.Fuzz(fuzzText)
}

// fuzzVmlinux is a small vmlinux for the fuzz corpus.
func fuzzVmlinux(f *testing.F) []byte {
	v := &elftest.Vmlinux{
		Symbols: []elftest.KernelSymbol{
			{Name: "show", File: "a.c", Offset: 0x40, Size: 0x20, Ftrace: []uint64{4}},
			{Name: "show", File: "b.c", Offset: 0, Size: 0x20, Ftrace: []uint64{0}},
			{Name: "exported", Bind: elf.STB_GLOBAL, Offset: 0x80, Size: 0x10, Ftrace: []uint64{0}},
		},
		Exports: []elftest.KernelExport{{Name: "exported", GPL: true, Namespace: "NS", CRC: 7}},
		Banner:  elftest.LinuxBanner("6.1.0-57-amd64"),
	}
	raw, err := v.Bytes()
	if err != nil {
		f.Fatal(err)
	}
	return raw
}

// FuzzVmlinux feeds arbitrary bytes to the ELF readers: a vmlinux for
// ET_EXEC and ET_DYN, a module for ET_REL.
func FuzzVmlinux(f *testing.F) {
	f.Add(fuzzVmlinux(f))
	addFiles(f, "../testdata/modules/6.1/klpc_nomodinfo.ko")
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := readELF(bytes.NewReader(data), int64(len(data)), "fuzz")
		checkContents(t, c, err)
	})
}
