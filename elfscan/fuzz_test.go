package elfscan

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the scanner. It must never panic, and
// it must return either a module or an *Error, never both and never
// neither. The corpus is seeded from every committed module.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{
		"../testdata/modules/*/*.ko",
		"../testdata/modules/cross/*/*.o",
		"../testdata/initcode/*.ko",
		"../testdata/initcode/*.o",
	} {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(bytes.NewReader(data), int64(len(data)), "fuzz.ko")
		if err != nil {
			if m != nil {
				t.Fatalf("Parse returned a module and an error: %v", err)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse error %T is not an *Error: %v", err, err)
			}
			return
		}
		if m == nil {
			t.Fatal("Parse returned neither a module nor an error")
		}
	})
}
