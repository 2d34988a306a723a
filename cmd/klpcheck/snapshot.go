package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/klpcheck/klpcheck/live"
)

func runSnapshot(args []string, std streams) int {
	fs := newFlagSet("snapshot")
	root := fs.String("root", "/", "`DIR` where the file system of the host to copy is mounted, with its proc\nand sys")
	usage := func(w io.Writer) {
		fmt.Fprint(w, `Usage: klpcheck snapshot [--root DIR] OUTDIR

Snapshot copies the livepatch state of this host into OUTDIR, for
'klpcheck check --live OUTDIR' or the live key of a plan file: the kernel
release, /proc/modules with the taint flags of each module, every patch under
/sys/kernel/livepatch with its attributes and functions, and
/sys/kernel/tracing/available_filter_functions when tracefs is mounted there.

OUTDIR must not exist or be empty. The snapshot is written next to it and
renamed into place, so a failed snapshot leaves nothing behind. Reading
available_filter_functions needs root on most hosts.

Flags:
`)
		printFlags(w, fs)
		fmt.Fprint(w, `
Exit status: 0 when the snapshot was written, 2 for a usage error, 3 when the
snapshot could not be taken.
`)
	}
	rest, status, ok := parseArgs(fs, args, usage, std)
	if !ok {
		return status
	}
	switch {
	case len(rest) == 0:
		return usageError(std, "klpcheck snapshot", "missing OUTDIR: give the directory to write the snapshot to")
	case len(rest) > 1:
		return usageError(std, "klpcheck snapshot", "too many arguments: give one OUTDIR")
	}

	if info, err := os.Stat(*root); err != nil || !info.IsDir() {
		return usageError(std, "klpcheck snapshot", fmt.Sprintf("invalid --root %s: not a directory", *root))
	}

	// NOTE: live.Snapshot returns one error type for every failure, so an
	// OUTDIR that is not empty also exits 3, not 2.
	if err := live.Snapshot(*root, rest[0]); err != nil {
		fmt.Fprintf(std.stderr, "%s\n", snapshotErrorMessage(err))
		return exitInputError
	}
	return exitClean
}

// snapshotErrorMessage returns the stderr line for a failed snapshot.
// live.Snapshot already starts its errors with "snapshot", so only
// "klpcheck" is put in front of those.
func snapshotErrorMessage(err error) string {
	msg := err.Error()
	if strings.HasPrefix(msg, "snapshot") {
		return "klpcheck " + msg
	}
	return "klpcheck snapshot: " + msg
}
