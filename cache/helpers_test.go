package cache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cavaliergopher/cpio"
	"golang.org/x/sys/unix"
)

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (mknod, chown, cpio -idm restoring owners)")
	}
}

func needTool(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Fatalf("%s is not installed (scripts/setup.sh installs it)", n)
		}
	}
}

// writeFile creates a file with content, mode and mtime.
func writeFile(t testing.TB, path string, content []byte, mode os.FileMode, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := unix.Chmod(path, uint32(mode)); err != nil { // os.Chmod drops numeric setuid/setgid/sticky bits
		t.Fatal(err)
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

// pseudoRandom returns n deterministic bytes, half compressible.
func pseudoRandom(seed, n int) []byte {
	b := make([]byte, n)
	x := uint64(seed)*0x9e3779b97f4a7c15 + 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		if i%2 == 0 {
			b[i] = byte(x)
		} else {
			b[i] = 'a' + byte(x%4)
		}
	}
	return b
}

// buildFullTree makes a tree with every entry type the initramfs can hold.
func buildFullTree(t testing.TB, root string) {
	t.Helper()
	old := time.Unix(1600000000, 0)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(root, 0o755))
	writeFile(t, root+"/init", []byte("#!/bin/sh\necho hi\n"), 0o755, old)
	writeFile(t, root+"/etc/passwd", []byte("root:x:0:0::/root:/bin/sh\n"), 0o644, old.Add(time.Hour))
	writeFile(t, root+"/etc/shadow", []byte("root:*:1::::::\n"), 0o640, old)
	must(os.Chown(root+"/etc/shadow", 0, 42))
	writeFile(t, root+"/empty", nil, 0o644, old)
	writeFile(t, root+"/bin/suid", pseudoRandom(1, 5000), 0o4755, old)
	writeFile(t, root+"/bin/sgid", pseudoRandom(2, 3), 0o2711, old)
	writeFile(t, root+"/bin/big", pseudoRandom(3, 300<<10), 0o755, old)
	writeFile(t, root+"/home/user/file", pseudoRandom(4, 777), 0o600, old)
	must(os.Chown(root+"/home/user/file", 1234, 5678))
	must(os.Chown(root+"/home/user", 1234, 5678))
	must(os.Mkdir(root+"/tmp", 0o1777))
	must(unix.Chmod(root+"/tmp", 0o1777))
	must(os.MkdirAll(root+"/emptydir", 0o700))
	// Hard links spanning chunks (a/ and z/ are far apart), an empty hard-
	// linked file, and a group of three.
	writeFile(t, root+"/a/linked", pseudoRandom(5, 20000), 0o644, old)
	must(os.MkdirAll(root+"/z/deep", 0o755))
	must(os.Link(root+"/a/linked", root+"/z/deep/linked2"))
	must(os.MkdirAll(root+"/m", 0o755))
	must(os.Link(root+"/a/linked", root+"/m/linked3"))
	writeFile(t, root+"/a/emptylink", nil, 0o644, old)
	must(os.Link(root+"/a/emptylink", root+"/z/emptylink2"))
	// Symlinks: relative, absolute, dangling, pointing outside.
	must(os.Symlink("../bin/suid", root+"/etc/rel"))
	must(os.Symlink("/etc/passwd", root+"/etc/abs"))
	must(os.Symlink("nowhere", root+"/etc/dangling"))
	must(os.Symlink("/../../../etc/shadow", root+"/etc/outside"))
	// Devices and a FIFO.
	must(os.MkdirAll(root+"/dev", 0o755))
	must(unix.Mknod(root+"/dev/console", unix.S_IFCHR|0o600, int(unix.Mkdev(5, 1))))
	must(unix.Mknod(root+"/dev/sda1", unix.S_IFBLK|0o660, int(unix.Mkdev(8, 1))))
	must(unix.Mknod(root+"/dev/big", unix.S_IFCHR|0o666, int(unix.Mkdev(300, 70000))))
	must(unix.Mkfifo(root+"/dev/fifo", 0o644))
	// Long and non-UTF-8 names, deep nesting.
	long := strings.Repeat("n", 255)
	writeFile(t, root+"/long/"+long, []byte("long"), 0o644, old)
	writeFile(t, root+"/weird/caf\xe9 \xff\xfe name", []byte("latin1"), 0o644, old)
	deep := root
	for i := range 40 {
		deep += fmt.Sprintf("/level%02d-%s", i, strings.Repeat("d", 20))
	}
	writeFile(t, deep+"/leaf", []byte("deep"), 0o644, old)
	// Many small files so that a small chunk target gives many chunks.
	for i := range 200 {
		writeFile(t, fmt.Sprintf("%s/many/f%03d", root, i), pseudoRandom(100+i, i*37), 0o644, old)
	}
	// Directory times last (creating entries changes them).
	must(filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			err = os.Chtimes(p, old.Add(2*time.Hour), old.Add(2*time.Hour))
		}
		return err
	}))
}

// fileInfo is what the round trip must preserve about one path.
type fileInfo struct {
	Mode    uint32
	UID     uint32
	GID     uint32
	Size    int64
	Mtime   int64
	Rdev    uint64
	Target  string
	SHA     string
	LinkGrp string // sorted paths sharing the inode, when more than one
}

// describeTree describes every path below root (the root itself excluded).
func describeTree(t testing.TB, root string) map[string]fileInfo {
	t.Helper()
	out := map[string]fileInfo{}
	inodes := map[uint64][]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		fi := fileInfo{Mode: st.Mode, UID: st.Uid, GID: st.Gid, Mtime: st.Mtim.Sec}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			fi.Size = st.Size
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fi.SHA = fmt.Sprintf("%x", sha256.Sum256(b))
			if st.Nlink > 1 {
				inodes[st.Ino] = append(inodes[st.Ino], rel)
			}
		case unix.S_IFLNK:
			fi.Target, _ = os.Readlink(p)
			fi.Mtime = 0 // cpio cannot set a symlink's mtime
		case unix.S_IFCHR, unix.S_IFBLK:
			fi.Rdev = st.Rdev
		case unix.S_IFDIR:
			// GNU cpio 2.13 sets a directory's mtime when it meets the
			// directory, before extracting what it holds, so it is not
			// preserved (nor is it with the classic pipeline): directory
			// times are checked in the archive itself (archiveMtimes).
			fi.Mtime = 0
		}
		out[rel] = fi
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, ps := range inodes {
		sort.Strings(ps)
		for _, p := range ps {
			fi := out[p]
			fi.LinkGrp = strings.Join(ps, "|")
			out[p] = fi
		}
	}
	return out
}

func diffTrees(want, got map[string]fileInfo) []string {
	var d []string
	for p, w := range want {
		g, ok := got[p]
		switch {
		case !ok:
			d = append(d, fmt.Sprintf("missing %q", p))
		case g != w:
			d = append(d, fmt.Sprintf("%q: got %+v, want %+v", p, g, w))
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			d = append(d, fmt.Sprintf("extra %q", p))
		}
	}
	sort.Strings(d)
	if len(d) > 15 {
		d = append(d[:15], fmt.Sprintf("... and %d more", len(d)-15))
	}
	return d
}

// initrdBytes reads a whole initrd through ReadAt, in odd-sized pieces.
func initrdBytes(t testing.TB, r *Initrd) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := io.Copy(&b, io.NewSectionReader(r, 0, r.Size())); err != nil {
		t.Fatal(err)
	}
	if int64(b.Len()) != r.Size() {
		t.Fatalf("read %d bytes, Size %d", b.Len(), r.Size())
	}
	return b.Bytes()
}

// extract unpacks an initrd with `decompress | cpio -idm` into dir.
func extract(t testing.TB, img []byte, decompress []string, dir string) {
	t.Helper()
	script := "cpio -idm --quiet"
	if decompress != nil {
		script = strings.Join(decompress, " ") + " | " + script
	}
	cmd := exec.Command("bash", "-c", "set -o pipefail; "+script)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(img)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("%s: %v\n%s", script, err, stderr.String())
	}
}

func pack(t testing.TB, p *Packer, root string, changed []string) *Initrd {
	t.Helper()
	r, err := p.Pack(context.Background(), root, changed)
	if err != nil {
		t.Fatalf("Pack: %v", err)
	}
	return r
}

func newPacker(t testing.TB, opts Options) *Packer {
	t.Helper()
	p, err := NewPacker(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.racy = 0 // the trees are made just before: see TestRacy for the window
	t.Cleanup(func() { p.Close() })
	return p
}

// archiveEntry is what the independent reader sees of one entry.
type archiveEntry struct {
	Mtime int64
	Ino   int64
	Links int
	Size  int64
}

// readArchive decompresses img with the given command (nil: none) and reads
// it with github.com/cavaliergopher/cpio, an independent newc reader. It
// fails on anything after the trailer but zeros.
func readArchive(t testing.TB, img []byte, decompress []string) map[string]archiveEntry {
	t.Helper()
	raw := img
	if decompress != nil {
		cmd := exec.Command(decompress[0], decompress[1:]...)
		cmd.Stdin = bytes.NewReader(img)
		var err error
		if raw, err = cmd.Output(); err != nil {
			t.Fatalf("%v: %v", decompress, err)
		}
	}
	out := map[string]archiveEntry{}
	r := cpio.NewReader(bytes.NewReader(raw))
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("cpio reader: %v", err)
		}
		if _, dup := out[h.Name]; dup {
			t.Errorf("entry %q twice in the archive", h.Name)
		}
		out[h.Name] = archiveEntry{Mtime: h.ModTime.Unix(), Ino: h.Inode, Links: h.Links, Size: h.Size}
	}
	return out
}

// checkArchiveMtimes compares every entry's mtime in the archive with the
// source tree's (directories included, which GNU cpio does not restore).
func checkArchiveMtimes(t testing.TB, src string, entries map[string]archiveEntry) {
	t.Helper()
	n := 0
	for name, e := range entries {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(src, name), &st); err != nil {
			continue // synthetic
		}
		if st.Mtim.Sec != e.Mtime && n < 10 {
			t.Errorf("%s: archive mtime %d, source %d", name, e.Mtime, st.Mtim.Sec)
			n++
		}
	}
}
