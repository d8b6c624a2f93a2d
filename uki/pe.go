package uki

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The PE/COFF fields this package reads or writes, named after the
// Microsoft PE Format specification ("PE/COFF").
const (
	dosLfanewOffset  = 0x3c         // MS-DOS stub: file offset of the PE signature
	peSignature      = "PE\x00\x00" // PE/COFF 3.2 Signature
	coffHeaderSize   = 20           // PE/COFF 3.3 COFF File Header
	sectionEntrySize = 40           // PE/COFF 4 Section Table (Section Headers)
	machineAMD64     = 0x8664       // IMAGE_FILE_MACHINE_AMD64
	machineARM64     = 0xaa64       // IMAGE_FILE_MACHINE_ARM64
	magicPE32Plus    = 0x20b        // PE/COFF 3.4 Optional Header Magic, PE32+

	// Offsets in the PE32+ optional header (PE/COFF 3.4.1, 3.4.2).
	optSizeOfInitializedData = 8
	optSectionAlignment      = 32
	optFileAlignment         = 36
	optSizeOfImage           = 56
	optSizeOfHeaders         = 60
	optCheckSum              = 64
	optNumberOfRvaAndSizes   = 108
	optDataDirectories       = 112
	dataDirCertificateTable  = 4 // PE/COFF 3.4.3: the Attribute Certificate Table

	// Section flags of an added section (PE/COFF 4.1): initialized,
	// readable data, as ukify marks them.
	scnCntInitializedData = 0x00000040
	scnMemRead            = 0x40000000
)

// ErrNotStub means the file is not a PE32+ x86-64 or arm64 image that
// sections can be added to.
var ErrNotStub = errors.New("uki: not a PE32+ x86-64 or arm64 EFI image")

// coffHeader is PE/COFF 3.3 COFF File Header, the fields used here.
type coffHeader struct {
	Machine              uint16
	NumberOfSections     uint16
	SizeOfOptionalHeader uint16
}

// section is PE/COFF 4 Section Table, one entry.
type section struct {
	Name             string // up to 8 bytes, NUL padded
	VirtualSize      uint32
	VirtualAddress   uint32
	SizeOfRawData    uint32
	PointerToRawData uint32
	Characteristics  uint32
}

// appendTo appends the 40-byte section header.
func (s *section) appendTo(b []byte) []byte {
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

// stub is what Plan needs of the stub's headers.
type stub struct {
	data          []byte
	coffOffset    int // of the COFF file header
	optOffset     int // of the optional header
	tableOffset   int // of the section table
	coff          coffHeader
	sectionAlign  uint32
	fileAlign     uint32
	sizeOfHeaders uint32
	sections      []section
}

// parseStub reads the headers of a PE32+ x86-64 image.
func parseStub(data []byte) (*stub, error) {
	s := &stub{data: data}
	if len(data) < dosLfanewOffset+4 || data[0] != 'M' || data[1] != 'Z' {
		return nil, fmt.Errorf("%w: no MZ header", ErrNotStub)
	}
	pe := int(binary.LittleEndian.Uint32(data[dosLfanewOffset:]))
	if pe < 0 || pe > len(data)-4-coffHeaderSize || string(data[pe:pe+4]) != peSignature {
		return nil, fmt.Errorf("%w: no PE signature", ErrNotStub)
	}
	s.coffOffset = pe + 4
	c := data[s.coffOffset:]
	s.coff = coffHeader{
		Machine:              binary.LittleEndian.Uint16(c[0:]),
		NumberOfSections:     binary.LittleEndian.Uint16(c[2:]),
		SizeOfOptionalHeader: binary.LittleEndian.Uint16(c[16:]),
	}
	if s.coff.Machine != machineAMD64 && s.coff.Machine != machineARM64 {
		return nil, fmt.Errorf("%w: machine %#x", ErrNotStub, s.coff.Machine)
	}
	s.optOffset = s.coffOffset + coffHeaderSize
	s.tableOffset = s.optOffset + int(s.coff.SizeOfOptionalHeader)
	if int(s.coff.SizeOfOptionalHeader) < optDataDirectories || s.tableOffset > len(data) {
		return nil, fmt.Errorf("%w: optional header of %d bytes", ErrNotStub, s.coff.SizeOfOptionalHeader)
	}
	opt := data[s.optOffset:]
	if m := binary.LittleEndian.Uint16(opt); m != magicPE32Plus {
		return nil, fmt.Errorf("%w: optional header magic %#x", ErrNotStub, m)
	}
	s.sectionAlign = binary.LittleEndian.Uint32(opt[optSectionAlignment:])
	s.fileAlign = binary.LittleEndian.Uint32(opt[optFileAlignment:])
	s.sizeOfHeaders = binary.LittleEndian.Uint32(opt[optSizeOfHeaders:])
	if !powerOfTwo(s.sectionAlign) || !powerOfTwo(s.fileAlign) || s.fileAlign > s.sectionAlign {
		return nil, fmt.Errorf("%w: section alignment %#x, file alignment %#x", ErrNotStub, s.sectionAlign, s.fileAlign)
	}
	if int64(s.sizeOfHeaders) > int64(len(data)) {
		return nil, fmt.Errorf("%w: headers of %d bytes in a file of %d", ErrNotStub, s.sizeOfHeaders, len(data))
	}
	n := int(s.coff.NumberOfSections)
	if s.tableOffset+n*sectionEntrySize > int(s.sizeOfHeaders) {
		return nil, fmt.Errorf("%w: %d section headers do not fit in the headers", ErrNotStub, n)
	}
	for i := range n {
		e := data[s.tableOffset+i*sectionEntrySize:]
		sec := section{
			Name:             string(trimNUL(e[:8])),
			VirtualSize:      binary.LittleEndian.Uint32(e[8:]),
			VirtualAddress:   binary.LittleEndian.Uint32(e[12:]),
			SizeOfRawData:    binary.LittleEndian.Uint32(e[16:]),
			PointerToRawData: binary.LittleEndian.Uint32(e[20:]),
			Characteristics:  binary.LittleEndian.Uint32(e[36:]),
		}
		if uint64(sec.PointerToRawData)+uint64(sec.SizeOfRawData) > uint64(len(data)) {
			return nil, fmt.Errorf("%w: section %q runs past the end of the file", ErrNotStub, sec.Name)
		}
		s.sections = append(s.sections, sec)
	}
	return s, nil
}

func powerOfTwo(x uint32) bool { return x != 0 && x&(x-1) == 0 }

func trimNUL(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

func alignUp(x, a uint64) uint64 { return (x + a - 1) &^ (a - 1) }
