package squashroot

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/liveiso/liveiso/rootfs"
	"github.com/liveiso/liveiso/squashfs"
)

func scan(t testing.TB, root string) *rootfs.Tree {
	t.Helper()
	tree, err := rootfs.Scan(context.Background(), root, rootfs.Options{})
	must(t, err)
	return tree
}

// TestIncremental: an edit of one file compresses that file only, the new
// image holds the edit, and the earlier image reads as it did.
func TestIncremental(t *testing.T) {
	needRoot(t)
	src := filepath.Join(t.TempDir(), "src")
	buildTree(t, src)
	for _, comp := range []squashfs.Compression{squashfs.Gzip, squashfs.Zstd, squashfs.None} {
		t.Run(string(comp), func(t *testing.T) {
			b := newBuilder(t, Options{Compression: comp})
			b.racy = 0 // every file of the tree is older than the Build
			tree1 := scan(t, src)
			img1, err := b.Build(context.Background(), tree1)
			must(t, err)
			before := imageBytes(t, img1)
			st := img1.Stats()
			if st.FilesCompressed != st.Files || st.Files < 700 {
				t.Fatalf("cold build: %+v", st)
			}

			again, err := b.Build(context.Background(), scan(t, src))
			must(t, err)
			if st := again.Stats(); st.FilesCompressed != 0 {
				t.Fatalf("unchanged tree: %d files compressed", st.FilesCompressed)
			}
			if !bytes.Equal(imageBytes(t, again), before) {
				t.Fatalf("unchanged tree: the image differs")
			}

			edited := filepath.Join(src, "bin/big")
			orig, err := os.ReadFile(edited)
			must(t, err)
			t.Cleanup(func() { writeFile(t, edited, orig, 0o755, time.Unix(1600000000, 0)) })
			writeFile(t, edited, append(pseudoRandom(99, 1000), orig...), 0o755, time.Now())
			tree2 := scan(t, src)
			img2, err := b.Build(context.Background(), tree2)
			must(t, err)
			if st := img2.Stats(); st.FilesCompressed != 1 || st.BytesRead != int64(len(orig)+1000) {
				t.Fatalf("after an edit of one file: %+v", st)
			}
			checkAgainstTree(t, imageBytes(t, img2), tree2, false)
			if !bytes.Equal(imageBytes(t, img1), before) {
				t.Fatalf("the first image changed after the edit")
			}
		})
	}
}

// TestRacyFilesNotKept: files younger than the racy window are compressed
// for the image but not kept, so the next Build compresses them again.
func TestRacyFilesNotKept(t *testing.T) {
	src := t.TempDir()
	writeFile(t, src+"/young", []byte("just written"), 0o644, time.Now())
	b := newBuilder(t, Options{})
	tree := scan(t, src)
	img, err := b.Build(context.Background(), tree)
	must(t, err)
	if st := img.Stats(); st.RacyFiles != 1 || st.FilesCompressed != 1 {
		t.Fatalf("first build: %+v", st)
	}
	img, err = b.Build(context.Background(), tree)
	must(t, err)
	if st := img.Stats(); st.FilesCompressed != 1 {
		t.Fatalf("second build reused a racy file: %+v", st)
	}
	checkAgainstTree(t, imageBytes(t, img), tree, false)
}

// TestChangedSinceScan: a file written after the scan, whose data is not
// cached, fails the Build with rootfs.ErrChanged naming it, and the last
// image stays as it was. (A cached file's data is the scan's version of
// it: the image is the tree as scanned, and the watcher's next scan brings
// the write.)
func TestChangedSinceScan(t *testing.T) {
	src := t.TempDir()
	old := time.Unix(1600000000, 0)
	writeFile(t, src+"/a", []byte("first"), 0o644, old)
	b := newBuilder(t, Options{})
	b.racy = 0
	img1, err := b.Build(context.Background(), scan(t, src))
	must(t, err)
	before := imageBytes(t, img1)
	for _, name := range []string{"small", "large"} {
		size := map[string]int{"small": 10, "large": 300 << 10}[name]
		writeFile(t, filepath.Join(src, name), bytes.Repeat([]byte("x"), size), 0o644, old)
		tree := scan(t, src)
		writeFile(t, filepath.Join(src, name), bytes.Repeat([]byte("y"), size), 0o644, old) // same size and mtime: ctime tells
		_, err = b.Build(context.Background(), tree)
		if !errors.Is(err, rootfs.ErrChanged) || !bytes.Contains([]byte(err.Error()), []byte(name)) {
			t.Fatalf("%s changed since the scan: Build error %v", name, err)
		}
	}
	if !bytes.Equal(imageBytes(t, img1), before) {
		t.Fatalf("the last image changed")
	}
	tree := scan(t, src)
	img, err := b.Build(context.Background(), tree)
	must(t, err)
	checkAgainstTree(t, imageBytes(t, img), tree, false)
}
