// Package pe reads the headers of a PE/COFF image (Microsoft's PE Format
// specification, "PE/COFF" below): the one reader that uki (which adds
// sections to systemd-stub) and secureboot (which hashes an image as
// Authenticode does) share. It reads what both need and checks that every
// header it reads lies inside the file; what an image must be beyond that
// (a machine, alignments, a signature) is its callers' business.
package pe

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The PE/COFF fields read here or by the callers, named after the spec.
const (
	DOSLfanewOffset   = 0x3c         // MS-DOS stub: file offset of the PE signature
	Signature         = "PE\x00\x00" // PE/COFF 3.2 Signature
	COFFHeaderSize    = 20           // PE/COFF 3.3 COFF File Header
	SectionHeaderSize = 40           // PE/COFF 4 Section Table, one entry
	MachineAMD64      = 0x8664       // PE/COFF 3.3.1 IMAGE_FILE_MACHINE_AMD64
	MagicPE32         = 0x10b        // PE/COFF 3.4 Optional Header Magic
	MagicPE32Plus     = 0x20b

	// Offsets in the optional header (PE/COFF 3.4.1, 3.4.2), the same in
	// PE32 and PE32+ up to OptCheckSum.
	OptSizeOfInitializedData = 8
	OptSectionAlignment      = 32
	OptFileAlignment         = 36
	OptSizeOfImage           = 56
	OptSizeOfHeaders         = 60
	OptCheckSum              = 64
	// NumberOfRvaAndSizes and the data directories move with the size of
	// ImageBase and the stack and heap fields: 92 and 96 in PE32, 108 and
	// 112 in PE32+.
	OptNumberOfRvaAndSizesPE32     = 92
	OptDataDirectoriesPE32         = 96
	OptNumberOfRvaAndSizesPE32Plus = 108
	OptDataDirectoriesPE32Plus     = 112
	DataDirectorySize              = 8
	DataDirCertificateTable        = 4 // PE/COFF 3.4.3: the Attribute Certificate Table

	// Section flags (PE/COFF 4.1).
	ScnCntInitializedData = 0x00000040
	ScnMemRead            = 0x40000000
)

// ErrFormat means the bytes are not a PE/COFF image whose headers lie
// inside the file.
var ErrFormat = errors.New("not a PE/COFF image")

// Section is PE/COFF 4 Section Table, one entry, the fields of an image.
type Section struct {
	Name             string // up to 8 bytes, NUL padded
	VirtualSize      uint32
	VirtualAddress   uint32
	SizeOfRawData    uint32
	PointerToRawData uint32
	Characteristics  uint32
}

// AppendTo appends the 40-byte section header.
func (s *Section) AppendTo(b []byte) []byte {
	var name [8]byte
	copy(name[:], s.Name)
	b = append(b, name[:]...)
	b = binary.LittleEndian.AppendUint32(b, s.VirtualSize)
	b = binary.LittleEndian.AppendUint32(b, s.VirtualAddress)
	b = binary.LittleEndian.AppendUint32(b, s.SizeOfRawData)
	b = binary.LittleEndian.AppendUint32(b, s.PointerToRawData)
	// PointerToRelocations, PointerToLinenumbers, NumberOfRelocations,
	// NumberOfLinenumbers: zero for an image.
	b = append(b, make([]byte, 12)...)
	return binary.LittleEndian.AppendUint32(b, s.Characteristics)
}

// decodeSection reads a 40-byte section header.
func decodeSection(e []byte) Section {
	return Section{
		Name:             string(trimNUL(e[:8])),
		VirtualSize:      binary.LittleEndian.Uint32(e[8:]),
		VirtualAddress:   binary.LittleEndian.Uint32(e[12:]),
		SizeOfRawData:    binary.LittleEndian.Uint32(e[16:]),
		PointerToRawData: binary.LittleEndian.Uint32(e[20:]),
		Characteristics:  binary.LittleEndian.Uint32(e[36:]),
	}
}

// File is the headers of one image: where they are in the file and the
// fields the callers use.
type File struct {
	COFFOffset         int // file offset of the COFF file header
	OptionalOffset     int // of the optional header
	SectionTableOffset int // of the section table

	// PE/COFF 3.3 COFF File Header.
	Machine              uint16
	NumberOfSections     uint16
	SizeOfOptionalHeader uint16

	// PE/COFF 3.4 Optional Header.
	Magic               uint16 // MagicPE32 or MagicPE32Plus
	SectionAlignment    uint32
	FileAlignment       uint32
	SizeOfHeaders       uint32 // at least the end of the section table, at most the file
	NumberOfRvaAndSizes uint32

	// CertDirOffset is the file offset of the Certificate Table's data
	// directory entry, 0 when the optional header is too short to hold
	// it; CertTable is that entry ({file offset, size}; {0, 0}: unsigned).
	CertDirOffset int
	CertTable     [2]uint32

	Sections []Section // in table order
}

// CheckSumOffset is the file offset of the optional header's CheckSum.
func (f *File) CheckSumOffset() int { return f.OptionalOffset + OptCheckSum }

// Parse reads the headers of the PE/COFF image data. Every error wraps
// ErrFormat.
func Parse(data []byte) (*File, error) {
	if len(data) < DOSLfanewOffset+4 || data[0] != 'M' || data[1] != 'Z' {
		return nil, fmt.Errorf("%w: no MZ header", ErrFormat)
	}
	pe := int64(binary.LittleEndian.Uint32(data[DOSLfanewOffset:]))
	if pe > int64(len(data))-4-COFFHeaderSize || string(data[pe:pe+4]) != Signature {
		return nil, fmt.Errorf("%w: no PE signature", ErrFormat)
	}
	f := &File{COFFOffset: int(pe) + 4}
	c := data[f.COFFOffset:]
	f.Machine = binary.LittleEndian.Uint16(c[0:])
	f.NumberOfSections = binary.LittleEndian.Uint16(c[2:])
	f.SizeOfOptionalHeader = binary.LittleEndian.Uint16(c[16:])
	f.OptionalOffset = f.COFFOffset + COFFHeaderSize
	f.SectionTableOffset = f.OptionalOffset + int(f.SizeOfOptionalHeader)
	if f.SectionTableOffset > len(data) || f.SizeOfOptionalHeader < 2 {
		return nil, fmt.Errorf("%w: optional header of %d bytes past the end of the file", ErrFormat, f.SizeOfOptionalHeader)
	}
	opt := data[f.OptionalOffset:f.SectionTableOffset]
	f.Magic = binary.LittleEndian.Uint16(opt)
	var nrva, dirs int
	switch f.Magic {
	case MagicPE32:
		nrva, dirs = OptNumberOfRvaAndSizesPE32, OptDataDirectoriesPE32
	case MagicPE32Plus:
		nrva, dirs = OptNumberOfRvaAndSizesPE32Plus, OptDataDirectoriesPE32Plus
	default:
		return nil, fmt.Errorf("%w: optional header magic %#x", ErrFormat, f.Magic)
	}
	if len(opt) < dirs {
		return nil, fmt.Errorf("%w: optional header of %d bytes", ErrFormat, len(opt))
	}
	f.SectionAlignment = binary.LittleEndian.Uint32(opt[OptSectionAlignment:])
	f.FileAlignment = binary.LittleEndian.Uint32(opt[OptFileAlignment:])
	f.SizeOfHeaders = binary.LittleEndian.Uint32(opt[OptSizeOfHeaders:])
	f.NumberOfRvaAndSizes = binary.LittleEndian.Uint32(opt[nrva:])
	if cert := dirs + DataDirectorySize*DataDirCertificateTable; cert+DataDirectorySize <= len(opt) {
		f.CertDirOffset = f.OptionalOffset + cert
		f.CertTable = [2]uint32{binary.LittleEndian.Uint32(opt[cert:]), binary.LittleEndian.Uint32(opt[cert+4:])}
	}
	n := int(f.NumberOfSections)
	if tableEnd := int64(f.SectionTableOffset) + int64(n)*SectionHeaderSize; int64(f.SizeOfHeaders) < tableEnd || int64(f.SizeOfHeaders) > int64(len(data)) {
		return nil, fmt.Errorf("%w: headers of %d bytes for %d section headers ending at %d, in a file of %d", ErrFormat, f.SizeOfHeaders, n, tableEnd, len(data))
	}
	for i := range n {
		s := decodeSection(data[f.SectionTableOffset+i*SectionHeaderSize:])
		if s.SizeOfRawData > 0 && uint64(s.PointerToRawData)+uint64(s.SizeOfRawData) > uint64(len(data)) {
			return nil, fmt.Errorf("%w: section %q runs past the end of the file", ErrFormat, s.Name)
		}
		f.Sections = append(f.Sections, s)
	}
	return f, nil
}

func trimNUL(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}
