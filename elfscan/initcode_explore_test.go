package elfscan

import (
	"path/filepath"
	"testing"
)

func TestExploreInitCode(t *testing.T) {
	files, _ := filepath.Glob("../testdata/initcode/*.[ok]*")
	for _, f := range files {
		fn, err := readInitFunction(f, "init_module")
		if err != nil {
			t.Logf("%s: %v", f, err)
			continue
		}
		off := uint64(24)
		if filepath.Base(f) == "kpatch_replace-klp5.1-gcc12-x86_64.o" {
			off = 16
		}
		r := replaceFromInitCode(fn, off)
		t.Logf("%-45s %v %d w%d %s | %s", filepath.Base(f), r.Known, r.Value, r.Width, r.Source, r.Detail)
	}
}
