package hybrid

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"strings"
	"unicode/utf16"
)

// GPT layout (UEFI 2.10 5.3).
const (
	gptSignature      = "EFI PART"
	gptRevision       = 0x00010000
	gptHeaderSize     = 92
	gptEntrySize      = 128
	gptEntries        = 128 // 16 KiB: the smallest array UEFI allows (5.3.2)
	gptNameLen        = 36  // UTF-16 code units
	EntryArraySectors = gptEntries * gptEntrySize / SectorSize

	// TableSectors is what each copy of the GPT occupies: the header and
	// the entry array. The primary copy is LBA 1 to TableSectors; the
	// backup copy is the last TableSectors of the disk (the entries, then
	// the header in the very last LBA).
	TableSectors = 1 + EntryArraySectors

	// minDiskSectors holds the protective MBR, both copies of the GPT and
	// one usable LBA.
	minDiskSectors = 1 + 2*TableSectors + 1
)

// GUID is a GUID in its on-disk byte order (UEFI 2.10 Appendix A: the first
// three fields little-endian).
type GUID [16]byte

// ParseGUID reads the usual text form, e.g.
// "C12A7328-F81F-11D2-BA4B-00A0C93EC93B".
func ParseGUID(s string) (GUID, error) {
	var g GUID
	raw, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(raw) != 16 || len(s) != 36 {
		return g, fmt.Errorf("hybrid: bad GUID %q", s)
	}
	g[0], g[1], g[2], g[3] = raw[3], raw[2], raw[1], raw[0]
	g[4], g[5] = raw[5], raw[4]
	g[6], g[7] = raw[7], raw[6]
	copy(g[8:], raw[8:])
	return g, nil
}

// String is the text form.
func (g GUID) String() string {
	return fmt.Sprintf("%02X%02X%02X%02X-%02X%02X-%02X%02X-%X-%X",
		g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8:10], g[10:])
}

// GUIDFromHash makes a version 4 (random) GUID from 16 bytes of a hash, so
// that reproducible images have stable GUIDs.
func GUIDFromHash(h []byte) GUID {
	var g GUID
	copy(g[:], h)
	g[7] = g[7]&0x0F | 0x40 // version 4 (in the little-endian third field)
	g[8] = g[8]&0x3F | 0x80 // variant RFC 4122
	return g
}

// EFISystemPartition is the partition type GUID of an ESP (UEFI 2.10 Table 5-7).
var EFISystemPartition = GUID{0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11, 0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B}

// GPTPartition is UEFI 2.10 Table 5-9 GPT Partition Entry.
type GPTPartition struct {
	Type       GUID
	ID         GUID
	FirstLBA   uint64
	LastLBA    uint64 // inclusive
	Attributes uint64
	Name       string // up to 36 UTF-16 code units
}

// Field offsets of a GPT Partition Entry (UEFI 2.10 Table 5-9).
const (
	entryPartitionTypeGUID   = 0
	entryUniquePartitionGUID = 16
	entryStartingLBA         = 32
	entryEndingLBA           = 40
	entryAttributes          = 48
	entryPartitionName       = 56
)

func (p *GPTPartition) appendTo(dst []byte) []byte {
	var b [gptEntrySize]byte
	copy(b[entryPartitionTypeGUID:], p.Type[:])
	copy(b[entryUniquePartitionGUID:], p.ID[:])
	binary.LittleEndian.PutUint64(b[entryStartingLBA:], p.FirstLBA)
	binary.LittleEndian.PutUint64(b[entryEndingLBA:], p.LastLBA)
	binary.LittleEndian.PutUint64(b[entryAttributes:], p.Attributes)
	for i, c := range utf16.Encode([]rune(p.Name)) {
		if i == gptNameLen {
			break
		}
		binary.LittleEndian.PutUint16(b[entryPartitionName+2*i:], c)
	}
	return append(dst, b[:]...)
}

// GPT is a GUID Partition Table for a disk of DiskSectors 512-byte LBAs.
type GPT struct {
	DiskGUID    GUID
	DiskSectors uint64
	Partitions  []GPTPartition
}

// header is UEFI 2.10 Table 5-5 GPT Header.
type header struct {
	MyLBA, AlternateLBA     uint64
	FirstUsable, LastUsable uint64
	DiskGUID                GUID
	EntryLBA                uint64
	EntryArrayCRC32         uint32
}

// Field offsets of the GPT Header (UEFI 2.10 Table 5-5).
const (
	hdrSignature                = 0
	hdrRevision                 = 8
	hdrHeaderSize               = 12
	hdrHeaderCRC32              = 16
	hdrMyLBA                    = 24 // after 4 reserved bytes at 20
	hdrAlternateLBA             = 32
	hdrFirstUsableLBA           = 40
	hdrLastUsableLBA            = 48
	hdrDiskGUID                 = 56
	hdrPartitionEntryLBA        = 72
	hdrNumberOfPartitionEntries = 80
	hdrSizeOfPartitionEntry     = 84
	hdrPartitionEntryArrayCRC32 = 88
)

func (h *header) encode() []byte {
	b := make([]byte, SectorSize)
	le := binary.LittleEndian
	copy(b[hdrSignature:], gptSignature)
	le.PutUint32(b[hdrRevision:], gptRevision)
	le.PutUint32(b[hdrHeaderSize:], gptHeaderSize)
	le.PutUint64(b[hdrMyLBA:], h.MyLBA)
	le.PutUint64(b[hdrAlternateLBA:], h.AlternateLBA)
	le.PutUint64(b[hdrFirstUsableLBA:], h.FirstUsable)
	le.PutUint64(b[hdrLastUsableLBA:], h.LastUsable)
	copy(b[hdrDiskGUID:], h.DiskGUID[:])
	le.PutUint64(b[hdrPartitionEntryLBA:], h.EntryLBA)
	le.PutUint32(b[hdrNumberOfPartitionEntries:], gptEntries)
	le.PutUint32(b[hdrSizeOfPartitionEntry:], gptEntrySize)
	le.PutUint32(b[hdrPartitionEntryArrayCRC32:], h.EntryArrayCRC32)
	// The CRC is taken over the header with its own field still zero.
	le.PutUint32(b[hdrHeaderCRC32:], crc32.ChecksumIEEE(b[:gptHeaderSize]))
	return b
}

// FirstUsableLBA and LastUsableLBA bound the partitions of the table.
func (g *GPT) FirstUsableLBA() uint64 { return 1 + TableSectors }
func (g *GPT) LastUsableLBA() uint64  { return g.DiskSectors - 1 - TableSectors }

func (g *GPT) entries() ([]byte, error) {
	if g.DiskSectors < minDiskSectors {
		// LastUsableLBA would wrap around and let any partition through.
		return nil, fmt.Errorf("hybrid: a disk of %d LBAs has no room for a GPT (at least %d)", g.DiskSectors, minDiskSectors)
	}
	if len(g.Partitions) > gptEntries {
		return nil, fmt.Errorf("hybrid: %d GPT partitions, at most %d", len(g.Partitions), gptEntries)
	}
	b := make([]byte, 0, gptEntries*gptEntrySize)
	for i := range g.Partitions {
		p := &g.Partitions[i]
		if p.FirstLBA < g.FirstUsableLBA() || p.LastLBA > g.LastUsableLBA() || p.LastLBA < p.FirstLBA {
			return nil, fmt.Errorf("hybrid: GPT partition %d (LBA %d-%d) outside the usable LBAs %d-%d",
				i+1, p.FirstLBA, p.LastLBA, g.FirstUsableLBA(), g.LastUsableLBA())
		}
		b = p.appendTo(b)
	}
	return b[:cap(b)], nil
}

// Primary returns the primary header and entry array: TableSectors
// sectors that go at LBA 1.
func (g *GPT) Primary() ([]byte, error) {
	e, err := g.entries()
	if err != nil {
		return nil, err
	}
	h := header{MyLBA: 1, AlternateLBA: g.DiskSectors - 1, FirstUsable: g.FirstUsableLBA(), LastUsable: g.LastUsableLBA(),
		DiskGUID: g.DiskGUID, EntryLBA: 2, EntryArrayCRC32: crc32.ChecksumIEEE(e)}
	return append(h.encode(), e...), nil
}

// Backup returns the backup entry array and header: TableSectors sectors
// that end at the disk's last LBA.
func (g *GPT) Backup() ([]byte, error) {
	e, err := g.entries()
	if err != nil {
		return nil, err
	}
	h := header{MyLBA: g.DiskSectors - 1, AlternateLBA: 1, FirstUsable: g.FirstUsableLBA(), LastUsable: g.LastUsableLBA(),
		DiskGUID: g.DiskGUID, EntryLBA: g.DiskSectors - TableSectors, EntryArrayCRC32: crc32.ChecksumIEEE(e)}
	return append(e, h.encode()...), nil
}
