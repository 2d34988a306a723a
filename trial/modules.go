package trial

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/klpcheck/klpcheck/elfscan"
)

// moduleTree indexes the modules of a target kernel's module directory
// (/lib/modules/<release> or a copy of it) by module name.
type moduleTree struct {
	dir string
	// paths maps a module name, with dashes as underscores, to its file.
	paths map[string]string
}

// moduleSuffixes are the file names the index collects. The kernel can
// read compressed modules itself only through finit_module with
// MODULE_INIT_COMPRESSED_FILE (6.1 and later), so the initramfs stores
// every module decompressed.
var moduleSuffixes = []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"}

// openModuleTree walks dir and indexes every module file in it. When two
// files have the same module name, the first in lexical walk order wins.
func openModuleTree(dir string) (*moduleTree, error) {
	t := &moduleTree{dir: dir, paths: map[string]string{}}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		name, ok := moduleNameOf(d.Name())
		if ok {
			if _, seen := t.paths[name]; !seen {
				t.paths[name] = path
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index modules under %s: %w", dir, err)
	}
	if len(t.paths) == 0 {
		return nil, fmt.Errorf("index modules under %s: no .ko, .ko.xz, .ko.zst or .ko.gz files found", dir)
	}
	return t, nil
}

// moduleNameOf returns the module name of a module file name: the part
// before the suffix, with dashes as underscores, as the kernel names
// modules.
func moduleNameOf(file string) (string, bool) {
	for _, suffix := range moduleSuffixes {
		if base, ok := strings.CutSuffix(file, suffix); ok && base != "" {
			return strings.ReplaceAll(base, "-", "_"), true
		}
	}
	return "", false
}

// targetModule is a module of the target kernel, decompressed.
type targetModule struct {
	Name string
	// Path is the file in the module tree.
	Path string
	Data []byte
	// Depends are the modules it needs, from the depends= key of its
	// .modinfo, which modpost writes and depmod reads.
	Depends []string
}

// readModule reads the module called name from the tree.
func (t *moduleTree) readModule(name string) (*targetModule, error) {
	path, ok := t.paths[strings.ReplaceAll(name, "-", "_")]
	if !ok {
		return nil, fmt.Errorf("module %s not found under %s", name, t.dir)
	}

	data, err := readModuleFile(path)
	if err != nil {
		return nil, err
	}

	depends, err := modinfoDepends(data)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return &targetModule{Name: name, Path: path, Data: data, Depends: depends}, nil
}

// modinfoDepends returns the module names of the depends= key of a
// module's .modinfo section, which holds NUL-separated key=value strings.
func modinfoDepends(data []byte) ([]string, error) {
	f, err := elfscan.NewELFFile(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil, err
	}
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, errors.New("no .modinfo section")
	}
	info, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("read .modinfo: %w", err)
	}
	for _, field := range bytes.Split(info, []byte{0}) {
		value, ok := bytes.CutPrefix(field, []byte("depends="))
		if !ok {
			continue
		}
		var names []string
		for _, n := range strings.Split(string(value), ",") {
			if n != "" {
				names = append(names, strings.ReplaceAll(n, "-", "_"))
			}
		}
		return names, nil
	}
	return nil, nil
}

// withDependencies returns name and every module it depends on, directly
// or not, in an order that loads each dependency before its users.
func (t *moduleTree) withDependencies(name string) ([]*targetModule, error) {
	var (
		order    []*targetModule
		done     = map[string]bool{}
		visiting []string
	)
	var visit func(string) error
	visit = func(n string) error {
		if done[n] {
			return nil
		}
		if slices.Contains(visiting, n) {
			return fmt.Errorf("module %s: circular dependency %s -> %s", name, strings.Join(visiting, " -> "), n)
		}
		visiting = append(visiting, n)
		m, err := t.readModule(n)
		if err != nil {
			return err
		}
		for _, dep := range m.Depends {
			if err := visit(dep); err != nil {
				return err
			}
		}
		visiting = visiting[:len(visiting)-1]
		done[n] = true
		order = append(order, m)
		return nil
	}
	if err := visit(strings.ReplaceAll(name, "-", "_")); err != nil {
		return nil, err
	}
	return order, nil
}

// readModuleFile reads a livepatch module file for the initramfs, decompressed.
func readModuleFile(path string) ([]byte, error) {
	r, size, closeFile, err := elfscan.OpenDecompressed(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer closeFile()
	data := make([]byte, size)
	if _, err := r.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, nil
}

// isStaticELF reports whether the file at path is an ELF executable
// without a program interpreter, which a busybox in an initramfs without
// a C library must be.
func isStaticELF(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	ef, err := elfscan.NewELFFile(f, st.Size())
	if err != nil {
		return false, err
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}
