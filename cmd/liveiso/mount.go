package main

import (
	"github.com/liveiso/liveiso/httpserve"
	"github.com/spf13/cobra"
)

// mountFlags are mount's command line.
type mountFlags struct {
	image                 imageFlags
	logs                  logFlags
	http                  httpFlags
	capacity              string
	allowOther, debugFUSE bool
}

func newMountCommand() *cobra.Command {
	var f mountFlags
	cmd := &cobra.Command{
		Use:   "mount --rootfs DIR [flags] MOUNTPOINT",
		Short: "serve MOUNTPOINT/image.iso, rebuilt whenever the rootfs changes",
		Long: "Serves MOUNTPOINT/image.iso (and initrd.img, uki.efi, status.json), rebuilt whenever DIR changes,\n" +
			"until interrupted.",
		Args: exactArgs(1, "one MOUNTPOINT"),
		RunE: func(_ *cobra.Command, args []string) error { return runMount(f, args[0]) },
	}
	fs := cmd.Flags()
	f.image.register(fs)
	f.logs.register(fs)
	fs.StringVar(&f.capacity, "capacity", "", "`SIZE` of image.iso, like 2G (default: the larger of twice the first image and the first image plus 256M)")
	fs.BoolVar(&f.allowOther, "allow-other", false, "let other users read the mount (it holds every file of the rootfs)")
	fs.BoolVar(&f.debugFUSE, "debug-fuse", false, "log every FUSE request")
	f.http.register(fs, "", "also serve over HTTP on `HOST:PORT`, as liveiso serve does (like "+httpserve.DefaultAddr+")")
	return cmd
}

func runMount(f mountFlags, mountpoint string) error {
	opts, err := f.image.options()
	if err != nil {
		return err
	}
	if err := f.http.check(); err != nil {
		return err
	}
	var capBytes int64
	if f.capacity != "" {
		if capBytes, err = parseSize(f.capacity); err != nil {
			return usageError{"--capacity: " + err.Error()}
		}
	}
	out, err := f.logs.output(false)
	if err != nil {
		return err
	}
	return serveUntilSignal(daemonOptions{
		image:         opts,
		capacityBytes: capBytes,
		mount:         &mountOptions{mountpoint: mountpoint, allowOther: f.allowOther, debugFUSE: f.debugFUSE},
		http:          f.http,
	}, out)
}
