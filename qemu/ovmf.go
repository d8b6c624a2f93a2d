package qemu

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// OVMFPackage is the Debian package that ships OVMF.
const OVMFPackage = "ovmf"

// ErrNoOVMF means no OVMF firmware was found.
var ErrNoOVMF = errors.New("no OVMF firmware")

// OVMF is a UEFI firmware as pflash: its code (read-only) and a variable
// store. A machine gets a private copy of the store, since the firmware
// writes to it (boot entries, for one).
type OVMF struct {
	Code string
	Vars string
}

// OVMFPlaces are where distributions install OVMF, the preferred first:
// Debian 12's 4 MiB build, Debian's older 2 MiB one, Fedora's edk2-ovmf.
func OVMFPlaces() []OVMF {
	return []OVMF{
		{"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"},
		{"/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"},
		{"/usr/share/edk2/ovmf/OVMF_CODE.fd", "/usr/share/edk2/ovmf/OVMF_VARS.fd"},
	}
}

// FindOVMF returns the first of places whose code and variable files both
// exist.
func FindOVMF(places []OVMF) (OVMF, error) {
	var looked []string
	for _, p := range places {
		if isRegular(p.Code) && isRegular(p.Vars) {
			return p, nil
		}
		looked = append(looked, p.Code+" + "+p.Vars)
	}
	return OVMF{}, fmt.Errorf("%w (looked for %s): install the Debian package %s",
		ErrNoOVMF, strings.Join(looked, ", "), OVMFPackage)
}

// PrivateVars copies o's variable store into dir and returns o with Vars
// naming the copy.
func (o OVMF) PrivateVars(dir string) (OVMF, error) {
	dst := filepath.Join(dir, filepath.Base(o.Vars))
	if err := copyFile(o.Vars, dst); err != nil {
		return o, fmt.Errorf("copy the OVMF variable store: %w", err)
	}
	o.Vars = dst
	return o, nil
}

func isRegular(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return out.Close()
}
