package generation

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrNoKernel is returned when no kernel was given and the rootfs has no
// boot/vmlinuz-*.
var ErrNoKernel = errors.New("no kernel")

// ErrNoIsolinux is returned when isolinux.bin or ldlinux.c32 cannot be found.
var ErrNoIsolinux = errors.New("isolinux not found")

// findIsolinux returns the paths of isolinux.bin and ldlinux.c32, looked
// for in dirs (HostSearch.Isolinux). With an explicit loader, ldlinux.c32
// is looked for beside it first, then in the module directories of dirs.
func findIsolinux(loader string, dirs []IsolinuxDir) (string, string, error) {
	var looked []string
	if loader != "" {
		if fi, err := os.Stat(loader); err != nil {
			return "", "", fmt.Errorf("isolinux %s: %w", loader, err)
		} else if !fi.Mode().IsRegular() {
			return "", "", fmt.Errorf("isolinux %s: not a regular file", loader)
		}
		cands := []string{filepath.Join(filepath.Dir(loader), "ldlinux.c32")}
		for _, d := range dirs {
			cands = append(cands, filepath.Join(d.Modules, "ldlinux.c32"))
		}
		for _, c := range cands {
			if isFile(c) {
				return loader, c, nil
			}
			looked = append(looked, c)
		}
		return "", "", fmt.Errorf("%w: ldlinux.c32 (needed beside %s by isolinux 6) is in none of: %s",
			ErrNoIsolinux, loader, strings.Join(looked, ", "))
	}
	for _, d := range dirs {
		bin := filepath.Join(d.Loader, "isolinux.bin")
		looked = append(looked, bin)
		if !isFile(bin) {
			continue
		}
		for _, m := range []string{d.Modules, d.Loader} {
			if ld := filepath.Join(m, "ldlinux.c32"); isFile(ld) {
				return bin, ld, nil
			}
		}
	}
	return "", "", fmt.Errorf("%w: looked for isolinux.bin and ldlinux.c32 in %s; install isolinux and syslinux-common (Debian), syslinux (Fedora, Arch), or pass --isolinux",
		ErrNoIsolinux, strings.Join(looked, ", "))
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// newestKernel picks the highest-versioned regular file boot/vmlinuz-* in
// the rootfs. Symlinks are ignored: the rootfs is not trusted, and a link
// could point outside it.
func newestKernel(rootfs string) (string, error) {
	dir := filepath.Join(rootfs, "boot")
	if fi, err := os.Lstat(dir); err == nil && !fi.IsDir() {
		return "", fmt.Errorf("%w: %s is not a directory (a symlink is not followed out of the rootfs); pass --kernel FILE", ErrNoKernel, dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("look for a kernel in %s: %w", dir, err)
	}
	var names []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "vmlinuz-") && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return "", fmt.Errorf("%w: %s has no regular file vmlinuz-*; pass --kernel FILE", ErrNoKernel, dir)
	}
	slices.SortFunc(names, compareVersions)
	return filepath.Join("boot", names[len(names)-1]), nil
}

// compareVersions orders strings like sort -V: runs of digits compare as
// numbers, everything else bytewise.
func compareVersions(a, b string) int {
	for a != "" && b != "" {
		da, ra := splitRun(a)
		db, rb := splitRun(b)
		if isDigit(da[0]) && isDigit(db[0]) {
			// Without leading zeros, a longer number is larger.
			na, nb := strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
			if c := cmp.Compare(len(na), len(nb)); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
		} else if c := strings.Compare(da, db); c != 0 {
			return c
		}
		a, b = ra, rb
	}
	return strings.Compare(a, b)
}

// splitRun splits s after its leading run of digits or of non-digits.
func splitRun(s string) (string, string) {
	d := isDigit(s[0])
	i := 1
	for i < len(s) && isDigit(s[i]) == d {
		i++
	}
	return s[:i], s[i:]
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// findIsohdpfx reads isolinux's isohybrid MBR boot code, which distributions
// keep beside isolinux.bin (Debian: /usr/lib/ISOLINUX/isohdpfx.bin): beside
// loader, else in the loader directories of dirs.
func findIsohdpfx(loader string, dirs []IsolinuxDir) ([]byte, string, error) {
	var looked []string
	cands := []string{filepath.Dir(loader)}
	for _, d := range dirs {
		if !slices.Contains(cands, d.Loader) {
			cands = append(cands, d.Loader)
		}
	}
	for _, dir := range cands {
		p := filepath.Join(dir, "isohdpfx.bin")
		looked = append(looked, p)
		if code, err := os.ReadFile(p); err == nil {
			return code, p, nil
		}
	}
	return nil, "", fmt.Errorf("isohdpfx.bin is in none of: %s", strings.Join(looked, ", "))
}
