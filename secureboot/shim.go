package secureboot

import (
	"bytes"
	"crypto/x509"
	"debug/pe"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrNoVendorCert means the file is not a shim with a built-in certificate.
var ErrNoVendorCert = errors.New("secureboot: no .vendor_cert section (not a shim built with a vendor certificate)")

// vendorCertSection is where shim keeps the certificate it trusts besides
// the firmware's db: shim's cert.S, a header of four 32-bit little-endian
// numbers (authorized size, deauthorized size, authorized offset,
// deauthorized offset) and the data they point at.
const vendorCertSection = ".vendor_cert"

// ShimVendorCerts returns the certificates built into shim (shimx64.efi):
// the vendor certificate that the distribution's GRUB and kernels are
// signed under. The authorized data is one DER certificate, or an EFI
// signature list of them (UEFI 2.10 32.4.1 EFI_SIGNATURE_LIST).
func ShimVendorCerts(shim []byte) ([]*x509.Certificate, error) {
	f, err := pe.NewFile(bytes.NewReader(shim))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotPE, err)
	}
	s := f.Section(vendorCertSection)
	if s == nil {
		return nil, ErrNoVendorCert
	}
	b, err := io.ReadAll(s.Open())
	if err != nil || len(b) < 16 {
		return nil, fmt.Errorf("%w: %d bytes", ErrNoVendorCert, len(b))
	}
	size, off := binary.LittleEndian.Uint32(b[0:]), binary.LittleEndian.Uint32(b[8:])
	if size == 0 || uint64(off)+uint64(size) > uint64(len(b)) {
		return nil, fmt.Errorf("%w: authorized data of %d bytes at %d", ErrNoVendorCert, size, off)
	}
	data := b[off : off+size]
	if c, err := x509.ParseCertificate(data); err == nil {
		return []*x509.Certificate{c}, nil
	}
	return signatureListCerts(data)
}

// EFI_CERT_X509_GUID, as it is stored (mixed-endian).
var certX509GUID = []byte{0xa1, 0x59, 0xc0, 0xa5, 0xe4, 0x94, 0xa7, 0x4a, 0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72}

// signatureListCerts reads the X.509 entries of EFI signature lists.
func signatureListCerts(b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for len(b) >= 28 {
		listSize := binary.LittleEndian.Uint32(b[16:])
		headerSize := binary.LittleEndian.Uint32(b[20:])
		sigSize := binary.LittleEndian.Uint32(b[24:])
		if listSize < 28 || uint64(listSize) > uint64(len(b)) || sigSize <= 16 || uint64(28)+uint64(headerSize) > uint64(listSize) {
			return nil, fmt.Errorf("%w: malformed signature list", ErrNoVendorCert)
		}
		if bytes.Equal(b[:16], certX509GUID) {
			for e := b[28+headerSize : listSize]; len(e) >= int(sigSize); e = e[sigSize:] {
				c, err := x509.ParseCertificate(e[16:sigSize])
				if err != nil {
					return nil, fmt.Errorf("%w: %v", ErrNoVendorCert, err)
				}
				certs = append(certs, c)
			}
		}
		b = b[listSize:]
	}
	if len(certs) == 0 {
		return nil, ErrNoVendorCert
	}
	return certs, nil
}
