package main

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// imageSizes cover the edges of copyImage: empty, below one direct block,
// whole direct blocks, a tail, one and more read blocks.
var imageSizes = []int64{
	0, 1, 2048, directAlign - 1, directAlign, directAlign + 2048,
	imageBlockBytes - 2048, imageBlockBytes, imageBlockBytes + 2048,
	2*imageBlockBytes + directAlign + 1,
}

func randomBytes(n int64, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestWriteImage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "image.iso")
	for i, size := range imageSizes {
		want := randomBytes(size, uint64(i))
		if err := writeImage(context.Background(), path, bytes.NewReader(want), size); err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("size %d: the file does not hold the image (%d bytes read)", size, len(got))
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o644 {
			t.Errorf("size %d: mode %v, want 0644", size, fi.Mode().Perm())
		}
	}
	assertOnlyFile(t, dir, "image.iso")
}

// TestCopyImageDirect checks that every whole directAlign block goes out
// through the direct file and the tail through the buffered one, on a file
// system that takes O_DIRECT (the test's temporary directory; ext4 on our
// machines and in CI).
func TestCopyImageDirect(t *testing.T) {
	dir := t.TempDir()
	for i, size := range imageSizes {
		name := filepath.Join(dir, "image")
		buffered, err := os.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		direct, err := os.OpenFile(name, os.O_WRONLY|unix.O_DIRECT, 0)
		if err != nil {
			buffered.Close()
			t.Skipf("the file system of %s refuses O_DIRECT (%v): only the buffered path is tested, by TestWriteImage", dir, err)
		}
		want := randomBytes(size, uint64(i))
		n, err := copyImage(context.Background(), buffered, direct, bytes.NewReader(want), size)
		direct.Close()
		buffered.Close()
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if n != size&^(directAlign-1) {
			t.Errorf("size %d: %d bytes went through direct I/O, want %d", size, n, size&^(directAlign-1))
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("size %d: the file does not hold the image (%d bytes read)", size, len(got))
		}
	}
}

// failingReader returns its bytes up to failAt, then an error.
type failingReader struct {
	data   []byte
	failAt int64
}

var errSource = errors.New("source broke")

func (r *failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > r.failAt {
		return 0, errSource
	}
	return copy(p, r.data[off:]), nil
}

// TestWriteImageKeepsOldFile: a read error leaves the old image in place
// and no temporary file behind, and says where it failed.
func TestWriteImageKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "image.iso")
	old := []byte("the last good image")
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	size := int64(3 * imageBlockBytes)
	src := &failingReader{data: randomBytes(size, 7), failAt: 2*imageBlockBytes + 1}
	err := writeImage(context.Background(), path, src, size)
	if !errors.Is(err, errSource) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "at 8388608") {
		t.Fatalf("error %v: want the source's error, naming %s and the offset 8388608", err, path)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, old) {
		t.Errorf("the old image was changed: %q", got)
	}
	assertOnlyFile(t, dir, "image.iso")
}

// TestWriteImageNotRegular: -o naming a device or a FIFO is refused before
// anything is written, and the node stays.
func TestWriteImageNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/dev/null", fifo} {
		err := writeImage(context.Background(), path, bytes.NewReader(make([]byte, 4096)), 4096)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%s: error %v, want one naming it as not a regular file", path, err)
		}
		if fi, err := os.Lstat(path); err != nil || fi.Mode().IsRegular() {
			t.Errorf("%s is now %v (%v)", path, fi.Mode(), err)
		}
	}
	assertOnlyFile(t, dir, "fifo")
}

func TestWriteImageCancelled(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "image.iso")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	size := int64(2 * imageBlockBytes)
	err := writeImage(ctx, path, bytes.NewReader(randomBytes(size, 3)), size)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	assertOnlyFile(t, dir)
}

// assertOnlyFile fails unless dir holds exactly the named files.
func assertOnlyFile(t *testing.T, dir string, names ...string) {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, de := range des {
		got = append(got, de.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("%s holds %q, want %q", dir, got, names)
	}
}
