package main

import (
	"context"
	"encoding/json"
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
)

// liveOptions say what a live mount builds and how it serves it.
type liveOptions struct {
	image         generation.Options
	capacityBytes int64
	allowOther    bool
	debugFUSE     bool
	// http, with a listen address, also serves the generations over HTTP
	// (mount --listen).
	http httpFlags
	// onReady is told of every generation published after the first, from
	// the daemon's goroutine: it must not block.
	onReady func(live.Status)
}

// liveServer is a daemon serving its generations on a FUSE mount point:
// what `mount` runs until interrupted and what `run` boots from.
type liveServer struct {
	mountpoint string
	log        *slog.Logger
	builder    *generation.Builder
	watcher    *watch.Watcher
	daemon     *live.Daemon
	srv        *vfs.Server
	hs         *httpserve.Server // with --listen
	first      live.Status       // of the first generation
	ended      chan struct{}     // closed when the FUSE server has stopped
	stopRun    context.CancelFunc
	ran        chan struct{} // closed when the daemon's Run has returned
}

// startLive builds the first generation, mounts it on mountpoint and
// rebuilds on every change of the rootfs until close. ctx bounds the first
// build and the life of the server; SIGHUP forces a full rescan.
func startLive(ctx context.Context, mountpoint string, o liveOptions, log *slog.Logger) (_ *liveServer, err error) {
	s := &liveServer{mountpoint: mountpoint, log: log, ended: make(chan struct{}), ran: make(chan struct{})}
	defer func() {
		if err != nil {
			s.closeBuilder()
		}
	}()
	if s.builder, err = generation.NewBuilder(o.image, log); err != nil {
		return nil, err
	}
	// Watch before the first build, so that an edit made while it runs is
	// not lost.
	if s.watcher, err = watch.New(o.image.Rootfs, watch.Options{}, log); err != nil {
		return nil, err
	}
	var feed *httpFeed // with --listen: stands between the daemon and the builder
	var lb live.Builder = s.builder
	if o.http.listen != "" {
		feed = newHTTPFeed(s.builder, o.http.keep, log)
		lb = feed
	}
	s.daemon = live.New(lb, live.Options{CapacityBytes: o.capacityBytes, Rootfs: o.image.Rootfs}, log)
	start := time.Now()
	g, err := s.daemon.First(ctx)
	if err != nil {
		return nil, err
	}
	for _, warning := range g.Warnings {
		log.Warn(warning)
	}
	s.first = daemonStatus(s.daemon)
	// No RepinRange: an open image.iso keeps its generation until MoveOn
	// (promise 7; run_moveon.go).
	s.srv, err = vfs.Mount(mountpoint, s.daemon, vfs.Options{
		AllowOther: o.allowOther,
		Debug:      o.debugFUSE,
	}, log)
	if err != nil {
		return nil, err
	}
	notify := s.srv.Notify
	if feed != nil {
		feed.published(s.daemon)
		if s.hs, err = startHTTP(o.http, feed, s.daemon, o.image.Append, log); err != nil {
			s.srv.Unmount()
			return nil, err
		}
		notify = func() { s.srv.Notify(); feed.published(s.daemon) }
	}
	log.Info("serving", "mountpoint", mountpoint, "image", mountpoint+"/image.iso",
		"capacity", s.daemon.Capacity(), "first_generation_ms", time.Since(start).Milliseconds())

	runCtx, stopRun := context.WithCancel(ctx)
	s.stopRun = stopRun
	rescanOnHUP(runCtx, s.watcher, log)
	go func() { s.srv.Wait(); close(s.ended) }()
	if o.onReady != nil {
		fuseNotify := notify
		notify = func() {
			fuseNotify()
			o.onReady(daemonStatus(s.daemon))
		}
	}
	go func() { s.daemon.Run(runCtx, s.watcher.Batches(), notify); close(s.ran) }()
	return s, nil
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

// daemonStatus is status.json as a value; it is the daemon's own JSON, so
// a marshalling error cannot happen.
func daemonStatus(d *live.Daemon) live.Status {
	var st live.Status
	if err := json.Unmarshal(d.Status(), &st); err != nil {
		panic(fmt.Sprintf("status.json of the daemon: %v", err))
	}
	return st
}

// Ended is closed when the mount has gone: after unmount, or when it was
// unmounted from outside.
func (s *liveServer) Ended() <-chan struct{} { return s.ended }

// Unmount unmounts, lazily when the image is still open; Ended is closed
// once the last open file is closed.
func (s *liveServer) Unmount() error {
	if err := s.srv.Unmount(); err != nil {
		return fmt.Errorf("unmount %s: %w", s.mountpoint, err)
	}
	return nil
}

// Close stops rebuilding and serving over HTTP, and releases the builder
// and the watcher, after the daemon's Run has returned: a build in progress
// must not lose its packer under it.
func (s *liveServer) Close() {
	s.stopRun()
	<-s.ran
	if s.hs != nil {
		stopHTTP(s.hs)
	}
	s.closeBuilder()
}

func (s *liveServer) closeBuilder() {
	if s.daemon != nil {
		s.daemon.Close() // lets go of the current generation; open files keep theirs
	}
	if s.watcher != nil {
		s.watcher.Close()
	}
	if s.builder != nil {
		s.builder.Close()
	}
}
