package squashroot

import (
	"context"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/liveiso/liveiso/squashfs"
)

func cpuTime() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPlan measures what an edit costs besides compressing the edited
// file: planning the metadata of the whole tree. The tree is
// $LIVEISO_SQUASHFS_BENCH_TREE (bench's synthetic trees, e.g.
// /var/tmp/liveiso-bench/corpus/synthetic-50k-seed1), else the test tree.
func BenchmarkPlan(b *testing.B) {
	root := os.Getenv("LIVEISO_SQUASHFS_BENCH_TREE")
	if root == "" {
		root = b.TempDir() + "/src"
		buildTree(b, root)
	}
	tree := scan(b, root)
	for _, comp := range []squashfs.Compression{squashfs.Gzip, squashfs.Zstd, squashfs.None} {
		b.Run(string(comp), func(b *testing.B) {
			bl := newBuilder(b, Options{Compression: comp, Level: 3})
			if _, err := bl.Build(context.Background(), tree); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			cpu0 := cpuTime()
			for b.Loop() {
				img, err := bl.Build(context.Background(), tree)
				if err != nil {
					b.Fatal(err)
				}
				if img.Stats().FilesCompressed != 0 {
					b.Fatal("compressed again")
				}
			}
			// CPU time, which a loaded machine does not inflate as it does
			// the wall clock.
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}
