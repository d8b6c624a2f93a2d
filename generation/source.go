package generation

import (
	"fmt"
	"os"

	"github.com/liveiso/liveiso/rootfs"
	"golang.org/x/sys/unix"
)

// The files the image refers to (kernel, isolinux, extra files) are open
// *os.File values, io.ReaderAt sources of the layout's extents, opened anew
// for each generation and closed by its last Release (lifetime.go): a file
// replaced by a new inode keeps serving its old bytes to the generations
// planned with it, so a reader never sees a file of one generation change
// size or content under it.

// checkRegular stats an opened file and checks that it is a regular file;
// it closes f when not.
func checkRegular(f *os.File, path string) (*os.File, os.FileInfo, error) {
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s: not a regular file", path)
	}
	return f, fi, nil
}

// openHost opens a file the user named on the command line (kernel,
// isolinux, extra files). These are trusted paths; symlinks there are the
// user's own.
func openHost(path string) (*os.File, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return checkRegular(f, path)
}

// openBeneath opens rel inside root without following any symlink in any
// component (rootfs.OpenBeneath). The rootfs is not trusted: a kernel picked
// from its boot/ directory must not become a way to read a file outside it,
// nor to block on a FIFO put in its place (O_NONBLOCK; it does not change how
// a regular file reads).
func openBeneath(root, rel string) (*os.File, os.FileInfo, error) {
	dirfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", root, err)
	}
	defer unix.Close(dirfd)
	path := root + "/" + rel
	fd, err := rootfs.OpenBeneath(dirfd, rel, unix.O_RDONLY|unix.O_NONBLOCK)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	return checkRegular(os.NewFile(uintptr(fd), path), path)
}
