package squashfs

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// Superblock is the first SuperblockSize bytes of an image (struct
// squashfs_super_block). Table starts are absolute byte offsets in the
// image; an absent table is InvalidTable.
type Superblock struct {
	Inodes              uint32 // inode count; inode numbers are 1..Inodes
	MkfsTime            uint32 // seconds since the epoch
	BlockSize           uint32 // data block size, a power of two in [MinBlockSize, MaxBlockSize]
	Fragments           uint32 // fragment table entries
	Compressor          uint16 // CompressorZlib, CompressorZstd, ...
	Flags               uint16 // Flag*
	IDs                 uint16 // id table entries, at least 1
	RootInode           InodeRef
	BytesUsed           uint64 // end of the last table; the image is padded beyond it
	IDTableStart        uint64 // the id table's index
	XattrIDTableStart   uint64
	InodeTableStart     uint64
	DirectoryTableStart uint64
	FragmentTableStart  uint64 // the fragment table's index
	LookupTableStart    uint64 // the export table's index
}

// CheckBlockSize reports whether the format and the kernel accept size as a
// data block size.
func CheckBlockSize(size uint32) error {
	if size < MinBlockSize || size > MaxBlockSize || bits.OnesCount32(size) != 1 {
		return fmt.Errorf("%w: block size %d (a power of two from %d to %d)", ErrBadOption, size, MinBlockSize, MaxBlockSize)
	}
	return nil
}

// Append appends the superblock's SuperblockSize bytes to b.
func (s *Superblock) Append(b []byte) []byte {
	le := binary.LittleEndian
	b = le.AppendUint32(b, Magic)
	b = le.AppendUint32(b, s.Inodes)
	b = le.AppendUint32(b, s.MkfsTime)
	b = le.AppendUint32(b, s.BlockSize)
	b = le.AppendUint32(b, s.Fragments)
	b = le.AppendUint16(b, s.Compressor)
	b = le.AppendUint16(b, uint16(bits.TrailingZeros32(s.BlockSize))) // block_log
	b = le.AppendUint16(b, s.Flags)
	b = le.AppendUint16(b, s.IDs)
	b = le.AppendUint16(b, VersionMajor)
	b = le.AppendUint16(b, VersionMinor)
	b = le.AppendUint64(b, uint64(s.RootInode))
	b = le.AppendUint64(b, s.BytesUsed)
	b = le.AppendUint64(b, s.IDTableStart)
	b = le.AppendUint64(b, s.XattrIDTableStart)
	b = le.AppendUint64(b, s.InodeTableStart)
	b = le.AppendUint64(b, s.DirectoryTableStart)
	b = le.AppendUint64(b, s.FragmentTableStart)
	b = le.AppendUint64(b, s.LookupTableStart)
	return b
}
