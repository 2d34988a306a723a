package live

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// maxSmallFile bounds the files Snapshot reads into memory: every file but
// available_filter_functions, which is streamed. /proc/modules of a host
// with a thousand modules is under 100 KiB.
const maxSmallFile = 16 << 20

// Snapshot copies the livepatch state of the host whose file system is at
// root ("/" on the host itself) into outdir, as the files listed in the
// package documentation. It reads only those paths under root and never
// follows a symbolic link found in the livepatch or module directories.
//
// Outdir must not exist or be empty. The snapshot is written to a temporary
// directory next to it and renamed into place at the end, so a failed
// Snapshot leaves no partial snapshot behind.
//
// Reading sys/kernel/tracing/available_filter_functions needs root on most
// hosts, and Snapshot fails rather than silently leaving it out. When tracefs is
// not mounted there (older systems mount it only under
// /sys/kernel/debug/tracing) the file is skipped.
func Snapshot(root, outdir string) error {
	outdirExists, err := checkOutdir(outdir)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}

	parent := filepath.Dir(filepath.Clean(outdir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, ".klpcheck-snapshot-")
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}

	w := &snapshotWriter{root: root, out: tmp}
	if err := w.copyAll(); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("snapshot %s: %w", root, err)
	}

	// MkdirTemp creates the directory with mode 0700.
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("snapshot: %w", err)
	}
	// os.Rename refuses to replace a directory, even an empty one.
	if outdirExists {
		if err := os.Remove(outdir); err != nil {
			os.RemoveAll(tmp)
			return fmt.Errorf("snapshot: %w", err)
		}
	}
	if err := os.Rename(tmp, outdir); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// checkOutdir accepts a path that does not exist or is an empty directory,
// so a snapshot never mixes with the files of an older one. Exists reports
// which of the two it is.
func checkOutdir(outdir string) (exists bool, err error) {
	info, err := os.Lstat(outdir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !info.IsDir() {
		return true, fmt.Errorf("output %s exists and is not a directory", outdir)
	}

	entries, err := os.ReadDir(outdir)
	if err != nil {
		return true, err
	}
	if len(entries) > 0 {
		return true, fmt.Errorf("output directory %s is not empty; choose a new one", outdir)
	}
	return true, nil
}

// snapshotWriter copies files from root to out, both directories. Every
// path it takes is relative to them, with '/' separators.
type snapshotWriter struct {
	root string
	out  string
}

func (w *snapshotWriter) copyAll() error {
	steps := []struct {
		verb string
		run  func() error
	}{
		{"copy kernel release", w.copyRelease},
		{"copy modules", w.copyModules},
		{"copy livepatch directory", w.copyLivepatch},
		{"copy available_filter_functions", w.copyFilterFunctions},
	}
	for _, step := range steps {
		if err := step.run(); err != nil {
			return fmt.Errorf("%s: %w", step.verb, err)
		}
	}
	return nil
}

func (w *snapshotWriter) copyRelease() error {
	return w.copySmall(osReleasePath, true)
}

// copyModules copies proc/modules and the taint file of each module listed
// in it. A taint file that is missing belongs to a module removed after
// proc/modules was read, and Read then takes the flags from proc/modules.
func (w *snapshotWriter) copyModules() error {
	data, err := w.readSmall(procModulesPath)
	if err != nil {
		return err
	}
	modules, err := parseProcModules(data, w.source(procModulesPath))
	if err != nil {
		return err
	}
	if err := w.write(procModulesPath, data); err != nil {
		return err
	}

	for _, m := range modules {
		if err := w.copySmall(moduleDirPath+"/"+m.Name+"/taint", false); err != nil {
			return err
		}
	}
	return nil
}

// copyLivepatch copies the patch, object and function directories with the
// enabled, transition, replace and stack_order attributes. A missing
// sys/kernel/livepatch (a kernel without CONFIG_LIVEPATCH) is left missing.
func (w *snapshotWriter) copyLivepatch() error {
	entries, err := w.readDir(livepatchDirPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}

	var patchDirs []string
	for _, e := range entries {
		rel := livepatchDirPath + "/" + e.Name()
		if e.Name() == keepFile && e.Type().IsRegular() {
			// A snapshot taken from another snapshot.
			continue
		}
		if !e.IsDir() {
			return fmt.Errorf("%s: unexpected %s; the kernel creates only patch directories here", w.source(rel), describeType(e.Type()))
		}
		if err := checkModuleName(e.Name()); err != nil {
			return fmt.Errorf("%s: invalid patch directory name: %w", w.source(rel), err)
		}
		patchDirs = append(patchDirs, rel)
	}

	if err := w.mkdir(livepatchDirPath, len(patchDirs) == 0); err != nil {
		return err
	}
	for _, rel := range patchDirs {
		if err := w.copyPatch(rel); err != nil {
			return err
		}
	}
	return nil
}

func (w *snapshotWriter) copyPatch(rel string) error {
	entries, err := w.readDir(rel)
	if err != nil {
		return err
	}
	if err := w.mkdir(rel, false); err != nil {
		return err
	}

	err = w.copySmall(rel+"/enabled", true)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w; the patch may have been removed while the snapshot was taken, so take it again", err)
	}
	if err != nil {
		return err
	}
	for _, attr := range []string{"transition", "replace", "replace_set", "stack_order"} {
		if err := w.copySmall(rel+"/"+attr, false); err != nil {
			return err
		}
	}

	for _, e := range entries {
		objRel := rel + "/" + e.Name()
		if e.Type().IsRegular() {
			continue
		}
		if !e.IsDir() {
			return fmt.Errorf("%s: unexpected %s in a patch directory", w.source(objRel), describeType(e.Type()))
		}
		if err := w.copyObject(objRel); err != nil {
			return err
		}
	}
	return nil
}

// copyObject recreates an object directory and its function directories.
// The function directories have no attributes, and the object's patched
// file (6.0+) is not part of a snapshot.
func (w *snapshotWriter) copyObject(rel string) error {
	entries, err := w.readDir(rel)
	if err != nil {
		return err
	}

	var funcDirs []string
	for _, e := range entries {
		funcRel := rel + "/" + e.Name()
		if e.Type().IsRegular() {
			continue
		}
		if !e.IsDir() {
			return fmt.Errorf("%s: unexpected %s in an object directory", w.source(funcRel), describeType(e.Type()))
		}
		if _, err := parseFuncDir(e.Name()); err != nil {
			return fmt.Errorf("%s: invalid function directory name: %w", w.source(funcRel), err)
		}
		funcDirs = append(funcDirs, funcRel)
	}

	if err := w.mkdir(rel, len(funcDirs) == 0); err != nil {
		return err
	}
	for _, funcRel := range funcDirs {
		if err := w.mkdir(funcRel, true); err != nil {
			return err
		}
	}
	return nil
}

// copyFilterFunctions streams available_filter_functions, which lists
// every function ftrace can attach to (tens of thousands of lines), when
// the file exists.
func (w *snapshotWriter) copyFilterFunctions() error {
	src, err := w.openRegular(filterFunctionsPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("%w; reading the tracing directory needs root", err)
	}
	if err != nil {
		return err
	}
	defer src.Close()

	dst, err := w.create(filterFunctionsPath)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return fmt.Errorf("copy %s: %w", w.source(filterFunctionsPath), err)
	}
	return dst.Close()
}

// copySmall copies one small regular file. A missing file is skipped unless
// required is set, in which case the returned error wraps fs.ErrNotExist.
func (w *snapshotWriter) copySmall(rel string, required bool) error {
	data, err := w.readSmall(rel)
	if errors.Is(err, fs.ErrNotExist) && !required {
		return nil
	}
	if err != nil {
		return err
	}
	return w.write(rel, data)
}

// source returns the full path of rel under root.
func (w *snapshotWriter) source(rel string) string {
	return filepath.Join(w.root, filepath.FromSlash(rel))
}

// openRegular opens rel under root if it is a regular file and not a
// symbolic link. Comparing the Lstat and Stat results after opening catches
// a file replaced in between.
func (w *snapshotWriter) openRegular(rel string) (*os.File, error) {
	p := w.source(rel)
	before, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	if !before.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: unexpected %s; expected a regular file", p, describeType(before.Mode()))
	}

	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	after, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !os.SameFile(before, after) {
		f.Close()
		return nil, fmt.Errorf("%s: changed while it was opened", p)
	}
	return f, nil
}

// readSmall reads rel under root, up to maxSmallFile bytes. Sysfs and
// procfs files report sizes of 4096 or 0, so the size is not checked
// before reading.
func (w *snapshotWriter) readSmall(rel string) ([]byte, error) {
	f, err := w.openRegular(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()

	data, err := io.ReadAll(io.LimitReader(f, maxSmallFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", w.source(rel), err)
	}
	if len(data) > maxSmallFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", w.source(rel), maxSmallFile)
	}
	return data, nil
}

// readDir lists rel under root if it is a directory and not a symbolic
// link.
func (w *snapshotWriter) readDir(rel string) ([]fs.DirEntry, error) {
	p := w.source(rel)
	info, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("%s: unexpected %s; expected a directory", p, describeType(info.Mode()))
	}
	return os.ReadDir(p)
}

func (w *snapshotWriter) target(rel string) string {
	return filepath.Join(w.out, filepath.FromSlash(rel))
}

// mkdir creates rel under out. With keep set it also writes an empty
// .gitkeep, for a directory that would otherwise stay empty.
func (w *snapshotWriter) mkdir(rel string, keep bool) error {
	p := w.target(rel)
	if err := os.MkdirAll(p, 0o755); err != nil {
		return err
	}
	if keep {
		return os.WriteFile(filepath.Join(p, keepFile), nil, 0o644)
	}
	return nil
}

func (w *snapshotWriter) write(rel string, data []byte) error {
	p := w.target(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

func (w *snapshotWriter) create(rel string) (*os.File, error) {
	p := w.target(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	return os.Create(p)
}
