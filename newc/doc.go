// Package newc writes the cpio "new ASCII" format (magic 070701, "newc"),
// the format of the Linux initramfs. It sits between the scanner and the
// cache in liveiso's pipeline (rootfs -> newc -> cache): the cache encodes
// each chunk of entries with a Writer (no trailer) and ends the whole initrd
// with one AppendTrailer.
//
// The format (see the kernel's
// Documentation/driver-api/early-userspace/buffer-format.rst and cpio(5)):
// a 110-byte header, "070701" and 13 fields of 8 hexadecimal digits (c_ino,
// c_mode, c_uid, c_gid, c_nlink, c_mtime, c_filesize, c_devmajor,
// c_devminor, c_rdevmajor, c_rdevminor, c_namesize, c_check), then the name
// and its NUL, zero-padded to a multiple of 4 bytes, then c_filesize bytes of
// data (a symlink's data is its target), zero-padded to a multiple of 4.
// Fields are written in uppercase hexadecimal, as GNU cpio and the kernel's
// usr/gen_init_cpio write them; every reader (the kernel's simple_strntoul,
// GNU cpio, libarchive) accepts either case. c_check is 0: newc has no
// checksum (070702 "crc" is another format).
//
// Limits, each an error wrapped with the entry's name: c_filesize is 32 bits
// (ErrTooLarge for 4 GiB or more), the kernel refuses names longer than
// PATH_MAX including the NUL (ErrNameTooLong), and c_mtime is 32 bits
// unsigned (ErrFieldRange outside 1970..2106).
//
// Hard links. The kernel's unpacker (init/initramfs.c, maybe_link) links an
// entry to an earlier one with equal (c_ino, c_devmajor, c_devminor, c_mode)
// when c_nlink >= 2; a linked regular file is then opened without O_TRUNC and
// its entry's data, if any, is written into the shared inode. So the kernel
// accepts the data on any one entry of a group. GNU cpio's copy-in defers
// data-less link entries until the entry with data arrives, or links them to
// an already extracted file. This package leaves the choice to the caller
// (it writes what the Header says), and liveiso's convention is the one GNU
// cpio and libarchive use when they write newc: all entries of a group carry
// the same c_ino, c_dev*, c_mode and c_nlink, every entry but the last has
// c_filesize 0, and the last entry of the group in archive order carries the
// data. Inode numbers must be unique per file across the whole initrd (all
// chunks): the kernel's link table lives until the one trailer. The caller
// (the cache) assigns them.
//
// Why not github.com/cavaliergopher/cpio's Writer, which also writes newc:
// its header writer leaves c_devmajor/c_devminor/c_rdevmajor/c_rdevminor at
// zero, so device nodes such as /dev/console lose their numbers; it assigns
// inode numbers itself when a header's Inode is 0, from a counter that
// restarts with every Writer, so inode numbers collide across chunks and the
// kernel would link unrelated files; and setting a header's Checksum switches
// a package-level magic to 070702 for every later header of every Writer.
// Its Reader is used in this package's tests as an independent reader.
package newc
