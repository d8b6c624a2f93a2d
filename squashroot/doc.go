// Package squashroot turns a scanned rootfs (package rootfs) into a squashfs
// 4.0 image (package squashfs) that is assembled from extents as it is read,
// like the initrd of package cache:
//
//	rootfs -> squashroot -> generation (the image on the medium)
//
// A Builder compresses each regular file's data blocks once and keeps them,
// keyed by the file's path and full stat data (as cache keys its chunks), in
// an append-only spool file; an edit recompresses only the edited files.
// Everything else (inode, directory and id tables, superblock) is planned
// again for every Build from the tree and the files' block lists: that is a
// pure function of them (plan.go), cheap next to compressing
// (MEASUREMENTS.md, squashroot).
//
// An Image is immutable: its data extents refer to spool bytes that are
// never written again, and its metadata is its own. A file changed while it
// is read fails the Build with an error wrapping rootfs.ErrChanged; the
// caller keeps its last Image.
//
// Not written: xattrs, fragments (every tail is a block of its own), the
// export table. Sockets are left out by the scan.
package squashroot
