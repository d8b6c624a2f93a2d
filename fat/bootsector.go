package fat

import "encoding/binary"

// bootSector is the boot sector with its BIOS Parameter Block (fatgen103,
// "Boot Sector and BPB Structure", with the FAT12/16 or the FAT32 extended
// fields from offset 36).
type bootSector struct {
	Type        Type
	SecPerClus  uint8
	RsvdSecCnt  uint16
	RootEntCnt  uint16
	TotSec      uint32
	FATSz       uint32
	VolumeID    uint32
	VolumeLabel string // up to 11 bytes, padded with spaces
}

// bootCode is what runs if a BIOS boots the partition: INT 18h, "boot
// failed, try the next device".
var bootCode = []byte{0xCD, 0x18}

func (b *bootSector) encode() []byte {
	s := make([]byte, SectorSize)
	ext := 36 // BS_DrvNum on FAT12/16
	s[0], s[2] = 0xEB, 0x90
	if b.Type == FAT32 {
		ext = 64
	}
	s[1] = byte(ext + 26 - 2) // BS_jmpBoot: jump over the BPB to the boot code
	copy(s[3:11], oemName)
	binary.LittleEndian.PutUint16(s[11:], SectorSize)
	s[13] = b.SecPerClus
	binary.LittleEndian.PutUint16(s[14:], b.RsvdSecCnt)
	s[16] = numFATs
	binary.LittleEndian.PutUint16(s[17:], b.RootEntCnt)
	if b.TotSec < 0x10000 && b.Type != FAT32 {
		binary.LittleEndian.PutUint16(s[19:], uint16(b.TotSec)) // BPB_TotSec16
	} else {
		binary.LittleEndian.PutUint32(s[32:], b.TotSec) // BPB_TotSec32
	}
	s[21] = mediaFixed
	if b.Type != FAT32 {
		binary.LittleEndian.PutUint16(s[22:], uint16(b.FATSz)) // BPB_FATSz16
	}
	binary.LittleEndian.PutUint16(s[24:], sectorsPerTrack)
	binary.LittleEndian.PutUint16(s[26:], numHeads)
	// BPB_HiddSec (28) stays 0: the image does not know where a partition
	// table puts it, and nothing liveiso boots reads it.
	if b.Type == FAT32 {
		binary.LittleEndian.PutUint32(s[36:], b.FATSz) // BPB_FATSz32
		// BPB_ExtFlags 0: the FATs are mirrored; BPB_FSVer 0.0.
		binary.LittleEndian.PutUint32(s[44:], rootCluster)
		binary.LittleEndian.PutUint16(s[48:], fsInfoSector)
		binary.LittleEndian.PutUint16(s[50:], bkBootSector)
	}
	s[ext] = driveNumber
	s[ext+2] = extBootSig
	binary.LittleEndian.PutUint32(s[ext+3:], b.VolumeID)
	copy(s[ext+7:ext+18], padName(b.VolumeLabel, 11))
	copy(s[ext+18:ext+26], padName(b.Type.String(), 8)) // BS_FilSysType: informational only
	copy(s[ext+26:], bootCode)
	s[510], s[511] = 0x55, 0xAA
	return s
}

// fsInfo is the FAT32 FSInfo sector (fatgen103, "FAT32 FSInfo Sector
// Structure").
type fsInfo struct {
	FreeCount uint32
	NextFree  uint32
}

func (f *fsInfo) encode() []byte {
	s := make([]byte, SectorSize)
	binary.LittleEndian.PutUint32(s[0:], fsiLeadSig)
	binary.LittleEndian.PutUint32(s[484:], fsiStrucSig)
	binary.LittleEndian.PutUint32(s[488:], f.FreeCount)
	binary.LittleEndian.PutUint32(s[492:], f.NextFree)
	binary.LittleEndian.PutUint32(s[508:], fsiTrailSig)
	return s
}

func padName(s string, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = ' '
	}
	copy(b, s)
	return b
}
