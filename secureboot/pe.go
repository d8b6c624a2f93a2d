package secureboot

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/liveiso/liveiso/internal/pe"
)

// WIN_CERTIFICATE (PE/COFF 5.7, the Attribute Certificate Table) as
// "Windows Authenticode Portable Executable Signature Format" uses it.
const (
	winCertRevision2 = 0x0200
	winCertTypePKCS7 = 0x0002 // WIN_CERT_TYPE_PKCS_SIGNED_DATA
)

// ErrNotPE means the file is not a PE/COFF image.
var ErrNotPE = errors.New("secureboot: not a PE/COFF image")

// image is what the Authenticode hash needs of a PE file; see
// "Windows Authenticode Portable Executable Signature Format",
// Calculating the PE Image Hash.
type image struct {
	data          []byte
	checksumAt    int // offset of the optional header's CheckSum
	certDirAt     int // offset of the Certificate Table data directory entry
	sizeOfHeaders int
	sections      [][2]int // [PointerToRawData, SizeOfRawData], file order
	certOff       int      // the certificate table, 0 when unsigned
	certSize      int
}

// parsePE reads the headers (internal/pe) and where the hash skips and
// walks.
func parsePE(data []byte) (*image, error) {
	f, err := pe.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotPE, err)
	}
	if f.CertDirOffset == 0 {
		return nil, fmt.Errorf("%w: no certificate table directory", ErrNotPE)
	}
	im := &image{data: data, checksumAt: f.CheckSumOffset(), certDirAt: f.CertDirOffset, sizeOfHeaders: int(f.SizeOfHeaders),
		certOff: int(f.CertTable[0]), certSize: int(f.CertTable[1])}
	for _, s := range f.Sections {
		if s.SizeOfRawData > 0 {
			im.sections = append(im.sections, [2]int{int(s.PointerToRawData), int(s.SizeOfRawData)})
		}
	}
	slices.SortFunc(im.sections, func(a, b [2]int) int { return a[0] - b[0] })
	if im.certOff != 0 && (im.certOff < im.sizeOfHeaders || int64(f.CertTable[1]) > int64(len(data))-int64(im.certOff)) {
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
