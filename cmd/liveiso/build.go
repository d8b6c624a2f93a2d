package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/liveiso/liveiso/generation"
	"github.com/spf13/cobra"
)

// buildFlags are build's command line: the image, where to write it, and
// how much to log.
type buildFlags struct {
	image imageFlags
	logs  logFlags
	out   string
	uki   string
}

func newBuildCommand() *cobra.Command {
	var f buildFlags
	cmd := &cobra.Command{
		Use:   "build --rootfs DIR {-o FILE | --uki FILE} [flags]",
		Short: "write the bootable image of a rootfs directory to a file",
		Long: "Writes the bootable image of DIR to FILE: the kernel, DIR packed as the initrd,\n" +
			"isolinux for BIOS and GRUB for UEFI (behind shim for Secure Boot), hybrid so that it\n" +
			"boots from a USB stick too; with --uki, also (or only) the unified kernel image.",
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error { return runBuild(cmd, f) },
	}
	f.image.register(cmd.Flags())
	f.logs.register(cmd.Flags())
	cmd.Flags().StringVarP(&f.out, "output", "o", "", "write the image to `FILE`")
	cmd.Flags().StringVar(&f.uki, "uki", "", "write the unified kernel image (systemd-stub, kernel, command line, initrd) to `FILE`")
	return cmd
}

func runBuild(cmd *cobra.Command, f buildFlags) error {
	if f.out == "" && f.uki == "" {
		return usageError{"-o FILE (or --uki FILE) is required"}
	}
	opts, err := f.image.options()
	if err != nil {
		return err
	}
	opts.UKI = f.uki != ""
	out := f.out
	o, err := f.logs.output(false)
	if err != nil {
		return err
	}
	log := o.log

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
	defer g.Release()
	for _, w := range g.Warnings {
		log.Warn(w.Message, "source", w.Source)
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
	err = writeOutputs(ctx, out, f.uki, g)
	<-settled
	if err != nil {
		return err
	}
	s := g.Stats
	stdout := cmd.OutOrStdout()
	secureBoot := ""
	if g.SecureBoot {
		secureBoot = ", UEFI through shim (Secure Boot)"
	}
	joliet := ", Joliet " + onOff(g.Joliet)
	if out != "" {
		fmt.Fprintf(stdout, "%s: %s, %d files on the CD%s, %d rootfs entries in %d chunks (%d compressed now), initrd %s %s (%s)%s, %.2f s\n",
			out, humanBytes(g.Image.Size()), g.Files, joliet, s.Entries, s.ChunksTotal, s.ChunksRebuilt,
			humanBytes(g.Initrd.Size()), g.Compression.Compression, g.Compression.Reason, secureBoot, time.Since(start).Seconds())
	}
	if f.uki != "" {
		fmt.Fprintf(stdout, "%s: %s, unified kernel image, initrd %s %s, %.2f s\n",
			f.uki, humanBytes(g.UKI.Size()), humanBytes(g.Initrd.Size()), g.Compression.Compression, time.Since(start).Seconds())
	}
	// The boot files' warnings (Secure Boot) and the layout's (Joliet
	// names) again beside the summary: they say how the image will boot
	// and what other systems will show of it.
	for _, w := range g.Warnings {
		if w.Source == generation.WarningBoot || w.Source == generation.WarningLayout {
			fmt.Fprintf(stdout, "warning: %s\n", w.Message)
		}
	}
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

// writeOutputs writes the image to out and the UKI to uki, each when named.
func writeOutputs(ctx context.Context, out, uki string, g *generation.Generation) error {
	if out != "" {
		if err := writeImage(ctx, out, g.Image, g.Image.Size()); err != nil {
			return err
		}
	}
	if uki != "" {
		if err := writeImage(ctx, uki, g.UKI, g.UKI.Size()); err != nil {
			return err
		}
	}
	return nil
}
