package squashroot

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/liveiso/liveiso/rootfs"
	"github.com/liveiso/liveiso/squashfs"
)

func needRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (mknod, chown, mount)")
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

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeFile(t testing.TB, path string, content []byte, mode uint32, mtime time.Time) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Dir(path), 0o755))
	must(t, os.WriteFile(path, content, 0o600))
	must(t, unix.Chmod(path, mode))
	must(t, os.Chtimes(path, mtime, mtime))
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

// buildTree makes a tree with every kind of entry a squashfs holds and the
// cases its format has rules for: a directory of more than DirCount
// entries, names of 255 bytes and non-UTF-8 names, multi-block, sparse and
// incompressible files, hard links across directories, owners, special
// permission bits, device numbers beyond 8 bits.
func buildTree(t testing.TB, root string) {
	t.Helper()
	old := time.Unix(1600000000, 0)
	must(t, os.MkdirAll(root, 0o755))
	writeFile(t, root+"/init", []byte("#!/bin/sh\necho hi\n"), 0o755, old)
	writeFile(t, root+"/etc/passwd", []byte("root:x:0:0::/root:/bin/sh\n"), 0o644, old.Add(time.Hour))
	writeFile(t, root+"/etc/shadow", []byte("root:*:1::::::\n"), 0o640, old)
	must(t, os.Chown(root+"/etc/shadow", 0, 42))
	writeFile(t, root+"/empty", nil, 0o644, old)
	writeFile(t, root+"/bin/suid", pseudoRandom(1, 5000), 0o4755, old)
	writeFile(t, root+"/bin/sgid", pseudoRandom(2, 3), 0o2711, old)
	writeFile(t, root+"/bin/big", pseudoRandom(3, 300<<10+17), 0o755, old)
	writeFile(t, root+"/bin/exactblock", pseudoRandom(6, squashfs.DefaultBlockSize), 0o755, old)
	noise := make([]byte, 200<<10)
	for i := range noise {
		noise[i] = byte(uint32(i)*2654435761>>13) ^ byte(i>>7)
	}
	writeFile(t, root+"/bin/noise", noise, 0o644, old)
	sparse := make([]byte, 3*squashfs.DefaultBlockSize+100)
	copy(sparse[squashfs.DefaultBlockSize:], "middle block")
	writeFile(t, root+"/var/sparse", sparse, 0o644, old)
	writeFile(t, root+"/home/user/file", pseudoRandom(4, 777), 0o600, old)
	must(t, os.Chown(root+"/home/user/file", 1234, 5678))
	must(t, os.Chown(root+"/home/user", 1234, 5678))
	must(t, os.Mkdir(root+"/tmp", 0o1777))
	must(t, unix.Chmod(root+"/tmp", 0o1777))
	must(t, os.MkdirAll(root+"/emptydir", 0o700))
	writeFile(t, root+"/a/linked", pseudoRandom(5, 20000), 0o644, old)
	must(t, os.MkdirAll(root+"/z/deep", 0o755))
	must(t, os.Link(root+"/a/linked", root+"/z/deep/linked2"))
	must(t, os.MkdirAll(root+"/m", 0o755))
	must(t, os.Link(root+"/a/linked", root+"/m/linked3"))
	writeFile(t, root+"/a/emptylink", nil, 0o644, old)
	must(t, os.Link(root+"/a/emptylink", root+"/z/emptylink2"))
	must(t, os.Symlink("../bin/suid", root+"/etc/rel"))
	must(t, os.Symlink("/etc/passwd", root+"/etc/abs"))
	must(t, os.Symlink("nowhere", root+"/etc/dangling"))
	must(t, os.Symlink(strings.Repeat("x/", 1000), root+"/etc/longtarget"))
	must(t, os.MkdirAll(root+"/dev", 0o755))
	must(t, unix.Mknod(root+"/dev/console", unix.S_IFCHR|0o600, int(unix.Mkdev(5, 1))))
	must(t, unix.Mknod(root+"/dev/sda1", unix.S_IFBLK|0o660, int(unix.Mkdev(8, 1))))
	must(t, unix.Mknod(root+"/dev/big", unix.S_IFCHR|0o666, int(unix.Mkdev(300, 70000))))
	must(t, unix.Mkfifo(root+"/dev/fifo", 0o644))
	must(t, unix.Mknod(root+"/dev/hardnode", unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))))
	must(t, os.Link(root+"/dev/hardnode", root+"/dev/hardnode2"))
	long := strings.Repeat("n", 255)
	writeFile(t, root+"/long/"+long, []byte("long"), 0o644, old)
	writeFile(t, root+"/weird/caf\xe9 \xff\xfe name", []byte("latin1"), 0o644, old)
	for i := range 700 { // > DirCount entries, and more than one metadata block of inodes
		writeFile(t, fmt.Sprintf("%s/many/f%04d-%s", root, i, strings.Repeat("p", i%40)), pseudoRandom(100+i, i*7), 0o644, old.Add(time.Duration(i)*time.Second))
	}
	for i := range 30 {
		must(t, os.MkdirAll(fmt.Sprintf("%s/many/sub%02d", root, i), 0o755))
	}
	deep := root
	for i := range 30 {
		deep += fmt.Sprintf("/level%02d", i)
	}
	writeFile(t, deep+"/leaf", []byte("deep"), 0o644, old)
	// Times last: creating entries changes directories' times.
	must(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			ts := []unix.Timespec{unix.NsecToTimespec(old.UnixNano()), unix.NsecToTimespec(old.UnixNano())}
			return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
		}
		if d.IsDir() {
			return os.Chtimes(p, old.Add(2*time.Hour), old.Add(2*time.Hour))
		}
		return nil
	}))
}

// fileInfo is what a squashfs must preserve of one path.
type fileInfo struct {
	Mode     uint32
	UID, GID uint32
	Size     int64
	Mtime    int64
	Rdev     uint64
	Target   string
	SHA      string
	LinkGrp  string // sorted paths sharing the inode, when more than one
}

// describeTree describes every path below root, the root included as ".".
// symlinkTimes false leaves symlinks' mtimes out (for extractors that do
// not set them).
func describeTree(t testing.TB, root string, symlinkTimes bool) map[string]fileInfo {
	t.Helper()
	out := map[string]fileInfo{}
	inodes := map[uint64][]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		fi := fileInfo{Mode: st.Mode, UID: st.Uid, GID: st.Gid, Mtime: st.Mtim.Sec}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			fi.Size = st.Size
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			h := sha256.New()
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return err
			}
			fi.SHA = fmt.Sprintf("%x", h.Sum(nil))
		case unix.S_IFLNK:
			fi.Target, _ = os.Readlink(p)
			if !symlinkTimes {
				fi.Mtime = 0
			}
		case unix.S_IFCHR, unix.S_IFBLK:
			fi.Rdev = st.Rdev
		}
		if st.Nlink > 1 && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			inodes[st.Ino] = append(inodes[st.Ino], rel)
		}
		out[rel] = fi
		return nil
	})
	must(t, err)
	for _, ps := range inodes {
		slices.Sort(ps)
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
	slices.Sort(d)
	if len(d) > 15 {
		d = append(d[:15], fmt.Sprintf("... and %d more", len(d)-15))
	}
	return d
}

func newBuilder(t testing.TB, opts Options) *Builder {
	t.Helper()
	if opts.SpoolDir == "" {
		opts.SpoolDir = t.TempDir()
	}
	b, err := NewBuilder(opts, nil)
	must(t, err)
	t.Cleanup(func() { b.Close() })
	return b
}

func build(t testing.TB, b *Builder, root string) *Image {
	t.Helper()
	tree, err := rootfs.Scan(context.Background(), root, rootfs.Options{})
	must(t, err)
	img, err := b.Build(context.Background(), tree)
	must(t, err)
	return img
}

// writeImage copies img to a file in a temporary directory.
func writeImage(t testing.TB, img *Image) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "root.squashfs")
	f, err := os.Create(path)
	must(t, err)
	_, err = io.Copy(f, io.NewSectionReader(img, 0, img.Size()))
	must(t, err)
	must(t, f.Close())
	return path
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
