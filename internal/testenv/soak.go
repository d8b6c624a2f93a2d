package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/liveiso/liveiso/internal/procfs"

	"github.com/liveiso/liveiso/live"
)

// The soak: a `liveiso mount` left running while a tree is edited, as a
// user leaves it for days (issue 16). make bench runs the long one
// (bench/soak.go), make test a short one (TestSoakShort); both check the
// same things at the end.

// SoakOptions say what the soak does.
type SoakOptions struct {
	Bin      string   // the liveiso binary
	Rootfs   string   // the tree; the soak edits files of its own in Rootfs/soak-edits, removed at the end
	Kernel   string   // --kernel
	Args     []string // more mount options (--cache-size, --cache-memory)
	Env      []string // more environment for the daemon (GOMEMLIMIT)
	CacheDir string   // --cache-dir: its size is measured
	Work     string   // scratch directory: the mount point, the log, the copies

	Edits    int   // one-file edits, each waited for until its generation is ready
	BigEvery int   // every BigEvery-th edit rewrites the big file instead
	BigBytes int64 // size of the big file (random bytes: every rewrite is a new member)
	// BigSettle is how old the big file must be before the last one-file
	// edit ahead of its next rewrite: past the racy window (cache.
	// RacyWindow), so that edit's Pack re-reads the big file and stores its
	// member, and every version of it reaches the disk store. 0: no wait.
	BigSettle   time.Duration
	CopyEvery   int // a full cp of image.iso starts every CopyEvery edits, while the edits go on
	ProbeEvery  int // the handle held open across the run reads sector 16 every ProbeEvery edits
	SampleEvery int // disk, fds and RSS are recorded every SampleEvery edits

	Logf func(format string, args ...any) // progress; nil: none
}

// SoakSample is the daemon's footprint after an edit.
type SoakSample struct {
	Edit       int
	Generation uint64
	DiskBytes  int64 // of the cache directory: every file once, however many links it has
	FDs        int   // entries in /proc/PID/fd
	RSSBytes   int64 // VmRSS: swings with the Go collector's cycle
	PeakBytes  int64 // VmHWM: the most RSS so far
}

// SoakResult is what a soak saw.
type SoakResult struct {
	Samples   []SoakSample
	Copies    int      // full copies of image.iso made and checked
	Probes    int      // reads of sector 16 through the long-open handle
	Problems  []string // a copy not whole, a probe that did not read a volume descriptor
	LogErrors []string // lines of the daemon's log at level ERROR
	// Trims and TrimmedBytes count the daemon's trims of the cache
	// directory that removed something ("trimmed cache" in its log): a
	// store trims only once it has grown past --cache-size.
	Trims        int
	TrimmedBytes int64
	Took         time.Duration
	EditsPerS    float64
}

// Soak runs the soak. Its error is a failure to run it at all; what it
// found is in the result.
func Soak(ctx context.Context, o SoakOptions) (*SoakResult, error) {
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	edits := filepath.Join(o.Rootfs, "soak-edits")
	if err := os.MkdirAll(edits, 0o755); err != nil {
		return nil, err
	}
	defer os.RemoveAll(edits)
	rng := rand.New(rand.NewChaCha8([32]byte{16}))
	big := filepath.Join(edits, "big.bin")
	bigData := make([]byte, o.BigBytes)
	rewriteBig := func() error {
		for i := range bigData {
			bigData[i] = byte(rng.Uint32())
		}
		return writeReplacing(big, bigData)
	}
	if err := rewriteBig(); err != nil {
		return nil, err
	}
	bigAt := time.Now() // the big file's ctime is no later

	mnt := filepath.Join(o.Work, "mnt")
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		return nil, err
	}
	logPath := filepath.Join(o.Work, "mount.log")
	logf2, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf2.Close()
	args := append([]string{"mount", "--rootfs", o.Rootfs, "--kernel", o.Kernel, "--append", KernelArgs,
		"--cache-dir", o.CacheDir}, o.Args...)
	cmd := exec.Command(o.Bin, append(args, mnt)...)
	cmd.Stdout, cmd.Stderr = logf2, logf2
	cmd.Env = append(os.Environ(), o.Env...)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	defer func() {
		select {
		case <-exited:
		default:
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				<-exited
			}
		}
		Unmount(mnt)
	}()
	status := func() (live.Status, bool) {
		var s live.Status
		b, err := os.ReadFile(filepath.Join(mnt, "status.json"))
		if err != nil || json.Unmarshal(b, &s) != nil {
			return s, false
		}
		return s, true
	}
	waitNewer := func(gen uint64) (live.Status, error) {
		deadline := time.Now().Add(2 * time.Minute)
		for {
			if s, ok := status(); ok && s.Generation > gen && s.State == live.StateReady {
				return s, nil
			}
			select {
			case <-exited:
				return live.Status{}, fmt.Errorf("liveiso mount exited:\n%s", tail(logPath, 20))
			case <-ctx.Done():
				return live.Status{}, ctx.Err()
			default:
			}
			if time.Now().After(deadline) {
				s, _ := status()
				return s, fmt.Errorf("no generation after %d within 2 minutes; status %+v\n%s", gen, s, tail(logPath, 20))
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	cur, err := waitNewer(0)
	if err != nil {
		return nil, err
	}
	pid := cmd.Process.Pid

	// The handle a running QEMU would hold, opened once for the whole run.
	held, err := os.Open(filepath.Join(mnt, "image.iso"))
	if err != nil {
		return nil, err
	}
	defer held.Close()

	res := &SoakResult{}
	var mu sync.Mutex // res.Problems, res.Copies: the copier adds to them
	problem := func(format string, args ...any) {
		mu.Lock()
		res.Problems = append(res.Problems, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	probe := func(edit int) {
		b := make([]byte, 2048)
		if _, err := held.ReadAt(b, 16*2048); err != nil {
			problem("edit %d: read sector 16 of the held image.iso: %v", edit, err)
			return
		}
		res.Probes++
		if !bytes.Equal(b[:6], []byte("\x01CD001")) {
			problem("edit %d: sector 16 of the held image.iso is not a primary volume descriptor: % x", edit, b[:8])
		}
	}
	copying := make(chan struct{}, 1) // one copy at a time
	var copies sync.WaitGroup
	startCopy := func(edit int) {
		copying <- struct{}{}
		copies.Add(1)
		go func() {
			defer func() { <-copying; copies.Done() }()
			dst := filepath.Join(o.Work, fmt.Sprintf("copy-%d.iso", edit))
			defer os.Remove(dst)
			if out, err := exec.CommandContext(ctx, "cp", filepath.Join(mnt, "image.iso"), dst).CombinedOutput(); err != nil {
				problem("edit %d: cp image.iso: %v: %s", edit, err, out)
				return
			}
			if err := InitrdUnpacks(ctx, dst, o.Work); err != nil {
				problem("edit %d: the copy of image.iso: %v", edit, err)
				return
			}
			mu.Lock()
			res.Copies++
			mu.Unlock()
		}()
	}
	sample := func(edit int) error {
		disk, err := dirBytes(o.CacheDir)
		if err != nil {
			return err
		}
		fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err != nil {
			return err
		}
		rss, err := procfs.StatusBytes(pid, "VmRSS")
		if err != nil {
			return err
		}
		peak, err := procfs.StatusBytes(pid, "VmHWM")
		if err != nil {
			return err
		}
		res.Samples = append(res.Samples, SoakSample{Edit: edit, Generation: cur.Generation, DiskBytes: disk, FDs: len(fds), RSSBytes: rss, PeakBytes: peak})
		logf("soak: edit %d, generation %d: cache %d MiB, %d fds, RSS %d MiB, peak RSS %d MiB", edit, cur.Generation, disk>>20, len(fds), rss>>20, peak>>20)
		return nil
	}

	probe(0)
	if err := sample(0); err != nil {
		return nil, err
	}
	start := time.Now()
	for i := 1; i <= o.Edits; i++ {
		if i%o.BigEvery == 0 {
			err = rewriteBig()
			bigAt = time.Now()
		} else {
			if (i+1)%o.BigEvery == 0 {
				time.Sleep(time.Until(bigAt.Add(o.BigSettle)))
			}
			p := filepath.Join(edits, fmt.Sprintf("file-%02d.txt", i%50))
			err = writeReplacing(p, fmt.Appendf(nil, "soak edit %d\n%s", i, strings.Repeat("liveiso soak\n", 1+i%97)))
		}
		if err != nil {
			return nil, err
		}
		if cur, err = waitNewer(cur.Generation); err != nil {
			return nil, fmt.Errorf("edit %d: %w", i, err)
		}
		if i%o.ProbeEvery == 0 {
			probe(i)
		}
		if i%o.CopyEvery == 0 {
			startCopy(i)
		}
		if i%o.SampleEvery == 0 {
			if err := sample(i); err != nil {
				return nil, err
			}
		}
	}
	res.Took = time.Since(start)
	res.EditsPerS = float64(o.Edits) / res.Took.Seconds()
	copies.Wait()
	// The end figures are of a daemon at rest, after the last copy's reads.
	if n := len(res.Samples); res.Samples[n-1].Edit == o.Edits {
		res.Samples = res.Samples[:n-1]
	}
	if err := sample(o.Edits); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "level=ERROR") {
			res.LogErrors = append(res.LogErrors, line)
		}
		if n := logInt(line, "removed_bytes"); n > 0 && strings.Contains(line, `msg="trimmed cache"`) {
			res.Trims++
			res.TrimmedBytes += n
		}
	}
	return res, nil
}
