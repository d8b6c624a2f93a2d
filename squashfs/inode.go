package squashfs

import "encoding/binary"

// InodeHeader is the part every inode starts with (struct
// squashfs_base_inode_header). UID and GID are indexes into the id table.
type InodeHeader struct {
	Type   uint16 // Type*
	Mode   uint16 // permission bits (ModeMask)
	UID    uint16
	GID    uint16
	Mtime  uint32
	Number uint32 // 1..Inodes
}

// InodeHeaderSize is the encoded size of InodeHeader.
const InodeHeaderSize = 16

func (h *InodeHeader) append(b []byte, typ uint16) []byte {
	le := binary.LittleEndian
	b = le.AppendUint16(b, typ)
	b = le.AppendUint16(b, h.Mode&ModeMask)
	b = le.AppendUint16(b, h.UID)
	b = le.AppendUint16(b, h.GID)
	b = le.AppendUint32(b, h.Mtime)
	return le.AppendUint32(b, h.Number)
}

// DirInode is a directory (struct squashfs_dir_inode_header, or with
// Extended squashfs_ldir_inode_header, needed when FileSize does not fit
// 16 bits). Its listing is FileSize-3 bytes of the directory table from
// (StartBlock, Offset): the 3 stand for "." and "..", which are not stored.
// No directory index is written (i_count 0): it only speeds up lookups in
// large directories.
type DirInode struct {
	InodeHeader
	Extended    bool
	StartBlock  uint32 // the listing's metadata block, relative to the directory table
	Offset      uint16 // in that block, uncompressed
	Nlink       uint32 // 2 + subdirectories
	FileSize    uint32 // listing bytes + 3
	ParentInode uint32 // inode number of ".."; Inodes+1 for the root
}

// Append appends the inode to b.
func (d *DirInode) Append(b []byte) []byte {
	le := binary.LittleEndian
	if !d.Extended {
		b = d.append(b, TypeDir)
		b = le.AppendUint32(b, d.StartBlock)
		b = le.AppendUint32(b, d.Nlink)
		b = le.AppendUint16(b, uint16(d.FileSize))
		b = le.AppendUint16(b, d.Offset)
		return le.AppendUint32(b, d.ParentInode)
	}
	b = d.append(b, TypeLDir)
	b = le.AppendUint32(b, d.Nlink)
	b = le.AppendUint32(b, d.FileSize)
	b = le.AppendUint32(b, d.StartBlock)
	b = le.AppendUint32(b, d.ParentInode)
	b = le.AppendUint16(b, 0) // i_count: no index
	b = le.AppendUint16(b, d.Offset)
	return le.AppendUint32(b, InvalidXattr)
}

// MaxBasicDirSize is the largest FileSize of a basic directory inode.
const MaxBasicDirSize = 0xffff

// RegInode is a regular file (struct squashfs_reg_inode_header, or with
// Extended squashfs_lreg_inode_header, needed for a hard-linked file, a
// file of 4 GiB or more, or data starting at 4 GiB or more). Its data is
// BlockSizes' blocks back to back from StartBlock; each size is the stored
// size, with BlockUncompressed for a stored block, or 0 for a sparse one.
type RegInode struct {
	InodeHeader
	Extended   bool
	StartBlock uint64 // absolute offset of the first data block
	FileSize   uint64
	Sparse     uint64 // bytes in sparse blocks (extended only)
	Nlink      uint32 // extended only; a basic inode has 1
	Fragment   uint32 // InvalidFragment: no fragment
	FragOffset uint32 // the tail's offset in its fragment block
	BlockSizes []uint32
}

// Append appends the inode to b.
func (r *RegInode) Append(b []byte) []byte {
	le := binary.LittleEndian
	if !r.Extended {
		b = r.append(b, TypeReg)
		b = le.AppendUint32(b, uint32(r.StartBlock))
		b = le.AppendUint32(b, r.Fragment)
		b = le.AppendUint32(b, r.FragOffset)
		b = le.AppendUint32(b, uint32(r.FileSize))
	} else {
		b = r.append(b, TypeLReg)
		b = le.AppendUint64(b, r.StartBlock)
		b = le.AppendUint64(b, r.FileSize)
		b = le.AppendUint64(b, r.Sparse)
		b = le.AppendUint32(b, r.Nlink)
		b = le.AppendUint32(b, r.Fragment)
		b = le.AppendUint32(b, r.FragOffset)
		b = le.AppendUint32(b, InvalidXattr)
	}
	for _, s := range r.BlockSizes {
		b = le.AppendUint32(b, s)
	}
	return b
}

// NeedsExtended reports whether a regular file needs the extended inode.
func NeedsExtended(startBlock, fileSize uint64, nlink uint32) bool {
	return nlink != 1 || startBlock > 0xffffffff || fileSize > 0xffffffff
}

// SymlinkInode is a symbolic link (struct squashfs_symlink_inode_header).
type SymlinkInode struct {
	InodeHeader
	Nlink  uint32
	Target string
}

// Append appends the inode to b.
func (s *SymlinkInode) Append(b []byte) []byte {
	le := binary.LittleEndian
	b = s.append(b, TypeSymlink)
	b = le.AppendUint32(b, s.Nlink)
	b = le.AppendUint32(b, uint32(len(s.Target)))
	return append(b, s.Target...)
}

// DevInode is a block or character device (struct
// squashfs_dev_inode_header); Type is TypeBlkDev or TypeChrDev.
type DevInode struct {
	InodeHeader
	Nlink uint32
	Rdev  uint32 // EncodeDev(major, minor)
}

// Append appends the inode to b.
func (d *DevInode) Append(b []byte) []byte {
	le := binary.LittleEndian
	b = d.append(b, d.Type)
	b = le.AppendUint32(b, d.Nlink)
	return le.AppendUint32(b, d.Rdev)
}

// IPCInode is a FIFO or a socket (struct squashfs_ipc_inode_header); Type
// is TypeFIFO or TypeSocket.
type IPCInode struct {
	InodeHeader
	Nlink uint32
}

// Append appends the inode to b.
func (p *IPCInode) Append(b []byte) []byte {
	b = p.append(b, p.Type)
	return binary.LittleEndian.AppendUint32(b, p.Nlink)
}
