package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/liveiso/liveiso/generation"
	"github.com/liveiso/liveiso/live"
	"github.com/liveiso/liveiso/watch"
)

// The live daemon, as mount, serve and run start it: a builder, a watcher
// of the rootfs, live.Daemon turning the watcher's batches into
// generations, and the outlets it publishes them to (a FUSE mount, an
// HTTP server; run subscribes too). This file is the one place that wires
// them, starts them in order and stops them in the reverse one.

// daemonOptions say what the daemon builds and where it serves it.
type daemonOptions struct {
	image         generation.Options
	capacityBytes int64
	// mount, when set, serves the generations on a FUSE mount point.
	mount *mountOptions
	// http, with a listen address, serves them over HTTP (serve, and
	// mount --listen).
	http httpFlags
	// ownLines says the command prints its own line for each generation
	// (run: "generation 2 ready in 33 ms ..., resetting the guest"); the
	// daemon's report then leaves them out.
	ownLines bool
}

// outlet is where the generations go out: each subscribes to the daemon
// when it starts, and holds the snapshots it serves until close.
type outlet interface {
	// close stops serving and lets go of every snapshot the outlet holds,
	// once its readers in flight are done; ctx ends that wait early.
	close(ctx context.Context) error
}

// liveDaemon is a running live daemon with its outlets.
type liveDaemon struct {
	out     output
	builder *generation.Builder
	watcher *watch.Watcher
	daemon  *live.Daemon
	fuse    *fuseOutlet // with daemonOptions.mount
	http    *httpOutlet // with a listen address
	outlets []outlet    // in the order they started
	stopRun context.CancelFunc
	ran     chan struct{} // closed when the daemon's Run has returned
}

// startDaemon builds the first generation, starts the outlets and rebuilds
// on every change of the rootfs until Close. ctx bounds the first build;
// SIGHUP forces a full rescan. On an error, what was started is stopped.
func startDaemon(ctx context.Context, o daemonOptions, out output) (_ *liveDaemon, err error) {
	l := &liveDaemon{out: out, ran: make(chan struct{})}
	close(l.ran) // until Run starts
	defer func() {
		if err != nil {
			// Nothing has been served yet that a reader could hold long.
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			l.Close(cctx)
		}
	}()
	log := out.log
	if l.builder, err = generation.NewBuilder(o.image, log); err != nil {
		return nil, err
	}
	// Watch before the first build, so that an edit made while it runs is
	// not lost.
	if l.watcher, err = watch.New(o.image.Rootfs, watch.Options{}, log); err != nil {
		return nil, err
	}
	l.daemon = live.New(l.builder, live.Options{CapacityBytes: o.capacityBytes, Rootfs: o.image.Rootfs}, log)
	start := time.Now()
	if _, err := l.daemon.First(ctx); err != nil {
		return nil, err
	}
	firstMs := time.Since(start).Milliseconds()
	l.daemon.Subscribe(newReport(out, !o.ownLines).generation)
	if o.mount != nil {
		if l.fuse, err = startFUSE(*o.mount, l.daemon, out); err != nil {
			return nil, err
		}
		l.outlets = append(l.outlets, l.fuse)
		out.log.Info("serving", "mountpoint", l.fuse.srv.Mountpoint(), "image", l.fuse.image(),
			"capacity", l.daemon.Capacity(), "first_generation_ms", firstMs)
		out.say("serving %s (%s); Ctrl-C stops", l.fuse.image(), humanBytes(l.daemon.Capacity()))
	}
	if o.http.listen != "" {
		if l.http, err = startHTTP(o.http, l.daemon, o.image.Append, out); err != nil {
			return nil, err
		}
		l.outlets = append(l.outlets, l.http)
		out.log.Info("serving", "url", l.http.srv.URL(), "first_generation_ms", firstMs)
	}

	runCtx, stopRun := context.WithCancel(context.Background())
	l.stopRun = stopRun
	l.ran = make(chan struct{})
	rescanOnHUP(runCtx, l.watcher, log)
	go func() { l.daemon.Run(runCtx, l.watcher.Batches()); close(l.ran) }()
	return l, nil
}

// Unmounted is closed when the FUSE mount has gone: after Close, or when it
// was unmounted from outside. Without a mount it is never closed.
func (l *liveDaemon) Unmounted() <-chan struct{} {
	if l.fuse == nil {
		return nil
	}
	return l.fuse.srv.Done()
}

// Close stops the daemon in one order, whatever started: no more builds
// (a build in progress is cancelled: it must not lose its packer under
// it), then every outlet (which lets go of the generations it holds once
// its readers are done, or when ctx ends), then the daemon (its current
// generation), the watcher and the builder (the cache's pins and lock go
// with the last generation). The errors are the outlets'.
func (l *liveDaemon) Close(ctx context.Context) error {
	if l.stopRun != nil {
		l.stopRun()
	}
	<-l.ran
	var errs []error
	for i := len(l.outlets) - 1; i >= 0; i-- {
		errs = append(errs, l.outlets[i].close(ctx))
	}
	if l.daemon != nil {
		l.daemon.Close() // open files and requests keep theirs
	}
	if l.watcher != nil {
		l.watcher.Close()
	}
	if l.builder != nil {
		l.builder.Close()
	}
	return errors.Join(errs...)
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

// serveUntilSignal runs the daemon of mount and serve: it starts it, serves
// until SIGINT or SIGTERM (or until the mount is unmounted from outside),
// and closes it. A second signal ends the wait for readers that keep the
// image open (QEMU after a lazy unmount).
func serveUntilSignal(o daemonOptions, out output) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	l, err := startDaemon(ctx, o, out)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		out.log.Info("stopping")
	case <-l.Unmounted():
		out.log.Warn("unmounted from outside", "mountpoint", o.mount.mountpoint)
	}
	// The signal context swallows every later signal: take them here.
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(again)
	closeCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-again:
			out.log.Warn("second signal: exiting while the detached mount still has open files")
			cancel()
		case <-closeCtx.Done():
		}
	}()
	err = l.Close(closeCtx)
	if errors.Is(err, errDetached) {
		return nil // said above
	}
	return err
}
