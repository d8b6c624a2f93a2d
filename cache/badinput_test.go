package cache

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/liveiso/liveiso/newc"
	"github.com/liveiso/liveiso/rootfs"
)

func TestRootfsMissingOrNotDir(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/file", []byte("x"), 0o644, time.Time{})
	for _, root := range []string{dir + "/missing", dir + "/file"} {
		p := newPacker(t, Options{})
		_, err := p.Pack(context.Background(), root, nil)
		if err == nil || !strings.Contains(err.Error(), root) {
			t.Errorf("Pack(%s) = %v, want an error naming it", root, err)
		}
	}
	p := newPacker(t, Options{})
	if _, err := p.Pack(context.Background(), dir+"/file", nil); !errors.Is(err, rootfs.ErrNotDir) {
		t.Errorf("not a directory: %v, want rootfs.ErrNotDir", err)
	}
}

func TestTooLarge(t *testing.T) {
	root := t.TempDir()
	f, err := os.Create(root + "/huge")
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(4 << 30) // sparse: never read, the size alone fails
	f.Close()
	_, err = newPacker(t, Options{}).Pack(context.Background(), root, nil)
	if !errors.Is(err, newc.ErrTooLarge) || !strings.Contains(err.Error(), "huge") {
		t.Errorf("4 GiB file: %v, want newc.ErrTooLarge naming it", err)
	}
}

func TestVanishedBetweenScanAndRead(t *testing.T) {
	root := t.TempDir()
	buildManyFiles(t, root, 50)
	p := newPacker(t, Options{ChunkTargetBytes: 4096})
	gone := root + "/d03/file00003"
	p.afterScan = func() {
		p.afterScan = nil
		if err := os.Remove(gone); err != nil {
			t.Error(err)
		}
	}
	r := pack(t, p, root, nil)
	if _, ok := readArchive(t, initrdBytes(t, r), []string{"gzip", "-dc"})["d03/file00003"]; ok {
		t.Error("vanished file is in the archive")
	}
}

func TestChangedBetweenScanAndRead(t *testing.T) {
	root := t.TempDir()
	buildManyFiles(t, root, 50)
	p := newPacker(t, Options{ChunkTargetBytes: 4096})
	grown := root + "/d04/file00004"
	p.afterScan = func() {
		p.afterScan = nil
		f, _ := os.OpenFile(grown, os.O_APPEND|os.O_WRONLY, 0)
		f.WriteString("more data")
		f.Close()
	}
	r := pack(t, p, root, nil)
	e := readArchive(t, initrdBytes(t, r), []string{"gzip", "-dc"})["d04/file00004"]
	if fi, _ := os.Stat(grown); e.Size != fi.Size() {
		t.Errorf("archive has %d bytes of the file, it has %d", e.Size, fi.Size())
	}
}

// A file that keeps growing while it is read: either a consistent result
// (the archive is read in full by an independent reader) or an error
// naming it.
func TestGrowingWhileCompressed(t *testing.T) {
	root := t.TempDir()
	buildManyFiles(t, root, 20)
	log := root + "/var/log"
	writeFile(t, log, pseudoRandom(7, 4<<20), 0o644, time.Time{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		f, _ := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
		defer f.Close()
		for {
			select {
			case <-stop:
				return
			default:
				f.Write([]byte("a line of log\n"))
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()
	p := newPacker(t, Options{ChunkTargetBytes: 64 << 10, Compression: Gzip, Level: 9})
	r, err := p.Pack(context.Background(), root, nil)
	close(stop)
	wg.Wait()
	switch {
	case err != nil:
		if !errors.Is(err, ErrKeepsChanging) || !strings.Contains(err.Error(), "var/log") {
			t.Errorf("Pack: %v, want ErrKeepsChanging naming var/log", err)
		}
		t.Logf("Pack: %v", err)
	default:
		t.Logf("Pack succeeded with a consistent snapshot of the file")
		readArchive(t, initrdBytes(t, r), []string{"gzip", "-dc"})
	}
}

func TestCancel(t *testing.T) {
	root := t.TempDir()
	buildManyFiles(t, root, 200)
	ctx, cancel := context.WithCancel(context.Background())
	p := newPacker(t, Options{})
	p.afterScan = cancel
	if _, err := p.Pack(ctx, root, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Pack: %v", err)
	}
}

// TestUnreadable packs, as an unprivileged user, a tree holding a file that
// user cannot read (root can read anything, so the test re-runs itself).
func TestUnreadable(t *testing.T) {
	if os.Getenv("LIVEISO_UNREADABLE_ROOT") != "" {
		_, err := newPacker(t, Options{}).Pack(context.Background(), os.Getenv("LIVEISO_UNREADABLE_ROOT"), nil)
		if err == nil {
			t.Fatal("Pack succeeded")
		}
		t.Logf("PACK ERROR: %v", err)
		return
	}
	needRoot(t)
	base, err := os.MkdirTemp("", "liveiso-unreadable")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(base)
	os.Chmod(base, 0o755)
	root := base + "/rootfs"
	writeFile(t, root+"/etc/ok", []byte("fine"), 0o644, time.Time{})
	writeFile(t, root+"/etc/secret", []byte("secret"), 0o000, time.Time{})
	// The test binary's directory is private to root: run a copy.
	bin := base + "/cache.test"
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestUnreadable$", "-test.v")
	cmd.Env = append(os.Environ(), "LIVEISO_UNREADABLE_ROOT="+root, "HOME=/nonexistent", "GOCOVERDIR=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("subprocess: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("PACK ERROR:")) || !bytes.Contains(out, []byte(filepath.Join(root, "etc/secret"))) ||
		!bytes.Contains(out, []byte("permission denied")) {
		t.Errorf("want an error naming etc/secret and saying permission denied:\n%s", out)
	}
}
