package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/liveiso/liveiso/generation"
)

func runBuild(args []string) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	var img imageFlags
	var logs logFlags
	var out string
	img.register(fs)
	logs.register(fs)
	fs.StringVar(&out, "o", "", "write the image to `FILE` (required)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: liveiso build --rootfs DIR -o FILE [options]\n\nWrites the bootable image of DIR to FILE.\n\nOptions:\n")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	if out == "" {
		return usageError{"-o FILE is required"}
	}
	opts, err := img.options()
	if err != nil {
		return err
	}
	log := logs.logger()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	var progress progressLine
	opts.Initramfs.Progress = progress.set
	b, err := generation.NewBuilder(opts, log)
	if err != nil {
		return err
	}
	defer b.Close()

	done := progress.show("packing "+opts.Rootfs, start)
	g, err := b.Build(ctx, nil)
	done()
	if err != nil {
		return err
	}
	for _, w := range g.Stats.Warnings {
		log.Warn(w)
	}
	// The chunks of files changed within the racy window (a tree made just
	// before) are cached only once they settle: settle them while the image
	// is written, so that the next build or mount of the tree finds them.
	// That waits out at most the rest of the window, and only then.
	settled := make(chan struct{})
	go func() {
		defer close(settled)
		if g.Stats.ChunksRacy > 0 {
			b.Settle(ctx) // what it could not settle is compressed again next time
		}
	}()
	err = writeImage(ctx, out, g.Image, g.Image.Size())
	<-settled
	if err != nil {
		return err
	}
	s := g.Stats
	fmt.Printf("%s: %s, %d files on the CD, %d rootfs entries in %d chunks (%d compressed now), initrd %s, %.2f s\n",
		out, humanBytes(g.Image.Size()), g.Files, s.Entries, s.ChunksTotal, s.ChunksRebuilt,
		humanBytes(g.Initrd.Size()), time.Since(start).Seconds())
	return nil
}

// progressLine is the state of a long build, for a line on the terminal.
type progressLine struct {
	doneBytes, totalBytes atomic.Int64
}

// set records the packer's progress; it is the cache's Progress callback.
func (p *progressLine) set(done, total int64) {
	p.doneBytes.Store(done)
	p.totalBytes.Store(total)
}

// show prints what is being done, how far it is and the time it has taken,
// once a second, while stderr is a terminal. It returns the function that
// stops it and clears the line.
func (p *progressLine) show(what string, start time.Time) func() {
	fi, err := os.Stderr.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return func() {}
	}
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				fmt.Fprint(os.Stderr, "\r\033[K")
				return
			case <-t.C:
				line := fmt.Sprintf("%s: %ds", what, int(time.Since(start).Seconds()))
				if total := p.totalBytes.Load(); total > 0 {
					done := p.doneBytes.Load()
					line = fmt.Sprintf("%s: compressed %s of %s (%d%%), %ds", what,
						humanBytes(done), humanBytes(total), done*100/total, int(time.Since(start).Seconds()))
				}
				fmt.Fprint(os.Stderr, "\r\033[K"+line)
			}
		}
	}()
	return func() { close(stop); <-finished }
}
