package cache

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestRoundTripGNUCpio packs a tree with every entry type into many small
// chunks and unpacks it with the host's decompressor and GNU cpio: every
// path must come back with its type, mode, owner, size, content, mtime,
// symlink target, device numbers and hard-link group.
func TestRoundTripGNUCpio(t *testing.T) {
	needRoot(t)
	needTool(t, "cpio", "gzip", "zstd")
	src := t.TempDir() + "/rootfs"
	buildFullTree(t, src)
	want := describeTree(t, src)
	for _, tc := range []struct {
		comp       Compression
		decompress []string
	}{
		{Gzip, []string{"gzip", "-dc"}},
		{Zstd, []string{"zstd", "-dcq"}},
		{None, nil},
	} {
		t.Run(string(tc.comp), func(t *testing.T) {
			p := newPacker(t, Options{Compression: tc.comp, ChunkTargetBytes: 4096})
			r := pack(t, p, src, nil)
			st := r.Stats()
			if st.ChunksTotal < 20 {
				t.Errorf("ChunksTotal %d, want many with a 4 KiB target", st.ChunksTotal)
			}
			if len(st.Warnings) != 0 {
				t.Errorf("warnings: %q", st.Warnings)
			}
			img := initrdBytes(t, r)
			dst := t.TempDir()
			extract(t, img, tc.decompress, dst)
			if d := diffTrees(want, describeTree(t, dst)); len(d) > 0 {
				t.Errorf("unpacked tree differs:\n%s", strings.Join(d, "\n"))
			}
			entries := readArchive(t, img, tc.decompress)
			if len(entries) != st.Entries {
				t.Errorf("independent reader: %d entries, Stats.Entries %d", len(entries), st.Entries)
			}
			checkArchiveMtimes(t, src, entries)
			// cpio -t lists every entry once and sees the trailer (it
			// would complain about a premature end otherwise).
			script := "cpio -it --quiet | wc -l"
			if tc.decompress != nil {
				script = strings.Join(tc.decompress, " ") + " | " + script
			}
			cmd := exec.Command("bash", "-c", "set -o pipefail; "+script)
			cmd.Stdin = strings.NewReader(string(img))
			out, err := cmd.CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != strconv.Itoa(st.Entries) {
				t.Errorf("%s: %v: %q, want %d entries", script, err, out, st.Entries)
			}
		})
	}
}
