package integration

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/liveiso/liveiso/cache"

	"github.com/liveiso/liveiso/internal/testenv"
)

// The initrds the cache packs boot the test kernel directly (-kernel
// -initrd) to the busybox rootfs's marker: one per compression, each made of
// many members (a tiny chunk target), and one that mixes gzip, zstd and
// uncompressed members, which only the kernel reads in one pass.
func TestCacheInitrdBoots(t *testing.T) {
	t.Parallel()
	k, err := testenv.Kernel()
	if err != nil {
		t.Fatal(err)
	}
	marker := "cache initrd " + time.Now().Format(time.RFC3339Nano)
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	if err := testenv.BuildBusyboxRootfs(rootfs, marker); err != nil {
		t.Fatal(err)
	}
	// 2 KiB chunks: dozens of members (large files are their own); the tree
	// has busybox, its applet symlinks, /dev/console and kernel modules.
	const target = 2 << 10
	initrds := map[cache.Compression]*cache.Initrd{}
	for _, c := range []cache.Compression{cache.Gzip, cache.Zstd, cache.None} {
		p, err := cache.NewPacker(cache.Options{Compression: c, ChunkTargetBytes: target, RootOwner: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		if initrds[c], err = p.Pack(context.Background(), rootfs, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Same tree, options but compression and chunk target: the same chunks,
	// so member i can come from any of the three.
	var mixed []cache.Member
	g, z, n := initrds[cache.Gzip].Members(), initrds[cache.Zstd].Members(), initrds[cache.None].Members()
	if len(g) != len(z) || len(g) != len(n) {
		t.Fatalf("member counts differ: gzip %d, zstd %d, none %d", len(g), len(z), len(n))
	}
	for i := range g {
		mixed = append(mixed, [][]cache.Member{g, z, n}[i%3][i])
	}
	mixedInitrd, err := cache.Assemble(mixed)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		r    *cache.Initrd
	}{
		{"gzip", initrds[cache.Gzip]},
		{"zstd", initrds[cache.Zstd]},
		{"none", initrds[cache.None]},
		{"mixed", mixedInitrd},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "initrd.img")
			f, err := os.Create(img)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, io.NewSectionReader(tc.r, 0, tc.r.Size())); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d members, %d bytes", tc.name, len(tc.r.Members()), tc.r.Size())
			vm := testenv.StartVM(t, testenv.VMOptions{Kernel: k.Vmlinuz, Initrd: img, Append: testenv.KernelArgs, NoReboot: true})
			if _, err := vm.WaitForLine(regexp.MustCompile("^"+regexp.QuoteMeta(testenv.MarkerPrefix+marker)+"$"), bootTimeout); err != nil {
				vm.Fatalf(t, "%s initrd: %v", tc.name, err)
			}
			if _, err := vm.WaitForLine(regexp.MustCompile("^"+testenv.GuestPoweroff+"$"), time.Minute); err != nil {
				vm.Fatalf(t, "%s initrd: %v", tc.name, err)
			}
		})
	}
}
