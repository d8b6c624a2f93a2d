package generation

import (
	"fmt"
	"io"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// fileSource is the bytes of a file on disk, as an io.ReaderAt that a layout
// extent can point at. The file stays open for as long as any generation
// refers to the source: a replaced file (a new inode) keeps serving the old
// bytes to the generations planned with it, so a reader never sees a file of
// one generation change size or content under it.
type fileSource struct {
	f    *os.File
	size int64
}

func (s *fileSource) ReadAt(p []byte, off int64) (int, error) {
	n, err := s.f.ReadAt(p, off)
	if err == io.EOF && off+int64(n) >= s.size {
		// The layout pads to the sector; EOF at the file's end is expected.
		return n, io.EOF
	}
	return n, err
}

// openSource opens path and checks that it is a regular file. The file is
// closed when the source becomes unreachable.
func openSource(f *os.File, path string) (*fileSource, os.FileInfo, error) {
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s: not a regular file", path)
	}
	s := &fileSource{f: f, size: fi.Size()}
	runtime.AddCleanup(s, func(f *os.File) { f.Close() }, f)
	return s, fi, nil
}

// openHost opens a file the user named on the command line (kernel,
// isolinux, extra files). These are trusted paths; symlinks there are the
// user's own.
func openHost(path string) (*fileSource, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return openSource(f, path)
}

// openBeneath opens rel inside root without following any symlink in any
// component. The rootfs is not trusted: a kernel picked from its boot/
// directory must not become a way to read a file outside it.
func openBeneath(root, rel string) (*fileSource, os.FileInfo, error) {
	dir, err := os.Open(root)
	if err != nil {
		return nil, nil, err
	}
	defer dir.Close()
	fd, err := unix.Openat2(int(dir.Fd()), rel, &unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	path := root + "/" + rel
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	return openSource(os.NewFile(uintptr(fd), path), path)
}
