package trial

import (
	"bytes"
	"testing"
)

func TestCPIOWriterLayout(t *testing.T) {
	var buf bytes.Buffer
	w := newCPIOWriter(&buf)
	w.File("/init", 0o755, []byte("abcde"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := buf.String()

	// The header (110 bytes) and "init\0" (5) make 115, padded to 116.
	// The 5 data bytes are padded to 8, and the trailer's name (11 bytes
	// with its NUL) is padded the same way.
	want := "070701" + "00000001" + "000081ed" + "00000000" + "00000000" + "00000001" + "00000000" +
		"00000005" + "00000000" + "00000000" + "00000000" + "00000000" + "00000005" + "00000000" +
		"init\x00" + "\x00" +
		"abcde\x00\x00\x00" +
		"070701" + "00000000" + "00000000" + "00000000" + "00000000" + "00000001" + "00000000" +
		"00000000" + "00000000" + "00000000" + "00000000" + "00000000" + "0000000b" + "00000000" +
		"TRAILER!!!\x00" + "\x00\x00\x00"
	if got != want {
		t.Errorf("archive:\n got %q\nwant %q", got, want)
	}
	if len(got)%4 != 0 {
		t.Errorf("archive length %d is not a multiple of 4", len(got))
	}
}

func TestCPIOWriterCharDevice(t *testing.T) {
	var buf bytes.Buffer
	w := newCPIOWriter(&buf)
	w.CharDevice("dev/console", 0o600, 5, 1)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	header := buf.String()[:110]
	if mode := header[14:22]; mode != "00002180" {
		t.Errorf("mode field %s, want 00002180 (character device, 0600)", mode)
	}
	if rdev := header[78:94]; rdev != "0000000500000001" {
		t.Errorf("rdev fields %s, want major 5 minor 1", rdev)
	}
}
