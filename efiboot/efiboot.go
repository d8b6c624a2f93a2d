package efiboot

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/liveiso/liveiso/fat"
)

// Paths in the ISO 9660 tree that the loader's embedded configuration
// looks for (see the package comment), and where CDFiles puts the ESP.
const (
	GrubConfigPath = "boot/grub/grub.cfg"
	DiskInfoPath   = ".disk/info"
	ESPPath        = "boot/efi.img"
)

// Paths inside the ESP.
const (
	removableLoaderPath = "EFI/BOOT/BOOTX64.EFI" // UEFI 2.10 3.5.1.1, x64
	shimLoaderPath      = "EFI/BOOT/grubx64.efi" // shim's DEFAULT_LOADER, beside shim
	mokManagerPath      = "EFI/BOOT/mmx64.efi"   // shim's MOK_MANAGER, beside shim
	espGrubConfigPath   = "EFI/BOOT/grub.cfg"
	// espPrefixConfigPath makes the prefix of Debian's gcdx64 exist when
	// GRUB's $root is the ESP (see the package comment).
	espPrefixConfigPath = "boot/grub/grub.cfg"
	espLabel            = "LIVEISO-EFI"
)

// DefaultLoaders are where distributions install a GRUB EFI image that
// reads its configuration from /boot/grub on an ISO 9660 CD, in search
// order; a new slice each call.
func DefaultLoaders() []string {
	return []string{
		"/usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed", // Debian, Ubuntu: grub-efi-amd64-signed
	}
}

// ErrNoLoader means no UEFI loader was found.
var ErrNoLoader = errors.New("UEFI loader not found")

// FindLoader returns path when it is set and names a regular file, else the
// first of search that exists (nil: DefaultLoaders).
func FindLoader(path string, search []string) (string, error) {
	if path != "" {
		fi, err := os.Stat(path)
		if err != nil {
			return "", fmt.Errorf("UEFI loader: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return "", fmt.Errorf("UEFI loader %s: not a regular file", path)
		}
		return path, nil
	}
	if search == nil {
		search = DefaultLoaders()
	}
	for _, p := range search {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: looked for %s; install grub-efi-amd64-signed (Debian, Ubuntu) or pass the loader's path",
		ErrNoLoader, strings.Join(search, ", "))
}

// ESPInput is what goes into the EFI System Partition.
type ESPInput struct {
	Loader     io.ReaderAt // the GRUB EFI image, LoaderSize bytes
	LoaderSize int64
	Mtime      time.Time // date of everything in the ESP
	VolumeID   uint32    // FAT serial number (reproducible: the caller picks it)

	// Shim, when set, boots first (Secure Boot): it verifies and starts the
	// loader, and MokManager when a key is to be enrolled.
	Shim           io.ReaderAt // shimx64.efi, ShimSize bytes; nil: the loader boots directly
	ShimSize       int64
	MokManager     io.ReaderAt // mmx64.efi, MokManagerSize bytes; with Shim
	MokManagerSize int64
}

// ESP plans the EFI System Partition image: the loader as
// EFI/BOOT/BOOTX64.EFI and a grub.cfg that hands over to the one on the ISO.
// With a shim, shim is BOOTX64.EFI and the loader grubx64.efi beside it,
// with mmx64.efi, as Debian's installer images lay them out.
func ESP(in ESPInput) (*fat.Image, error) {
	cfg := []byte(espGrubConfig())
	files := []fat.File{{Path: removableLoaderPath, Size: in.LoaderSize, Source: in.Loader}}
	if in.Shim != nil {
		if in.MokManager == nil {
			return nil, errors.New("a shim without MokManager")
		}
		files = []fat.File{
			{Path: removableLoaderPath, Size: in.ShimSize, Source: in.Shim},
			{Path: shimLoaderPath, Size: in.LoaderSize, Source: in.Loader},
			{Path: mokManagerPath, Size: in.MokManagerSize, Source: in.MokManager},
		}
	}
	files = append(files,
		fat.File{Path: espGrubConfigPath, Size: int64(len(cfg)), Source: strings.NewReader(string(cfg))},
		fat.File{Path: espPrefixConfigPath, Size: int64(len(cfg)), Source: strings.NewReader(string(cfg))})
	return fat.Plan(fat.Input{
		Label:    espLabel,
		VolumeID: in.VolumeID,
		Date:     in.Mtime,
		Files:    files,
	})
}

func espGrubConfig() string {
	return "search --no-floppy --file --set=root /" + DiskInfoPath + "\n" +
		"set prefix=($root)/" + strings.TrimSuffix(GrubConfigPath, "/grub.cfg") + "\n" +
		"configfile ($root)/" + GrubConfigPath + "\n"
}

// GrubConfig is /boot/grub/grub.cfg: boot kernel with initrd (absolute
// paths in the ISO 9660 tree, e.g. "/isolinux/vmlinuz") and the command
// line at once, like the generated isolinux.cfg.
func GrubConfig(kernel, initrd, appendLine string) string {
	var b strings.Builder
	b.WriteString("set default=0\nset timeout=0\n")
	b.WriteString("menuentry \"liveiso\" {\n")
	b.WriteString("\tlinux " + kernel)
	for _, w := range strings.Fields(appendLine) {
		b.WriteString(" " + grubEscape(w))
	}
	b.WriteString("\n\tinitrd " + initrd + "\n}\n")
	return b.String()
}

// DiskInfo is the content of /.disk/info, the file the loader searches for
// when booted from a disk: one line naming the image.
func DiskInfo(volumeID string) string { return "liveiso " + volumeID + "\n" }

// grubEscape makes w one literal word of GRUB's script syntax.
func grubEscape(w string) string {
	var b strings.Builder
	for _, r := range w {
		if strings.ContainsRune("\\$;\"'|&<>{}()#", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
