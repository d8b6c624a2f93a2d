package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// newManCommand writes the man pages, from the same definitions as the
// help; hidden, since only packagers and `make man` need it.
func newManCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "man DIR",
		Short:  "write the man pages (liveiso.1, liveiso-build.1, ...) into DIR",
		Hidden: true,
		Args:   exactArgs(1, "one DIR"),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			// The date is SOURCE_DATE_EPOCH's when set (cobra/doc reads it).
			header := &doc.GenManHeader{Section: "1", Source: "liveiso", Manual: "liveiso manual"}
			if err := doc.GenManTree(cmd.Root(), header, dir); err != nil {
				return fmt.Errorf("man pages in %s: %w", dir, err)
			}
			return nil
		},
	}
}
