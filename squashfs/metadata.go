package squashfs

import "encoding/binary"

// MetadataWriter packs a table's records (inodes, directory listings, ids,
// fragment entries) into metadata blocks: MetadataSize bytes of records,
// compressed if that helps, each behind a 16-bit header holding its stored
// size and MetadataUncompressed for a stored block. Records may straddle
// two blocks. Full blocks are compressed as they fill, so Pos is known as
// records are written: that is what inode references and directory
// positions are made of.
type MetadataWriter struct {
	c       *Compressor
	out     []byte   // the finished blocks with their headers
	starts  []uint32 // each finished block's offset in out
	pending []byte   // records of the block being filled
}

// NewMetadataWriter returns a writer that compresses with c.
func NewMetadataWriter(c *Compressor) *MetadataWriter {
	return &MetadataWriter{c: c, pending: make([]byte, 0, 2*MetadataSize)}
}

// Pos is where the next record goes: its block's start relative to the
// table and its offset in the uncompressed block.
func (w *MetadataWriter) Pos() (block uint32, offset uint16) {
	return uint32(len(w.out)), uint16(len(w.pending))
}

// Write appends a record.
func (w *MetadataWriter) Write(p []byte) {
	w.pending = append(w.pending, p...)
	for len(w.pending) >= MetadataSize {
		w.flush(w.pending[:MetadataSize])
		w.pending = w.pending[:copy(w.pending, w.pending[MetadataSize:])]
	}
}

func (w *MetadataWriter) flush(block []byte) {
	w.starts = append(w.starts, uint32(len(w.out)))
	at := len(w.out)
	w.out = append(w.out, 0, 0)
	var compressed bool
	w.out, compressed = w.c.Compress(w.out, block)
	h := uint16(len(w.out) - at - 2)
	if !compressed {
		h |= MetadataUncompressed
	}
	binary.LittleEndian.PutUint16(w.out[at:], h)
}

// Finish writes the last, partial block and returns the table's bytes and
// the starts of its blocks relative to the table. The writer is spent.
func (w *MetadataWriter) Finish() (table []byte, blockStarts []uint32) {
	if len(w.pending) > 0 {
		w.flush(w.pending)
		w.pending = nil
	}
	return w.out, w.starts
}

// AppendIndexedTable appends a lookup table (the id, fragment and export
// tables) to dst: records packed into metadata blocks, then the index, an
// array of the blocks' absolute offsets. start is the absolute offset at
// which the appended bytes begin; indexStart, what the superblock points
// at, is the absolute offset of the index.
func AppendIndexedTable(dst []byte, start uint64, records []byte, c *Compressor) (out []byte, indexStart uint64) {
	w := NewMetadataWriter(c)
	w.Write(records)
	blocks, starts := w.Finish()
	dst = append(dst, blocks...)
	indexStart = start + uint64(len(blocks))
	for _, s := range starts {
		dst = binary.LittleEndian.AppendUint64(dst, start+uint64(s))
	}
	return dst, indexStart
}

// AppendID appends one id table record, a uid or gid.
func AppendID(b []byte, id uint32) []byte { return binary.LittleEndian.AppendUint32(b, id) }
