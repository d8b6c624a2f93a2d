package vfs

import (
	"bufio"
	"errors"
	iofs "io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMountpointMissing(t *testing.T) {
	requireFUSE(t)
	dir := filepath.Join(t.TempDir(), "nope")
	_, err := mountSource(dir, newFakeSource(1<<20), Options{}, testLogger(t))
	t.Logf("Mount: %v", err)
	if err == nil || !errors.Is(err, iofs.ErrNotExist) || !strings.Contains(err.Error(), dir) {
		t.Errorf("Mount on a missing directory: %v; want an error naming %s and wrapping fs.ErrNotExist", err, dir)
	}
}

func TestMountpointNotDir(t *testing.T) {
	requireFUSE(t)
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := mountSource(file, newFakeSource(1<<20), Options{}, testLogger(t))
	t.Logf("Mount: %v", err)
	if err == nil || !errors.Is(err, syscall.ENOTDIR) || !strings.Contains(err.Error(), file) {
		t.Errorf("Mount on a file: %v; want an error naming %s and wrapping ENOTDIR", err, file)
	}
}

func TestMountpointBusy(t *testing.T) {
	src := newFakeSource(1 << 20)
	src.publish(1, 1<<20, 10)
	_, mnt := mountT(t, src, Options{})
	_, err := mountSource(mnt, src, Options{}, testLogger(t))
	t.Logf("Mount: %v", err)
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "busy: "+mnt+" is already a mount point") {
		t.Errorf("Mount on a live mount: %v; want busy: %s is already a mount point", err, mnt)
	}
	// The live mount is untouched.
	if _, err := os.Stat(filepath.Join(mnt, imageName)); err != nil {
		t.Errorf("the first mount broke: %v", err)
	}
}

// Unmount with a file open detaches lazily; the open file keeps reading, and
// Wait returns once it is closed.
func TestUnmountBusy(t *testing.T) {
	requireFUSE(t)
	src := newFakeSource(1 << 20)
	src.publish(1, 1<<20, 10)
	dir := t.TempDir()
	s, err := mountSource(dir, src, Options{}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { exec.Command("fusermount3", "-uz", dir).Run() })
	f, err := os.Open(filepath.Join(dir, imageName))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Unmount(); err != nil {
		t.Fatalf("Unmount with an open file: %v", err)
	}
	if m, err := findMount(dir); err != nil || m != nil {
		t.Errorf("still mounted after Unmount: %v %v", m, err)
	}
	if g := generationsIn(readFileAt(t, f, 0, 4096), 0); !g[1] {
		t.Errorf("the open file stopped reading after a lazy unmount: %v", fmtGens(g))
	}
	done := make(chan struct{})
	go func() { s.Wait(); close(done) }()
	select {
	case <-done:
		t.Errorf("Wait returned while a file was still open")
	case <-time.After(200 * time.Millisecond):
	}
	f.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Errorf("Wait did not return after the last file was closed")
	}
}

func TestStaleMountCleared(t *testing.T) {
	requireFUSE(t)
	dir := t.TempDir()
	t.Cleanup(func() { exec.Command("fusermount3", "-uz", dir).Run() })

	cmd := exec.Command(os.Args[0]) // the helper daemon: see TestMain
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "mounted" {
				ready <- true
				return
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("the helper daemon exited without mounting")
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal("the helper daemon did not mount within 20s")
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	if _, err := os.Stat(dir); !errors.Is(err, syscall.ENOTCONN) {
		t.Fatalf("after SIGKILL of the daemon, stat %s: %v; want ENOTCONN (a stale mount)", dir, err)
	}
	src := newFakeSource(1 << 20)
	src.publish(2, 1<<20, 10)
	s, err := mountSource(dir, src, Options{}, testLogger(t))
	if err != nil {
		t.Fatalf("Mount over a stale mount: %v", err)
	}
	t.Cleanup(func() { unmountT(t, s, dir) })
	b, err := os.ReadFile(filepath.Join(dir, imageName))
	if err != nil {
		t.Fatal(err)
	}
	if g := generationsIn(b, 0); len(g) != 1 || !g[2] {
		t.Errorf("the new mount serves generations %v, want 2", fmtGens(g))
	}
}

func TestUnescapeMountinfo(t *testing.T) {
	for in, want := range map[string]string{
		`/tmp/a\040b`:  "/tmp/a b",
		`/tmp/tab\011`: "/tmp/tab\t",
		`/plain`:       "/plain",
		`/odd\04`:      `/odd\04`,
	} {
		if got := unescapeMountinfo(in); got != want {
			t.Errorf("unescapeMountinfo(%q) = %q, want %q", in, got, want)
		}
	}
}
