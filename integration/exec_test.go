package integration

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/liveiso/liveiso/internal/testenv"
)

// execArgs are run's options for the fixture with the agent: the guest
// stays up (testenv.ArgWait) for the command.
func (fx fixture) execArgs(t *testing.T, more ...string) []string {
	return append(append(fx.imageArgs(t, testenv.ArgWait), "--accel", "tcg", "--timeout", "900"), more...)
}

// execWait bounds a boot and its command under TCG on a busy machine
// (boots here have taken four minutes under a load of 60).
const execWait = 15 * time.Minute

// --exec runs the command in the guest: its stdout is run's stdout, its
// stderr apart, its status run's; a command killed by SIGKILL gives 137.
func TestRunExec(t *testing.T) {
	for _, tc := range []struct {
		name           string
		args           []string
		status         int
		stdout, stderr string
	}{
		{"status", []string{"--exec", "cat /etc/marker; echo to-stderr >&2; exit 7"}, 7, "exec status\n", "to-stderr\n"},
		{"sigkill direct", []string{"--direct", "--exec", "kill -9 $$"}, 137, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fx := newFixture(t, "exec "+tc.name)
			consoleLog := t.TempDir() + "/console.log"
			r := startRun(t, fx.execArgs(t, append([]string{"--console-log", consoleLog}, tc.args...)...)...)
			code := r.waitFor(t, execWait)
			if code != tc.status {
				t.Fatalf("exit status %d, want %d\nstderr:\n%s", code, tc.status, r.stderr.String())
			}
			if got := r.stdout.String(); got != tc.stdout {
				t.Errorf("stdout %q, want %q (the command's alone)", got, tc.stdout)
			}
			if !strings.Contains(r.stderr.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, r.stderr.String())
			}
			// The command runs as soon as the agent answers, maybe before
			// the rootfs's init has printed anything: the kernel's line
			// shows where the console went.
			if !strings.Contains(string(readFile(t, consoleLog)), "Run /liveiso-agent as init process") {
				t.Errorf("the console log lacks the kernel's line that starts the agent")
			}
		})
	}
}

// 20 MB of output arrive whole and in order on stdout, and stderr's lines
// arrive on stderr alone, both written at once.
func TestRunExecLargeOutput(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "exec large output")
	const lines = 2700000 // seq 1 2700000: 20.5 MB
	r := startRun(t, fx.execArgs(t, "--timeout", "1200", "--exec",
		// A background job's stdin is /dev/null, which the rootfs's init
		// mounts while the agent already runs the command.
		fmt.Sprintf("while [ ! -e /dev/null ]; do sleep 0.1; done; seq 1 %d & i=0; while [ $i -lt 200 ]; do echo err$i >&2; i=$((i+1)); done; wait", lines))...)
	if code := r.waitFor(t, 20*time.Minute); code != 0 {
		t.Fatalf("exit status %d\nstderr:\n%s", code, r.stderr.String())
	}
	var want bytes.Buffer
	for i := 1; i <= lines; i++ {
		fmt.Fprintf(&want, "%d\n", i)
	}
	got := r.stdout.String()
	if got != want.String() {
		i := 0
		for i < len(got) && i < want.Len() && got[i] == want.Bytes()[i] {
			i++
		}
		t.Errorf("stdout: %d bytes, want %d; they differ from byte %d", len(got), want.Len(), i)
	}
	var errLines []string
	for _, l := range strings.Split(r.stderr.String(), "\n") {
		if strings.HasPrefix(l, "err") {
			errLines = append(errLines, l)
		}
	}
	if len(errLines) != 200 || errLines[0] != "err0" || errLines[199] != "err199" {
		t.Errorf("stderr has %d err lines, want err0 to err199 in order", len(errLines))
	}
}

// A tree copied in, changed by the command and copied out keeps its bytes,
// modes and modification times.
func TestRunExecCopy(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "exec copy")
	src := filepath.Join(t.TempDir(), "tree")
	mtime := time.Date(2020, 1, 2, 3, 4, 5, 600000000, time.UTC)
	for _, f := range []struct {
		path string
		mode os.FileMode
		data string
	}{
		{"bin/run.sh", 0o755, "#!/bin/sh\necho ran > /tree/result\n"},
		{"data/a.txt", 0o640, "alpha\n"},
		{"data/deep/b.bin", 0o600, strings.Repeat("beta", 50000)},
	} {
		p := filepath.Join(src, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.data), f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("a.txt", filepath.Join(src, "data/link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(src, "data/deep"), 0o711); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"bin/run.sh", "data/a.txt", "data/deep/b.bin", "data/deep", "data", "bin", "."} {
		if err := os.Chtimes(filepath.Join(src, p), mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	r := startRun(t, fx.execArgs(t, "--direct", "--copy-in", src+":/tree", "--copy-out", "/tree:"+out,
		"--exec", "/tree/bin/run.sh && touch -d '2020-01-02 03:04:05' /tree /tree/result")...)
	if code := r.waitFor(t, execWait); code != 0 {
		t.Fatalf("exit status %d\nstderr:\n%s", code, r.stderr.String())
	}
	if err := os.WriteFile(filepath.Join(src, "result"), []byte("ran\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	resultTime := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, p := range []string{"result", "."} {
		os.Chtimes(filepath.Join(src, p), resultTime, resultTime)
	}
	if want, got := treeListing(t, src), treeListing(t, filepath.Join(out, "tree")); got != want {
		t.Errorf("copied out:\n%s\nwant:\n%s", got, want)
	}
}

// treeListing lists a tree: path, mode, mtime, and content or link target.
func treeListing(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fmt.Fprintf(&b, "%s %v", rel, fi.Mode())
		switch {
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " %s %x", fi.ModTime().UTC().Format(time.RFC3339Nano), sha256.Sum256(data))
		case fi.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			fmt.Fprintf(&b, " -> %s", l)
		default:
			fmt.Fprintf(&b, " %s", fi.ModTime().UTC().Format(time.RFC3339Nano))
		}
		b.WriteString("\n")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// --watch --exec runs the command on every generation and says one line
// for each; --until-pass ends at the first that passes.
func TestRunWatchExec(t *testing.T) {
	t.Run("two edits", func(t *testing.T) {
		t.Parallel()
		fx := newFixture(t, "watch one")
		r := startRun(t, fx.execArgs(t, "--timeout", "2400", "--watch", "--exec", "cat /etc/marker")...)
		r.waitStderrFor(t, execWait, regexp.MustCompile(`generation 1: cat /etc/marker exited 0 in \d+\.\d s`))
		writeAtomic(t, filepath.Join(fx.rootfs, "etc/marker"), []byte("watch two\n"))
		r.waitStderrFor(t, execWait, regexp.MustCompile(`generation 2: cat /etc/marker exited 0 in \d+\.\d s`))
		writeAtomic(t, filepath.Join(fx.rootfs, "etc/marker"), []byte("watch three\n"))
		r.waitStderrFor(t, execWait, regexp.MustCompile(`generation 3: cat /etc/marker exited 0 in \d+\.\d s`))
		if got := r.stdout.String(); got != "watch one\nwatch two\nwatch three\n" {
			t.Errorf("stdout %q, want the three markers in turn", got)
		}
		r.cmd.Process.Signal(syscall.SIGTERM)
		if code := r.waitFor(t, execWait); code != 128+int(syscall.SIGTERM) {
			t.Errorf("exit status after SIGTERM: %d", code)
		}
	})
	t.Run("until pass", func(t *testing.T) {
		t.Parallel()
		fx := newFixture(t, "failing")
		r := startRun(t, fx.execArgs(t, "--timeout", "1800", "--watch", "--until-pass", "--direct", "--exec", "grep -q passing /etc/marker")...)
		r.waitStderrFor(t, execWait, regexp.MustCompile(`generation 1: grep -q passing /etc/marker exited 1 in`))
		writeAtomic(t, filepath.Join(fx.rootfs, "etc/marker"), []byte("passing now\n"))
		if code := r.waitFor(t, execWait); code != 0 {
			t.Fatalf("exit status %d, want 0\nstderr:\n%s", code, r.stderr.String())
		}
		if !strings.Contains(r.stderr.String(), "generation 2: grep -q passing /etc/marker exited 0 in") ||
			!strings.Contains(r.stderr.String(), "--until-pass: generation 2 passes") {
			t.Errorf("stderr:\n%s", r.stderr.String())
		}
	})
}

// An initrd that takes more than half of --memory unpacked: run warns
// before it boots it, and a guest that runs out (60 MB unpacked plus 60 MB
// compressed in 96 MiB cannot fit; Debian's kernel panics "System is
// deadlocked on memory") is caught by the default --fail set.
func TestRunUnpackWarning(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "too big")
	big := make([]byte, 60<<20)
	rand.Read(big)
	if err := os.WriteFile(filepath.Join(fx.rootfs, "big"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	r := startRun(t, fx.runArgs(t, "--direct", "--memory", "96M", "--until", "^"+regexp.QuoteMeta(testenv.MarkerPrefix)+".*$", "--timeout", "900")...)
	code := r.waitFor(t, execWait)
	stderr := r.stderr.String()
	warn := regexp.MustCompile(`warning: generation 1's initrd takes 6\d MiB unpacked \(and 1\d\d MiB while it unpacks\), more than half of --memory 96 MiB`)
	if loc := warn.FindStringIndex(stderr); loc == nil || loc[0] > strings.Index(stderr, "booting it") {
		t.Errorf("no warning before booting:\n%s", stderr)
	}
	if code != 1 || !strings.Contains(stderr, "the console matched --fail") {
		t.Errorf("exit status %d, want 1 from a --fail match\nstderr:\n%s", code, stderr)
	}
}

// liveiso exec from another process runs a command in the guest of a
// running `liveiso run --agent`, found without an ID when it is the only
// one, and gives its output and status.
func TestExecCommand(t *testing.T) {
	t.Parallel()
	fx := newFixture(t, "exec command")
	k, err := testenv.Kernel()
	if err != nil {
		t.Fatal(err)
	}
	events := filepath.Join(t.TempDir(), "events")
	r := startRun(t, fx.execArgs(t, "--agent", "--events", events, "--timeout", "1800")...)
	deadline := time.Now().Add(execWait)
	for {
		if b, _ := os.ReadFile(events); bytes.Contains(b, []byte(`"event":"agent_ready"`)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no agent_ready event after %v\nstderr:\n%s", bootTimeout, r.stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !regexp.MustCompile(`run \d+: 'liveiso exec --run \d+ -- CMD' runs CMD in the guest`).MatchString(r.stderr.String()) {
		t.Errorf("run does not say its ID:\n%s", r.stderr.String())
	}
	bin, err := liveisoBin()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args   []string
		stdout string
		status int
	}{
		{[]string{"uname", "-r"}, k.Release + "\n", 0},
		{[]string{"sh", "-c", "echo $((6*7)); exit 3"}, "42\n", 3},
	} {
		cmd := exec.Command(bin, append([]string{"exec", "--"}, tc.args...)...)
		cmd.Env = append(os.Environ(), "TMPDIR="+r.tmp)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != tc.status || stdout.String() != tc.stdout {
			t.Errorf("liveiso exec -- %s: status %d (%v), stdout %q; want %d, %q\nstderr: %s", strings.Join(tc.args, " "), code, err, stdout.String(), tc.status, tc.stdout, stderr.String())
		}
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	r.wait(t)
}
