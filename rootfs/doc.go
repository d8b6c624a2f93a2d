// Package rootfs scans the root file system directory that liveiso packs
// into the initramfs: the first step of the pipeline (rootfs -> newc ->
// cache). It produces the entries, with their lstat data, in the order a cpio
// archive needs them, re-reads only what changed after an edit (Rescan), and
// opens regular files for the packer (Tree.Open).
//
// The rootfs may be hostile and may change while it is read. So the scanner
// never follows a symlink and never resolves a path from the top: every
// directory is opened relative to its parent's fd with O_NOFOLLOW and checked
// to be the directory its lstat described, and Tree.Open resolves a file with
// OpenBeneath (openat2, or an O_NOFOLLOW walk) below a freshly opened root fd
// and checks dev/ino. A swap of a directory for a symlink mid-scan gives
// either a correct result or an error wrapping ErrChanged, never a file from
// outside the rootfs. OpenBeneath is the one way any package (watch,
// generation) opens a path below the rootfs.
//
// File descriptors: a Tree holds none. Scan and Rescan close what they open
// before returning, and Open opens (and re-checks) the root on every call, so
// Trees need no Close and can be kept, shared and handed to Rescan freely.
package rootfs
