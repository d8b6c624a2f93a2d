package integration

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/liveiso/liveiso/internal/testenv"
)

// runTimeout bounds a whole `liveiso run` in these tests.
const runTimeout = 5 * time.Minute

// syncBuffer is a bytes.Buffer that exec's copying goroutine writes while
// the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// liveRun is a `liveiso run` started by a test, without a terminal. Its
// TMPDIR is a directory of its own, so that every file, mount and process
// it makes names that directory and a leftover can be found.
type liveRun struct {
	cmd            *exec.Cmd
	tmp            string
	stdout, stderr syncBuffer
	done           chan struct{} // closed when run has exited; then waitErr is set
	waitErr        error
	cursor         int // stdout bytes consumed by waitLine
}

// startRun starts liveiso run with args; the test's cleanup ends it (if
// it is still running) and then checks it left nothing behind.
func startRun(t *testing.T, args ...string) *liveRun {
	t.Helper()
	bin, err := liveisoBin()
	if err != nil {
		t.Fatalf("build liveiso: %v", err)
	}
	// Short: the QMP socket's path must fit in 108 bytes.
	tmp, err := os.MkdirTemp("", "lr")
	if err != nil {
		t.Fatal(err)
	}
	r := &liveRun{tmp: tmp, done: make(chan struct{})}
	r.cmd = exec.Command(bin, append([]string{"run"}, args...)...)
	r.cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.waitErr = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			r.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-r.done:
			case <-time.After(time.Minute):
				t.Errorf("liveiso run did not exit a minute after SIGTERM")
				r.cmd.Process.Kill()
				<-r.done
			}
		}
		r.checkNothingLeft(t)
		if t.Failed() {
			t.Logf("liveiso run's stderr:\n%s", r.stderr.String())
		}
		os.RemoveAll(tmp)
	})
	return r
}

// wait waits for run to exit and returns its exit status.
func (r *liveRun) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(runTimeout):
		t.Fatalf("liveiso run still running after %v\nstderr:\n%s", runTimeout, r.stderr.String())
	}
	var ee *exec.ExitError
	if r.waitErr != nil && !errors.As(r.waitErr, &ee) {
		t.Fatalf("liveiso run: %v", r.waitErr)
	}
	return r.cmd.ProcessState.ExitCode()
}

// waitLine waits for a console line (stdout) matching re after the lines
// consumed before.
func (r *liveRun) waitLine(t *testing.T, re *regexp.Regexp) {
	t.Helper()
	deadline := time.Now().Add(bootTimeout)
	for {
		out := strings.ReplaceAll(r.stdout.String(), "\r\n", "\n")
		if _, end, ok := testenv.MatchLine(out[min(r.cursor, len(out)):], re); ok {
			r.cursor += end
			return
		}
		select {
		case <-r.done:
			t.Fatalf("liveiso run exited (%v) before a line matching %q\nstderr:\n%s\nlast console lines:\n%s",
				r.cmd.ProcessState, re, r.stderr.String(), lastLines(out, testenv.ConsoleTailLines))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line matching %q after %v\nlast console lines:\n%s", re, bootTimeout, lastLines(out, testenv.ConsoleTailLines))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitStderr waits until run has said something matching re.
func (r *liveRun) waitStderr(t *testing.T, re *regexp.Regexp) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !re.MatchString(r.stderr.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("liveiso run never said %q; stderr:\n%s", re, r.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// qemuChildren are the pids of run's QEMU processes.
func (r *liveRun) qemuChildren(t *testing.T) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
		s := string(stat)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || !strings.Contains(s[:i], "(qemu-system-x86") {
			continue
		}
		if f := strings.Fields(s[i+1:]); len(f) > 1 && f[1] == strconv.Itoa(r.cmd.Process.Pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// checkNothingLeft fails the test when a process still names run's
// temporary directory (QEMU: its QMP socket is there), something is mounted
// under it (the private mount), or anything is left in it.
func (r *liveRun) checkNothingLeft(t *testing.T) {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(r.tmp+"/")) {
			t.Errorf("process %s left running: %s", e.Name(), bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
		}
	}
	mounts, err := os.ReadFile("/proc/mounts")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(mounts), "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[1], r.tmp+"/") {
			t.Errorf("mount left behind: %s", line)
			testenv.Unmount(f[1])
		}
	}
	if left, err := os.ReadDir(r.tmp); err != nil || len(left) > 0 {
		var names []string
		for _, e := range left {
			names = append(names, e.Name())
		}
		t.Errorf("temporary files left in %s: %v (%v)", r.tmp, names, err)
	}
}

// runArgs are run's options for the fixture: its image options and TCG.
func (fx fixture) runArgs(t *testing.T, more ...string) []string {
	return append(append(fx.imageArgs(t, ""), "--accel", "tcg"), more...)
}

// liveiso run --until boots the fixture to its marker and exits 0, each
// way it can boot.
func TestRunUntil(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"bios-cd", nil},
		{"uefi-cd", []string{"--firmware", "uefi"}},
		{"bios-disk", []string{"--medium", "disk"}},
		{"direct", []string{"--direct"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t, "run "+tc.name)
			args := fx.runArgs(t, append([]string{"--until", "^" + regexp.QuoteMeta(testenv.MarkerPrefix+fx.marker) + "$", "--timeout", "120"}, tc.args...)...)
			r := startRun(t, args...)
			if code := r.wait(t); code != 0 {
				t.Fatalf("exit status %d, want 0\nstderr:\n%s\nconsole:\n%s", code, r.stderr.String(), lastLines(r.stdout.String(), testenv.ConsoleTailLines))
			}
			if !strings.Contains(r.stdout.String(), testenv.MarkerPrefix+fx.marker) {
				t.Errorf("the console on stdout lacks the marker")
			}
			if !strings.Contains(r.stderr.String(), "matched --until") {
				t.Errorf("stderr does not say --until matched:\n%s", r.stderr.String())
			}
		})
	}
}

// The loop: liveiso run without --until boots the fixture, the rootfs is
// edited, and the guest boots the new marker: with a reset of the same
// QEMU, or (--direct) a new QEMU.
func TestRunLoop(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		newQEMU bool
		says    string
	}{
		{"reset", nil, false, "resetting the guest"},
		{"direct", []string{"--direct"}, true, "restarting QEMU"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t, "loop before the edit")
			r := startRun(t, fx.runArgs(t, tc.args...)...)
			r.waitLine(t, markerLine(fx.marker))
			before := r.qemuChildren(t)
			if len(before) != 1 {
				t.Fatalf("QEMU processes of run: %v, want one", before)
			}
			writeAtomic(t, filepath.Join(fx.rootfs, "etc/marker"), []byte("loop after the edit\n"))
			r.waitLine(t, markerLine("loop after the edit"))
			r.waitStderr(t, regexp.MustCompile(`generation 2 ready in \d+ ms \(\d+ of \d+ chunks\), `+tc.says))
			after := r.qemuChildren(t)
			if len(after) != 1 {
				t.Fatalf("QEMU processes of run after the edit: %v, want one", after)
			}
			if tc.newQEMU && after[0] == before[0] {
				t.Errorf("QEMU pid %d did not change: the new generation was not booted by a new QEMU", after[0])
			}
			if !tc.newQEMU && after[0] != before[0] {
				t.Errorf("QEMU pid changed from %d to %d: the guest was not reset", before[0], after[0])
			}
			r.cmd.Process.Signal(syscall.SIGTERM)
			if code := r.wait(t); code != 128+int(syscall.SIGTERM) {
				t.Errorf("exit status after SIGTERM: %d, want %d", code, 128+int(syscall.SIGTERM))
			}
		})
	}
}

// A rootfs whose /init exits makes the kernel panic: exit 1, with the
// panic line in the console tail.
func TestRunPanic(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "panics")
	if err := os.WriteFile(filepath.Join(fx.rootfs, "init"), []byte("#!/bin/sh\necho 'init exits now'\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := startRun(t, fx.runArgs(t, "--until", "^never printed$", "--timeout", "240")...)
	code := r.wait(t)
	stderr := r.stderr.String()
	if code != 1 {
		t.Fatalf("exit status %d, want 1\nstderr:\n%s", code, stderr)
	}
	if !regexp.MustCompile(`matched --fail "(Kernel panic|Attempted to kill init)": .*Kernel panic - not syncing: Attempted to kill init`).MatchString(stderr) {
		t.Errorf("stderr does not give the panic line:\n%s", stderr)
	}
	if !strings.Contains(stderr, "--- last ") || !strings.Contains(stderr, "init exits now") {
		t.Errorf("stderr lacks the console tail:\n%s", stderr)
	}
}

// A rootfs whose /init hangs: exit 2 at the timeout, with the console tail.
func TestRunTimeout(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "hangs")
	if err := os.WriteFile(filepath.Join(fx.rootfs, "init"), []byte("#!/bin/sh\nwhile :; do sleep 1; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := startRun(t, fx.runArgs(t, "--until", "^never printed$", "--timeout", "20s")...)
	code := r.wait(t)
	stderr := r.stderr.String()
	if code != 2 {
		t.Fatalf("exit status %d, want 2\nstderr:\n%s", code, stderr)
	}
	if took := time.Since(start); took < 20*time.Second {
		t.Errorf("exited after %v, before the 20 s timeout", took)
	}
	if !strings.Contains(stderr, "timed out after 20s") || !strings.Contains(stderr, "--- last ") {
		t.Errorf("stderr does not report the timeout with the console tail:\n%s", stderr)
	}
}

// SIGINT in the middle of a boot ends the run (130), and it cleans up.
func TestRunInterrupted(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "interrupted")
	r := startRun(t, fx.runArgs(t, "--until", "^never printed$")...)
	r.waitLine(t, regexp.MustCompile(`Linux version`))
	if len(r.qemuChildren(t)) != 1 {
		t.Fatalf("no QEMU child while the kernel boots")
	}
	r.cmd.Process.Signal(syscall.SIGINT)
	if code := r.wait(t); code != 130 {
		t.Errorf("exit status after SIGINT: %d, want 130\nstderr:\n%s", code, r.stderr.String())
	}
}

// Bad input: a clear message, a non-zero exit, and nothing started.
func TestRunBadInput(t *testing.T) {
	fx := newFixture(t, "bad input")
	notMounted := t.TempDir()
	busy := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "tmpfs", busy).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { testenv.Unmount(busy) })
	noKernel := filepath.Join(t.TempDir(), "rootfs")
	if err := testenv.BuildBusyboxRootfs(noKernel, "no kernel"); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no qemu", []string{"PATH=" + t.TempDir()}, fx.runArgs(t), "qemu-system-x86_64 not found in PATH: install the Debian package qemu-system-x86"},
		{"no ovmf", nil, fx.runArgs(t, "--firmware", "uefi", "--ovmf-code", missing+"/CODE.fd", "--ovmf-vars", missing+"/VARS.fd"),
			"--firmware uefi: no OVMF firmware (looked for " + missing + "/CODE.fd + " + missing + "/VARS.fd): install the Debian package ovmf"},
		{"direct without kernel", nil, []string{"--rootfs", noKernel, "--accel", "tcg", "--direct", "--cache-dir", t.TempDir()},
			"--direct: no kernel: " + noKernel + "/boot has no regular file vmlinuz-*"},
		{"busy mount point", nil, fx.runArgs(t, "--mount", busy), "--mount: busy: " + busy + " is already a mount point"},
		{"attach a plain directory", nil, []string{"--attach", notMounted, "--accel", "tcg"}, "--attach: " + notMounted + " is not a live mount"},
		{"bad regex", nil, fx.runArgs(t, "--until", "(unclosed"), "--until: error parsing regexp"},
		{"mount and attach", nil, fx.runArgs(t, "--mount", notMounted, "--attach", notMounted), "--mount and --attach exclude each other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin, err := liveisoBin()
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, append([]string{"run"}, tc.args...)...)
			cmd.Env = append(os.Environ(), tc.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			start := time.Now()
			err = cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 4 {
				t.Errorf("exit: %v, want status 4", err)
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr:\n%s\nwant it to contain %q", stderr.String(), tc.want)
			}
			if strings.Contains(stderr.String(), "booting it") {
				t.Errorf("a guest was started")
			}
			t.Logf("%s in %v", strings.TrimSpace(stderr.String()), time.Since(start).Round(time.Millisecond))
		})
	}
}

// --attach boots the image of a running liveiso mount, sees its new
// generations (polling status.json), and leaves the mount running.
func TestRunAttach(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "attach before")
	m := startMount(t, fx, "", "", "")
	r := startRun(t, "--attach", m.dir, "--accel", "tcg", "--until", "^"+regexp.QuoteMeta(testenv.MarkerPrefix)+"attach after$", "--watch", "--timeout", "240")
	r.waitLine(t, markerLine(fx.marker))
	writeAtomic(t, filepath.Join(fx.rootfs, "etc/marker"), []byte("attach after\n"))
	if code := r.wait(t); code != 0 {
		t.Fatalf("exit status %d, want 0\nstderr:\n%s", code, r.stderr.String())
	}
	if !strings.Contains(r.stderr.String(), "generation 2 ready") {
		t.Errorf("run did not report generation 2:\n%s", r.stderr.String())
	}
	if mounted, err := testenv.IsMounted(m.dir); err != nil || !mounted {
		t.Errorf("the attached mount is gone after run: mounted %v, %v", mounted, err)
	}
	if _, ok := m.status(); !ok {
		t.Error("the attached mount's status.json cannot be read after run")
	}
}
