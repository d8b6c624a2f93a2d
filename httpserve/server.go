package httpserve

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// DefaultAddr is where the server listens unless told otherwise: loopback
// only, because the image holds every file of the rootfs (shadow files
// included).
const DefaultAddr = "127.0.0.1:8080"

const (
	// readHeaderTimeout and idleTimeout make a slow or silent client cost a
	// connection for seconds, not for ever.
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
	// stallTimeout ends a response whose client has taken nothing for this
	// long: a stuck reader must not hold a generation (and its files) for
	// ever. A whole download may take as long as it needs; each write of
	// it has this long.
	stallTimeout = time.Minute
)

// Options configure the server.
type Options struct {
	Addr   string        // listen address; "" means DefaultAddr
	Append string        // the kernel command line boot.ipxe passes (after initrd=initrd.img)
	Status func() []byte // the contents of status.json; nil serves {}
	// Run is the token in every generation URL of this run (see the
	// package doc); "" draws a random one. Tests set it.
	Run string
}

// Server is the HTTP side of a live image.
type Server struct {
	gens    Generations
	opts    Options
	log     *slog.Logger
	http    *http.Server
	ln      net.Listener
	clients clientLog
	stall   time.Duration // stallTimeout; tests shorten it

	namer      ChunkNamer
	chunks     chunkIndex
	metrics    metrics
	fleet      fleet
	capacities map[string]*capacity // of the stable files
}

// New makes a server; ServeHTTP answers at once, Listen also serves a
// socket.
func New(gens Generations, opts Options, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if opts.Run == "" {
		b := make([]byte, runTokenBytes)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("run token: %w", err)
		}
		opts.Run = hex.EncodeToString(b)
	}
	if !validRun(opts.Run) {
		return nil, fmt.Errorf("run token %q: want %d hex digits", opts.Run, 2*runTokenBytes)
	}
	s := &Server{gens: gens, opts: opts, log: log, stall: stallTimeout, capacities: make(map[string]*capacity)}
	for name := range stableTypes {
		s.capacities[name] = &capacity{}
	}
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return s, nil
}

// Listen binds Options.Addr and serves it until Shutdown.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.opts.Addr, err)
	}
	s.ln = ln
	addr := ln.Addr().(*net.TCPAddr)
	if addr.IP.IsLoopback() {
		s.log.Info("serving over HTTP, to this machine only", "url", s.URL())
	} else {
		s.log.Warn("serving over HTTP beyond this machine: everyone who reaches this address can read every file of the rootfs",
			"url", s.URL(), "addr", addr.String())
	}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("HTTP server stopped", "err", err)
		}
	}()
	return nil
}

// URL is the server's base URL, "http://HOST:PORT/", after Listen.
func (s *Server) URL() string {
	if s.ln == nil {
		return ""
	}
	return "http://" + s.ln.Addr().String() + "/"
}

// Shutdown stops accepting and waits (until ctx ends) for responses in
// flight, then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	if err != nil {
		s.http.Close()
	}
	return err
}
