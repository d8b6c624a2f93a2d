package secureboot

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	// The digests Authenticode signatures use.
	_ "crypto/sha1"
	_ "crypto/sha256"
	_ "crypto/sha512"
)

// The classes of failure a caller reports differently.
var (
	ErrUnsigned     = errors.New("secureboot: the image has no Authenticode signature")
	ErrBadSignature = errors.New("secureboot: the signature does not match the image")
	ErrUntrusted    = errors.New("secureboot: the signer does not chain to a trusted certificate")
)

var (
	oidSignedData      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidSpcIndirectData = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 2, 1, 4}
	oidMessageDigest   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	digestOIDs         = map[string]crypto.Hash{
		"1.3.14.3.2.26":          crypto.SHA1,
		"2.16.840.1.101.3.4.2.1": crypto.SHA256,
		"2.16.840.1.101.3.4.2.2": crypto.SHA384,
		"2.16.840.1.101.3.4.2.3": crypto.SHA512,
	}
)

// RFC 2315 (PKCS #7) 7 ContentInfo, with the signed-data content.
type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

// RFC 2315 9.1 SignedData.
type signedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	ContentInfo      struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
	}
	Certificates asn1.RawValue `asn1:"optional,tag:0"`
	CRLs         asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos  []signerInfo  `asn1:"set"`
}

// RFC 2315 9.2 SignerInfo.
type signerInfo struct {
	Version         int
	IssuerAndSerial struct {
		Issuer asn1.RawValue
		Serial *big.Int
	}
	DigestAlgorithm           pkix.AlgorithmIdentifier
	AuthenticatedAttributes   asn1.RawValue `asn1:"optional,tag:0"`
	DigestEncryptionAlgorithm pkix.AlgorithmIdentifier
	EncryptedDigest           []byte
	UnauthenticatedAttributes asn1.RawValue `asn1:"optional,tag:1"`
}

// Authenticode's SpcIndirectDataContent: what the signature covers, and
// in it the digest of the image.
type spcIndirectDataContent struct {
	Data          asn1.RawValue
	MessageDigest struct {
		Algorithm pkix.AlgorithmIdentifier
		Digest    []byte
	}
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue `asn1:"set"`
}

// Verify checks the Authenticode signature of the PE image pe: that it
// covers these bytes, and that its signer chains to one of trusted (the
// certificates shim trusts). It returns the signer's certificate. Validity
// dates are not checked, as shim and the firmware do not check them.
func Verify(pe []byte, trusted []*x509.Certificate) (*x509.Certificate, error) {
	im, err := parsePE(pe)
	if err != nil {
		return nil, err
	}
	der, err := im.pkcs7()
	if err != nil {
		return nil, err
	}
	if der == nil {
		return nil, ErrUnsigned
	}
	var ci contentInfo
	if _, err := asn1.Unmarshal(der, &ci); err != nil || !ci.ContentType.Equal(oidSignedData) {
		return nil, fmt.Errorf("%w: not a PKCS#7 signed-data: %v", ErrBadSignature, err)
	}
	var sd signedData
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, fmt.Errorf("%w: signed-data: %v", ErrBadSignature, err)
	}
	if !sd.ContentInfo.ContentType.Equal(oidSpcIndirectData) || len(sd.SignerInfos) != 1 {
		return nil, fmt.Errorf("%w: not an Authenticode signature", ErrBadSignature)
	}
	// The [0] EXPLICIT wrapper holds the SpcIndirectDataContent; the
	// signer's message digest is over its contents without its own tag
	// and length (Authenticode's reading of RFC 2315 9.3).
	var spc spcIndirectDataContent
	var spcDER asn1.RawValue
	if _, err := asn1.Unmarshal(sd.ContentInfo.Content.Bytes, &spcDER); err != nil {
		return nil, fmt.Errorf("%w: SpcIndirectDataContent: %v", ErrBadSignature, err)
	}
	if _, err := asn1.Unmarshal(spcDER.FullBytes, &spc); err != nil {
		return nil, fmt.Errorf("%w: SpcIndirectDataContent: %v", ErrBadSignature, err)
	}
	h, ok := digestOIDs[spc.MessageDigest.Algorithm.Algorithm.String()]
	if !ok {
		return nil, fmt.Errorf("%w: digest algorithm %s", ErrBadSignature, spc.MessageDigest.Algorithm.Algorithm)
	}
	d := h.New()
	for _, r := range im.hashedRanges() {
		d.Write(pe[r[0]:r[1]])
	}
	if !bytes.Equal(d.Sum(nil), spc.MessageDigest.Digest) {
		return nil, fmt.Errorf("%w: the image's %v digest differs from the signed one", ErrBadSignature, h)
	}

	certs, err := x509.ParseCertificates(sd.Certificates.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: certificates: %v", ErrBadSignature, err)
	}
	si := sd.SignerInfos[0]
	var signer *x509.Certificate
	for _, c := range certs {
		if bytes.Equal(c.RawIssuer, si.IssuerAndSerial.Issuer.FullBytes) && c.SerialNumber.Cmp(si.IssuerAndSerial.Serial) == 0 {
			signer = c
		}
	}
	if signer == nil {
		return nil, fmt.Errorf("%w: the signer's certificate is not in the signature", ErrBadSignature)
	}
	if err := checkSignerInfo(si, spcDER.Bytes, signer); err != nil {
		return nil, err
	}
	if err := chains(signer, certs, trusted); err != nil {
		return signer, err
	}
	return signer, nil
}

// checkSignerInfo checks the signer's signature: over the authenticated
// attributes (whose message digest must be that of the signed content),
// or over the content itself when there are none (RFC 2315 9.3).
func checkSignerInfo(si signerInfo, content []byte, signer *x509.Certificate) error {
	h, ok := digestOIDs[si.DigestAlgorithm.Algorithm.String()]
	if !ok {
		return fmt.Errorf("%w: signer digest algorithm %s", ErrBadSignature, si.DigestAlgorithm.Algorithm)
	}
	signed := content
	if len(si.AuthenticatedAttributes.FullBytes) > 0 {
		d := h.New()
		d.Write(content)
		want := d.Sum(nil)
		found := false
		for rest := si.AuthenticatedAttributes.Bytes; len(rest) > 0; {
			var a attribute
			var err error
			if rest, err = asn1.Unmarshal(rest, &a); err != nil {
				return fmt.Errorf("%w: authenticated attributes: %v", ErrBadSignature, err)
			}
			if a.Type.Equal(oidMessageDigest) {
				var md []byte
				if _, err := asn1.Unmarshal(a.Values.Bytes, &md); err != nil || !bytes.Equal(md, want) {
					return fmt.Errorf("%w: the signed attributes' message digest differs", ErrBadSignature)
				}
				found = true
			}
		}
		if !found {
			return fmt.Errorf("%w: no message digest among the signed attributes", ErrBadSignature)
		}
		// The signature is over the attributes' DER as a SET OF, not
		// with the [0] IMPLICIT tag they carry in SignerInfo.
		signed = append([]byte{0x31}, si.AuthenticatedAttributes.FullBytes[1:]...)
	}
	algo, err := signatureAlgorithm(h, signer)
	if err != nil {
		return err
	}
	if err := signer.CheckSignature(algo, signed, si.EncryptedDigest); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return nil
}

func signatureAlgorithm(h crypto.Hash, c *x509.Certificate) (x509.SignatureAlgorithm, error) {
	switch c.PublicKey.(type) {
	case *rsa.PublicKey:
		switch h {
		case crypto.SHA1:
			return x509.SHA1WithRSA, nil
		case crypto.SHA256:
			return x509.SHA256WithRSA, nil
		case crypto.SHA384:
			return x509.SHA384WithRSA, nil
		case crypto.SHA512:
			return x509.SHA512WithRSA, nil
		}
	case *ecdsa.PublicKey:
		switch h {
		case crypto.SHA1:
			return x509.ECDSAWithSHA1, nil
		case crypto.SHA256:
			return x509.ECDSAWithSHA256, nil
		case crypto.SHA384:
			return x509.ECDSAWithSHA384, nil
		case crypto.SHA512:
			return x509.ECDSAWithSHA512, nil
		}
	}
	return 0, fmt.Errorf("%w: a %T key with %v", ErrBadSignature, c.PublicKey, h)
}

// maxChain bounds the walk from the signer to a trusted certificate.
const maxChain = 8

// chains reports whether c is, or is issued (through the signature's
// other certificates) by, one of trusted. Shim accepts a signer whose
// chain reaches its vendor certificate, whatever the dates.
func chains(c *x509.Certificate, pool, trusted []*x509.Certificate) error {
	for range maxChain {
		for _, t := range trusted {
			if c.Equal(t) || (bytes.Equal(c.RawIssuer, t.RawSubject) && c.CheckSignatureFrom(t) == nil) {
				return nil
			}
		}
		var parent *x509.Certificate
		for _, p := range pool {
			if !p.Equal(c) && bytes.Equal(c.RawIssuer, p.RawSubject) && c.CheckSignatureFrom(p) == nil {
				parent = p
				break
			}
		}
		if parent == nil {
			break
		}
		c = parent
	}
	return fmt.Errorf("%w: signed by %q", ErrUntrusted, c.Subject.String())
}
