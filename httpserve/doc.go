// Package httpserve serves live generations over HTTP, for netboot (iPXE's
// kernel/initrd and sanboot, and firmware HTTP Boot) and for anything that
// reads a URL. It adapts generations to HTTP as package vfs adapts them to
// FUSE, and like vfs it knows nothing of ISO 9660: a generation is three
// byte ranges (image, kernel, initrd), a fourth when it has a unified
// kernel image, the initrd's parts (chunks) and a number.
//
// HTTP has no open file to pin a generation to, so every generation has its
// own immutable URLs, /g/N-RUN/image.iso and so on, where RUN is a token
// drawn at each start of the daemon; the iPXE scripts name the current
// generation's URLs, and /vmlinuz and /initrd.img redirect to them. A
// client that follows one URL reads one generation, and a cache in front
// (nginx proxy_cache, a CDN) may keep those URLs forever: a restart
// renumbers the generations from 1, and the RUN token keeps its URLs apart
// from the last run's.
//
// Three kinds of URL besides (each in its own file):
//   - stable.go: /image.iso and /uki.efi answer 200 with the current
//     generation at a constant size, for firmware that follows no redirect;
//   - chunks.go: /c/KEY is a chunk of an initrd (or a kernel) named by the
//     SHA-256 of its bytes, the same URL in every generation and run that
//     has it, so that a cache fetches only what an edit changed; the
//     chunked /boot.ipxe (ipxe.go) loads them as consecutive initrds;
//   - the fleet page at / (index.go, page.go, fleet.go) and /metrics
//     (metrics.go), which show the generations and the clients and count
//     bytes per route and generation, and say nothing of the rootfs's files.
//
// Which generations stay readable is a retention policy behind the
// Generations interface. Keep is the one liveiso uses: a subscriber of the
// daemon that holds a reference to each of the last N snapshots, and to an
// older one while a request reads it; Close lets go of them all, and the
// requests in flight finish their reads. The HTTP outlet hands each
// snapshot to Server.Published (which names its chunks) and then to Keep.
package httpserve
