package rootfs

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// OpenBeneath opens rel below the directory dirfd without following a
// symlink in any component and without leaving dirfd: the one way every
// package opens a path of the untrusted rootfs. rel is slash-separated and
// clean ("." is dirfd itself; "", "/x", "a//b", "a/./b" and ".." components
// fail with EXDEV). O_NOFOLLOW and O_CLOEXEC are always added to flags, so a
// symlink as the last component fails with ELOOP, or, with O_PATH, yields a
// descriptor of the link itself (the caller checks what it got); a symlink
// in the way of a directory fails with ELOOP or ENOTDIR.
//
// It uses openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS)
// and, on kernels without openat2, a walk of openat calls that opens each
// component with O_NOFOLLOW relative to the descriptor of its parent. Both
// resolve every component against a directory already opened, so a
// directory swapped for a symlink at any moment is refused, never followed.
func OpenBeneath(dirfd int, rel string, flags int) (int, error) {
	if err := checkRel(rel); err != nil {
		return -1, err
	}
	flags |= unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := openat2Beneath(dirfd, rel, flags)
	if errors.Is(err, unix.ENOSYS) {
		return openWalk(dirfd, rel, flags)
	}
	return fd, err
}

// checkRel refuses what is not a clean relative path, so that both ways of
// opening agree on every input.
func checkRel(rel string) error {
	if rel == "." {
		return nil
	}
	for _, p := range strings.Split(rel, "/") {
		if p == "" || p == "." || p == ".." {
			return fmt.Errorf("path %q: %w", rel, unix.EXDEV)
		}
	}
	return nil
}

func openat2Beneath(dirfd int, rel string, flags int) (int, error) {
	how := unix.OpenHow{
		Flags:   uint64(flags),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	for attempt := 0; ; attempt++ {
		fd, err := unix.Openat2(dirfd, rel, &how)
		switch {
		case err == nil:
			return fd, nil
		case errors.Is(err, unix.EAGAIN) && attempt < raceRetries:
			continue // a concurrent rename; the kernel asks to retry
		case errors.Is(err, unix.EINTR):
			continue
		}
		return -1, err
	}
}

// openWalk opens rel (a clean path, see checkRel) one component at a time:
// each directory as an O_PATH|O_DIRECTORY|O_NOFOLLOW descriptor relative to
// its parent's, the last one with flags (which hold O_NOFOLLOW).
func openWalk(dirfd int, rel string, flags int) (int, error) {
	if rel == "." {
		return openatRetry(dirfd, ".", flags)
	}
	parts := strings.Split(rel, "/")
	cur := dirfd
	for i, p := range parts {
		f := unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
		if i == len(parts)-1 {
			f = flags
		}
		fd, err := openatRetry(cur, p, f)
		if cur != dirfd {
			unix.Close(cur)
		}
		if err != nil {
			return -1, err
		}
		cur = fd
	}
	return cur, nil
}

func openatRetry(dirfd int, name string, flags int) (int, error) {
	for {
		fd, err := unix.Openat(dirfd, name, flags, 0)
		if !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}
