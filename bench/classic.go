package main

import (
	"context"
	"os"
	"strings"

	"github.com/liveiso/liveiso/internal/testenv"
)

// Firmware an image boots on, for the "boots" column and for choosing the
// classic row an image's size is compared with.
const (
	bootsBIOS   = "BIOS"
	bootsBoth   = "BIOS+UEFI"
	bootsBothSB = "BIOS+UEFI, Secure Boot"
)

// pipeline is one way of making the image from scratch.
type pipeline struct {
	Name       string
	Compressor []string // nil for liveiso
	ISOTool    []string
	EFILoader  string // "" for a BIOS-only image
	Shim       string // with EFILoader: UEFI through shim, for Secure Boot
}

// Names of the classic rows that the others are compared with: the
// BIOS-only recipe, the same with an EFI system partition, and with shim in
// it for Secure Boot (liveiso's default image where shim is installed).
const (
	classicBIOS   = "classic: gzip -9 + genisoimage"
	classicUEFI   = "classic + UEFI: gzip -9 + genisoimage -e efi.img"
	classicUEFISB = "classic + UEFI + Secure Boot: the same, shim in efi.img"
)

// The classic pipeline, the same made bootable on UEFI too the way its users
// do it, and with Secure Boot (the image liveiso makes by default), and the
// two variants a user of it would reach for first: a parallel gzip, and
// xorriso in place of genisoimage.
func classicPipelines() []pipeline {
	return []pipeline{
		{Name: classicBIOS, Compressor: []string{"gzip", "-9"}, ISOTool: []string{"genisoimage"}},
		{Name: classicUEFI, Compressor: []string{"gzip", "-9"}, ISOTool: []string{"genisoimage"}, EFILoader: testenv.GrubEFILoader},
		{Name: classicUEFISB, Compressor: []string{"gzip", "-9"}, ISOTool: []string{"genisoimage"}, EFILoader: testenv.GrubEFILoader, Shim: testenv.ShimEFI},
		{Name: "pigz -9 + genisoimage", Compressor: []string{"pigz", "-9"}, ISOTool: []string{"genisoimage"}},
		{Name: "gzip -9 + xorriso -as mkisofs", Compressor: []string{"gzip", "-9"}, ISOTool: []string{"xorriso", "-as", "mkisofs"}},
	}
}

// boots is the firmware p's image boots on.
func (p pipeline) boots() string {
	switch {
	case p.Shim != "":
		return bootsBothSB
	case p.EFILoader != "":
		return bootsBoth
	}
	return bootsBIOS
}

// sameBoot is the classic row of the firmware p's image boots on.
func (p pipeline) sameBoot() string {
	switch {
	case p.Shim != "":
		return classicUEFISB
	case p.EFILoader != "":
		return classicUEFI
	}
	return classicBIOS
}

// command is the pipeline as a user would type it.
func (p pipeline) command() string {
	var esp, efiArgs string
	if p.EFILoader != "" {
		// The size follows the loader's; a run without the loader has
		// failed before there is a report.
		kib, _ := testenv.ReferenceESPKiB(p.EFILoader, p.Shim, "LIVEISO")
		var cmds []string
		for _, c := range testenv.ESPCommands("ISO/"+testenv.ReferenceESPPath, testenv.ESPFiles(p.EFILoader, p.Shim, "esp-grub.cfg"), kib) {
			cmds = append(cmds, strings.Join(c, " "))
		}
		esp = strings.Join(cmds, " && ") + " && "
		efiArgs = " -eltorito-alt-boot -e " + testenv.ReferenceESPPath + " -no-emul-boot"
	}
	return esp + "(cd ROOTFS && find . | cpio --quiet -o -H newc | " + strings.Join(p.Compressor, " ") +
		" > ISO/isolinux/initrd.img) && " + strings.Join(p.ISOTool, " ") +
		" -quiet -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4" +
		" -boot-info-table" + efiArgs + " -l -R -V LIVEISO -o image.iso ISO"
}

// runClassic makes the image with p in workDir (removed first and after)
// and returns the time it took and the image's size.
func runClassic(ctx context.Context, p pipeline, workDir, rootfs, kernel string) (seconds float64, size int64, err error) {
	if err := os.RemoveAll(workDir); err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(workDir)
	var img *testenv.ReferenceImage
	seconds, err = timeIt(func() error {
		var err error
		img, err = testenv.BuildReference(ctx, workDir, rootfs, kernel, testenv.ReferenceOptions{
			Compressor: p.Compressor,
			ISOTool:    p.ISOTool,
			EFILoader:  p.EFILoader,
			Shim:       p.Shim,
		})
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	return seconds, sizeOf(img.ISO), nil
}
