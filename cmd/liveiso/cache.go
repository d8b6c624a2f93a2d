package main

import (
	"fmt"
	"io"

	"github.com/liveiso/liveiso/cache"
	"github.com/spf13/cobra"
)

// cacheFlags are the cache command's: which directory, and the size to
// trim it to ("" shows it only).
type cacheFlags struct {
	dir, trim string
}

func newCacheCommand() *cobra.Command {
	var f cacheFlags
	cmd := &cobra.Command{
		Use:   "cache [--cache-dir DIR] [--trim SIZE]",
		Short: "show the size of the chunk cache, or trim it",
		Long: "Shows how much the chunk cache holds and how much of it the live liveiso processes\n" +
			"using it pin; with --trim, first removes least recently used chunks no live process\n" +
			"uses until the cache holds SIZE or less. Builds and mounts trim it to --cache-size\n" +
			"themselves.",
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error { return runCache(cmd.OutOrStdout(), f) },
	}
	cmd.Flags().StringVar(&f.dir, "cache-dir", "", "`DIR` of the chunk cache (default $XDG_CACHE_HOME/liveiso)")
	cmd.Flags().StringVar(&f.trim, "trim", "", "trim the cache to `SIZE`, like 1G (0 removes every chunk no live process uses)")
	return cmd
}

func runCache(out io.Writer, f cacheFlags) error {
	dir := f.dir
	if dir == "" {
		d, err := cache.DefaultCacheDir()
		if err != nil {
			return fmt.Errorf("cache directory: %w (pass --cache-dir)", err)
		}
		dir = d
	}
	var u cache.DiskUsage
	if f.trim != "" {
		limit := int64(0)
		if f.trim != "0" {
			n, err := parseSize(f.trim)
			if err != nil {
				return usageError{"--trim: " + err.Error()}
			}
			limit = n
		}
		res, err := cache.Trim(dir, limit)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "removed:   %d chunks, %s", res.Removed, humanBytes(res.RemovedBytes))
		if res.Reaped > 0 {
			fmt.Fprintf(out, "; the pins of %d dead processes", res.Reaped)
		}
		fmt.Fprintln(out)
		u = res.After
	} else {
		var err error
		if u, err = cache.Usage(dir); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "cache:     %s\n", dir)
	fmt.Fprintf(out, "size:      %s in %d chunks\n", humanBytes(u.SizeBytes), u.Members)
	fmt.Fprintf(out, "in use:    %s in %d chunks, by %d live processes\n", humanBytes(u.PinnedBytes), u.PinnedMembers, u.Processes)
	return nil
}
