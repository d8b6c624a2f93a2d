// Command liveiso-fixture makes the test fixtures of package integration
// from the shell, for scripts/demo.sh and for trying things by hand:
//
//	liveiso-fixture rootfs [-marker TEXT] DIR
//	    write the busybox test rootfs into DIR (empty or missing)
//	liveiso-fixture reference -rootfs DIR -out WORKDIR [-append ARGS] [-compressor CMD] [-isotool CMD]
//	    build the reference image WORKDIR/image.iso from a rootfs
//	    (find | cpio | gzip -9, then genisoimage) and print its path
//	liveiso-fixture kernel
//	    print the path of the test kernel's vmlinuz
//
// The test kernel comes from scripts/setup.sh.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/liveiso/liveiso/internal/testenv"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "liveiso-fixture:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: liveiso-fixture rootfs|reference|kernel [flags]")
	}
	switch args[0] {
	case "rootfs":
		fs := flag.NewFlagSet("rootfs", flag.ExitOnError)
		marker := fs.String("marker", "liveiso test rootfs", "the text /init prints after "+testenv.MarkerPrefix)
		fs.Parse(args[1:])
		if fs.NArg() != 1 {
			return fmt.Errorf("usage: liveiso-fixture rootfs [-marker TEXT] DIR")
		}
		return testenv.BuildBusyboxRootfs(fs.Arg(0), *marker)
	case "reference":
		fs := flag.NewFlagSet("reference", flag.ExitOnError)
		rootfs := fs.String("rootfs", "", "the root file system directory")
		out := fs.String("out", "", "the work directory (empty or missing) for the ISO tree and image.iso")
		appendArgs := fs.String("append", "", "more kernel command-line words, e.g. "+testenv.ArgMountCD)
		compressor := fs.String("compressor", "gzip -9", "the command that compresses the cpio archive")
		isoTool := fs.String("isotool", "genisoimage", `the mkisofs-compatible tool, e.g. "xorriso -as mkisofs"`)
		fs.Parse(args[1:])
		if *rootfs == "" || *out == "" || fs.NArg() != 0 {
			return fmt.Errorf("usage: liveiso-fixture reference -rootfs DIR -out WORKDIR [flags]")
		}
		k, err := testenv.Kernel()
		if err != nil {
			return err
		}
		img, err := testenv.BuildReference(context.Background(), *out, *rootfs, k.Vmlinuz, testenv.ReferenceOptions{
			Compressor: strings.Fields(*compressor),
			ISOTool:    strings.Fields(*isoTool),
			Append:     *appendArgs,
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "liveiso-fixture: initrd in %v, image in %v\n", img.InitrdTime.Round(time.Millisecond), img.ISOTime.Round(time.Millisecond))
		fmt.Println(img.ISO)
		return nil
	case "kernel":
		k, err := testenv.Kernel()
		if err != nil {
			return err
		}
		fmt.Println(k.Vmlinuz)
		return nil
	default:
		return fmt.Errorf("unknown command %q (want rootfs, reference or kernel)", args[0])
	}
}
