// Package squashfs encodes the records of a squashfs 4.0 file system, the
// format the Linux kernel mounts read-only (fs/squashfs) and squashfs-tools
// write and read (mksquashfs, unsquashfs). Like archive/tar it knows the
// format only: format.go holds the constants named after the kernel's
// squashfs_fs.h, and each on-disk record is one struct with an Append
// method (superblock.go, inode.go, directory.go, table.go). metadata.go
// packs records into the 8 KiB metadata blocks of the inode, directory and
// lookup tables; compress.go compresses data and metadata blocks (zlib,
// zstd, or stored). Where a file's data comes from and where each record
// goes in an image is the caller's business (package squashroot).
//
// All integers are little-endian. What it does not write: xattrs, the
// export (NFS lookup) table, fragments, compressor options; a reader needs
// none of them.
package squashfs
