package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

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
	log := f.logs.logger()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := startLive(ctx, mountpoint, liveOptions{
		image:         opts,
		capacityBytes: capBytes,
		allowOther:    f.allowOther,
		debugFUSE:     f.debugFUSE,
		http:          f.http,
	}, log)
	if err != nil {
		return err
	}
	defer srv.Close()
	select {
	case <-ctx.Done():
		// The signal context swallows every later signal: take them here,
		// so that a second Ctrl-C ends a wait for a reader (QEMU) that keeps
		// the image open after a lazy unmount.
		again := make(chan os.Signal, 1)
		signal.Notify(again, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(again)
		log.Info("unmounting", "mountpoint", mountpoint)
		if err := srv.Unmount(); err != nil {
			return err
		}
		select {
		case <-srv.Ended():
		case <-again:
			log.Warn("second signal: exiting while the detached mount still has open files", "mountpoint", mountpoint)
		}
	case <-srv.Ended():
		log.Warn("unmounted from outside", "mountpoint", mountpoint)
	}
	return nil
}
