package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/liveiso/liveiso/live"
)

func runStatus(args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print status.json as it is")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: liveiso status [--json] MOUNTPOINT\n\nShows what a live mount is serving.\n")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"want exactly one MOUNTPOINT"}
	}
	path := filepath.Join(pos[0], "status.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w (is a liveiso mount running there?)", err)
	}
	if *asJSON {
		_, err := os.Stdout.Write(raw)
		return err
	}
	var s live.Status
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	fmt.Printf("rootfs:      %s\n", s.Rootfs)
	fmt.Printf("state:       %s\n", s.State)
	if s.Error != "" {
		fmt.Printf("last error:  %s\n", s.Error)
	}
	ready := s.ReadyAt
	if t, err := time.Parse(time.RFC3339Nano, s.ReadyAt); err == nil {
		ready = fmt.Sprintf("%s (%s ago)", t.Local().Format("2006-01-02 15:04:05"), time.Since(t).Round(time.Second))
	}
	fmt.Printf("generation:  %d, ready %s, built in %d ms\n", s.Generation, ready, s.BuildMs)
	fmt.Printf("image:       %s of %s capacity", humanBytes(s.ImageSize), humanBytes(s.Capacity))
	if s.CapacityGrown > 0 {
		fmt.Printf(" (grew %d times: reopen the image in QEMU or losetup)", s.CapacityGrown)
	}
	fmt.Println()
	fmt.Printf("initrd:      %s, %d entries in %d chunks, %d rebuilt last time, %d racy (not cached yet)\n",
		humanBytes(s.InitrdSize), s.Entries, s.ChunksTotal, s.ChunksRebuilt, s.ChunksRacy)
	for _, w := range s.Warnings {
		fmt.Printf("warning:     %s\n", w)
	}
	if s.State == live.StateError {
		return fmt.Errorf("the last build failed; still serving generation %d", s.Generation)
	}
	return nil
}
