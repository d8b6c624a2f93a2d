package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/liveiso/liveiso/internal/testenv"
	"github.com/liveiso/liveiso/live"
)

// liveisoTool runs the liveiso binary built from this repository.
type liveisoTool struct {
	bin    string
	kernel string // the test kernel: the trees have none of their own
}

// buildLiveiso compiles cmd/liveiso into dir.
func buildLiveiso(ctx context.Context, dir string) (string, error) {
	root, err := testenv.RepoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "liveiso")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/liveiso")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/liveiso: %w\n%s", err, out)
	}
	return bin, nil
}

// imageArgs are the options both commands get: the tree, the test kernel
// on the serial console, and the chunk cache directory.
func (l liveisoTool) imageArgs(rootfs, cacheDir string) []string {
	return []string{"--rootfs", rootfs, "--kernel", l.kernel, "--append", testenv.KernelArgs, "--cache-dir", cacheDir}
}

// buildCommand is `liveiso build` with more options as the report shows it.
func buildCommand(cache string, more ...string) string {
	opts := ""
	if len(more) > 0 {
		opts = " " + strings.Join(more, " ")
	}
	return "liveiso build --rootfs ROOTFS --kernel vmlinuz --append '" + testenv.KernelArgs +
		"' --cache-dir " + cache + opts + " -o image.iso"
}

// build runs liveiso build with more options after imageArgs and returns
// its wall time and the image's size.
func (l liveisoTool) build(ctx context.Context, rootfs, out, cacheDir string, more ...string) (float64, int64, error) {
	args := append(append([]string{"build", "-o", out, "--quiet"}, l.imageArgs(rootfs, cacheDir)...), more...)
	var output []byte
	seconds, err := timeIt(func() error {
		var err error
		output, err = exec.CommandContext(ctx, l.bin, args...).CombinedOutput()
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("liveiso %s: %w\n%s", strings.Join(args, " "), err, output)
	}
	return seconds, sizeOf(out), nil
}

// daemon is a running `liveiso mount`.
type daemon struct {
	mnt     string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{}
}

// mount starts liveiso mount of rootfs on mnt and waits for its first
// generation.
func (l liveisoTool) mount(rootfs, mnt, cacheDir, logPath string, more ...string) (*daemon, error) {
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	args := append(append([]string{"mount"}, l.imageArgs(rootfs, cacheDir)...), more...)
	d := &daemon{mnt: mnt, logPath: logPath, exited: make(chan struct{})}
	d.cmd = exec.Command(l.bin, append(args, mnt)...)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { d.cmd.Wait(); close(d.exited) }()
	if _, err := d.waitFor(5*time.Minute, func(s live.Status) bool { return s.Generation >= 1 && s.State == live.StateReady }); err != nil {
		d.stop()
		return nil, fmt.Errorf("liveiso mount %s: %w", rootfs, err)
	}
	return d, nil
}

func (d *daemon) pid() int { return d.cmd.Process.Pid }

func (d *daemon) image() string { return filepath.Join(d.mnt, "image.iso") }

// status reads status.json; ok is false while it cannot be read.
func (d *daemon) status() (live.Status, bool) {
	var s live.Status
	b, err := os.ReadFile(filepath.Join(d.mnt, "status.json"))
	if err != nil || json.Unmarshal(b, &s) != nil {
		return s, false
	}
	return s, true
}

// statusPoll is how often waitFor reads status.json. Edit-to-ready is
// taken from the generation's ready_at (the daemon's clock when it
// published it), so the period sets only how soon the bench notices; the
// reads are not free: polled every 2 ms, the daemon's build of a one-file
// edit on the Debian tree took 25-30 ms, every 10 ms 20-23 ms; on the
// 200k-file tree the edit was ready in a median 64 ms with reads every
// 10 ms and 47-52 ms with reads every 50 ms, the FUSE requests taking the
// cores from the build (MEASUREMENTS.md, bench).
const statusPoll = 50 * time.Millisecond

// waitFor polls status.json until cond holds and returns that status.
func (d *daemon) waitFor(timeout time.Duration, cond func(live.Status) bool) (live.Status, error) {
	deadline := time.Now().Add(timeout)
	for {
		s, ok := d.status()
		if ok && cond(s) {
			return s, nil
		}
		if ok && s.State == live.StateError {
			return s, fmt.Errorf("build failed: %s", s.Error)
		}
		select {
		case <-d.exited:
			return s, fmt.Errorf("liveiso mount exited:\n%s", d.logTail())
		default:
		}
		if time.Now().After(deadline) {
			return s, fmt.Errorf("timed out after %v; status %+v\n%s", timeout, s, d.logTail())
		}
		time.Sleep(statusPoll)
	}
}

// settle waits until no generation has started for quiet, so that the next
// edit starts from a daemon at rest, and returns the status then.
func (d *daemon) settle(quiet time.Duration) (live.Status, error) {
	last, _ := d.status()
	since := time.Now()
	for time.Since(since) < quiet {
		time.Sleep(20 * time.Millisecond)
		s, ok := d.status()
		if !ok {
			continue
		}
		if s.Generation != last.Generation || s.State != live.StateReady {
			last, since = s, time.Now()
		}
	}
	return last, nil
}

func (d *daemon) logTail() string {
	b, _ := os.ReadFile(d.logPath)
	return lastLines(b, 20)
}

// stop sends SIGTERM, as Ctrl-C would, and waits for the daemon to unmount
// and exit; a mount left behind is cleared.
func (d *daemon) stop() error {
	var err error
	select {
	case <-d.exited:
	default:
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(30 * time.Second):
			err = errors.New("liveiso mount did not exit 30 s after SIGTERM")
			d.cmd.Process.Kill()
			<-d.exited
		}
	}
	return errors.Join(err, testenv.Unmount(d.mnt))
}
