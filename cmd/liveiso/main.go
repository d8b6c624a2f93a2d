// Command liveiso makes a bootable Linux CD image from a root file system in
// a directory, and keeps that image live.
//
//	liveiso build [options] -o FILE      write the image to a file
//	liveiso mount [options] MOUNTPOINT   serve MOUNTPOINT/image.iso, rebuilt on every edit
//	liveiso status MOUNTPOINT            show what a mount is serving
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

const usage = `liveiso makes a bootable Linux CD image from a root file system directory.

Usage:
  liveiso build --rootfs DIR -o FILE [options]   write the image to FILE
  liveiso mount --rootfs DIR [options] MOUNTPOINT serve MOUNTPOINT/image.iso, live
  liveiso status MOUNTPOINT                       show the state of a live mount

Run "liveiso COMMAND -h" for a command's options.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "build":
		err = runBuild(args)
	case "mount":
		err = runMount(args)
	case "status":
		err = runStatus(args)
	case "-h", "-help", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "liveiso: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(os.Stderr, "liveiso %s: %v\n", os.Args[1], err)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "liveiso %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }
