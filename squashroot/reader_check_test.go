package squashroot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/liveiso/liveiso/rootfs"
	"github.com/liveiso/liveiso/squashfs"
)

func imageBytes(t testing.TB, img *Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := io.Copy(&b, io.NewSectionReader(img, 0, img.Size())); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// checkAgainstTree reads img with the test's reader and compares every
// entry with the scanned tree.
func checkAgainstTree(t testing.TB, img []byte, tree *rootfs.Tree, rootOwner bool) {
	t.Helper()
	got := readImage(t, img)
	if len(got) != len(tree.Entries()) {
		t.Fatalf("image has %d paths, tree %d", len(got), len(tree.Entries()))
	}
	for i := range tree.Entries() {
		e := &tree.Entries()[i]
		g, ok := got[e.Path]
		if !ok {
			t.Fatalf("image lacks %q", e.Path)
		}
		uid, gid := e.UID, e.GID
		if rootOwner {
			uid, gid = 0, 0
		}
		if uint32(g.Mode) != e.Mode&0o7777 || g.Type != basicType(e.Mode) || g.UID != uid || g.GID != gid || g.Mtime != clampMtime(e.MtimeNs) {
			t.Fatalf("%s: image %+v, tree %+v", e.Path, g, e)
		}
		switch e.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			f, err := tree.Open(e)
			must(t, err)
			h := sha256.New()
			io.Copy(h, f)
			f.Close()
			if g.Size != uint64(e.Size) || g.SHA != fmt.Sprintf("%x", h.Sum(nil)) {
				t.Fatalf("%s: content differs (size %d, want %d)", e.Path, g.Size, e.Size)
			}
		case unix.S_IFLNK:
			if g.Target != e.Target {
				t.Fatalf("%s: target %q, want %q", e.Path, g.Target, e.Target)
			}
		case unix.S_IFCHR, unix.S_IFBLK:
			if g.Rdev != squashfs.EncodeDev(unix.Major(e.Rdev), unix.Minor(e.Rdev)) {
				t.Fatalf("%s: rdev %#x", e.Path, g.Rdev)
			}
		}
	}
}

// TestReadBack reads the full tree's image with the test's own reader.
func TestReadBack(t *testing.T) {
	needRoot(t)
	src := filepath.Join(t.TempDir(), "src")
	buildTree(t, src)
	tree, err := rootfs.Scan(context.Background(), src, rootfs.Options{})
	must(t, err)
	for _, o := range []Options{{Compression: squashfs.Gzip}, {Compression: squashfs.Zstd, Level: 3}, {Compression: squashfs.None}, {Compression: squashfs.Gzip, BlockSizeBytes: 4096, RootOwner: true}} {
		b := newBuilder(t, o)
		img, err := b.Build(context.Background(), tree)
		must(t, err)
		checkAgainstTree(t, imageBytes(t, img), tree, o.RootOwner)
	}
}

// FuzzImage builds the image of a small tree the input describes and reads
// it back with the test's reader.
func FuzzImage(f *testing.F) {
	f.Add([]byte("a\x00b\x10c\x80d\xff"), uint8(0))
	f.Add([]byte("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c"), uint8(1))
	f.Add(bytes.Repeat([]byte{0x41, 0x03}, 300), uint8(2))
	f.Fuzz(func(t *testing.T, desc []byte, comp uint8) {
		root := t.TempDir()
		old := time.Unix(1500000000, 0)
		dirs := []string{root}
		for i := 0; i+1 < len(desc) && i < 800; i += 2 {
			kind, arg := desc[i], desc[i+1]
			parent := dirs[int(arg)%len(dirs)]
			name := filepath.Join(parent, fmt.Sprintf("%c%d", 'a'+kind%26, i))
			switch kind % 5 {
			case 0:
				must(t, os.Mkdir(name, 0o755))
				dirs = append(dirs, name)
			case 1, 2:
				writeFile(t, name, bytes.Repeat([]byte{arg}, int(arg)*int(kind)*7), 0o644, old)
			case 3:
				must(t, os.Symlink(string(bytes.Repeat([]byte{'t'}, int(arg)+1)), name))
			case 4:
				must(t, unix.Mkfifo(name, 0o600))
			}
		}
		tree, err := rootfs.Scan(context.Background(), root, rootfs.Options{})
		must(t, err)
		b := newBuilder(t, Options{Compression: []squashfs.Compression{squashfs.Gzip, squashfs.Zstd, squashfs.None}[comp%3], BlockSizeBytes: 4096, Level: 1})
		img, err := b.Build(context.Background(), tree)
		must(t, err)
		checkAgainstTree(t, imageBytes(t, img), tree, false)
	})
}
