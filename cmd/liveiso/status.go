package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/liveiso/liveiso/live"
	"github.com/spf13/cobra"
)

func newStatusCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [flags] MOUNTPOINT",
		Short: "show what a live mount is serving",
		Args:  exactArgs(1, "one MOUNTPOINT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStatus(cmd.OutOrStdout(), args[0], asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print status.json as it is")
	return cmd
}

func runStatus(out io.Writer, mountpoint string, asJSON bool) error {
	path := filepath.Join(mountpoint, "status.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w (is a liveiso mount running there?)", err)
	}
	if asJSON {
		_, err := out.Write(raw)
		return err
	}
	var s live.Status
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	fmt.Fprintf(out, "rootfs:      %s\n", s.Rootfs)
	fmt.Fprintf(out, "state:       %s\n", s.State)
	if s.Error != "" {
		fmt.Fprintf(out, "last error:  %s\n", s.Error)
	}
	ready := s.ReadyAt
	if t, err := time.Parse(time.RFC3339Nano, s.ReadyAt); err == nil {
		ready = fmt.Sprintf("%s (%s ago)", t.Local().Format("2006-01-02 15:04:05"), time.Since(t).Round(time.Second))
	}
	fmt.Fprintf(out, "generation:  %d, ready %s, built in %d ms\n", s.Generation, ready, s.BuildMs)
	fmt.Fprintf(out, "image:       %s of %s capacity", humanBytes(s.ImageSize), humanBytes(s.Capacity))
	if s.CapacityGrown > 0 {
		fmt.Fprintf(out, " (grew %d times: reopen the image in QEMU or losetup)", s.CapacityGrown)
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "initrd:      %s, %d entries in %d chunks, %d rebuilt last time, %d racy (not cached yet)\n",
		humanBytes(s.InitrdSize), s.Entries, s.ChunksTotal, s.ChunksRebuilt, s.ChunksRacy)
	if s.Compression != "" {
		fmt.Fprintf(out, "compression: %s (%s)\n", s.Compression, s.CompressionReason)
	}
	fmt.Fprintf(out, "builds:      %d started, %d cancelled for a newer edit, %d failed; %d generations published\n",
		s.Started, s.Cancelled, s.Failed, s.Published)
	if s.UKISize > 0 {
		fmt.Fprintf(out, "uki.efi:     %s\n", humanBytes(s.UKISize))
	}
	if s.SecureBoot {
		fmt.Fprintf(out, "secure boot: UEFI boots through shim\n")
	}
	fmt.Fprintf(out, "joliet:      %s\n", onOff(s.Joliet))
	for _, w := range s.Warnings {
		fmt.Fprintf(out, "warning:     %s\n", w)
	}
	if s.State == live.StateError {
		return fmt.Errorf("the last build failed; still serving generation %d", s.Generation)
	}
	return nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
