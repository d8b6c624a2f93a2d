package isolayout

import (
	"encoding/binary"
	"errors"
)

// El Torito 1.0 constants, named as in the specification.
const (
	bootSystemIdentifier = "EL TORITO SPECIFICATION" // 2.0, padded with zeros to 32 bytes
	bootSystemIDLen      = 32
	bootIdentifierLen    = 32

	catalogEntryLen   = 32  // 2.0: every catalog entry is 32 bytes
	virtualSectorSize = 512 // 2.2 Sector Count: the BIOS loads "virtual sectors" of 512 bytes

	headerIDValidation = 0x01 // 2.1
	platformX86        = 0x00 // 2.1 Platform ID: 80x86
	platformEFI        = 0xEF // UEFI extension of the platform IDs, for a later section entry
	keyByte55          = 0x55
	keyByteAA          = 0xAA

	bootIndicatorBootable = 0x88 // 2.2
	mediaNoEmulation      = 0x00 // 2.2 Boot media type
	headerIDSectionFinal  = 0x91 // 2.3 Section Header Entry, last section
)

// Boot-info-table: a convention of mkisofs and isolinux (not El Torito): 56
// bytes at offset 8 of the loader, with the checksum taken from offset 64.
const (
	bootInfoTableOffset   = 8
	bootInfoTableLen      = 56
	bootInfoChecksumStart = 64
)

// ErrLoaderTooShort means a loader cannot hold a boot-info-table.
var ErrLoaderTooShort = errors.New("isolayout: boot loader shorter than its 64-byte boot-info-table header")

// bootRecordDescriptor is El Torito 1.0 2.0 Boot Record Volume Descriptor
// (an ECMA-119 8.2 Boot Record), at sector 17.
type bootRecordDescriptor struct {
	CatalogLBA uint32
}

func (d *bootRecordDescriptor) encode() []byte {
	b := make([]byte, 0, SectorSize)
	b = appendVDHeader(b, vdTypeBootRecord)
	b = append(b, bootSystemIdentifier...)
	b = append(b, make([]byte, bootSystemIDLen-len(bootSystemIdentifier))...)
	b = append(b, make([]byte, bootIdentifierLen)...)
	b = binary.LittleEndian.AppendUint32(b, d.CatalogLBA) // absolute pointer to the boot catalog
	return b[:SectorSize]
}

// validationEntry is El Torito 1.0 2.1 Validation Entry: the first entry of
// the boot catalog. Its checksum makes the sixteen 16-bit little-endian words
// of the entry sum to zero.
type validationEntry struct {
	PlatformID byte
	IDString   string // manufacturer/developer, up to 24 bytes
}

// Field offsets of the Validation Entry (El Torito 1.0 2.1).
const (
	valHeaderID   = 0
	valPlatformID = 1
	valIDString   = 4 // 24 bytes, after 2 reserved
	valIDEnd      = 28
	valChecksum   = 28
	valKeyByte55  = 30
	valKeyByteAA  = 31
)

func (e *validationEntry) appendTo(dst []byte) []byte {
	var b [catalogEntryLen]byte
	b[valHeaderID] = headerIDValidation
	b[valPlatformID] = e.PlatformID
	copy(b[valIDString:valIDEnd], e.IDString)
	b[valKeyByte55], b[valKeyByteAA] = keyByte55, keyByteAA
	var sum uint16
	for i := 0; i < catalogEntryLen; i += 2 {
		sum += binary.LittleEndian.Uint16(b[i:])
	}
	binary.LittleEndian.PutUint16(b[valChecksum:], -sum)
	return append(dst, b[:]...)
}

// bootEntry is El Torito 1.0 2.2 Initial/Default Entry (and, with a selection
// criteria type of 0, the layout of a 2.4 Section Entry).
type bootEntry struct {
	BootIndicator byte
	MediaType     byte
	LoadSegment   uint16 // 0 means the traditional 0x7C0
	SystemType    byte
	SectorCount   uint16 // virtual 512-byte sectors loaded by the BIOS
	LoadRBA       uint32
}

// Field offsets of the Initial/Default Entry (El Torito 1.0 2.2).
const (
	entBootIndicator = 0
	entMediaType     = 1
	entLoadSegment   = 2
	entSystemType    = 4
	entSectorCount   = 6 // after 1 unused byte
	entLoadRBA       = 8
)

func (e *bootEntry) appendTo(dst []byte) []byte {
	var b [catalogEntryLen]byte
	b[entBootIndicator] = e.BootIndicator
	b[entMediaType] = e.MediaType
	binary.LittleEndian.PutUint16(b[entLoadSegment:], e.LoadSegment)
	b[entSystemType] = e.SystemType
	binary.LittleEndian.PutUint16(b[entSectorCount:], e.SectorCount)
	binary.LittleEndian.PutUint32(b[entLoadRBA:], e.LoadRBA)
	return append(dst, b[:]...)
}

// sectionHeader is El Torito 1.0 2.3 Section Header Entry: a second
// platform (UEFI) is a section header plus section entries after the
// default entry.
type sectionHeader struct {
	HeaderID   byte // 0x90, or headerIDSectionFinal for the last section
	PlatformID byte
	Entries    uint16
	IDString   string
}

// Field offsets of the Section Header Entry (El Torito 1.0 2.3).
const (
	secHeaderIndicator = 0
	secPlatformID      = 1
	secEntries         = 2
	secIDString        = 4 // 28 bytes
)

func (h *sectionHeader) appendTo(dst []byte) []byte {
	var b [catalogEntryLen]byte
	b[secHeaderIndicator] = h.HeaderID
	b[secPlatformID] = h.PlatformID
	binary.LittleEndian.PutUint16(b[secEntries:], h.Entries)
	copy(b[secIDString:], h.IDString)
	return append(dst, b[:]...)
}

// bootCatalog is the El Torito boot catalog: a validation entry, the default
// entry, then optional sections. It fills one sector.
type bootCatalog struct {
	Validation validationEntry
	Default    bootEntry
	Sections   []catalogSection
}

type catalogSection struct {
	Header  sectionHeader
	Entries []bootEntry
}

func (c *bootCatalog) encode() []byte {
	b := make([]byte, 0, SectorSize)
	b = c.Validation.appendTo(b)
	b = c.Default.appendTo(b)
	for _, s := range c.Sections {
		b = s.Header.appendTo(b)
		for _, e := range s.Entries {
			b = e.appendTo(b)
		}
	}
	return b[:SectorSize]
}

// bootInfoTable is the isolinux boot-info-table (the layout mkisofs
// -boot-info-table writes): where the primary volume descriptor and the
// loader are, the loader's length, and a checksum of the loader from byte 64
// on, which isolinux verifies after loading itself.
type bootInfoTable struct {
	PVDLBA   uint32
	FileLBA  uint32
	Length   uint32
	Checksum uint32
	// 40 reserved bytes follow, written as zeros.
}

// Field offsets within the boot-info-table (isolinux's bi_pvd, bi_file,
// bi_length, bi_csum, bi_reserved).
const (
	biPVD      = 0
	biFile     = 4
	biLength   = 8
	biCsum     = 12
	biReserved = 16
)

func (t *bootInfoTable) putTo(b []byte) {
	binary.LittleEndian.PutUint32(b[biPVD:], t.PVDLBA)
	binary.LittleEndian.PutUint32(b[biFile:], t.FileLBA)
	binary.LittleEndian.PutUint32(b[biLength:], t.Length)
	binary.LittleEndian.PutUint32(b[biCsum:], t.Checksum)
	clear(b[biReserved:bootInfoTableLen])
}

// bootInfoChecksum is the sum of the 32-bit little-endian words of loader
// from byte 64 to the end, a final partial word padded with zeros.
func bootInfoChecksum(loader []byte) uint32 {
	var sum uint32
	b := loader[bootInfoChecksumStart:]
	for len(b) >= 4 {
		sum += binary.LittleEndian.Uint32(b)
		b = b[4:]
	}
	if len(b) > 0 {
		var w [4]byte
		copy(w[:], b)
		sum += binary.LittleEndian.Uint32(w[:])
	}
	return sum
}

// patchBootInfoTable returns a copy of loader with its boot-info-table set.
func patchBootInfoTable(loader []byte, loaderLBA uint32) ([]byte, error) {
	if len(loader) < bootInfoChecksumStart {
		return nil, ErrLoaderTooShort
	}
	out := append([]byte(nil), loader...)
	t := bootInfoTable{
		PVDLBA:   pvdLBA,
		FileLBA:  loaderLBA,
		Length:   uint32(len(loader)),
		Checksum: bootInfoChecksum(loader),
	}
	t.putTo(out[bootInfoTableOffset:])
	return out, nil
}
