package integration

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/liveiso/liveiso/internal/testenv"
)

// helloRoot is the smallest FUSE file system: one file, "hello".
type helloRoot struct{ fs.Inode }

var _ = (fs.NodeOnAdder)((*helloRoot)(nil))

func (r *helloRoot) OnAdd(ctx context.Context) {
	file := &fs.MemRegularFile{Data: []byte("hello\n"), Attr: fuse.Attr{Mode: 0o644}}
	r.AddChild("hello", r.NewPersistentInode(ctx, file, fs.StableAttr{}), false)
}

// mountHello mounts helloRoot on a new directory; CleanupUnmount guards it.
func mountHello(t *testing.T) (string, *fuse.Server) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Fatalf("FUSE is not available: %v", err)
	}
	dir := t.TempDir()
	server, err := fs.Mount(dir, &helloRoot{}, &fs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	testenv.CleanupUnmount(t, dir)
	if b, err := os.ReadFile(filepath.Join(dir, "hello")); err != nil || string(b) != "hello\n" {
		t.Fatalf("read through the mount: %q, %v", b, err)
	}
	return dir, server
}

func mustBeMounted(t *testing.T, dir string, want bool) {
	t.Helper()
	mounted, err := testenv.IsMounted(dir)
	if err != nil {
		t.Fatal(err)
	}
	if mounted != want {
		t.Fatalf("IsMounted(%s) = %v, want %v", dir, mounted, want)
	}
}

// waitServer waits for the FUSE server to see its unmount.
func waitServer(t *testing.T, server *fuse.Server) {
	t.Helper()
	done := make(chan struct{})
	go func() { server.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("FUSE server still serving 30 s after the unmount")
	}
}

func TestUnmount(t *testing.T) {
	dir, server := mountHello(t)
	mustBeMounted(t, dir, true)
	if err := testenv.Unmount(dir); err != nil {
		t.Fatal(err)
	}
	mustBeMounted(t, dir, false)
	waitServer(t, server)
	if err := testenv.Unmount(dir); err != nil {
		t.Errorf("unmounting what is not mounted: %v", err)
	}
}

// A busy mount (an open file in it) defeats fusermount3 -u; Unmount then
// detaches it lazily.
func TestUnmountBusy(t *testing.T) {
	dir, server := mountHello(t)
	f, err := os.Open(filepath.Join(dir, "hello"))
	if err != nil {
		t.Fatal(err)
	}
	if err := testenv.Unmount(dir); err != nil {
		t.Fatal(err)
	}
	mustBeMounted(t, dir, false)
	f.Close()
	waitServer(t, server)
}

// CleanupUnmount unmounts when the (sub)test ends.
func TestCleanupUnmount(t *testing.T) {
	var dir string
	var server *fuse.Server
	t.Run("mount", func(t *testing.T) {
		dir, server = mountHello(t)
	})
	mustBeMounted(t, dir, false)
	waitServer(t, server)
}
