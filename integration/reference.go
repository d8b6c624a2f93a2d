package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Boot loader files of Debian's isolinux and syslinux-common packages.
const (
	IsolinuxBin = "/usr/lib/ISOLINUX/isolinux.bin"
	LdlinuxC32  = "/usr/lib/syslinux/modules/bios/ldlinux.c32"
)

// ReferenceOptions tunes the reference pipeline. The zero value is the
// classic recipe: gzip -9 and genisoimage.
type ReferenceOptions struct {
	// Compressor is a command that compresses stdin to stdout, e.g.
	// {"pigz", "-9"} or {"zstd", "-19"}. nil means {"gzip", "-9"}.
	Compressor []string
	// ISOTool is a mkisofs-compatible command, e.g. {"xorriso", "-as",
	// "mkisofs"}. nil means {"genisoimage"}. genisoimage patches the boot
	// info table into ISODir's isolinux.bin itself, so a listing of ISODir
	// matches the CD's; other tools may leave that file as it was.
	ISOTool []string
	// Append is added to the kernel command line after "initrd=initrd.img"
	// and KernelArgs, e.g. ArgMountCD.
	Append string
	// ExtraDir, if set, is copied (cp -a) into the root of the ISO tree.
	ExtraDir string
	// VolumeID is the volume label; "" means "LIVEISO".
	VolumeID string
}

// ReferenceImage is what BuildReference produced.
type ReferenceImage struct {
	ISO    string // the image file
	ISODir string // the tree the image was made from (isolinux/ and ExtraDir's files)
	Initrd string // ISODir/isolinux/initrd.img

	InitrdTime time.Duration // find | cpio | compressor
	ISOTime    time.Duration // the ISO tool
}

// BuildReference makes a bootable CD image the way every "roll your own live
// CD" guide does, in workDir (which must be empty or missing):
//
//	(cd rootfs && find . | cpio -o -H newc | gzip -9 > ISODIR/isolinux/initrd.img)
//	genisoimage -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot \
//	  -boot-load-size 4 -boot-info-table -l -R -V LIVEISO -o image.iso ISODIR
//
// with isolinux.bin, ldlinux.c32, the kernel as isolinux/vmlinuz and an
// isolinux.cfg that boots it with the initrd. It is the oracle liveiso's
// images are checked against and the baseline of its benchmarks.
func BuildReference(ctx context.Context, workDir, rootfs, vmlinuz string, opts ReferenceOptions) (*ReferenceImage, error) {
	compressor := opts.Compressor
	if compressor == nil {
		compressor = []string{"gzip", "-9"}
	}
	isoTool := opts.ISOTool
	if isoTool == nil {
		isoTool = []string{"genisoimage"}
	}
	volumeID := opts.VolumeID
	if volumeID == "" {
		volumeID = "LIVEISO"
	}
	rootfs, err := filepath.Abs(rootfs)
	if err != nil {
		return nil, err
	}
	img := &ReferenceImage{
		ISO:    filepath.Join(workDir, "image.iso"),
		ISODir: filepath.Join(workDir, "iso"),
	}
	img.Initrd = filepath.Join(img.ISODir, "isolinux/initrd.img")
	if err := os.MkdirAll(filepath.Join(img.ISODir, "isolinux"), 0o755); err != nil {
		return nil, err
	}
	if opts.ExtraDir != "" {
		if err := run(ctx, "", "cp", "-a", opts.ExtraDir+"/.", img.ISODir); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct{ src, dst string }{
		{IsolinuxBin, "isolinux.bin"},
		{LdlinuxC32, "ldlinux.c32"},
		{vmlinuz, "vmlinuz"},
	} {
		if err := copyFile(f.src, filepath.Join(img.ISODir, "isolinux", f.dst), 0o644); err != nil {
			return nil, fmt.Errorf("reference image: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(img.ISODir, "isolinux/isolinux.cfg"), []byte(IsolinuxConfig(opts.Append)), 0o644); err != nil {
		return nil, err
	}

	// A shell pipeline, as the guides write it: cpio gets the names from find.
	start := time.Now()
	pipeline := fmt.Sprintf("set -o pipefail; find . | cpio --quiet -o -H newc | %s > %s",
		shellJoin(compressor), shellQuote(img.Initrd))
	if err := run(ctx, rootfs, "bash", "-c", pipeline); err != nil {
		return nil, err
	}
	img.InitrdTime = time.Since(start)

	start = time.Now()
	args := append(append([]string(nil), isoTool[1:]...),
		"-quiet",
		"-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat",
		"-no-emul-boot", "-boot-load-size", "4", "-boot-info-table",
		"-l", "-R", "-V", volumeID, "-o", img.ISO, img.ISODir)
	if err := run(ctx, "", isoTool[0], args...); err != nil {
		return nil, err
	}
	img.ISOTime = time.Since(start)
	return img, nil
}

// IsolinuxConfig returns the isolinux.cfg of the reference image: boot
// isolinux/vmlinuz with initrd.img at once, the loader's messages and the
// kernel's console on the first serial port, and extraArgs added to the kernel
// command line.
func IsolinuxConfig(extraArgs string) string {
	cmdline := strings.TrimSpace("initrd=initrd.img " + KernelArgs + " " + extraArgs)
	return "serial 0 115200\n" + // must be the first line
		"default linux\n" +
		"label linux\n" +
		"  kernel vmlinuz\n" +
		"  append " + cmdline + "\n"
}

// run runs a command in dir ("" for the current directory) and returns an
// error with its output when it fails.
func run(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func shellJoin(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = shellQuote(a)
	}
	return strings.Join(quoted, " ")
}
