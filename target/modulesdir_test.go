package target_test

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/klpcheck/klpcheck/target"
)

const release61 = "6.1.0-57-amd64"

// readFixture returns the bytes of a committed file.
func readFixture(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// compress returns raw compressed with format "xz", "zst" or "gz".
func compress(t *testing.T, format string, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch format {
	case "xz":
		var w *xz.Writer
		if w, err = xz.NewWriter(&buf); err == nil {
			_, err = w.Write(raw)
			err = firstError(err, w.Close())
		}
	case "zst":
		var w *zstd.Encoder
		if w, err = zstd.NewWriter(&buf); err == nil {
			_, err = w.Write(raw)
			err = firstError(err, w.Close())
		}
	case "gz":
		w := gzip.NewWriter(&buf)
		_, err = w.Write(raw)
		err = firstError(err, w.Close())
	}
	if err != nil {
		t.Fatalf("compress %s: %v", format, err)
	}
	return buf.Bytes()
}

func firstError(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// putFiles writes files, keyed by path relative to dir.
func putFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for rel, data := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// modulesTree writes /lib/modules/6.1.0-57-amd64 under a new directory
// and returns the directory. klpc_fg.ko is stored with a dash in its file
// name and klpc_nomodinfo.ko compressed with xz; broken.ko is not ELF,
// which only reading its symbols reveals.
func modulesTree(t *testing.T, withIndexes bool) (dir, root string) {
	t.Helper()
	dir = t.TempDir()
	root = filepath.Join(dir, "lib/modules", release61)
	files := map[string][]byte{
		"kernel/fs/klpc-fg.ko":                 readFixture(t, "../testdata/modules/6.1/klpc_fg.ko"),
		"kernel/drivers/klpc_nomodinfo.ko.xz":  compress(t, "xz", readFixture(t, "../testdata/modules/6.1/klpc_nomodinfo.ko")),
		"kernel/drivers/broken.ko":             []byte("not a module\n"),
		"updates/klpc_nomodinfo.ko":            readFixture(t, "../testdata/modules/6.1/klpc_nomodinfo.ko"),
		"kernel/drivers/no-a-module/README.md": []byte("# notes\n"),
	}
	if withIndexes {
		files["modules.dep"] = []byte("kernel/fs/klpc-fg.ko:\nkernel/drivers/klpc_nomodinfo.ko.xz: kernel/fs/klpc-fg.ko\nkernel/drivers/broken.ko:\n")
		files["modules.builtin"] = []byte("kernel/fs/ext4/ext4.ko\nkernel/crypto/crc32c_generic.ko\n")
		files["modules.symbols"] = []byte("# Aliases for symbols, used by symbol_request().\nalias symbol:klpc_fg_helper klpc_fg\n")
	}
	putFiles(t, root, files)
	return dir, root
}

func TestModulesTree(t *testing.T) {
	_, root := modulesTree(t, true)
	tg := loadOne(t, root)

	wantInputs := []target.Input{{Path: root, Kind: target.KindModulesDir, Symbols: 3}}
	if diff := cmp.Diff(wantInputs, tg.Inputs, objectOptions); diff != "" {
		t.Errorf("Inputs mismatch (-want +got):\n%s", diff)
	}
	if got, want := tg.ModuleNames(), []string{"broken", "klpc_fg", "klpc_nomodinfo"}; !cmp.Equal(got, want) {
		t.Errorf("ModuleNames() = %v, want %v", got, want)
	}
	if tg.Release != release61 || tg.ReleaseFrom != root {
		t.Errorf("Release = %q from %q, want %s from the tree", tg.Release, tg.ReleaseFrom, release61)
	}
	if !tg.Builtin("ext4") || !tg.Builtin("crc32c_generic") || tg.Builtin("klpc_fg") {
		t.Error("Builtin: want ext4 and crc32c_generic, not klpc_fg")
	}
	if found, known := tg.HasModule("xfs"); found || !known {
		t.Errorf("HasModule(xfs) = %v, %v, want false, true", found, known)
	}

	// modules.dep names the xz file, not the copy under updates/.
	o, err := tg.Module("klpc_nomodinfo")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "kernel/drivers/klpc_nomodinfo.ko.xz"); o.Path != want || len(o.Symbols) != 10 {
		t.Errorf("klpc_nomodinfo: path %s with %d symbols, want %s with 10", o.Path, len(o.Symbols), want)
	}

	// Module files are read on first use, so a broken one fails then.
	broken := filepath.Join(root, "kernel/drivers/broken.ko")
	if _, err := tg.Module("broken"); err == nil || err.Error() != broken+`: read ELF header: not an ELF file (starts with "not ")` {
		t.Errorf("Module(broken) error = %v", err)
	}

	// modules.symbols gives module exports, without CRCs or GPL flags.
	// Without vmlinux's exports a missing export is still unknown.
	e, found, known := tg.Export("klpc_fg_helper")
	if want := (target.Export{Name: "klpc_fg_helper", Owner: "klpc_fg", GPLUnknown: true}); e != want || !found || known {
		t.Errorf("Export(klpc_fg_helper) = %+v, %v, %v, want %+v, true, false", e, found, known, want)
	}
	if err := tg.LoadPath(buildVmlinux(t, testVmlinux())); err != nil {
		t.Fatal(err)
	}
	if _, found, known := tg.Export("missing"); found || !known {
		t.Errorf("with vmlinux, Export(missing) = found %v, known %v, want false, true", found, known)
	}
}

func TestModulesTreeWithoutIndexes(t *testing.T) {
	_, root := modulesTree(t, false)
	tg := loadOne(t, root)

	wantInputs := []target.Input{{
		Path: root, Kind: target.KindModulesDir, Symbols: 3,
		Notes: []string{
			"has no modules.dep, so the module list comes from the module files",
			"skipped 1 module file whose module name another file has",
			"has no modules.symbols, so the exports of modules are unknown",
		},
	}}
	if diff := cmp.Diff(wantInputs, tg.Inputs, objectOptions); diff != "" {
		t.Errorf("Inputs mismatch (-want +got):\n%s", diff)
	}

	// depmod searches updates/ first.
	o, err := tg.Module("klpc_nomodinfo")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "updates/klpc_nomodinfo.ko"); o.Path != want {
		t.Errorf("klpc_nomodinfo read from %s, want %s", o.Path, want)
	}
}

func TestPackageDirectory(t *testing.T) {
	dir, root := modulesTree(t, true)
	systemMap := filepath.Join(dir, "boot/System.map-"+release61)
	putFiles(t, dir, map[string][]byte{"boot/System.map-" + release61: readFixture(t, "testdata/system.map")})

	tg := loadOne(t, dir)
	wantInputs := []target.Input{
		{Path: dir, Kind: target.KindModulesDir, Symbols: 3, Notes: []string{
			"modules read from " + root,
			"the package directory also has " + systemMap + ", loaded as another input",
		}},
		{Path: systemMap, Kind: target.KindSystemMap, Symbols: 16},
	}
	if diff := cmp.Diff(wantInputs, tg.Inputs, objectOptions); diff != "" {
		t.Errorf("Inputs mismatch (-want +got):\n%s", diff)
	}
	if tg.Vmlinux == nil || tg.Vmlinux.Kind != target.KindSystemMap {
		t.Errorf("Vmlinux = %+v, want System.map's symbols", tg.Vmlinux)
	}
}

func TestModulesDirErrors(t *testing.T) {
	t.Run("two releases", func(t *testing.T) {
		dir := t.TempDir()
		putFiles(t, dir, map[string][]byte{
			"lib/modules/6.1.0-57-amd64/kernel/a.ko": {},
			"lib/modules/6.1.0-58-amd64/kernel/a.ko": {},
		})
		want := dir + ": read modules: the directory holds modules of 2 releases (6.1.0-57-amd64, 6.1.0-58-amd64); give the directory of one of them"
		if got := loadError(t, dir); got != want {
			t.Errorf("error\n\t%s\nwant\n\t%s", got, want)
		}
	})
	t.Run("no modules", func(t *testing.T) {
		dir := t.TempDir()
		putFiles(t, dir, map[string][]byte{"README": []byte("x\n")})
		want := dir + ": read modules: no modules.dep and no .ko, .ko.xz, .ko.zst or .ko.gz file under the directory"
		if got := loadError(t, dir); got != want {
			t.Errorf("error\n\t%s\nwant\n\t%s", got, want)
		}
	})
	t.Run("bad modules.dep", func(t *testing.T) {
		dir := t.TempDir()
		putFiles(t, dir, map[string][]byte{"modules.dep": []byte("kernel/a.ko:\nkernel/b.ko\n")})
		want := filepath.Join(dir, "modules.dep") + ":2: want MODULE_PATH: DEPENDENCIES"
		if got := loadError(t, dir); got != want {
			t.Errorf("error\n\t%s\nwant\n\t%s", got, want)
		}
	})
	t.Run("bad modules.symbols", func(t *testing.T) {
		dir := t.TempDir()
		putFiles(t, dir, map[string][]byte{"modules.dep": []byte("kernel/a.ko:\n"), "modules.symbols": []byte("alias symbol:foo\n")})
		want := filepath.Join(dir, "modules.symbols") + ":1: want alias symbol:NAME MODULE"
		if got := loadError(t, dir); got != want {
			t.Errorf("error\n\t%s\nwant\n\t%s", got, want)
		}
	})
}

// TestCompressedModule loads a module file compressed each way the
// kernel's module loader accepts.
func TestCompressedModule(t *testing.T) {
	raw := readFixture(t, "../testdata/modules/6.1/klpc_nomodinfo.ko")
	for _, format := range []string{"xz", "zst", "gz"} {
		t.Run(format, func(t *testing.T) {
			tg := loadOne(t, writeFile(t, "m.ko."+format, compress(t, format, raw)))
			o, err := tg.Module("klpc_nomodinfo")
			if err != nil || o == nil || len(o.Symbols) != 10 || o.BuildID != "eb6233dd2487616b7a819c2f6394eae0a0bfc76d" {
				t.Errorf("Module(klpc_nomodinfo) = %+v, %v", o, err)
			}
		})
	}
}

// TestModulesDirOtherRelease reads a module of 6.1 that sits in a modules
// tree named after 6.12: it does not describe the target, so reading it
// fails with the two releases.
func TestModulesDirOtherRelease(t *testing.T) {
	root := filepath.Join(t.TempDir(), "lib", "modules", "6.12.0-1-amd64")
	data, err := os.ReadFile("../testdata/modules/6.1/target/klpc_target.ko")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "extra"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "extra", "klpc_target.ko")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}

	tg := loadOne(t, root)
	_, err = tg.Module("klpc_target")

	want := path + ": module klpc_target is built for 6.1.0-57-amd64, but the target kernel is 6.12.0-1-amd64 (from " + root + ")"
	if err == nil || err.Error() != want {
		t.Errorf("Module error = %v, want %s", err, want)
	}
}
