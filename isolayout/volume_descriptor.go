package isolayout

import (
	"encoding/binary"
	"time"
)

// Volume Descriptor Type (ECMA-119 8.1.1) and the fixed fields every volume
// descriptor starts with (ECMA-119 8.1.2, 8.1.3).
const (
	vdTypeBootRecord = 0
	vdTypePrimary    = 1
	vdTypeSupplement = 2
	vdTypeTerminator = 255

	standardIdentifier = "CD001"
	vdVersion          = 1
	fileStructureVer   = 1 // ECMA-119 8.4.31
)

// Sizes of the identifier fields of the primary volume descriptor.
const (
	systemIDLen        = 32
	volumeIDLen        = 32
	volumeSetIDLen     = 128
	publisherIDLen     = 128
	preparerIDLen      = 128
	applicationIDLen   = 128
	fileIDLen          = 37 // copyright, abstract and bibliographic file identifiers
	escapeSequencesLen = 32
)

// appendVDHeader appends the Volume Descriptor Type, Standard Identifier and
// Volume Descriptor Version (ECMA-119 8.1).
func appendVDHeader(dst []byte, vdType byte) []byte {
	dst = append(dst, vdType)
	dst = append(dst, standardIdentifier...)
	return append(dst, vdVersion)
}

// appendPadded appends s padded with spaces to n bytes (strA/strD fields of
// ECMA-119 7.4.3).
func appendPadded(dst []byte, s string, n int) []byte {
	dst = append(dst, s[:min(len(s), n)]...)
	for i := len(s); i < n; i++ {
		dst = append(dst, ' ')
	}
	return dst
}

// primaryVolumeDescriptor is ECMA-119 8.4 Primary Volume Descriptor.
// Only one copy of each path table is recorded: the optional path table
// locations are 0.
type primaryVolumeDescriptor struct {
	SystemID        string
	VolumeID        string
	VolumeSpaceSize uint32 // sectors
	PathTableSize   uint32 // bytes
	LPathTableLBA   uint32
	MPathTableLBA   uint32
	Root            dirRecord // 34 bytes: no system use
	ApplicationID   string
	Created         time.Time
	Modified        time.Time
	Effective       time.Time
}

// encode returns the descriptor's sector.
func (d *primaryVolumeDescriptor) encode() []byte {
	return d.encodeAs(vdTypePrimary, nil, appendPadded)
}

// encodeAs encodes the descriptor as ECMA-119 8.4 lays it out, which 8.5
// (Supplementary Volume Descriptor) shares but for the type, the volume
// flags (zero here), the escape sequences and the character set of its
// identifiers, which str writes.
func (d *primaryVolumeDescriptor) encodeAs(vdType byte, escapes []byte, str func(dst []byte, s string, n int) []byte) []byte {
	b := make([]byte, 0, SectorSize)
	b = appendVDHeader(b, vdType)
	b = append(b, 0) // BP 8 unused (8.5.3 Volume Flags: 0, the escape sequences are registered ones)
	b = str(b, d.SystemID, systemIDLen)
	b = str(b, d.VolumeID, volumeIDLen)
	b = append(b, make([]byte, 8)...) // BP 73-80 unused
	b = appendBoth32(b, d.VolumeSpaceSize)
	b = append(b, escapes...) // BP 89-120: unused, or 8.5.6 Escape Sequences
	b = append(b, make([]byte, escapeSequencesLen-len(escapes))...)
	b = appendBoth16(b, 1)          // Volume Set Size
	b = appendBoth16(b, 1)          // Volume Sequence Number
	b = appendBoth16(b, SectorSize) // Logical Block Size
	b = appendBoth32(b, d.PathTableSize)
	b = binary.LittleEndian.AppendUint32(b, d.LPathTableLBA)
	b = binary.LittleEndian.AppendUint32(b, 0) // Optional Type L Path Table
	b = binary.BigEndian.AppendUint32(b, d.MPathTableLBA)
	b = binary.BigEndian.AppendUint32(b, 0) // Optional Type M Path Table
	b = d.Root.appendTo(b)
	b = str(b, "", volumeSetIDLen)
	b = str(b, "", publisherIDLen)
	b = str(b, "", preparerIDLen)
	b = str(b, d.ApplicationID, applicationIDLen)
	b = str(b, "", fileIDLen) // Copyright File Identifier
	b = str(b, "", fileIDLen) // Abstract File Identifier
	b = str(b, "", fileIDLen) // Bibliographic File Identifier
	b = appendVolumeTime(b, d.Created)
	b = appendVolumeTime(b, d.Modified)
	b = appendVolumeTime(b, time.Time{}) // Volume Expiration Date and Time: not specified
	b = appendVolumeTime(b, d.Effective)
	b = append(b, fileStructureVer)
	return b[:SectorSize] // BP 883 reserved, 884-1395 application use, 1396-2048 reserved: zeros
}

// terminatorDescriptor is ECMA-119 8.3 Volume Descriptor Set Terminator.
type terminatorDescriptor struct{}

func (terminatorDescriptor) encode() []byte {
	b := make([]byte, 0, SectorSize)
	b = appendVDHeader(b, vdTypeTerminator)
	return b[:SectorSize]
}
