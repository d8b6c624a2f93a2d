package hybrid

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// SectorSize is the logical block size of the disk the image is written to.
const SectorSize = 512

// MBR layout (UEFI 2.10 5.2.1 Legacy MBR).
const (
	mbrBootCodeLen      = 440 // BootCode
	mbrSignatureOffset  = 440 // UniqueMBRDiskSignature
	mbrPartitionOffset  = 446 // PartitionRecord[4]
	mbrPartitionLen     = 16
	mbrSignatureAt      = 510 // Signature
	mbrBootSignature    = 0xAA55
	statusActive        = 0x80
	TypeEmpty           = 0x00
	TypeEFISystem       = 0xEF // an EFI System Partition
	TypeGPTProtective   = 0xEE // the partition a GPT disk's (protective or hybrid) MBR starts with
	chsHeads            = 64   // the geometry isohybrid and xorriso assume
	chsSectors          = 32
	maxCHSCylinder      = 1023
	isohybridLBAOffset  = 432 // isohybrid: the loader's 512-byte LBA, 64 bits little-endian
	isohybridCodeLen    = 432
	isolinuxHybridMagic = 0x7078C0FB // at offset 0x40 of an isohybrid-capable isolinux.bin
	isolinuxMagicOffset = 0x40
)

// ErrNotHybridLoader means the BIOS loader lacks isolinux's isohybrid
// signature, so the MBR code could not hand over to it.
var ErrNotHybridLoader = errors.New("hybrid: the loader is not an isohybrid-capable isolinux.bin")

// Field offsets of a partition record (UEFI 2.10 Table 5-2).
const (
	partBootIndicator = 0
	partStartingCHS   = 1
	partOSType        = 4
	partEndingCHS     = 5
	partStartingLBA   = 8
	partSizeInLBA     = 12
	chsLen            = 3
)

// MBRPartition is UEFI 2.10 Table 5-2 Legacy MBR Partition Record.
type MBRPartition struct {
	Active   bool
	Type     byte // OSType
	StartLBA uint32
	Sectors  uint32
}

// MBR is a legacy Master Boot Record.
type MBR struct {
	BootCode      []byte // up to 440 bytes
	DiskSignature uint32
	Partitions    [4]MBRPartition
}

// Encode returns the 512-byte sector.
func (m *MBR) Encode() []byte {
	b := make([]byte, SectorSize)
	copy(b[:mbrBootCodeLen], m.BootCode)
	binary.LittleEndian.PutUint32(b[mbrSignatureOffset:], m.DiskSignature)
	for i, p := range m.Partitions {
		if p.Type == TypeEmpty && p.Sectors == 0 {
			continue
		}
		r := b[mbrPartitionOffset+i*mbrPartitionLen:][:mbrPartitionLen]
		if p.Active {
			r[partBootIndicator] = statusActive
		}
		putCHS(r[partStartingCHS:][:chsLen], p.StartLBA)
		r[partOSType] = p.Type
		putCHS(r[partEndingCHS:][:chsLen], p.StartLBA+p.Sectors-1)
		binary.LittleEndian.PutUint32(r[partStartingLBA:], p.StartLBA)
		binary.LittleEndian.PutUint32(r[partSizeInLBA:], p.Sectors)
	}
	binary.LittleEndian.PutUint16(b[mbrSignatureAt:], mbrBootSignature)
	return b
}

// putCHS writes lba as cylinder-head-sector in the MBR's packed form, or
// the "beyond CHS" value 1023/254/63 when it does not fit.
func putCHS(b []byte, lba uint32) {
	c := lba / (chsHeads * chsSectors)
	h := lba / chsSectors % chsHeads
	s := lba%chsSectors + 1
	if c > maxCHSCylinder {
		b[0], b[1], b[2] = 0xFE, 0xFF, 0xFF
		return
	}
	b[0] = byte(h)
	b[1] = byte(s) | byte(c>>8)<<6
	b[2] = byte(c)
}

// IsohybridBootCode returns the boot code of an isohybrid MBR: the first
// 432 bytes of isolinux's isohdpfx.bin (or a sibling) followed by the
// 512-byte LBA of isolinux.bin as a 64-bit little-endian number, which is
// where that code looks for it. loader is isolinux.bin itself, checked for
// the signature that says it can be started that way.
func IsohybridBootCode(code, loader []byte, loaderLBA uint64) ([]byte, error) {
	if len(code) < isohybridCodeLen {
		return nil, fmt.Errorf("hybrid: MBR code of %d bytes, want at least %d (isohdpfx.bin)", len(code), isohybridCodeLen)
	}
	if len(loader) < isolinuxMagicOffset+4 || binary.LittleEndian.Uint32(loader[isolinuxMagicOffset:]) != isolinuxHybridMagic {
		return nil, ErrNotHybridLoader
	}
	b := make([]byte, mbrBootCodeLen)
	copy(b, code[:isohybridCodeLen])
	binary.LittleEndian.PutUint64(b[isohybridLBAOffset:], loaderLBA)
	return b, nil
}
