package elfscan

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/klpcheck/klpcheck/internal/elftest"
)

// countingReader records the byte ranges read from it.
type countingReader struct {
	data  []byte
	reads [][2]int64 // [offset, end)
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := bytes.NewReader(c.data).ReadAt(p, off)
	c.reads = append(c.reads, [2]int64{off, off + int64(n)})
	return n, err
}

// covered reports whether any read overlapped [start, end).
func (c *countingReader) covered(start, end int64) bool {
	for _, r := range c.reads {
		if r[0] < end && start < r[1] {
			return true
		}
	}
	return false
}

func TestBlockReaderReadAt(t *testing.T) {
	data := make([]byte, 3*readBlockSize+100)
	for i := range data {
		data[i] = byte(i * 7)
	}
	size := int64(len(data))

	cases := []struct {
		off, n int64
	}{
		{0, 0}, {0, 64}, {readBlockSize - 3, 10}, {5, 3 * readBlockSize},
		{size - 10, 10}, {size - 10, 20}, {size, 1}, {size + 5, 1},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d+%d", c.off, c.n), func(t *testing.T) {
			r := newBlockReader(&countingReader{data: data}, size)
			want := make([]byte, c.n)
			wantN, wantErr := bytes.NewReader(data).ReadAt(want, c.off)
			got := make([]byte, c.n)
			gotN, gotErr := r.ReadAt(got, c.off)
			if gotN != wantN || !errors.Is(gotErr, wantErr) {
				t.Fatalf("ReadAt = %d, %v; want %d, %v", gotN, gotErr, wantN, wantErr)
			}
			if !bytes.Equal(got[:gotN], want[:wantN]) {
				t.Errorf("ReadAt returned other bytes than the file holds")
			}
		})
	}
}

// TestBlockReaderReadsOnce checks that each block is read once, and that a
// run of missing blocks is read with one call.
func TestBlockReaderReadsOnce(t *testing.T) {
	data := make([]byte, 4*readBlockSize)
	c := &countingReader{data: data}
	r := newBlockReader(c, int64(len(data)))

	buf := make([]byte, 8)
	for _, off := range []int64{0, 8, readBlockSize + 1, 0, 16} {
		if _, err := r.ReadAt(buf, off); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.slice(0, 3*readBlockSize); err != nil {
		t.Fatal(err)
	}

	want := [][2]int64{{0, readBlockSize}, {readBlockSize, 2 * readBlockSize}, {2 * readBlockSize, 3 * readBlockSize}}
	if diff := cmp.Diff(want, c.reads); diff != "" {
		t.Errorf("reads (-want +got):\n%s", diff)
	}
}

func TestBlockReaderShrunkFile(t *testing.T) {
	r := newBlockReader(&countingReader{data: make([]byte, 100)}, 200)
	_, err := r.ReadAt(make([]byte, 10), 150)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("ReadAt past the real end = %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestBlockReaderSliceInPlace(t *testing.T) {
	data := []byte("0123456789")
	r := newBlockReader(&countingReader{data: data}, int64(len(data)))
	got, err := r.slice(2, 5)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "23456" {
		t.Errorf("slice(2, 5) = %q, want %q", got, "23456")
	}
	if cap(got) != 5 {
		t.Errorf("slice(2, 5) has capacity %d, want 5 so that an append cannot write into the block", cap(got))
	}
	if _, err := r.slice(8, 5); err == nil {
		t.Error("slice past the end of the file returned no error")
	}
}

// TestRejectReadsLittle checks that a module without livepatch markers is
// rejected after reading its headers, .modinfo and symbol table, and that
// none of its code is read.
func TestRejectReadsLittle(t *testing.T) {
	f := &elftest.File{Machine: elf.EM_X86_64}
	text := f.AddSection(&elftest.Section{Name: ".text", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, Addralign: 16})
	text.Data = make([]byte, 1<<20)
	f.AddSection(&elftest.Section{Name: ".modinfo", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Addralign: 1,
		Data: []byte("license=GPL\x00name=driver\x00vermagic=6.1.0-57-amd64 SMP preempt mod_unload modversions \x00")})
	for i := range 200 {
		f.AddSymbol(&elftest.Symbol{Name: fmt.Sprintf("driver_function_%d", i), Section: text, Value: uint64(i * 64), Size: 64, Bind: elf.STB_LOCAL, Type: elf.STT_FUNC})
	}
	printk := f.Undefined("_printk")
	for i := range 4000 {
		text.Relocs = append(text.Relocs, elftest.Reloc{Offset: uint64(i * 16), Type: uint32(elf.R_X86_64_PLT32), Symbol: printk, Addend: -4})
	}
	var layout *elftest.Layout
	f.Mutate = func(_ []byte, l *elftest.Layout) { layout = l }
	raw, err := f.Bytes()
	if err != nil {
		t.Fatal(err)
	}

	c := &countingReader{data: raw}
	_, err = Parse(newBlockReader(c, int64(len(raw))), int64(len(raw)), "driver.ko")
	if !errors.Is(err, ErrNotLivepatch) {
		t.Fatalf("Parse = %v, want ErrNotLivepatch", err)
	}

	// Blocks next to the sections that are read may hold the edges of
	// .text and .rela.text, so only their inner parts are checked.
	for _, name := range []string{".text", ".rela.text"} {
		sec := layout.Sections[layout.SectionIndex(name)]
		lo, hi := int64(sec.Offset)+readBlockSize, int64(sec.Offset+sec.Size)-readBlockSize
		if c.covered(lo, hi) {
			t.Errorf("%s [%#x, %#x) was read; reads: %v", name, lo, hi, c.reads)
		}
	}
}
