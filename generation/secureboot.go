package generation

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/liveiso/liveiso/efiboot"
	"github.com/liveiso/liveiso/secureboot"
)

// SecureBoot says whether the ESP boots through shim, so that the image
// boots with UEFI Secure Boot enforcing.
type SecureBoot string

const (
	SecureBootAuto SecureBoot = "auto" // through shim when shim is installed; also ""
	SecureBootOn   SecureBoot = "on"   // through shim, or an error naming the package
	SecureBootOff  SecureBoot = "off"  // GRUB boots directly
)

// ErrSecureBootNeedsUEFI is returned for SecureBootOn, or a shim named, on
// an image that does not boot on UEFI.
var ErrSecureBootNeedsUEFI = errors.New("--secure-boot on or --shim: the image does not boot on UEFI")

// findShim finds shim and MokManager for the Secure Boot mode asked for
// (b.efiLoader must be settled) and reads the certificates shim trusts. A
// shim the user named must be there; SecureBootAuto without one quietly
// boots GRUB directly.
func (b *Builder) findShim() error {
	mode := b.opts.SecureBoot
	switch mode {
	case SecureBootAuto, "":
		mode = SecureBootAuto
	case SecureBootOn, SecureBootOff:
	default:
		return fmt.Errorf("--secure-boot %q: want auto, on or off", mode)
	}
	if mode == SecureBootOff {
		return nil
	}
	if b.efiLoader == "" {
		if mode == SecureBootOn || b.opts.Shim != "" {
			return ErrSecureBootNeedsUEFI
		}
		return nil
	}
	shim, err := efiboot.FindShim(b.opts.Shim, b.search.Shims)
	switch {
	case err != nil && (mode == SecureBootOn || b.opts.Shim != ""):
		return fmt.Errorf("boot through shim: %w", err)
	case err != nil:
		b.log.Info("no shim: the image boots on UEFI with Secure Boot off only", "err", err)
		return nil
	}
	b.shim = shim
	data, err := os.ReadFile(shim.Shim)
	if err != nil {
		return fmt.Errorf("shim: %w", err)
	}
	if b.shimCerts, err = secureboot.ShimVendorCerts(data); err != nil {
		b.log.Warn("cannot check what shim will accept; the kernel and loader are not checked", "shim", shim.Shim, "err", err)
	}
	b.log.Debug("Secure Boot through shim", "shim", shim.Shim, "mokmanager", shim.MokManager, "vendor_certs", len(b.shimCerts))
	return nil
}

// fileIdentity tells one version of a file from another without reading it.
type fileIdentity struct {
	dev, ino uint64
	size     int64
	mtimeNs  int64
}

func identityOf(fi os.FileInfo) fileIdentity {
	id := fileIdentity{size: fi.Size(), mtimeNs: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.dev, id.ino = st.Dev, st.Ino
	}
	return id
}

// signatureCheck remembers the outcome for one version of one file, so
// that a file is read whole once, not once per generation: a check costs a
// good part of a small edit's rebuild (MEASUREMENTS.md, generation).
type signatureCheck struct {
	id      fileIdentity
	warning string
}

// checkSigned returns a warning when f (what, at path) will not be accepted
// by shim: unsigned, or signed by someone shim does not trust. It reads f
// whole when it is not the version checked last time.
func (b *Builder) checkSigned(memo *signatureCheck, what, path string, f file, fi os.FileInfo) string {
	if b.shimCerts == nil {
		return ""
	}
	id := identityOf(fi)
	if memo.id == id && id != (fileIdentity{}) {
		return memo.warning
	}
	data := make([]byte, f.Size)
	if _, err := f.Source.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Sprintf("%s %s could not be read to check its signature: %v", what, path, err)
	}
	*memo = signatureCheck{id: id, warning: signatureWarning(what, path, data, b.shimCerts)}
	return memo.warning
}

// signatureWarning is "" when pe is signed for shim's chain, else a line
// for the log and the status.
func signatureWarning(what, path string, pe []byte, trusted []*x509.Certificate) string {
	_, err := secureboot.Verify(pe, trusted)
	if err == nil {
		return ""
	}
	var why string
	switch {
	case errors.Is(err, secureboot.ErrUnsigned):
		why = "it is not signed"
	case errors.Is(err, secureboot.ErrUntrusted):
		why = "its signer does not chain to shim's vendor certificate"
	case errors.Is(err, secureboot.ErrBadSignature):
		why = "its signature does not match its bytes"
	default:
		why = err.Error()
	}
	return fmt.Sprintf("%s %s is not signed for shim's chain (%s): it will not boot with Secure Boot enforcing", what, path, why)
}
