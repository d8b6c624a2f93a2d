// Package integration holds liveiso's end-to-end tests: they build images,
// boot them in QEMU, mount them through FUSE and serve them over HTTP and
// NBD, and check what the guest and the real tools see. The harness they
// use (fixtures, the QEMU runner, the reference pipeline, the soak) is
// internal/testenv, which the benchmark program shares.
//
// The tests need root (for mknod and FUSE), QEMU and the packages that
// scripts/setup.sh installs; a test whose fixture is missing fails with a
// message saying to run it.
package integration
