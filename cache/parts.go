package cache

import (
	"bytes"
	"io"
)

// Part is one segment of an initrd as a netboot client fetches it: a member,
// or the trailer, at its offset in the initrd. A client that loads the parts
// as consecutive initrds gets them each on a page boundary (iPXE pads every
// initrd to 4 KiB with zeros), which the kernel's unpacker reads as it reads
// the initrd: zeros between segments are skipped, an uncompressed part
// starts 4-byte aligned (a page is), and the trailer comes once, last.
type Part struct {
	Offset    int64
	SizeBytes int64
	Data      io.ReaderAt // SizeBytes bytes; the same reader for the same member in every Initrd of a Packer
	Trailer   bool
}

// Parts returns r's members and its trailer, in order. Reading the parts at
// their offsets, with zeros between them, gives r's bytes.
func (r *Initrd) Parts() []Part {
	ext := r.extents.Extents()
	parts := make([]Part, len(ext))
	for i, e := range ext {
		p := Part{Offset: e.Offset, SizeBytes: e.SizeBytes, Data: e.Source}
		if e.Data != nil {
			p.Data, p.Trailer = bytes.NewReader(e.Data), true
		}
		parts[i] = p
	}
	return parts
}
