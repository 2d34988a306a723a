package trial

import (
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// cpioWriter writes a cpio archive in the "newc" format (magic 070701),
// the format the kernel unpacks into its initial root file system
// (Documentation/driver-api/early-userspace/buffer-format.rst). Each entry
// is a 110-byte ASCII header of thirteen 8-digit hex fields, the NUL-ended
// name padded to a multiple of 4 bytes, then the data padded the same way.
// The archive ends with an entry named TRAILER!!!.
type cpioWriter struct {
	w   io.Writer
	ino uint32
	err error
}

// newCPIOWriter returns a writer that appends entries to w.
func newCPIOWriter(w io.Writer) *cpioWriter {
	return &cpioWriter{w: w, ino: 1}
}

// Mode bits of a newc header: the file type in the high bits, as in
// st_mode, and the permission bits.
const (
	cpioTypeDir     = 0o040000
	cpioTypeRegular = 0o100000
	cpioTypeSymlink = 0o120000
	cpioTypeChar    = 0o020000
)

// Dir adds a directory.
func (c *cpioWriter) Dir(name string, perm fs.FileMode) {
	c.entry(name, cpioTypeDir|uint32(perm.Perm()), 2, 0, 0, nil)
}

// File adds a regular file with the given contents.
func (c *cpioWriter) File(name string, perm fs.FileMode, data []byte) {
	c.entry(name, cpioTypeRegular|uint32(perm.Perm()), 1, 0, 0, data)
}

// Symlink adds a symbolic link to target.
func (c *cpioWriter) Symlink(name, target string) {
	c.entry(name, cpioTypeSymlink|0o777, 1, 0, 0, []byte(target))
}

// CharDevice adds a character device node.
func (c *cpioWriter) CharDevice(name string, perm fs.FileMode, major, minor uint32) {
	c.entry(name, cpioTypeChar|uint32(perm.Perm()), 1, major, minor, nil)
}

// Close writes the trailer entry and returns the first error of any
// write.
func (c *cpioWriter) Close() error {
	c.entry("TRAILER!!!", 0, 1, 0, 0, nil)
	return c.err
}

// entry writes one header, name and data. Names are stored without a
// leading slash, as the kernel's own gen_init_cpio stores them.
func (c *cpioWriter) entry(name string, mode, nlink, rdevMajor, rdevMinor uint32, data []byte) {
	if c.err != nil {
		return
	}
	name = strings.TrimPrefix(name, "/")
	ino := uint32(0)
	if name != "TRAILER!!!" {
		ino = c.ino
		c.ino++
	}

	header := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdevMajor, rdevMinor, len(name)+1, 0)
	c.write([]byte(header))
	c.write([]byte(name))
	c.write([]byte{0})
	c.pad(len(header) + len(name) + 1)
	c.write(data)
	c.pad(len(data))
}

func (c *cpioWriter) write(p []byte) {
	if c.err != nil {
		return
	}
	_, c.err = c.w.Write(p)
}

// pad writes the NUL bytes that align an entry part of n bytes to 4.
func (c *cpioWriter) pad(n int) {
	if rem := n % 4; rem != 0 {
		c.write(make([]byte, 4-rem))
	}
}
