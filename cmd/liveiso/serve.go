package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/liveiso/liveiso/generation"
	"github.com/liveiso/liveiso/httpserve"
	"github.com/liveiso/liveiso/live"
	"github.com/liveiso/liveiso/watch"
	"github.com/spf13/cobra"
)

// serveFlags are serve's command line.
type serveFlags struct {
	image imageFlags
	logs  logFlags
	http  httpFlags
}

func newServeCommand() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve --rootfs DIR [flags]",
		Short: "serve the live image over HTTP (iPXE netboot), rebuilt whenever the rootfs changes",
		Long: "Serves the live image over HTTP until interrupted: /boot.ipxe (kernel and initrd chunks at\n" +
			"content-addressed /c/ URLs; ?whole=1 for one initrd.img) and /sanboot.ipxe for iPXE,\n" +
			"/image.iso and /uki.efi for firmware HTTP Boot (the current generation, at a constant size),\n" +
			"/vmlinuz and /initrd.img (redirects to the current generation's /g/ URLs), /status.json,\n" +
			"/metrics (Prometheus) and the fleet page at /. Needs no FUSE and no root.",
		Args: exactArgs(0, ""),
		RunE: func(_ *cobra.Command, _ []string) error { return runServe(f) },
	}
	fs := cmd.Flags()
	f.image.register(fs)
	f.logs.register(fs)
	f.http.register(fs, httpserve.DefaultAddr,
		"`HOST:PORT` to serve on; another address than loopback lets others read every file of the rootfs")
	return cmd
}

func runServe(f serveFlags) error {
	opts, err := f.image.options()
	if err != nil {
		return err
	}
	if err := f.http.check(); err != nil {
		return err
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

	feed := newHTTPFeed(builder, f.http.keep, log)
	d := live.New(feed, live.Options{Rootfs: opts.Rootfs}, log)
	start := time.Now()
	g, err := d.First(ctx)
	if err != nil {
		return err
	}
	for _, warning := range g.Stats.Warnings {
		log.Warn(warning)
	}
	feed.published(d)
	hs, err := startHTTP(f.http, feed, d, opts.Append, log)
	if err != nil {
		return err
	}
	defer stopHTTP(hs)
	log.Info("serving", "url", hs.URL(), "first_generation_ms", time.Since(start).Milliseconds())

	rescanOnHUP(ctx, w, log)
	runCtx, stopRun := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { d.Run(runCtx, w.Batches(), func() { feed.published(d) }); close(ran) }()
	// The builder and the watcher are closed (deferred) only after Run has
	// returned: a build in progress must not lose its packer under it.
	defer func() { stopRun(); <-ran }()
	<-ctx.Done()
	log.Info("stopping")
	return nil
}
