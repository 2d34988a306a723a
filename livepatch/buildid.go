package livepatch

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// BuildIDSection is the section in which the linker stores the GNU build
// ID of vmlinux and of every module (ld --build-id, which Kbuild passes).
const BuildIDSection = ".note.gnu.build-id"

// ntGNUBuildID is the note type of a GNU build ID (NT_GNU_BUILD_ID).
const ntGNUBuildID = 3

// NoteError is a malformed ELF note at Offset bytes into a note section.
type NoteError struct {
	Offset uint64
	Reason string
}

func (e *NoteError) Error() string { return fmt.Sprintf("offset %#x: %s", e.Offset, e.Reason) }

// BuildID returns the GNU build ID among the ELF notes in data, the
// contents of BuildIDSection, as lowercase hex. It returns "" when no note
// is a GNU build ID, and a *NoteError when a note runs past the end of
// data.
func BuildID(data []byte, order binary.ByteOrder) (string, error) {
	// Each note is namesz, descsz and type (4 bytes each), then the name
	// and the descriptor, each padded to 4 bytes.
	size := uint64(len(data))
	for off := uint64(0); off+12 <= size; {
		namesz := uint64(order.Uint32(data[off:]))
		descsz := uint64(order.Uint32(data[off+4:]))
		typ := order.Uint32(data[off+8:])
		name := off + 12
		desc := name + alignUp4(namesz)
		next := desc + alignUp4(descsz)
		if namesz > size || descsz > size || next > size {
			return "", &NoteError{Offset: off, Reason: fmt.Sprintf("note of %d+%d bytes runs past the end of the section (%d bytes)", namesz, descsz, size)}
		}
		if typ == ntGNUBuildID && string(data[name:name+namesz]) == "GNU\x00" {
			return hex.EncodeToString(data[desc : desc+descsz]), nil
		}
		off = next
	}
	return "", nil
}

// alignUp4 rounds n up to a multiple of 4.
func alignUp4(n uint64) uint64 { return (n + 3) &^ 3 }
