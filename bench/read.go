package main

import (
	"context"
	"fmt"
	"os/exec"
)

// readResult is sequential read throughput in bytes per second.
type readResult struct {
	Bytes     int64   // read each time from the live image
	FileBytes int64   // read each time from the regular file
	LiveCold  samples // the first read of a new generation
	LiveWarm  samples // the second read of the same generation
	PageCache samples // a regular file already in the page cache
}

// ddRead reads n bytes of path sequentially with dd bs=1M and returns the
// throughput in bytes per second.
func ddRead(ctx context.Context, path string, n int64) (float64, error) {
	args := []string{"if=" + path, "of=/dev/null", "bs=1M", fmt.Sprintf("count=%d", n), "iflag=count_bytes"}
	var out []byte
	s, err := timeIt(func() error {
		var err error
		out, err = exec.CommandContext(ctx, "dd", args...).CombinedOutput()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("dd %v: %w\n%s", args, err, out)
	}
	return float64(n) / s, nil
}

// ddCommand is the read as the report shows it.
const ddCommand = "dd if=IMAGE of=/dev/null bs=1M count=IMAGE_SIZE iflag=count_bytes"
