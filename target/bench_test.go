package target_test

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klpcheck/klpcheck/internal/elftest"
	"github.com/klpcheck/klpcheck/target"
)

// benchSymbols is the symbol count of the generated inputs, about the
// 160,000 kallsyms symbols of Debian's 6.12 vmlinux.
const benchSymbols = 200_000

// largeVmlinux returns a vmlinux with n functions in files of 50 symbols
// each, listed in each file in the opposite of address order. One name in
// four repeats a name of another file, three functions in four have an
// ftrace call site, and one in twenty is exported.
func largeVmlinux(n int) *elftest.Vmlinux {
	v := &elftest.Vmlinux{Banner: elftest.LinuxBanner("6.12.118+deb12-amd64")}
	for file := 0; file*50 < n; file++ {
		for j := min(50, n-file*50) - 1; j >= 0; j-- {
			i := file*50 + j
			name := fmt.Sprintf("function_%d", i)
			if i%4 == 3 {
				name = fmt.Sprintf("function_%d", i-1000)
			}
			s := elftest.KernelSymbol{Name: name, File: fmt.Sprintf("file_%d.c", file), Offset: uint64(i) * 64, Size: 48}
			if i%4 != 0 {
				s.Ftrace = []uint64{4}
			}
			v.Symbols = append(v.Symbols, s)
		}
	}
	// Exported functions must be global and come after the locals.
	for i := 0; i < n/20; i++ {
		s := &v.Symbols[i*20]
		s.Name, s.File, s.Bind = fmt.Sprintf("exported_%d", i), "", elf.STB_GLOBAL
		v.Exports = append(v.Exports, elftest.KernelExport{Name: s.Name, GPL: i%2 == 0, CRC: uint32(i)})
	}
	var locals, globals []elftest.KernelSymbol
	for _, s := range v.Symbols {
		if s.Bind == elf.STB_LOCAL {
			locals = append(locals, s)
		} else {
			globals = append(globals, s)
		}
	}
	v.Symbols = append(locals, globals...)
	return v
}

func BenchmarkLoadVmlinux(b *testing.B) {
	raw, err := largeVmlinux(benchSymbols).Bytes()
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "vmlinux")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()

	for b.Loop() {
		tg, errs := target.Load([]string{path})
		if len(errs) > 0 {
			b.Fatal(errs)
		}
		if n := len(tg.Vmlinux.Symbols); n < benchSymbols {
			b.Fatalf("%d symbols, want at least %d", n, benchSymbols)
		}
	}
}

func BenchmarkLoadSystemMap(b *testing.B) {
	var text strings.Builder
	for i := 0; i < benchSymbols; i++ {
		typ := "t"
		if i%3 == 0 {
			typ = "T"
		}
		fmt.Fprintf(&text, "%016x %s function_%d\n", uint64(0xffffffff81000000)+uint64(i)*64, typ, i%150_000)
	}
	path := filepath.Join(b.TempDir(), "System.map")
	if err := os.WriteFile(path, []byte(text.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(text.Len()))
	b.ResetTimer()

	for b.Loop() {
		tg, errs := target.Load([]string{path})
		if len(errs) > 0 {
			b.Fatal(errs)
		}
		if n := len(tg.Vmlinux.Symbols); n != benchSymbols {
			b.Fatalf("%d symbols, want %d", n, benchSymbols)
		}
	}
}
