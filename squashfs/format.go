package squashfs

import "errors"

// Superblock constants (squashfs_fs.h).
const (
	Magic        = 0x73717368 // "hsqs" little-endian
	VersionMajor = 4
	VersionMinor = 0

	SuperblockSize = 96

	// MetadataSize is the uncompressed size of a full metadata block
	// (SQUASHFS_METADATA_SIZE); the last block of a table may be shorter.
	MetadataSize = 8192
	// MinBlockSize and MaxBlockSize bound the data block size: the kernel
	// also needs it to be at least the page size (4 KiB on x86-64 and on
	// arm64's default configuration) and a power of two.
	MinBlockSize     = 4 << 10
	MaxBlockSize     = 1 << 20
	DefaultBlockSize = 128 << 10

	// DeviceBlockSize is what an image is padded to, as mksquashfs does, so
	// a loop device (512-byte sectors) sees all of it.
	DeviceBlockSize = 4096

	// DirCount is the most entries one directory header may cover
	// (SQUASHFS_DIR_COUNT).
	DirCount = 256
	// NameLen is the longest file name (SQUASHFS_NAME_LEN).
	NameLen = 256
	// MaxIDs is the size of the id table's index space (no_ids is 16 bits).
	MaxIDs = 65535
)

// Compressor ids (ZLIB_COMPRESSION ... ZSTD_COMPRESSION).
const (
	CompressorZlib = 1
	CompressorLZMA = 2
	CompressorLZO  = 3
	CompressorXZ   = 4
	CompressorLZ4  = 5
	CompressorZstd = 6
)

// Superblock flags (SQUASHFS_MKFLAGS bit positions).
const (
	FlagUncompressedInodes    = 1 << 0
	FlagUncompressedData      = 1 << 1
	FlagCheck                 = 1 << 2
	FlagUncompressedFragments = 1 << 3
	FlagNoFragments           = 1 << 4
	FlagAlwaysFragments       = 1 << 5
	FlagDuplicates            = 1 << 6
	FlagExportable            = 1 << 7
	FlagUncompressedXattrs    = 1 << 8
	FlagNoXattrs              = 1 << 9
	FlagCompressorOptions     = 1 << 10
	FlagUncompressedIDs       = 1 << 11
)

// Inode types (SQUASHFS_DIR_TYPE ... SQUASHFS_LSOCKET_TYPE). A directory
// entry always names the basic type; the inode may be the extended one.
const (
	TypeDir      = 1
	TypeReg      = 2
	TypeSymlink  = 3
	TypeBlkDev   = 4
	TypeChrDev   = 5
	TypeFIFO     = 6
	TypeSocket   = 7
	TypeLDir     = 8
	TypeLReg     = 9
	TypeLSymlink = 10
	TypeLBlkDev  = 11
	TypeLChrDev  = 12
	TypeLFIFO    = 13
	TypeLSocket  = 14
)

// Special values.
const (
	// InvalidFragment is a regular file's fragment index when its tail is
	// a block of its own (SQUASHFS_INVALID_FRAG).
	InvalidFragment = 0xffffffff
	// InvalidXattr is an extended inode's xattr index without xattrs.
	InvalidXattr = 0xffffffff
	// InvalidTable is the start of an absent table (SQUASHFS_INVALID_BLK).
	InvalidTable = ^uint64(0)

	// MetadataUncompressed is set in a metadata block's 16-bit header when
	// the block is stored (SQUASHFS_COMPRESSED_BIT); the rest is its size.
	MetadataUncompressed = 1 << 15
	// BlockUncompressed is set in a data block's 32-bit size when the block
	// is stored (SQUASHFS_COMPRESSED_BIT_BLOCK). A size of 0 is a sparse
	// block: zeros, nothing stored.
	BlockUncompressed = 1 << 24

	// ModeMask keeps the permission bits of st_mode (SQUASHFS_MODE); the
	// file type is the inode's type.
	ModeMask = 0o7777
)

// Errors a caller may need to tell apart; wrapped with the path or record.
var (
	// ErrLimit: a value does not fit the format (a name longer than
	// NameLen, more than MaxIDs owners, a directory of more than 4 GiB of
	// entries, ...).
	ErrLimit = errors.New("squashfs: limit exceeded")
	// ErrBadOption: a block size or compression the format does not allow.
	ErrBadOption = errors.New("squashfs: invalid option")
)

// InodeRef is where an inode is: the start of its metadata block relative
// to the inode table's start, shifted 16, plus its offset in the
// uncompressed block (SQUASHFS_MKINODE).
type InodeRef uint64

// MakeInodeRef returns the reference of the inode at offset in the metadata
// block that starts block bytes after the table's start.
func MakeInodeRef(block uint32, offset uint16) InodeRef {
	return InodeRef(uint64(block)<<16 | uint64(offset))
}

// Block is the metadata block's start relative to the table.
func (r InodeRef) Block() uint32 { return uint32(r >> 16) }

// Offset is the offset in the uncompressed metadata block.
func (r InodeRef) Offset() uint16 { return uint16(r) }

// EncodeDev encodes a device number as the kernel's new_encode_dev does,
// which is what squashfs stores in rdev.
func EncodeDev(major, minor uint32) uint32 {
	return minor&0xff | major<<8&0xfff00 | minor&^0xff<<12
}
