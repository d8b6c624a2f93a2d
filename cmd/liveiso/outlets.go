package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"github.com/liveiso/liveiso/httpserve"
	"github.com/liveiso/liveiso/live"
	"github.com/liveiso/liveiso/vfs"
	"github.com/spf13/pflag"
)

// The outlets of the live daemon (daemon.go): each is a subscriber of
// live.Daemon, handed every snapshot with a reference of its own.

// mountOptions are the FUSE outlet's: mount, and run's private mount.
type mountOptions struct {
	mountpoint            string
	allowOther, debugFUSE bool
}

// fuseOutlet serves the generations at MOUNTPOINT/image.iso.
type fuseOutlet struct {
	srv *vfs.Server
	out output
}

var _ outlet = (*fuseOutlet)(nil)

// errDetached is close's error when the mount was detached lazily and
// still had open files when its wait ended.
var errDetached = errors.New("detached with open files")

func startFUSE(o mountOptions, d *live.Daemon, out output) (*fuseOutlet, error) {
	// No RepinRange: an open image.iso keeps its generation until MoveOn
	// (promise 7; run_moveon.go).
	srv, err := vfs.Mount(o.mountpoint, d.Acquire(), vfs.Options{
		AllowOther: o.allowOther,
		Debug:      o.debugFUSE,
		Status:     d.StatusJSON,
	}, out.log)
	if err != nil {
		return nil, err
	}
	d.Subscribe(srv.Publish)
	return &fuseOutlet{srv: srv, out: out}, nil
}

// image is the path of the served image.
func (f *fuseOutlet) image() string { return filepath.Join(f.srv.Mountpoint(), "image.iso") }

// close unmounts, lazily when the image is still open (QEMU), and waits
// until the last open file is closed, or ctx ends: then the mount stays
// detached and goes with its last reader (errDetached).
func (f *fuseOutlet) close(ctx context.Context) error {
	f.out.log.Info("unmounting", "mountpoint", f.srv.Mountpoint())
	if err := f.srv.Unmount(); err != nil {
		return err
	}
	select {
	case <-f.srv.Done():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", f.srv.Mountpoint(), errDetached)
	}
}

// httpFlags are the HTTP server's command line (serve, and mount --listen).
type httpFlags struct {
	listen string
	keep   int
}

func (f *httpFlags) register(fs *pflag.FlagSet, defaultListen, listenHelp string) {
	fs.StringVar(&f.listen, "listen", defaultListen, listenHelp)
	fs.IntVar(&f.keep, "keep", httpserve.DefaultKeep, "`N` newest generations that stay readable over HTTP (and every one a request is reading)")
}

func (f *httpFlags) check() error {
	if f.keep < 1 {
		return usageError{fmt.Sprintf("--keep %d: want at least 1", f.keep)}
	}
	if f.listen != "" {
		if _, _, err := net.SplitHostPort(f.listen); err != nil {
			return usageError{fmt.Sprintf("--listen %q: want HOST:PORT, like %s", f.listen, httpserve.DefaultAddr)}
		}
	}
	return nil
}

// httpOutlet serves the generations over HTTP; Keep holds the last
// --keep of them.
type httpOutlet struct {
	srv  *httpserve.Server
	keep *httpserve.Keep
}

var _ outlet = (*httpOutlet)(nil)

// httpDrain bounds the wait for the responses in flight at shutdown.
const httpDrain = 5 * time.Second

// startHTTP starts the HTTP server on f.listen.
func startHTTP(f httpFlags, d *live.Daemon, appendLine string, out output) (*httpOutlet, error) {
	keep := httpserve.NewKeep(f.keep)
	h := &httpOutlet{keep: keep}
	var err error
	h.srv, err = httpserve.New(keep, httpserve.Options{Addr: f.listen, Append: appendLine, Status: d.StatusJSON}, out.log)
	if err != nil {
		return nil, err
	}
	// The server names and indexes each snapshot's chunks before Keep
	// makes it current, so that every script names chunks it can serve.
	d.Subscribe(func(g *live.Snapshot) {
		h.srv.Published(g)
		keep.Publish(g)
	})
	if err := h.srv.Listen(); err != nil {
		keep.Close()
		return nil, err
	}
	out.say("serving %s (boot.ipxe, sanboot.ipxe, image.iso; status.json); Ctrl-C stops", h.srv.URL())
	return h, nil
}

// close lets the responses in flight finish, for a few seconds (or until
// ctx ends), and lets go of the kept generations.
func (h *httpOutlet) close(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, httpDrain)
	defer cancel()
	h.srv.Shutdown(ctx)
	h.keep.Close()
	return nil
}
