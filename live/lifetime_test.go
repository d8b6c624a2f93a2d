package live

import (
	"context"
	"fmt"
	"github.com/liveiso/liveiso/internal/procfs"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/liveiso/liveiso/watch"
)

// openFDs counts this process's file descriptors open on path.
func openFDs(t *testing.T, path string) int {
	t.Helper()
	n, err := procfs.OpenFDs(path)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A reader holds its generation across ten publications: it stays readable,
// the generations between are closed as they are replaced, and the held one
// is closed when the reader lets go. No garbage collection is involved.
func TestAcquiredGenerationLivesUntilReleased(t *testing.T) {
	b, root, kernel := testBuilderKernel(t)
	d := New(b, Options{Rootfs: root}, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := d.First(ctx); err != nil {
		t.Fatal(err)
	}
	batches := make(chan watch.Batch)
	ran := make(chan struct{})
	go func() { d.Run(ctx, batches); close(ran) }()
	defer func() { cancel(); <-ran }()

	held := d.Acquire()
	if held == nil || held.Generation != 1 {
		t.Fatalf("Acquire = %+v, want generation 1", held)
	}
	for i := 2; i <= 11; i++ {
		write(t, filepath.Join(root, "etc/marker"), fmt.Sprintf("edit %d", i))
		batches <- watch.Batch{Paths: []string{"etc/marker"}}
		waitStatus(t, d, fmt.Sprintf("generation %d", i), func(s Status) bool { return s.Generation == uint64(i) && s.State == StateReady })
	}
	if n := openFDs(t, kernel); n != 2 {
		t.Errorf("%d fds on the kernel with generation 1 held and generation 11 current, want 2", n)
	}
	if _, err := io.Copy(io.Discard, io.NewSectionReader(held.Image, 0, held.ImageSize)); err != nil {
		t.Errorf("read the held generation 1: %v", err)
	}
	held.Release()
	if n := openFDs(t, kernel); n != 1 {
		t.Errorf("%d fds on the kernel after the reader let go, want 1 (the current generation's)", n)
	}
	cur := d.Acquire()
	if cur == nil || cur.Generation != 11 {
		t.Fatalf("Acquire = %+v, want generation 11", cur)
	}
	cur.Release()
	cancel()
	<-ran
	d.Close()
	if n := openFDs(t, kernel); n != 0 {
		t.Errorf("%d fds on the kernel after Close, want 0", n)
	}
	if d.Acquire() != nil {
		t.Error("Acquire after Close returned a snapshot")
	}
}
