package main

import (
	"context"
	"fmt"
	"github.com/liveiso/liveiso/cache"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/liveiso/liveiso/generation"
	"github.com/liveiso/liveiso/httpserve"
	"github.com/liveiso/liveiso/live"
	"github.com/spf13/pflag"
)

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

// httpFeed hands the generations the daemon publishes to the HTTP server's
// retention (httpserve.Keep), each with a reference of its own that Keep
// gives back when it lets go of it. It stands between the daemon and its
// builder to see each generation built (the daemon publishes every
// successful build before it starts the next one), and hands it on when the
// daemon says it published it.
type httpFeed struct {
	builder live.Builder
	keep    *httpserve.Keep
	namer   httpserve.ChunkNamer
	log     *slog.Logger
	built   atomic.Pointer[generation.Generation]
}

var _ live.Builder = (*httpFeed)(nil)

func newHTTPFeed(b live.Builder, keep int, log *slog.Logger) *httpFeed {
	return &httpFeed{builder: b, keep: httpserve.NewKeep(keep), log: log}
}

func (f *httpFeed) Build(ctx context.Context, changed []string) (*generation.Generation, error) {
	g, err := f.builder.Build(ctx, changed)
	if err == nil {
		f.built.Store(g)
	}
	return g, err
}

func (f *httpFeed) Settle(ctx context.Context) (cache.Settled, error) { return f.builder.Settle(ctx) }

// published is called after the daemon published a generation.
func (f *httpFeed) published(d *live.Daemon) {
	g, cur := f.built.Load(), d.Current()
	if g == nil || cur == nil || g.Number != cur.Generation {
		f.log.Error("HTTP: the published generation is not the last one built; HTTP keeps serving the one before")
		return
	}
	// g is current, so the daemon holds it; TryRetain fails only if a
	// newer one replaced it since (published runs on the publishing
	// goroutine, so it does not).
	if !g.TryRetain() {
		f.log.Error("HTTP: the published generation was let go of before HTTP could keep it", "generation", g.Number)
		return
	}
	hg := &httpserve.Generation{
		Number:     g.Number,
		Image:      g.Image,
		ImageSize:  g.Image.Size(),
		Kernel:     g.Kernel,
		KernelSize: g.KernelSize,
		Initrd:     g.Initrd,
		InitrdSize: g.Initrd.Size(),
		Published:  time.Now(),
		Release:    g.Release,

		Took:          g.Took,
		ChunksRebuilt: g.Stats.ChunksRebuilt,
		ChunksTotal:   g.Stats.ChunksTotal,
	}
	// The initrd's parts and the kernel, named in one call (the namer
	// remembers the last call's readers).
	chunks := append(initrdChunks(g.Initrd.Parts()), httpserve.Chunk{SizeBytes: g.KernelSize, Data: g.Kernel})
	if err := f.namer.Name(chunks); err != nil {
		// Served without chunks: /boot.ipxe loads initrd.img whole.
		f.log.Error("HTTP: cannot name the initrd's chunks; boot.ipxe loads the whole initrd.img", "generation", g.Number, "err", err)
	} else {
		hg.Chunks, hg.KernelKey = chunks[:len(chunks)-1], chunks[len(chunks)-1].Key
	}
	if g.UKI != nil { // a nil *uki.Layout is not a nil io.ReaderAt
		hg.UKI, hg.UKISize = g.UKI, g.UKI.Size()
	}
	f.keep.Publish(hg)
}

// startHTTP starts the HTTP server on f.listen.
func startHTTP(f httpFlags, feed *httpFeed, d *live.Daemon, appendLine string, log *slog.Logger) (*httpserve.Server, error) {
	s, err := httpserve.New(feed.keep, httpserve.Options{Addr: f.listen, Append: appendLine, Status: d.Status}, log)
	if err != nil {
		return nil, err
	}
	if err := s.Listen(); err != nil {
		return nil, err
	}
	return s, nil
}

// stopHTTP lets the responses in flight finish, for a few seconds.
func stopHTTP(s *httpserve.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.Shutdown(ctx)
}

// initrdChunks are an initrd's parts as the HTTP server's chunks, keys to
// be named.
func initrdChunks(parts []cache.Part) []httpserve.Chunk {
	chunks := make([]httpserve.Chunk, len(parts))
	for i, p := range parts {
		chunks[i] = httpserve.Chunk{SizeBytes: p.SizeBytes, Data: p.Data}
	}
	return chunks
}
