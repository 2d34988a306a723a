package target_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/klpcheck/klpcheck/target"
)

// objectOptions compare Objects by their exported fields.
var objectOptions = cmp.Options{
	cmpopts.IgnoreUnexported(target.Object{}),
	cmpopts.EquateEmpty(),
}

// writeFile writes data to name in a new temporary directory and returns
// the path.
func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadOne loads one path and fails the test on any error.
func loadOne(t *testing.T, path string) *target.Target {
	t.Helper()
	tg, errs := target.Load([]string{path})
	for _, err := range errs {
		t.Errorf("Load: %v", err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
	return tg
}

// loadError loads one path that must fail and returns its only error
// message.
func loadError(t *testing.T, path string) string {
	t.Helper()
	_, errs := target.Load([]string{path})
	if len(errs) != 1 {
		t.Fatalf("Load(%s) returned %d errors %v, want 1", path, len(errs), errs)
	}
	var e *target.Error
	if !errors.As(errs[0], &e) {
		t.Fatalf("Load error %T is not a *target.Error: %v", errs[0], errs[0])
	}
	return errs[0].Error()
}
