package fat

// Constants of the Microsoft FAT specification (fatgen103), named after its
// fields.
const (
	SectorSize = 512 // BPB_BytsPerSec: the only value liveiso writes

	numFATs         = 2
	mediaFixed      = 0xF8 // BPB_Media: fixed (non-removable) media
	rootEntCnt      = 512  // BPB_RootEntCnt on FAT12/16: 16 KiB of root directory
	rsvdSecCntFAT   = 1    // BPB_RsvdSecCnt on FAT12/16
	rsvdSecCntFAT32 = 32   // BPB_RsvdSecCnt on FAT32 (the specification's recommendation)
	fsInfoSector    = 1    // BPB_FSInfo
	bkBootSector    = 6    // BPB_BkBootSec
	rootCluster     = 2    // BPB_RootClus: the first data cluster
	sectorsPerTrack = 32   // BPB_SecPerTrk: a made-up geometry, as on any flash disk
	numHeads        = 64   // BPB_NumHeads
	driveNumber     = 0x80 // BS_DrvNum: a hard disk
	extBootSig      = 0x29 // BS_BootSig: the next three fields are present
	oemName         = "MSWIN4.1"

	// Cluster count limits that decide the FAT type (fatgen103, "FAT Type
	// Determination"): fewer than 4085 clusters is FAT12, fewer than 65525
	// is FAT16, anything else FAT32.
	maxClustersFAT12 = 4084
	maxClustersFAT16 = 65524
	maxClustersFAT32 = 0x0FFFFFF5 - 2

	dirEntrySize = 32

	// DIR_Attr bits.
	attrReadOnly  = 0x01
	attrHidden    = 0x02
	attrSystem    = 0x04
	attrVolumeID  = 0x08
	attrDirectory = 0x10
	attrArchive   = 0x20
	attrLongName  = attrReadOnly | attrHidden | attrSystem | attrVolumeID

	lastLongEntry = 0x40 // LDIR_Ord of the last (first stored) long-name entry
	lfnChars      = 13   // UCS-2 characters per long-name entry

	// FSInfo signatures.
	fsiLeadSig  = 0x41615252
	fsiStrucSig = 0x61417272
	fsiTrailSig = 0xAA550000
)

// Type is the FAT variant of an image.
type Type int

const (
	FAT12 Type = 12
	FAT16 Type = 16
	FAT32 Type = 32
)

func (t Type) String() string {
	switch t {
	case FAT12:
		return "FAT12"
	case FAT16:
		return "FAT16"
	case FAT32:
		return "FAT32"
	}
	return "FAT?"
}

// endOfChain is the end-of-chain mark of t.
func (t Type) endOfChain() uint32 {
	switch t {
	case FAT12:
		return 0xFFF
	case FAT16:
		return 0xFFFF
	}
	return 0x0FFFFFFF
}
