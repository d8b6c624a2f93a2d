package efiboot

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strings"
	"time"
)

// CDFile is a file UEFI boot needs in the ISO 9660 tree.
type CDFile struct {
	Path   string // slash-separated, relative to the CD's root
	Size   int64
	Source io.ReaderAt
	Mtime  time.Time // zero: dated like the rest of the CD
}

// CDInput is what the UEFI part of the CD is made from.
type CDInput struct {
	Loader      io.ReaderAt // the GRUB EFI image, LoaderSize bytes
	LoaderSize  int64
	LoaderMtime time.Time // dates the ESP and everything in it
	VolumeID    string    // the ISO's volume ID: named in DiskInfo, and it makes the FAT serial
	Kernel      string    // absolute paths in the ISO 9660 tree, e.g. "/isolinux/vmlinuz"
	Initrd      string
	Append      string // kernel command line

	// Shim and MokManager, when Shim is set, boot before the loader: see
	// ESPInput.
	Shim           io.ReaderAt
	ShimSize       int64
	MokManager     io.ReaderAt
	MokManagerSize int64
	Arch           Arch // the loaders' architecture; the zero value is X64
}

// CD is what UEFI boot adds to the CD: the files, and which of them is the
// ESP (for isolayout.ElTorito.EFIImagePath).
type CD struct {
	Files   []CDFile
	ESPPath string
}

// CDFiles plans the ESP and the files beside it that the loader reads:
// GrubConfigPath and DiskInfoPath. Nothing here changes when the rootfs
// does; the kernel and initrd are only named.
func CDFiles(in CDInput) (CD, error) {
	esp, err := ESP(ESPInput{
		Loader: in.Loader, LoaderSize: in.LoaderSize, Mtime: in.LoaderMtime,
		VolumeID: crc32.ChecksumIEEE([]byte(in.VolumeID)),
		Shim:     in.Shim, ShimSize: in.ShimSize,
		MokManager: in.MokManager, MokManagerSize: in.MokManagerSize,
		Arch: in.Arch,
	})
	if err != nil {
		return CD{}, fmt.Errorf("EFI system partition: %w", err)
	}
	data := func(path, s string) CDFile {
		return CDFile{Path: path, Size: int64(len(s)), Source: bytes.NewReader([]byte(s))}
	}
	return CD{
		ESPPath: ESPPath,
		Files: []CDFile{
			{Path: ESPPath, Size: esp.Size(), Source: esp, Mtime: in.LoaderMtime},
			data(GrubConfigPath, GrubConfig(in.Kernel, in.Initrd, in.Append)),
			data(DiskInfoPath, DiskInfo(in.VolumeID)),
		},
	}, nil
}

// CDRootNames are the names in the CD's root that CDFiles uses, whether or
// not the image boots on UEFI: other files must keep off them.
func CDRootNames() []string {
	var names []string
	for _, p := range []string{ESPPath, GrubConfigPath, DiskInfoPath} {
		top, _, _ := strings.Cut(p, "/")
		if !slices.Contains(names, top) {
			names = append(names, top)
		}
	}
	return names
}
