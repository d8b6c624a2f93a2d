package main

import (
	"context"
	"os"
	"strings"

	"github.com/liveiso/liveiso/integration"
)

// pipeline is one way of making the image from scratch.
type pipeline struct {
	Name       string
	Compressor []string // nil for liveiso
	ISOTool    []string
}

// The classic pipeline and the two variants a user of it would reach for
// first: a parallel gzip, and xorriso in place of genisoimage.
func classicPipelines() []pipeline {
	return []pipeline{
		{Name: "classic: gzip -9 + genisoimage", Compressor: []string{"gzip", "-9"}, ISOTool: []string{"genisoimage"}},
		{Name: "pigz -9 + genisoimage", Compressor: []string{"pigz", "-9"}, ISOTool: []string{"genisoimage"}},
		{Name: "gzip -9 + xorriso -as mkisofs", Compressor: []string{"gzip", "-9"}, ISOTool: []string{"xorriso", "-as", "mkisofs"}},
	}
}

// command is the pipeline as a user would type it.
func (p pipeline) command() string {
	return "(cd ROOTFS && find . | cpio --quiet -o -H newc | " + strings.Join(p.Compressor, " ") +
		" > ISO/isolinux/initrd.img) && " + strings.Join(p.ISOTool, " ") +
		" -quiet -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4" +
		" -boot-info-table -l -R -V LIVEISO -o image.iso ISO"
}

// runClassic makes the image with p in workDir (removed first and after)
// and returns the time it took and the image's size.
func runClassic(ctx context.Context, p pipeline, workDir, rootfs, kernel string) (seconds float64, size int64, err error) {
	if err := os.RemoveAll(workDir); err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(workDir)
	var img *integration.ReferenceImage
	seconds, err = timeIt(func() error {
		var err error
		img, err = integration.BuildReference(ctx, workDir, rootfs, kernel, integration.ReferenceOptions{
			Compressor: p.Compressor,
			ISOTool:    p.ISOTool,
		})
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	return seconds, sizeOf(img.ISO), nil
}
