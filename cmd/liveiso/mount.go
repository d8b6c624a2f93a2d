package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/liveiso/liveiso/generation"
	"github.com/liveiso/liveiso/live"
	"github.com/liveiso/liveiso/vfs"
	"github.com/liveiso/liveiso/watch"
)

func runMount(args []string) error {
	fs := flag.NewFlagSet("mount", flag.ContinueOnError)
	var img imageFlags
	var logs logFlags
	var capacity string
	var allowOther, debugFUSE bool
	img.register(fs)
	logs.register(fs)
	fs.StringVar(&capacity, "capacity", "", "`SIZE` of image.iso, like 2G (default: the larger of twice the first image and the first image plus 256M)")
	fs.BoolVar(&allowOther, "allow-other", false, "let other users read the mount (it holds every file of the rootfs)")
	fs.BoolVar(&debugFUSE, "debug-fuse", false, "log every FUSE request")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: liveiso mount --rootfs DIR [options] MOUNTPOINT\n\n"+
			"Serves MOUNTPOINT/image.iso (and initrd.img, status.json), rebuilt whenever DIR changes,\n"+
			"until interrupted.\n\nOptions:\n")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"want exactly one MOUNTPOINT"}
	}
	mountpoint := pos[0]
	opts, err := img.options()
	if err != nil {
		return err
	}
	var capBytes int64
	if capacity != "" {
		if capBytes, err = parseSize(capacity); err != nil {
			return usageError{"--capacity: " + err.Error()}
		}
	}
	log := logs.logger()

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

	d := live.New(builder, live.Options{CapacityBytes: capBytes, Rootfs: opts.Rootfs}, log)
	start := time.Now()
	g, err := d.First(ctx)
	if err != nil {
		return err
	}
	for _, warning := range g.Stats.Warnings {
		log.Warn(warning)
	}
	repinOff, repinLen := generation.RepinRange()
	srv, err := vfs.Mount(mountpoint, d, vfs.Options{
		AllowOther: allowOther,
		Debug:      debugFUSE,
		RepinRange: vfs.ByteRange{Off: repinOff, Len: repinLen},
	}, log)
	if err != nil {
		return err
	}
	log.Info("serving", "mountpoint", mountpoint, "image", mountpoint+"/image.iso",
		"capacity", d.Capacity(), "first_generation_ms", time.Since(start).Milliseconds())

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
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

	ended := make(chan struct{})
	go func() { srv.Wait(); close(ended) }()
	runCtx, stopRun := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { d.Run(runCtx, w.Batches(), srv.Notify); close(ran) }()
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
