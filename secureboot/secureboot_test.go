package secureboot

import (
	"bytes"
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/liveiso/liveiso/internal/fixture"
)

// Debian's shim, as shim-signed installs it: its vendor certificate is
// Debian's Secure Boot CA.
const debianShim = "/usr/lib/shim/shimx64.efi.signed"

// fixtureKernel is the test kernel scripts/setup.sh unpacks from Debian's
// signed linux-image package.
func fixtureKernel(t *testing.T) []byte {
	t.Helper()
	k := fixture.MustKernel(t)
	b, err := os.ReadFile(k.Vmlinuz)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func debianCerts(t *testing.T) []*x509.Certificate {
	t.Helper()
	shim, err := os.ReadFile(debianShim)
	if err != nil {
		t.Fatalf("%v (package shim-signed)", err)
	}
	certs, err := ShimVendorCerts(shim)
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 1 || !strings.Contains(certs[0].Subject.CommonName, "Debian Secure Boot CA") {
		t.Fatalf("shim's vendor certificates: %v, want Debian Secure Boot CA", certs)
	}
	return certs
}

// Debian's signed kernel verifies against the certificate in Debian's shim,
// as it does in the firmware; sbverify, an independent checker, agrees.
func TestDebianKernelChainsToShim(t *testing.T) {
	kernel := fixtureKernel(t)
	signer, err := Verify(kernel, debianCerts(t))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(signer.Subject.CommonName, "Debian Secure Boot Signer") {
		t.Errorf("signer %q", signer.Subject.CommonName)
	}
	// sbverify --cert CA: the same verdict from sbsigntool.
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.der")
	if err := os.WriteFile(ca, debianCerts(t)[0].Raw, 0o644); err != nil {
		t.Fatal(err)
	}
	pem := filepath.Join(dir, "ca.pem")
	if out, err := exec.Command("openssl", "x509", "-inform", "der", "-in", ca, "-out", pem).CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	k := filepath.Join(dir, "vmlinuz")
	if err := os.WriteFile(k, kernel, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("sbverify", "--cert", pem, k).CombinedOutput(); err != nil {
		t.Fatalf("sbverify disagrees: %v\n%s", err, out)
	}
}

func TestVerifyRefuses(t *testing.T) {
	kernel := fixtureKernel(t)
	certs := debianCerts(t)
	im, err := parsePE(kernel)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		image   func() []byte
		trusted []*x509.Certificate
		want    error
	}{
		{"one byte of a section changed", func() []byte {
			b := bytes.Clone(kernel)
			b[im.sections[0][0]+100] ^= 1
			return b
		}, certs, ErrBadSignature},
		{"a header byte changed", func() []byte {
			b := bytes.Clone(kernel)
			b[2] ^= 1
			return b
		}, certs, ErrBadSignature},
		{"unsigned", func() []byte {
			b := bytes.Clone(kernel[:im.certOff])
			clear(b[im.certDirAt : im.certDirAt+8])
			return b
		}, certs, ErrUnsigned},
		{"signed by someone shim does not trust", func() []byte { return kernel }, nil, ErrUntrusted},
		{"not a PE", func() []byte { return []byte("#!/bin/sh\n") }, certs, ErrNotPE},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Verify(c.image(), c.trusted); !errors.Is(err, c.want) {
				t.Fatalf("Verify: %v, want %v", err, c.want)
			}
		})
	}
	// The checksum and the certificate table entry are outside the hash.
	b := bytes.Clone(kernel)
	b[im.checksumAt] ^= 0xff
	if _, err := Verify(b, certs); err != nil {
		t.Errorf("a changed CheckSum must not matter: %v", err)
	}
}

// FuzzVerify: arbitrary bytes never panic the PE and PKCS#7 readers.
func FuzzVerify(f *testing.F) {
	if k, err := os.ReadFile(fixture.MustKernel(f).Vmlinuz); err == nil {
		if im, err := parsePE(k); err == nil {
			// The headers and the signature, without the sections between.
			f.Add(append(bytes.Clone(k[:im.sizeOfHeaders]), k[im.certOff:]...))
		}
	}
	f.Add([]byte("MZ"))
	f.Fuzz(func(t *testing.T, b []byte) {
		Verify(b, nil)
		ShimVendorCerts(b)
	})
}
