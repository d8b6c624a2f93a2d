// Package testenv is the harness that liveiso's end-to-end tests
// (integration) and its benchmark program (bench) share: it sits outside
// the pipeline and drives the real tools around it.
//
//   - fixtures: the Debian test kernel that scripts/setup.sh unpacks (found
//     by internal/fixture), and a busybox-static root file system whose
//     /init prints a marker line and, when the kernel command line asks,
//     mounts its own CD and lists it (fixture.go, rootfs.go, listing.go);
//   - a QEMU runner with a serial console file, a monitor socket and
//     wait-for-line (qemu.go);
//   - FUSE mount hygiene (fuse.go);
//   - the reference pipeline, find | cpio | gzip and genisoimage, which is
//     the oracle for liveiso's images and the baseline for its benchmarks
//     (reference.go);
//   - the soak: a long run of edits against a live daemon (soak.go).
//
// It is internal: a harness, not a product; the benchmark imports it
// rather than the integration test package.
package testenv
