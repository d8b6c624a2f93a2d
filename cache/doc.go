// Package cache packs a rootfs directory into an initramfs and remembers
// what it packed. In liveiso's pipeline
//
//	rootfs -> newc -> cache -> generation -> live -> vfs
//	                           (isolayout, fat, efiboot, hybrid, extent)
//	                                          ^ watch
//
// it takes the scanned entries (rootfs) and encodes them as cpio newc
// (newc); generation puts the Initrd into an image, live publishes each
// generation as the watcher reports edits, and vfs serves it.
//
// A Packer scans the rootfs (rootfs.Scan, then rootfs.Rescan of what
// changed), turns the entries into items (newc headers with inode numbers
// that are stable under edits, hard-link groups, synthetic /init and
// /dev/console), cuts them into chunks whose boundaries an edit does not move
// (chunker.go, plan.go), and encodes and compresses each chunk as an
// independent member (member.go, compress.go) on a pool of workers
// (build.go). Members are keyed by everything their bytes depend on (key.go).
// The members this process compressed are kept in a bounded in-memory cache
// (memcache.go); all of them go to a persistent, checksummed disk store, a
// room of its own (cache/internal/store, and store.go for all the packer
// knows of it): a member found there is checked once and then read through
// its file; the store is shared by every process on the cache directory and
// trimmed to a size, least recently used first; the members a live Initrd
// uses are pinned so that no trim removes them. So a Pack after an edit compresses only the chunks the edit touched, and a
// restart on an unchanged tree reads no rootfs file content at all. What the
// next Pack reuses of the last one is one value (lastPack, lastpack.go),
// swapped in when a Pack succeeds. A chunk of files changed just before the
// Pack (racy) is cached only after re-reading its files once they are old
// enough gives the bytes it was made from (settle.go): nothing is compressed
// twice.
//
// The result, an Initrd, is an io.ReaderAt over the members, the padding
// between them and the one trailer (initrd.go), laid out so that both the
// kernel's unpacker and host `gzip -dc | cpio -i` / `zstd -dc | cpio -i`
// read it. It is immutable and stays readable after later Packs.
package cache
