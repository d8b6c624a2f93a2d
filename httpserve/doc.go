// Package httpserve serves live generations over HTTP, for netboot (iPXE's
// kernel/initrd and sanboot) and for anything that reads a URL. It adapts
// generations to HTTP as package vfs adapts them to FUSE, and like vfs it
// knows nothing of ISO 9660: a generation is the live daemon's snapshot
// (live.Snapshot), three byte ranges (image, kernel, initrd), a fourth when
// it has a unified kernel image, and a number.
//
// HTTP has no open file to pin a generation to, so every generation has its
// own immutable URLs, /g/N-RUN/image.iso and so on, where RUN is a token
// drawn at each start of the daemon; the plain names (/image.iso,
// /boot.ipxe) redirect to, or name, the current generation's URLs. A client
// that follows one URL reads one generation, and a cache in front (nginx
// proxy_cache, a CDN) may keep those URLs forever: a restart renumbers the
// generations from 1, and the RUN token keeps its URLs apart from the last
// run's.
//
// Which generations stay readable is a retention policy behind the
// Generations interface. Keep is the one liveiso uses: a subscriber of the
// daemon that holds a reference to each of the last N snapshots, and to an
// older one while a request reads it; Close lets go of them all, and the
// requests in flight finish their reads.
package httpserve
