package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/liveiso/liveiso/live"
	"github.com/liveiso/liveiso/vfs"
)

// attachPoll is how often run reads status.json of an attached mount. The
// daemon is another process, and FUSE delivers no inotify events for
// changes its server makes, so run polls; a read of status.json costs a
// few microseconds, and 100 ms is little beside a boot.
const attachPoll = 100 * time.Millisecond

// readStatus reads MOUNTPOINT/status.json.
func readStatus(mountpoint string) (live.Status, error) {
	var st live.Status
	path := filepath.Join(mountpoint, "status.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// checkAttach makes sure that mountpoint is a running liveiso mount with a
// generation to boot.
func checkAttach(mountpoint string) error {
	mounted, err := vfs.IsMounted(mountpoint)
	if err != nil {
		return fmt.Errorf("--attach: %w", err)
	}
	if !mounted {
		return fmt.Errorf("--attach: %s is not a live mount (nothing is mounted there; start 'liveiso mount --rootfs DIR %s' first)", mountpoint, mountpoint)
	}
	st, err := readStatus(mountpoint)
	if err != nil {
		return fmt.Errorf("--attach: %s is not a live mount: %w", mountpoint, err)
	}
	if st.Generation == 0 {
		return fmt.Errorf("--attach: the live mount at %s has no generation yet (state %s %s)", mountpoint, st.State, st.Error)
	}
	return nil
}

// isStale reports whether err is that of a FUSE mount whose server died.
func isStale(err error) bool {
	return errors.Is(err, syscall.ENOTCONN) || errors.Is(err, syscall.ECONNABORTED)
}

// pollStatus reports every new generation of the mount at mountpoint
// after the generation after, until ctx ends. It sends on failed when the
// mount has gone.
func pollStatus(ctx context.Context, mountpoint string, after uint64, ready func(live.Status), failed chan<- error) {
	t := time.NewTicker(attachPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, err := readStatus(mountpoint)
		if err != nil {
			if mounted, _ := vfs.IsMounted(mountpoint); !mounted || isStale(err) {
				failed <- fmt.Errorf("the live mount at %s went away: %w", mountpoint, err)
				return
			}
			continue // a status.json caught while it is replaced
		}
		if st.Generation > after {
			after = st.Generation
			ready(st)
		}
	}
}
