package elftest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadelfAcceptsEveryModule runs binutils readelf -Wa on every builder
// and architecture and fails on any warning or error it prints. readelf
// checks more of the ELF structure than debug/elf, for example that
// relocation symbol indexes are in range. The test is skipped where
// binutils is not installed.
func TestReadelfAcceptsEveryModule(t *testing.T) {
	readelf, err := exec.LookPath("readelf")
	if err != nil {
		t.Skip("readelf not found; install binutils to run this check")
	}
	dir := t.TempDir()
	for _, arch := range Arches() {
		for _, bl := range builders {
			p := samplePatch(arch.Name)
			p.KernelParam = bl.name == "hand-written"
			raw, err := bl.build(p).Bytes()
			if err != nil {
				t.Fatalf("%s %s: Bytes: %v", bl.name, arch.Name, err)
			}
			path := filepath.Join(dir, bl.name+"-"+arch.Name+".ko")
			if err := os.WriteFile(path, raw, 0o644); err != nil {
				t.Fatal(err)
			}

			var stdout, stderr bytes.Buffer
			cmd := exec.Command(readelf, "-Wa", path)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Errorf("%s %s: readelf failed: %v\n%s", bl.name, arch.Name, err, stderr.String())
			}
			if stderr.Len() > 0 {
				t.Errorf("%s %s: readelf printed:\n%s", bl.name, arch.Name, stderr.String())
			}
			for _, line := range strings.Split(stdout.String(), "\n") {
				if strings.Contains(line, "Warning") || strings.Contains(line, "<corrupt") {
					t.Errorf("%s %s: readelf output: %s", bl.name, arch.Name, line)
				}
			}
		}
	}
}
