package squashroot

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/liveiso/liveiso/squashfs"
)

// TestUnsquashfs hands images of a tree with every kind of entry to
// squashfs-tools: -s reads the superblock, -lls lists every path, and -d
// extracts a tree equal to the source in content, mode, owner, mtime,
// symlinks, device nodes and hard links.
func TestUnsquashfs(t *testing.T) {
	needRoot(t)
	needTool(t, "unsquashfs")
	src := filepath.Join(t.TempDir(), "src")
	buildTree(t, src)
	want := describeTree(t, src, true)
	for _, comp := range []squashfs.Compression{squashfs.Gzip, squashfs.Zstd, squashfs.None} {
		t.Run(string(comp), func(t *testing.T) {
			b := newBuilder(t, Options{Compression: comp, Level: 3})
			img := writeImage(t, build(t, b, src))
			s := run(t, "unsquashfs", "-s", img)
			wantComp := map[squashfs.Compression]string{squashfs.Gzip: "gzip", squashfs.Zstd: "zstd", squashfs.None: "gzip"}[comp]
			for _, w := range []string{"Compression " + wantComp, "Block size 131072", fmt.Sprintf("Number of inodes %d", inodeCount(want))} {
				if !strings.Contains(s, w) {
					t.Errorf("unsquashfs -s lacks %q:\n%s", w, s)
				}
			}
			lls := run(t, "unsquashfs", "-lls", img)
			for p, fi := range want {
				if p == "." {
					continue
				}
				if !strings.Contains(lls, "squashfs-root/"+p) {
					t.Errorf("unsquashfs -lls does not list %q (%+v)", p, fi)
				}
			}
			dst := filepath.Join(t.TempDir(), "x")
			run(t, "unsquashfs", "-d", dst, img)
			got := describeTree(t, dst, false)
			wantNoLinkTimes := describeTree(t, src, false)
			if d := diffTrees(wantNoLinkTimes, got); len(d) > 0 {
				t.Errorf("unsquashfs -d differs from the source:\n%s", strings.Join(d, "\n"))
			}
		})
	}
}

// inodeCount is the number of inodes of a described tree: hard links count once.
func inodeCount(tree map[string]fileInfo) int {
	groups := map[string]bool{}
	n := 0
	for _, fi := range tree {
		if fi.LinkGrp == "" {
			n++
		} else if !groups[fi.LinkGrp] {
			groups[fi.LinkGrp] = true
			n++
		}
	}
	return n
}

// TestKernelMount mounts images with the host kernel through a loop device
// and compares what it sees with the source, symlink times included.
func TestKernelMount(t *testing.T) {
	needRoot(t)
	src := filepath.Join(t.TempDir(), "src")
	buildTree(t, src)
	want := describeTree(t, src, true)
	for _, comp := range []squashfs.Compression{squashfs.Gzip, squashfs.Zstd, squashfs.None} {
		t.Run(string(comp), func(t *testing.T) {
			b := newBuilder(t, Options{Compression: comp})
			img := writeImage(t, build(t, b, src))
			mnt := t.TempDir()
			run(t, "mount", "-t", "squashfs", "-o", "loop,ro", img, mnt)
			defer func() {
				if err := unix.Unmount(mnt, 0); err != nil {
					t.Errorf("umount %s: %v", mnt, err)
				}
			}()
			got := describeTree(t, mnt, true)
			if d := diffTrees(want, got); len(d) > 0 {
				t.Errorf("the kernel's view differs from the source:\n%s", strings.Join(d, "\n"))
			}
			if _, err := os.Stat(filepath.Join(mnt, "nonexistent")); !os.IsNotExist(err) {
				t.Errorf("lookup of a missing name: %v", err)
			}
		})
	}
}
