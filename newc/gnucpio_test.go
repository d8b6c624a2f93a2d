package newc

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func needCpio(t *testing.T) {
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Fatal("GNU cpio is not installed (scripts/setup.sh installs it)")
	}
	if os.Getuid() != 0 {
		t.Skip("extracting owners and device nodes needs root")
	}
}

// gnuTestArchive has every entry type, special mode bits, owners, a long and
// a non-UTF-8 name, empty files and two hard-link groups: one with the data
// on its last entry (liveiso's convention) and one with it on the first.
func gnuTestArchive() []record {
	long := strings.Repeat(strings.Repeat("d", 200)+"/", 19) + "leaf" // 3823 bytes, below PATH_MAX
	var recs []record
	add := func(h Header, data string) {
		h.Size = int64(len(data))
		if h.Nlink == 0 {
			h.Nlink = 1
		}
		h.Ino = uint32(len(recs) + 100)
		if h.Mtime == 0 {
			h.Mtime = 1600000000 + int64(len(recs))
		}
		recs = append(recs, record{h, []byte(data)})
	}
	add(Header{Name: "bin", Mode: TypeDir | 0o755, Nlink: 2}, "")
	add(Header{Name: "bin/su", Mode: TypeReg | ModeSetuid | 0o755}, "#!/bin/sh\n")
	add(Header{Name: "bin/wall", Mode: TypeReg | ModeSetgid | 0o755, GID: 5}, "w")
	add(Header{Name: "dev", Mode: TypeDir | 0o755, Nlink: 2}, "")
	add(Header{Name: "dev/console", Mode: TypeChar | 0o600, RdevMajor: 5, RdevMinor: 1}, "")
	add(Header{Name: "dev/sda1", Mode: TypeBlock | 0o660, GID: 6, RdevMajor: 8, RdevMinor: 1}, "")
	add(Header{Name: "dev/big", Mode: TypeChar | 0o600, RdevMajor: 4000, RdevMinor: 300000}, "")
	add(Header{Name: "empty", Mode: TypeReg | 0o644}, "")
	add(Header{Name: "emptydir", Mode: TypeDir | 0o700, Nlink: 2, UID: 1000, GID: 1000}, "")
	add(Header{Name: "fifo", Mode: TypeFifo | 0o640}, "")
	add(Header{Name: "home", Mode: TypeDir | 0o755, Nlink: 2}, "")
	add(Header{Name: "home/user", Mode: TypeReg | 0o600, UID: 1000, GID: 100}, strings.Repeat("data", 1000)+"x")
	add(Header{Name: "lib", Mode: TypeSymlink | 0o777}, "usr/lib")
	add(Header{Name: "abs", Mode: TypeSymlink | 0o777}, "/etc/passwd")
	add(Header{Name: "name-\xff\xfe-latin1-\xe9", Mode: TypeReg | 0o644}, "non-UTF-8")
	add(Header{Name: "tmp", Mode: TypeDir | ModeSticky | 0o777, Nlink: 2}, "")
	dir := ""
	for _, c := range strings.Split(long, "/")[:19] {
		dir = filepath.Join(dir, c)
		add(Header{Name: dir, Mode: TypeDir | 0o755, Nlink: 2}, "")
	}
	add(Header{Name: long, Mode: TypeReg | 0o644}, "deep")
	// Hard-link group 1: data on the last entry.
	for i, name := range []string{"link1-a", "bin/link1-b", "link1-c"} {
		data := ""
		if i == 2 {
			data = "linked, data last"
		}
		add(Header{Name: name, Mode: TypeReg | 0o644, Nlink: 3, Mtime: 1500000000}, data)
		recs[len(recs)-1].hdr.Ino = 7
	}
	// Hard-link group 2: data on the first entry.
	for i, name := range []string{"link2-a", "link2-b"} {
		data := ""
		if i == 0 {
			data = "linked, data first"
		}
		add(Header{Name: name, Mode: TypeReg | 0o755, Nlink: 2, Mtime: 1500000000}, data)
		recs[len(recs)-1].hdr.Ino = 8
	}
	return recs
}

// TestGNUCpioExtract extracts an archive with GNU cpio and compares what it
// made with the headers.
func TestGNUCpioExtract(t *testing.T) {
	needCpio(t)
	recs := gnuTestArchive()
	archive := writeArchive(t, recs)
	dir := t.TempDir()
	cmd := exec.Command("cpio", "-idm", "--no-absolute-filenames", "--quiet")
	cmd.Dir, cmd.Stdin = dir, bytes.NewReader(archive)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio -idm: %v\n%s", err, out)
	}
	groups := map[uint32]uint64{} // header ino -> extracted ino
	for _, r := range recs {
		h, p := r.hdr, filepath.Join(dir, r.hdr.Name)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Errorf("%.60s: %v", h.Name, err)
			continue
		}
		want := h
		got := Header{Name: h.Name, Ino: h.Ino, Mode: st.Mode, UID: st.Uid, GID: st.Gid, Nlink: uint32(st.Nlink),
			Mtime: st.Mtim.Sec, Size: st.Size, DevMajor: h.DevMajor, DevMinor: h.DevMinor,
			RdevMajor: unix.Major(st.Rdev), RdevMinor: unix.Minor(st.Rdev)}
		switch h.Mode & TypeMask {
		case TypeDir:
			got.Size, got.Nlink = 0, want.Nlink // a directory's size and link count are the file system's
			if hasChildren(recs, h.Name) {
				got.Mtime = want.Mtime // GNU cpio sets it before it creates the children, which change it
			}
		case TypeSymlink:
			target, err := os.Readlink(p)
			if err != nil || target != string(r.data) {
				t.Errorf("%s: target %q, %v; want %q", h.Name, target, err, r.data)
			}
			got.Size = int64(len(target))
			got.Mtime = want.Mtime // GNU cpio does not set a symlink's time
		case TypeReg:
			content, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if h.Nlink > 1 {
				if prev, ok := groups[h.Ino]; ok && prev != st.Ino {
					t.Errorf("%s: not linked to the rest of its group", h.Name)
				}
				groups[h.Ino] = st.Ino
				want.Size = int64(len(content)) // the group's data, from whichever entry held it
				if !strings.HasPrefix(string(content), "linked") {
					t.Errorf("%s: content %q", h.Name, content)
				}
			} else if !bytes.Equal(content, r.data) {
				t.Errorf("%.60s: content %q, want %q", h.Name, content, r.data)
			}
		}
		if got != want {
			t.Errorf("%.60s:\n got %+v\nwant %+v", h.Name, got, want)
		}
	}
	if len(groups) != 2 {
		t.Errorf("%d hard-link groups, want 2", len(groups))
	}
}

func hasChildren(recs []record, dir string) bool {
	for _, r := range recs {
		if strings.HasPrefix(r.hdr.Name, dir+"/") {
			return true
		}
	}
	return false
}

// TestGNUCpioList checks that `cpio -itv` reads every entry, with the
// device numbers.
func TestGNUCpioList(t *testing.T) {
	needCpio(t)
	recs := gnuTestArchive()
	cmd := exec.Command("cpio", "-itv", "--quiet")
	cmd.Stdin = bytes.NewReader(writeArchive(t, recs))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cpio -itv: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(recs) {
		t.Fatalf("cpio -itv listed %d entries, want %d:\n%s", len(lines), len(recs), out)
	}
	for i, l := range lines {
		if !strings.HasSuffix(l, " "+recs[i].hdr.Name) && !strings.Contains(l, " "+recs[i].hdr.Name+" -> ") {
			t.Errorf("line %d %q does not name %q", i, l, recs[i].hdr.Name)
		}
	}
	if !strings.Contains(lines[6], "4000, 300000") || !strings.HasPrefix(lines[4], "crw-------") {
		t.Errorf("device lines %q %q", lines[4], lines[6])
	}
}

// TestMatchesGNUCpio archives a directory with `cpio -o -H newc`, decodes each
// header and re-encodes it: the bytes must be identical, which pins the hex
// case, the padding and the hard-link convention (GNU cpio puts a link
// group's data on its last entry).
func TestMatchesGNUCpio(t *testing.T) {
	needCpio(t)
	dir := t.TempDir()
	for _, s := range []string{"a", "b/c", "b/d", "e"} {
		p := filepath.Join(dir, s)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte("content of "+s), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	os.Link(filepath.Join(dir, "a"), filepath.Join(dir, "b/hard"))
	os.Symlink("../a", filepath.Join(dir, "b/sym"))
	unix.Mknod(filepath.Join(dir, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3)))
	cmd := exec.Command("sh", "-c", "find . | LC_ALL=C sort | cpio -o -H newc --quiet")
	cmd.Dir = dir
	gnu, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	recs := readArchive(t, gnu)
	var linkData []int
	for i, r := range recs {
		if r.hdr.Nlink > 1 && r.hdr.Mode&TypeMask == TypeReg {
			linkData = append(linkData, len(r.data))
		}
		_ = i
	}
	if fmt.Sprint(linkData) != fmt.Sprint([]int{0, len("content of a")}) {
		t.Errorf("GNU cpio hard-link data sizes %v: expected data on the last entry", linkData)
	}
	if ours := writeArchive(t, recs); !bytes.Equal(ours, gnu[:len(ours)]) || strings.Trim(string(gnu[len(ours):]), "\x00") != "" {
		t.Errorf("re-encoding GNU cpio's archive differs:\n got %q\nwant %q", ours, gnu)
	}
}
