package target

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/klpcheck/klpcheck/elfscan"
)

// maxIndexSize bounds the size of modules.dep, modules.builtin and
// modules.symbols in bytes. A distribution kernel's modules.dep is under
// 1 MiB.
const maxIndexSize = 64 << 20

// moduleTreeDirs are where a kernel package unpacks its modules, relative
// to the package root, in order of preference: the image package's
// modules, the usrmerge location, then the debug package's copies.
var moduleTreeDirs = []string{"lib/modules", "usr/lib/modules", "usr/lib/debug/lib/modules"}

// readModulesDir reads a modules tree: /lib/modules/<release> or a copy,
// an unpacked kernel package whose lib/modules holds one release, or any
// directory of .ko files. Module files are only listed here; their
// symbols are read when Target.Module asks for them.
//
// The module list comes from modules.dep when the tree has one, and from
// the .ko, .ko.xz, .ko.zst and .ko.gz files under the tree otherwise.
// modules.builtin lists the modules built into vmlinux. Exports of
// modules come from modules.symbols; without it they stay unknown rather
// than being read from every module file.
func readModulesDir(path string) (*contents, error) {
	root, err := findModulesRoot(path)
	if err != nil {
		return nil, err
	}

	c := &contents{input: Input{Kind: KindModulesDir}, modulePaths: map[string]string{}, allModules: true}
	if root != path {
		c.input.Notes = append(c.input.Notes, "modules read from "+root)
	}
	if parent := filepath.Base(filepath.Dir(root)); parent == "modules" {
		c.release = filepath.Base(root)
	}

	if err := readModuleList(root, c); err != nil {
		return nil, err
	}
	c.input.Symbols = len(c.modulePaths)

	builtin, err := readModulesBuiltin(root)
	if err != nil {
		return nil, err
	}
	c.builtin = builtin

	if err := readModulesSymbols(root, c); err != nil {
		return nil, err
	}

	if root != path && c.release != "" {
		c.extra = packageKernelFiles(path, c.release, &c.input)
	}
	return c, nil
}

// isModulesRoot reports whether dir looks like /lib/modules/<release>: it
// has a depmod index or a kernel/ subdirectory.
func isModulesRoot(dir string) bool {
	for _, name := range []string{"modules.dep", "modules.builtin", "modules.order", "kernel"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return true
		}
	}
	return false
}

// findModulesRoot returns the modules tree of path: path itself when it
// looks like one; else the one release directory under the package
// locations in moduleTreeDirs, or directly under path when path is named
// "modules"; else path, to be searched for module files.
func findModulesRoot(path string) (string, error) {
	if isModulesRoot(path) {
		return path, nil
	}

	dirs := moduleTreeDirs
	if filepath.Base(path) == "modules" {
		dirs = []string{"."}
	}
	var roots, releases []string
	for _, d := range dirs {
		entries, err := os.ReadDir(filepath.Join(path, d))
		if err != nil {
			continue
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			if !slices.Contains(releases, e.Name()) {
				releases = append(releases, e.Name())
				roots = append(roots, filepath.Join(path, d, e.Name()))
			}
		}
	}

	switch len(roots) {
	case 0:
		return path, nil
	case 1:
		return roots[0], nil
	}
	return "", fmt.Errorf("read modules: the directory holds modules of %d releases (%s); give the directory of one of them", len(roots), strings.Join(releases, ", "))
}

// readModuleList fills c.modulePaths from modules.dep, or from the module
// files under root when there is no modules.dep.
func readModuleList(root string, c *contents) error {
	depPath := filepath.Join(root, "modules.dep")
	text, err := readIndex(depPath)
	if errors.Is(err, fs.ErrNotExist) {
		return walkModules(root, c)
	}
	if err != nil {
		return err
	}

	err = forEachLine(text, func(n int, line string) error {
		if strings.TrimSpace(line) == "" {
			return nil
		}
		file, _, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(file) == "" {
			return lineError(n, "want MODULE_PATH: DEPENDENCIES")
		}
		file = strings.TrimSpace(file)
		if !filepath.IsAbs(file) {
			file = filepath.Join(root, file)
		}
		name := moduleName(file)
		if _, dup := c.modulePaths[name]; !dup {
			c.modulePaths[name] = file
		}
		return nil
	})
	return withPath(depPath, err)
}

// walkModules lists the module files under root. When two files give one
// module name, the one under an updates/ directory wins, as depmod's
// default search order ("updates built-in") has it, and otherwise the
// first in lexical path order.
func walkModules(root string, c *contents) error {
	// elfscan.Walk follows links to module files and a root given as a
	// link, like the module inputs of check.
	files, problems := elfscan.Walk(root)
	if len(problems) > 0 {
		return &Error{Path: problems[0].Path, Err: problems[0].Err}
	}
	if len(files) == 0 {
		return errors.New("read modules: no modules.dep and no .ko, .ko.xz, .ko.zst or .ko.gz file under the directory")
	}

	duplicates := 0
	for _, f := range files {
		name := moduleName(f)
		old, dup := c.modulePaths[name]
		switch {
		case !dup:
			c.modulePaths[name] = f
		case inUpdates(root, f) && !inUpdates(root, old):
			c.modulePaths[name] = f
			duplicates++
		default:
			duplicates++
		}
	}
	c.input.Notes = append(c.input.Notes, "has no modules.dep, so the module list comes from the module files")
	if duplicates > 0 {
		c.input.Notes = append(c.input.Notes, fmt.Sprintf("skipped %s whose module name another file has", plural(duplicates, "module file")))
	}
	return nil
}

// isModuleFile reports whether a file name has a module suffix.
func isModuleFile(name string) bool {
	for _, suffix := range []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return false
}

// inUpdates reports whether file lies under root/updates.
func inUpdates(root, file string) bool {
	rel, err := filepath.Rel(root, file)
	return err == nil && strings.HasPrefix(rel, "updates"+string(filepath.Separator))
}

// readModulesBuiltin returns the names in modules.builtin, one module
// path a line, or nil when the tree has no such file.
func readModulesBuiltin(root string) ([]string, error) {
	path := filepath.Join(root, "modules.builtin")
	text, err := readIndex(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}

	var names []string
	err = forEachLine(text, func(n int, line string) error {
		line = strings.TrimSpace(line)
		if line == "" {
			return nil
		}
		if !isModuleFile(line) {
			return lineError(n, "%q is not a module path ending in .ko", line)
		}
		names = append(names, moduleName(line))
		return nil
	})
	return names, withPath(path, err)
}

// readModulesSymbols reads modules.symbols, which depmod writes as
// "alias symbol:NAME MODULE" lines, one for each symbol a module exports.
// It says nothing of CRCs or GPL-only exports.
func readModulesSymbols(root string, c *contents) error {
	path := filepath.Join(root, "modules.symbols")
	text, err := readIndex(path)
	if errors.Is(err, fs.ErrNotExist) {
		c.input.Notes = append(c.input.Notes, "has no modules.symbols, so the exports of modules are unknown")
		return nil
	}
	if err != nil {
		return err
	}

	err = forEachLine(text, func(n int, line string) error {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			return nil
		}
		var f [3]string
		count := splitFields(line, " \t", f[:])
		symbol, ok := strings.CutPrefix(f[1], "symbol:")
		if count != 3 || f[0] != "alias" || !ok || !isSymbolName(symbol) || !isSymbolName(f[2]) {
			return lineError(n, "want alias symbol:NAME MODULE")
		}
		c.exports = append(c.exports, Export{Name: symbol, Owner: f[2], GPLUnknown: true})
		return nil
	})
	if err != nil {
		return withPath(path, err)
	}
	c.exportsModules = true
	return nil
}

// readIndex reads a depmod index file of at most maxIndexSize bytes. It
// returns an error wrapping fs.ErrNotExist when the file is missing.
func readIndex(path string) (string, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err != nil {
		return "", &Error{Path: path, Err: unwrapPathError(err)}
	}
	if st.Size() > maxIndexSize {
		return "", &Error{Path: path, Err: fmt.Errorf("read: %d bytes is larger than any depmod index (at most %d bytes)", st.Size(), maxIndexSize)}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", &Error{Path: path, Err: unwrapPathError(err)}
	}
	return string(data), nil
}

// packageKernelFiles returns the kernel symbol file of an unpacked kernel
// package directory pkg: the debug package's vmlinux, else the image
// package's System.map. It notes what it found on in.
func packageKernelFiles(pkg, release string, in *Input) []string {
	for _, rel := range []string{
		"usr/lib/debug/boot/vmlinux-" + release,
		"boot/vmlinux-" + release,
		"boot/System.map-" + release,
		"usr/lib/debug/boot/System.map-" + release,
	} {
		p := filepath.Join(pkg, rel)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			in.Notes = append(in.Notes, "the package directory also has "+p+", loaded as another input")
			return []string{p}
		}
	}
	return nil
}
