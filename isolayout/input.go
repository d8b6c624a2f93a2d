package isolayout

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"
)

// SectorSize is the logical block size of the image (ECMA-119 6.1.2).
const SectorSize = 2048

const (
	// maxNameBytes is the longest Rock Ridge name accepted: Linux's NAME_MAX.
	maxNameBytes = 255
	systemID     = "LINUX"
)

// Errors a caller may need to tell apart, wrapped with the offending path.
var (
	// ErrInvalidTree: a node is malformed (empty or duplicate name, a "/" in
	// a name, a regular file without a source, a cycle, ...).
	ErrInvalidTree = errors.New("isolayout: invalid tree")
	// ErrNameTooLong: a name is longer than 255 bytes.
	ErrNameTooLong = errors.New("isolayout: name longer than 255 bytes")
	// ErrTooLarge: the image would exceed 2^32 sectors (8 TiB). Files of
	// 4 GiB or more are not an error: they become multi-extent files.
	ErrTooLarge = errors.New("isolayout: image larger than ISO 9660 allows")
	// ErrTooManyDirectories: more than 65535 directories (the path table
	// numbers parents with 16 bits).
	ErrTooManyDirectories = errors.New("isolayout: more than 65535 directories")
	// ErrBadIdentifier: the volume or application identifier is too long or
	// not printable ASCII.
	ErrBadIdentifier = errors.New("isolayout: bad volume identifier")
	// ErrBootPath: an El Torito path does not name what it must.
	ErrBootPath = errors.New("isolayout: bad El Torito path")
)

// Node is a file of the image.
type Node struct {
	Name     string      // Linux name (Rock Ridge NM); the ISO 9660 name is derived from it
	Mode     fs.FileMode // type (fs.ModeDir, fs.ModeSymlink, 0 = regular, devices, fifos, sockets) + permission bits (incl. setuid/setgid/sticky)
	UID, GID uint32
	Mtime    time.Time // Rock Ridge TF times and the record's ISO date; zero means Input.Date
	Size     int64     // regular files
	Source   io.ReaderAt
	Target   string  // symlinks
	Children []*Node // directories, any order (the planner sorts deterministically)
	Volatile bool    // regular files: data placed after all non-volatile data (the initrd)

	DevMajor, DevMinor uint32 // device nodes (Rock Ridge PN)
}

// ElTorito describes the boot entries: BIOS (isolinux), UEFI (an EFI
// System Partition image), or both.
type ElTorito struct {
	CatalogPath   string // e.g. "isolinux/boot.cat": the planner adds this file to the tree; its directory must exist
	LoaderPath    string // path of a regular file node in the tree, e.g. "isolinux/isolinux.bin"; "" for no BIOS entry
	Loader        []byte // the loader's bytes (len must equal the node's Size, at least 1); served patched instead of the node's Source
	LoadSectors   uint16 // virtual 512-byte sectors the BIOS loads; 0 means 4 (what isolinux needs)
	BootInfoTable bool   // patch the isolinux boot-info-table at offset 8

	// EFIImagePath is the path of a regular file node holding an EFI System
	// Partition image (a FAT file system with EFI/BOOT/BOOTX64.EFI), e.g.
	// "boot/efi.img"; "" for no UEFI entry. With a BIOS loader it is a
	// second catalog section (platform 0xEF); alone it is the default
	// entry. Its data is placed right after the loader's, before other
	// files. It must not be Volatile.
	EFIImagePath string
}

// Input is everything Plan needs.
type Input struct {
	VolumeID      string    // up to 32 bytes of printable ASCII (distributions use lower case; not forced to d-characters)
	ApplicationID string    // up to 128 bytes of printable ASCII
	Date          time.Time // volume dates in the PVD, and the date of nodes without Mtime
	Root          *Node     // a directory; its Name is ignored
	ElTorito      *ElTorito // nil: not bootable
	Hybrid        *Hybrid   // nil: the system area stays zero (a CD image only)
	Joliet        *Joliet   // nil: no Joliet hierarchy
}

// check validates what Plan can check before it looks at the tree.
func (in *Input) check() error {
	if err := checkIdentifier(in.VolumeID, volumeIDLen); err != nil {
		return fmt.Errorf("volume id %q: %w", in.VolumeID, err)
	}
	if err := checkIdentifier(in.ApplicationID, applicationIDLen); err != nil {
		return fmt.Errorf("application id %q: %w", in.ApplicationID, err)
	}
	if in.Root == nil || !in.Root.Mode.IsDir() {
		return fmt.Errorf("root: %w: not a directory", ErrInvalidTree)
	}
	if in.Hybrid != nil && in.ElTorito == nil {
		return fmt.Errorf("%w: a hybrid image needs an El Torito boot entry", ErrBootPath)
	}
	return nil
}

func checkIdentifier(s string, n int) error {
	if len(s) > n {
		return fmt.Errorf("%w: longer than %d bytes", ErrBadIdentifier, n)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7E {
			return fmt.Errorf("%w: not printable ASCII", ErrBadIdentifier)
		}
	}
	return nil
}
