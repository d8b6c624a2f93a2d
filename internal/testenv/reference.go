package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Boot loader files of Debian's isolinux and syslinux-common packages.
const (
	IsolinuxBin = "/usr/lib/ISOLINUX/isolinux.bin"
	LdlinuxC32  = "/usr/lib/syslinux/modules/bios/ldlinux.c32"
)

// GrubEFILoader is Debian's signed GRUB EFI image for CDs (package
// grub-efi-amd64-signed). Booted from a CD, it reads /boot/grub/grub.cfg
// from the ISO 9660 file system.
const GrubEFILoader = "/usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed"

// Where BuildReference puts the EFI system partition image and GRUB's
// configuration, relative to ISODir, when ReferenceOptions.EFILoader is set.
const (
	ReferenceESPPath     = "boot/efi.img"
	ReferenceGrubCfgPath = "boot/grub/grub.cfg"
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
	// EFILoader, if set, is a GRUB EFI image (say GrubEFILoader) that
	// makes the image boot on UEFI too: it goes into a FAT image made
	// with mkfs.vfat and mtools as EFI/BOOT/BOOTX64.EFI, beside a
	// grub.cfg that hands over to the CD's; that image becomes
	// ReferenceESPPath, a second El Torito entry (-eltorito-alt-boot -e
	// ReferenceESPPath -no-emul-boot), and ReferenceGrubCfgPath boots the
	// same kernel, initrd and command line as isolinux.cfg. "" means BIOS
	// only, the classic recipe.
	EFILoader string
	// Shim, if set with EFILoader, makes the ESP boot with Secure Boot on,
	// the way Debian's own images do: Shim (say ShimEFI) is
	// EFI/BOOT/BOOTX64.EFI, the GRUB image beside it is grubx64.efi (the
	// name shim loads) and MokManager (ShimMokManager) is mmx64.efi.
	Shim string
}

// Debian's signed shim and MokManager (package shim-signed).
const (
	ShimEFI        = "/usr/lib/shim/shimx64.efi.signed"
	ShimMokManager = "/usr/lib/shim/mmx64.efi.signed"
)

// ReferenceImage is what BuildReference produced.
type ReferenceImage struct {
	ISO    string // the image file
	ISODir string // the tree the image was made from (isolinux/ and ExtraDir's files)
	Initrd string // ISODir/isolinux/initrd.img
	ESP    string // ISODir/ReferenceESPPath, or "" without EFILoader

	InitrdTime time.Duration // find | cpio | compressor
	ESPTime    time.Duration // mkfs.vfat, mmd, mcopy; 0 without EFILoader
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
// images are checked against and the baseline of its benchmarks. With
// opts.EFILoader it also makes an EFI system partition image first, the
// way the same guides add UEFI (see ESPCommands), and the ISO tool gets
//
//	-eltorito-alt-boot -e boot/efi.img -no-emul-boot
//
// after -boot-info-table.
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
		if err := CopyFile(f.src, filepath.Join(img.ISODir, "isolinux", f.dst), 0o644); err != nil {
			return nil, fmt.Errorf("reference image: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(img.ISODir, "isolinux/isolinux.cfg"), []byte(IsolinuxConfig(opts.Append)), 0o644); err != nil {
		return nil, err
	}

	var efiArgs []string
	if opts.EFILoader != "" {
		start := time.Now()
		if err := buildESP(ctx, workDir, img.ISODir, opts.EFILoader, opts.Shim, volumeID, opts.Append); err != nil {
			return nil, fmt.Errorf("reference image: EFI system partition: %w", err)
		}
		img.ESP = filepath.Join(img.ISODir, ReferenceESPPath)
		img.ESPTime = time.Since(start)
		efiArgs = []string{"-eltorito-alt-boot", "-e", ReferenceESPPath, "-no-emul-boot"}
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
		"-no-emul-boot", "-boot-load-size", "4", "-boot-info-table")
	args = append(append(args, efiArgs...), "-l", "-R", "-V", volumeID, "-o", img.ISO, img.ISODir)
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

// espGrubConfig is EFI/BOOT/grub.cfg in the ESP, for GRUB images that read
// the configuration beside themselves: find the CD by its volume label and
// read its grub.cfg. (Debian's gcdx64 reads the CD's at once.)
func espGrubConfig(volumeID string) string {
	return "search --no-floppy --label --set=root '" + volumeID + "'\n" +
		"set prefix=($root)/" + path.Dir(ReferenceGrubCfgPath) + "\n" +
		"configfile $prefix/grub.cfg\n"
}

// grubConfig is ReferenceGrubCfgPath: what isolinux.cfg boots, for GRUB.
func grubConfig(extraArgs string) string {
	cmdline := strings.TrimSpace(KernelArgs + " " + extraArgs)
	return "set timeout=0\n" +
		"menuentry linux {\n" +
		"  linux /isolinux/vmlinuz " + cmdline + "\n" +
		"  initrd /isolinux/initrd.img\n" +
		"}\n"
}

// ESPKiB is the size in KiB that ESPCommands gives mkfs.vfat for files of
// the given sizes (the loaders and the grub.cfg): each rounded up to 4 KiB,
// and 64 KiB for the boot sector, the two FATs and the directories: "sized
// to fit", with a little room. For Debian's gcdx64.efi.signed and a
// grub.cfg that is 3816 KiB, a FAT12 file system with 2 KiB clusters;
// 3776 KiB was the least that held it when tried.
func ESPKiB(sizes ...int64) int64 {
	kib := int64(64)
	for _, n := range sizes {
		kib += (n + 4095) / 4096 * 4
	}
	return kib
}

// ESPFile is a file ESPCommands copies into the ESP's EFI/BOOT.
type ESPFile struct{ Src, Name string }

// ReferenceESPKiB is the size ESPCommands gives the reference ESP of
// loader (behind shim, if set) for the volume label volumeID: ESPKiB of the
// loaders' sizes and of the grub.cfg written for the label.
func ReferenceESPKiB(loader, shim, volumeID string) (int64, error) {
	var sizes []int64
	for _, f := range ESPFiles(loader, shim, "") {
		if f.Name == "grub.cfg" {
			sizes = append(sizes, int64(len(espGrubConfig(volumeID))))
			continue
		}
		fi, err := os.Stat(f.Src)
		if err != nil {
			return 0, fmt.Errorf("ESP file: %w (Debian: packages grub-efi-amd64-signed, shim-signed)", err)
		}
		sizes = append(sizes, fi.Size())
	}
	return ESPKiB(sizes...), nil
}

// ESPFiles are the files of the reference ESP: loader as BOOTX64.EFI, or,
// with shim, shim as BOOTX64.EFI, loader as grubx64.efi and the MokManager
// beside shim as mmx64.efi; then grubCfg as grub.cfg.
func ESPFiles(loader, shim, grubCfg string) []ESPFile {
	if shim == "" {
		return []ESPFile{{loader, "BOOTX64.EFI"}, {grubCfg, "grub.cfg"}}
	}
	return []ESPFile{
		{shim, "BOOTX64.EFI"},
		{loader, "grubx64.efi"},
		{filepath.Join(filepath.Dir(shim), filepath.Base(ShimMokManager)), "mmx64.efi"},
		{grubCfg, "grub.cfg"},
	}
}

// ESPCommands are the commands that make the EFI system partition image
// esp (a path that must not exist yet) of kib KiB holding files: what
// BuildReference runs.
func ESPCommands(esp string, files []ESPFile, kib int64) [][]string {
	cmds := [][]string{
		{"mkfs.vfat", "-C", esp, strconv.FormatInt(kib, 10)},
		{"mmd", "-i", esp, "::/EFI", "::/EFI/BOOT"},
	}
	for _, f := range files {
		cmds = append(cmds, []string{"mcopy", "-i", esp, f.Src, "::/EFI/BOOT/" + f.Name})
	}
	return cmds
}

// espTools are the commands ESPCommands needs and the packages that have them.
var espTools = []struct{ name, pkg string }{
	{"mkfs.vfat", "dosfstools"},
	{"mmd", "mtools"},
	{"mcopy", "mtools"},
}

// buildESP writes isoDir/ReferenceESPPath, holding loader (behind shim, if
// set) and a grub.cfg that hands over to the CD's, and
// isoDir/ReferenceGrubCfgPath.
func buildESP(ctx context.Context, workDir, isoDir, loader, shim, volumeID, extraArgs string) error {
	paths := map[string]string{}
	var missing []string
	for _, t := range espTools {
		p, err := lookSbin(t.name)
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s (package %s)", t.name, t.pkg))
		}
		paths[t.name] = p
	}
	if len(missing) > 0 {
		return fmt.Errorf("not installed: %s; scripts/setup.sh installs them", strings.Join(missing, ", "))
	}
	fi, err := os.Stat(loader)
	if err != nil {
		return fmt.Errorf("UEFI loader: %w (Debian: package grub-efi-amd64-signed)", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("UEFI loader %s: not a regular file", loader)
	}
	isoCfg := filepath.Join(isoDir, ReferenceGrubCfgPath)
	if err := os.MkdirAll(filepath.Dir(isoCfg), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(isoCfg, []byte(grubConfig(extraArgs)), 0o644); err != nil {
		return err
	}
	espCfg := filepath.Join(workDir, "esp-grub.cfg")
	if err := os.WriteFile(espCfg, []byte(espGrubConfig(volumeID)), 0o644); err != nil {
		return err
	}
	kib, err := ReferenceESPKiB(loader, shim, volumeID)
	if err != nil {
		return err
	}
	for _, c := range ESPCommands(filepath.Join(isoDir, ReferenceESPPath), ESPFiles(loader, shim, espCfg), kib) {
		if err := run(ctx, "", paths[c[0]], c[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// lookSbin finds a command in PATH, or else in /usr/sbin or /sbin, which
// are not in every user's PATH (mkfs.vfat is in /usr/sbin).
func lookSbin(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if fi, statErr := os.Stat(filepath.Join(dir, name)); statErr == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return filepath.Join(dir, name), nil
		}
	}
	return "", err
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
