package efiboot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DefaultShims are where distributions install a shim signed by
// Microsoft's UEFI CA, the first stage of a Secure Boot chain, each with
// the MokManager shipped beside it; in search order. A new slice each
// call: a caller that searches elsewhere passes its own to FindShim.
func DefaultShims() []Shim {
	return []Shim{
		{Shim: "/usr/lib/shim/shimx64.efi.signed", MokManager: "/usr/lib/shim/mmx64.efi.signed"}, // Debian, Ubuntu: shim-signed
	}
}

// mokManagerNames are the names MokManager may have beside a shim the
// user names: the signed build first, as Debian installs both.
var mokManagerNames = []string{"mmx64.efi.signed", "mmx64.efi"}

// ErrNoShim means no shim was found.
var ErrNoShim = errors.New("shim not found")

// Shim is the pair of files that make the ESP boot under Secure Boot.
type Shim struct {
	Shim       string // shimx64.efi, signed by the firmware's CA
	MokManager string // mmx64.efi, which shim starts to enrol keys
}

// FindShim returns shim when it is set, with MokManager beside it, else the
// first of search whose files exist (nil: DefaultShims).
func FindShim(shim string, search []Shim) (Shim, error) {
	if shim != "" {
		if !isRegular(shim) {
			return Shim{}, fmt.Errorf("shim %s: not a regular file", shim)
		}
		var looked []string
		for _, n := range mokManagerNames {
			mm := filepath.Join(filepath.Dir(shim), n)
			if isRegular(mm) {
				return Shim{Shim: shim, MokManager: mm}, nil
			}
			looked = append(looked, mm)
		}
		return Shim{}, fmt.Errorf("%w: MokManager (needed beside shim %s) is none of %s", ErrNoShim, shim, strings.Join(looked, ", "))
	}
	if search == nil {
		search = DefaultShims()
	}
	var looked []string
	for _, s := range search {
		if isRegular(s.Shim) && isRegular(s.MokManager) {
			return s, nil
		}
		looked = append(looked, s.Shim+" with "+s.MokManager)
	}
	return Shim{}, fmt.Errorf("%w: looked for %s; install shim-signed (Debian, Ubuntu) or pass --shim FILE",
		ErrNoShim, strings.Join(looked, ", "))
}

func isRegular(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}
