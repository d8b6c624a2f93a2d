package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/liveiso/liveiso/generation"
	"github.com/liveiso/liveiso/httpserve"
	"github.com/liveiso/liveiso/live"
	"github.com/liveiso/liveiso/vfs"
	"github.com/liveiso/liveiso/watch"
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
	builder, err := generation.NewBuilder(opts, log)
	if err != nil {
		return err
	}
	defer builder.Close()

	// Watch before the first build, so that an edit made while it runs is
	// not lost.
	w, err := watch.New(opts.Rootfs, watch.Options{}, log)
	if err != nil {
		return err
	}
	defer w.Close()

	var feed *httpFeed // with --listen: stands between the daemon and the builder
	var lb live.Builder = builder
	if f.http.listen != "" {
		feed = newHTTPFeed(builder, f.http.keep, log)
		lb = feed
	}
	d := live.New(lb, live.Options{CapacityBytes: capBytes, Rootfs: opts.Rootfs}, log)
	// Deferred before Run's stop below, so it runs after Run has returned.
	defer d.Close()
	start := time.Now()
	g, err := d.First(ctx)
	if err != nil {
		return err
	}
	for _, warning := range g.Warnings {
		log.Warn(warning)
	}
	repinOff, repinLen := generation.RepinRange()
	srv, err := vfs.Mount(mountpoint, d, vfs.Options{
		AllowOther: f.allowOther,
		Debug:      f.debugFUSE,
		RepinRange: vfs.ByteRange{Off: repinOff, Len: repinLen},
	}, log)
	if err != nil {
		return err
	}
	notify := srv.Notify
	if feed != nil {
		feed.published(d)
		hs, err := startHTTP(f.http, feed, d, opts.Append, log)
		if err != nil {
			srv.Unmount()
			return err
		}
		defer stopHTTP(hs)
		notify = func() { srv.Notify(); feed.published(d) }
	}
	log.Info("serving", "mountpoint", mountpoint, "image", mountpoint+"/image.iso",
		"capacity", d.Capacity(), "first_generation_ms", time.Since(start).Milliseconds())

	rescanOnHUP(ctx, w, log)

	ended := make(chan struct{})
	go func() { srv.Wait(); close(ended) }()
	runCtx, stopRun := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { d.Run(runCtx, w.Batches(), notify); close(ran) }()
	// The builder and the watcher are closed (deferred) only after Run has
	// returned: a build in progress must not lose its packer under it.
	defer func() { stopRun(); <-ran }()
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
			return fmt.Errorf("unmount %s: %w", mountpoint, err)
		}
		select {
		case <-ended:
		case <-again:
			log.Warn("second signal: exiting while the detached mount still has open files", "mountpoint", mountpoint)
		}
	case <-ended:
		log.Warn("unmounted from outside", "mountpoint", mountpoint)
	}
	return nil
}

// rescanOnHUP makes kill -HUP force a full rescan, until ctx ends. It takes
// the signal before it returns: SIGHUP's default action ends the process.
func rescanOnHUP(ctx context.Context, w *watch.Watcher, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-hup:
				log.Info("SIGHUP: rescanning the rootfs")
				w.Rescan()
			case <-ctx.Done():
				return
			}
		}
	}()
}
