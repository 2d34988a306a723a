package elfscan

import (
	"errors"
	"fmt"
	"io"
)

// readBlockSize is the unit in which blockReader reads a module file. A
// livepatch module of 50 functions is a few tens of KiB, so a few blocks
// hold all of it. Of a multi-MiB driver module that is rejected as not a
// livepatch, only the blocks under its headers, .modinfo and symbol table
// are read.
const readBlockSize = 16 << 10

// blockReader is an io.ReaderAt over a module file that reads aligned
// blocks of readBlockSize bytes on first use and keeps them until the
// parse ends. debug/elf and the parsing steps issue dozens of small reads
// per module (headers, tables, then each section), and without the blocks
// each of them would be one pread system call. A read that needs several
// missing blocks in a row fetches them with a single pread.
type blockReader struct {
	r    io.ReaderAt
	size int64
	// blocks maps a block number to its bytes: readBlockSize of them,
	// or fewer for the last block of the file.
	blocks map[int64][]byte
}

func newBlockReader(r io.ReaderAt, size int64) *blockReader {
	return &blockReader{r: r, size: size, blocks: make(map[int64][]byte)}
}

// ReadAt copies len(p) bytes from offset off. Like any io.ReaderAt it
// returns io.EOF when the file ends before p is full.
func (b *blockReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("read at negative offset")
	}
	if off >= b.size {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}

	end := min(off+int64(len(p)), b.size)
	if err := b.fill(off/readBlockSize, (end-1)/readBlockSize); err != nil {
		return 0, err
	}

	n := 0
	for pos := off; pos < end; {
		block := b.blocks[pos/readBlockSize]
		k := copy(p[n:end-off], block[pos%readBlockSize:])
		n += k
		pos += int64(k)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// fill reads blocks first to last that are not held yet, one pread per run
// of consecutive missing blocks.
func (b *blockReader) fill(first, last int64) error {
	for i := first; i <= last; {
		if _, ok := b.blocks[i]; ok {
			i++
			continue
		}
		j := i
		for j+1 <= last {
			if _, ok := b.blocks[j+1]; ok {
				break
			}
			j++
		}

		start := i * readBlockSize
		stop := min((j+1)*readBlockSize, b.size)
		buf := make([]byte, stop-start)
		if n, err := b.r.ReadAt(buf, start); n < len(buf) {
			if err == nil || err == io.EOF {
				// The file shrank after it was opened.
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("read [%#x, +%#x): %w", start, len(buf), err)
		}
		for k := i; k <= j; k++ {
			lo := (k - i) * readBlockSize
			hi := min(lo+readBlockSize, int64(len(buf)))
			b.blocks[k] = buf[lo:hi:hi]
		}
		i = j + 1
	}
	return nil
}

// byteSlicer is a reader that can return file bytes without copying them,
// because it holds them in memory already.
type byteSlicer interface {
	// slice returns the n bytes at off. The caller must not modify them.
	slice(off, n int64) ([]byte, error)
}

// slice returns the n bytes at off. A range inside one block is returned
// in place. A range across blocks is copied, since the blocks of a run
// read together are contiguous but blocks read apart are not.
func (b *blockReader) slice(off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off > b.size || n > b.size-off {
		return nil, fmt.Errorf("range [%#x, +%#x) is outside the file (%d bytes)", off, n, b.size)
	}
	if n == 0 {
		return []byte{}, nil
	}
	first, last := off/readBlockSize, (off+n-1)/readBlockSize
	if first == last {
		if err := b.fill(first, last); err != nil {
			return nil, err
		}
		start := off % readBlockSize
		return b.blocks[first][start : start+n : start+n], nil
	}

	buf := make([]byte, n)
	if _, err := b.ReadAt(buf, off); err != nil {
		return nil, err
	}
	return buf, nil
}

// memFile is a module held in memory, such as a decompressed .ko.xz.
type memFile []byte

func (m memFile) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("read at negative offset")
	}
	if off >= int64(len(m)) {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	n := copy(p, m[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m memFile) slice(off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off > int64(len(m)) || n > int64(len(m))-off {
		return nil, fmt.Errorf("range [%#x, +%#x) is outside the file (%d bytes)", off, n, len(m))
	}
	return m[off : off+n : off+n], nil
}
