// Package integration is the end-to-end test harness of liveiso: it sits
// outside the pipeline and drives the real tools around it.
//
// Its non-test files are a small library shared by the end-to-end tests of
// this package and by benchmark programs:
//
//   - fixtures: the Debian test kernel that scripts/setup.sh unpacks, and a
//     busybox-static root file system whose /init prints a marker line and,
//     when the kernel command line asks, mounts its own CD and lists it
//     (fixture.go, rootfs.go, listing.go);
//   - a QEMU runner with a serial console file, a monitor socket and
//     wait-for-line (qemu.go);
//   - FUSE mount hygiene (fuse.go);
//   - the reference pipeline, find | cpio | gzip and genisoimage, which is
//     the oracle for liveiso's images and the baseline for its benchmarks
//     (reference.go).
//
// The tests need root (for mknod and FUSE), QEMU and the packages that
// scripts/setup.sh installs; a test whose fixture is missing fails with a
// message saying to run it.
package integration
