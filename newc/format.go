package newc

// The "new" portable ASCII cpio format ("newc", SVR4 without CRC), as described
// in the kernel's Documentation/driver-api/early-userspace/buffer-format.rst
// and in cpio(5).
const (
	// Magic opens every newc header (c_magic).
	Magic = "070701"

	// TrailerName is the name of the entry that ends an archive.
	TrailerName = "TRAILER!!!"

	// HeaderSize is the size of the fixed part of a header: the 6-byte magic
	// and 13 fields of 8 hexadecimal digits.
	HeaderSize = len(Magic) + fieldCount*fieldSize

	// MaxNameBytes bounds c_namesize, which counts the terminating NUL: the
	// kernel's unpacker refuses names longer than PATH_MAX (4096) bytes.
	MaxNameBytes = 4096

	// MaxSize is the largest c_filesize a 32-bit field can hold.
	MaxSize = 1<<32 - 1

	// Alignment is the boundary to which header+name and data are padded.
	Alignment = 4
)

const (
	fieldSize  = 8  // hexadecimal digits per field
	fieldCount = 13 // c_ino through c_check
)

// Offsets of the fields in a header, in the order the format lays them out.
const (
	offMagic     = 0
	offIno       = 6
	offMode      = offIno + fieldSize
	offUID       = offMode + fieldSize
	offGID       = offUID + fieldSize
	offNlink     = offGID + fieldSize
	offMtime     = offNlink + fieldSize
	offFilesize  = offMtime + fieldSize
	offDevMajor  = offFilesize + fieldSize
	offDevMinor  = offDevMajor + fieldSize
	offRdevMajor = offDevMinor + fieldSize
	offRdevMinor = offRdevMajor + fieldSize
	offNamesize  = offRdevMinor + fieldSize
	offCheck     = offNamesize + fieldSize
)

// Type bits of c_mode (S_IFMT and friends), the values every Unix uses and
// the kernel's unpacker expects.
const (
	TypeMask    = 0o170000 // S_IFMT
	TypeSocket  = 0o140000 // S_IFSOCK
	TypeSymlink = 0o120000 // S_IFLNK
	TypeReg     = 0o100000 // S_IFREG
	TypeBlock   = 0o060000 // S_IFBLK
	TypeDir     = 0o040000 // S_IFDIR
	TypeChar    = 0o020000 // S_IFCHR
	TypeFifo    = 0o010000 // S_IFIFO

	ModeSetuid = 0o4000 // S_ISUID
	ModeSetgid = 0o2000 // S_ISGID
	ModeSticky = 0o1000 // S_ISVTX
	ModePerm   = 0o0777
)
