package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// ListEntry is one line of a tree listing: what the guest prints between
// ListBegin and ListEnd for its mounted CD, and what ListTree computes on the
// host, so the two can be compared.
//
// The line format is
//
//	<type> <perm> <uid>:<gid> <size> <sha256> <path>[ -> <target>]
//
// type is one of d f l c b p s; perm is the octal permission bits including
// setuid, setgid and sticky; size and sha256 are those of a regular file and
// 0 and "-" otherwise; path is relative to the listed root, which itself is
// "."; a symlink's target follows " -> ". Times and link counts are not
// listed: ISO 9660 and its readers do not keep them exactly.
type ListEntry struct {
	Path   string
	Type   byte // 'd', 'f', 'l', 'c', 'b', 'p', 's'
	Perm   uint32
	UID    uint32
	GID    uint32
	Size   int64
	SHA256 string // hex, regular files only; "-" otherwise
	Target string // symlinks only
}

func (e ListEntry) String() string {
	s := fmt.Sprintf("%c %04o %d:%d %d %s %s", e.Type, e.Perm, e.UID, e.GID, e.Size, e.SHA256, e.Path)
	if e.Type == 'l' {
		s += " -> " + e.Target
	}
	return s
}

// ParseListEntry parses one line in the format of ListEntry.String. A path
// that contains " -> " is ambiguous and not supported.
func ParseListEntry(line string) (ListEntry, error) {
	f := strings.SplitN(line, " ", 6)
	if len(f) != 6 || len(f[0]) != 1 {
		return ListEntry{}, fmt.Errorf("listing line %q: want 6 fields", line)
	}
	e := ListEntry{Type: f[0][0], SHA256: f[4], Path: f[5]}
	perm, err := strconv.ParseUint(f[1], 8, 32)
	if err != nil {
		return ListEntry{}, fmt.Errorf("listing line %q: perm: %w", line, err)
	}
	e.Perm = uint32(perm)
	uid, gid, ok := strings.Cut(f[2], ":")
	if !ok {
		return ListEntry{}, fmt.Errorf("listing line %q: owner %q is not uid:gid", line, f[2])
	}
	u, err := strconv.ParseUint(uid, 10, 32)
	if err != nil {
		return ListEntry{}, fmt.Errorf("listing line %q: uid: %w", line, err)
	}
	g, err := strconv.ParseUint(gid, 10, 32)
	if err != nil {
		return ListEntry{}, fmt.Errorf("listing line %q: gid: %w", line, err)
	}
	e.UID, e.GID = uint32(u), uint32(g)
	if e.Size, err = strconv.ParseInt(f[3], 10, 64); err != nil {
		return ListEntry{}, fmt.Errorf("listing line %q: size: %w", line, err)
	}
	if e.Type == 'l' {
		path, target, ok := strings.Cut(e.Path, " -> ")
		if !ok {
			return ListEntry{}, fmt.Errorf("listing line %q: symlink without target", line)
		}
		e.Path, e.Target = path, target
	}
	return e, nil
}

// GuestListing extracts the last listing the guest printed on console (the
// text between the last ListBegin line and the ListEnd line after it),
// sorted by path.
func GuestListing(console string) ([]ListEntry, error) {
	lines := strings.Split(strings.ReplaceAll(console, "\r", ""), "\n")
	begin := -1
	for i, l := range lines {
		if l == ListBegin {
			begin = i
		}
	}
	if begin < 0 {
		return nil, fmt.Errorf("no %s line on the console", ListBegin)
	}
	var entries []ListEntry
	for _, l := range lines[begin+1:] {
		if l == ListEnd {
			sortListing(entries)
			return entries, nil
		}
		e, err := ParseListEntry(l)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	return nil, fmt.Errorf("no %s line after %s", ListEnd, ListBegin)
}

// ListTree lists the tree at root on the host, never following symlinks,
// sorted by path.
func ListTree(root string) ([]ListEntry, error) {
	var entries []ListEntry
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		e, err := listEntry(path, filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortListing(entries)
	return entries, nil
}

func listEntry(path, rel string) (ListEntry, error) {
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		return ListEntry{}, &fs.PathError{Op: "lstat", Path: path, Err: err}
	}
	e := ListEntry{Path: rel, Perm: st.Mode & 0o7777, UID: st.Uid, GID: st.Gid, SHA256: "-"}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		e.Type = 'd'
	case syscall.S_IFREG:
		e.Type = 'f'
		e.Size = st.Size
		sum, err := fileSHA256(path)
		if err != nil {
			return ListEntry{}, err
		}
		e.SHA256 = sum
	case syscall.S_IFLNK:
		e.Type = 'l'
		target, err := os.Readlink(path)
		if err != nil {
			return ListEntry{}, err
		}
		e.Target = target
	case syscall.S_IFCHR:
		e.Type = 'c'
	case syscall.S_IFBLK:
		e.Type = 'b'
	case syscall.S_IFIFO:
		e.Type = 'p'
	case syscall.S_IFSOCK:
		e.Type = 's'
	default:
		return ListEntry{}, fmt.Errorf("%s: unknown file type %o", path, st.Mode&syscall.S_IFMT)
	}
	return e, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func sortListing(entries []ListEntry) {
	slices.SortFunc(entries, func(a, b ListEntry) int { return strings.Compare(a.Path, b.Path) })
}

// DiffListings compares two listings sorted by path and returns one line per
// difference ("missing", "unexpected", or "want ... / got ..."); none means
// equal.
func DiffListings(want, got []ListEntry) []string {
	var diffs []string
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case j == len(got) || i < len(want) && want[i].Path < got[j].Path:
			diffs = append(diffs, "missing:    "+want[i].String())
			i++
		case i == len(want) || got[j].Path < want[i].Path:
			diffs = append(diffs, "unexpected: "+got[j].String())
			j++
		default:
			if want[i] != got[j] {
				diffs = append(diffs, "want:       "+want[i].String(), "got:        "+got[j].String())
			}
			i++
			j++
		}
	}
	return diffs
}
