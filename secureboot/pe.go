package secureboot

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// PE/COFF fields (Microsoft PE Format) that the Authenticode hash skips or
// walks; see "Windows Authenticode Portable Executable Signature Format",
// Calculating the PE Image Hash.
const (
	dosLfanewOffset     = 0x3c
	coffHeaderSize      = 20
	sectionEntrySize    = 40
	magicPE32           = 0x10b
	magicPE32Plus       = 0x20b
	optCheckSum         = 64 // the same offset in PE32 and PE32+
	optSizeOfHeaders    = 60
	dataDirCertificates = 4 // the Attribute Certificate Table
	winCertRevision2    = 0x0200
	winCertTypePKCS7    = 0x0002 // WIN_CERT_TYPE_PKCS_SIGNED_DATA
)

// ErrNotPE means the file is not a PE/COFF image.
var ErrNotPE = errors.New("secureboot: not a PE/COFF image")

// image is what the Authenticode hash needs of a PE file.
type image struct {
	data          []byte
	checksumAt    int // offset of the optional header's CheckSum
	certDirAt     int // offset of the Certificate Table data directory entry
	sizeOfHeaders int
	sections      [][2]int // [PointerToRawData, SizeOfRawData], file order
	certOff       int      // the certificate table, 0 when unsigned
	certSize      int
}

func parsePE(data []byte) (*image, error) {
	if len(data) < dosLfanewOffset+4 || data[0] != 'M' || data[1] != 'Z' {
		return nil, fmt.Errorf("%w: no MZ header", ErrNotPE)
	}
	pe := int(binary.LittleEndian.Uint32(data[dosLfanewOffset:]))
	if pe < 0 || pe > len(data)-4-coffHeaderSize || string(data[pe:pe+4]) != "PE\x00\x00" {
		return nil, fmt.Errorf("%w: no PE signature", ErrNotPE)
	}
	coff := data[pe+4:]
	nsec := int(binary.LittleEndian.Uint16(coff[2:]))
	optSize := int(binary.LittleEndian.Uint16(coff[16:]))
	opt := pe + 4 + coffHeaderSize
	table := opt + optSize
	if table > len(data) || optSize < 2 {
		return nil, fmt.Errorf("%w: optional header past the end", ErrNotPE)
	}
	var dirs int // offset of the data directories in the optional header
	switch binary.LittleEndian.Uint16(data[opt:]) {
	case magicPE32:
		dirs = 96
	case magicPE32Plus:
		dirs = 112
	default:
		return nil, fmt.Errorf("%w: unknown optional header magic", ErrNotPE)
	}
	im := &image{data: data, checksumAt: opt + optCheckSum, certDirAt: opt + dirs + 8*dataDirCertificates}
	if im.certDirAt+8 > table {
		return nil, fmt.Errorf("%w: no certificate table directory", ErrNotPE)
	}
	im.sizeOfHeaders = int(binary.LittleEndian.Uint32(data[opt+optSizeOfHeaders:]))
	if im.sizeOfHeaders < table+nsec*sectionEntrySize || im.sizeOfHeaders > len(data) {
		return nil, fmt.Errorf("%w: headers of %d bytes", ErrNotPE, im.sizeOfHeaders)
	}
	for i := range nsec {
		e := data[table+i*sectionEntrySize:]
		size, ptr := int(binary.LittleEndian.Uint32(e[16:])), int(binary.LittleEndian.Uint32(e[20:]))
		if size == 0 {
			continue
		}
		if ptr < 0 || size < 0 || ptr > len(data) || size > len(data)-ptr {
			return nil, fmt.Errorf("%w: section %d past the end of the file", ErrNotPE, i)
		}
		im.sections = append(im.sections, [2]int{ptr, size})
	}
	slices.SortFunc(im.sections, func(a, b [2]int) int { return a[0] - b[0] })
	im.certOff = int(binary.LittleEndian.Uint32(data[im.certDirAt:]))
	im.certSize = int(binary.LittleEndian.Uint32(data[im.certDirAt+4:]))
	if im.certOff != 0 && (im.certOff < im.sizeOfHeaders || im.certSize > len(data)-im.certOff) {
		return nil, fmt.Errorf("%w: certificate table outside the file", ErrNotPE)
	}
	return im, nil
}

// hashedRanges are the byte ranges of the Authenticode image hash, in
// order: the headers less CheckSum and the Certificate Table entry, the
// sections in file order, then what follows them up to the certificate
// table (or the end of the file).
func (im *image) hashedRanges() [][2]int {
	r := [][2]int{
		{0, im.checksumAt},
		{im.checksumAt + 4, im.certDirAt},
		{im.certDirAt + 8, im.sizeOfHeaders},
	}
	end := im.sizeOfHeaders
	for _, s := range im.sections {
		r = append(r, [2]int{s[0], s[0] + s[1]})
		end = max(end, s[0]+s[1])
	}
	last := len(im.data)
	if im.certOff != 0 {
		last = im.certOff
	}
	if end < last {
		r = append(r, [2]int{end, last})
	}
	return r
}

// pkcs7 returns the DER of the first PKCS#7 signature in the certificate
// table (WIN_CERTIFICATE, revision 2), or nil when the image is unsigned.
func (im *image) pkcs7() ([]byte, error) {
	if im.certOff == 0 || im.certSize == 0 {
		return nil, nil
	}
	c := im.data[im.certOff : im.certOff+im.certSize]
	if len(c) < 8 {
		return nil, fmt.Errorf("%w: certificate table of %d bytes", ErrNotPE, len(c))
	}
	length := int(binary.LittleEndian.Uint32(c))
	rev, typ := binary.LittleEndian.Uint16(c[4:]), binary.LittleEndian.Uint16(c[6:])
	if length < 8 || length > len(c) || rev != winCertRevision2 || typ != winCertTypePKCS7 {
		return nil, fmt.Errorf("%w: certificate of revision %#x type %#x", ErrNotPE, rev, typ)
	}
	return c[8:length], nil
}
