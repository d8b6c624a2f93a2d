#!/usr/bin/env bash
# demo.sh boots a small busybox Linux from a CD image in QEMU and shows its
# console here; it returns when the guest powers off (a few seconds after its
# "LIVEISO-MARKER: ..." line). Works without a terminal too (CI).
#
#   1. set-up (scripts/setup.sh: Debian packages, the test kernel)
#   2. the demo rootfs: busybox-static, an /init that prints a marker line,
#      in .fixtures/demo/rootfs
#   3. the CD image of that rootfs
#   4. boot it in QEMU (TCG, serial console on this terminal)
#
# Environment: LIVEISO_FIXTURES as for scripts/setup.sh; DEMO_TIMEOUT
# (seconds, default 300) bounds the boot.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
fixtures=${LIVEISO_FIXTURES:-$repo/.fixtures}
demo=$fixtures/demo
marker="hello from the liveiso demo"
say() { echo "demo: $*" >&2; }

# 1. set-up
scripts/setup.sh

# 2. the demo rootfs
say "building the demo rootfs in $demo/rootfs"
rm -rf -- "$demo"
mkdir -p "$demo"
go run ./integration/cmd/liveiso-fixture rootfs -marker "$marker" "$demo/rootfs"

# 3. ===== THE IMAGE ================================================
# For now the reference pipeline (find | cpio | gzip -9, genisoimage) makes
# image.iso. This step is to become the live image: `liveiso mount` of
# $demo/rootfs, with image=<mountpoint>/image.iso.
say "making the CD image (reference pipeline: find | cpio | gzip -9, genisoimage)"
image=$(go run ./integration/cmd/liveiso-fixture reference -append quiet \
	-rootfs "$demo/rootfs" -out "$demo/reference")
# ===================================================================

# 4. boot
say "booting $image in QEMU (TCG; about 10 s); the guest's console follows"
status=0
timeout "${DEMO_TIMEOUT:-300}" qemu-system-x86_64 -accel tcg -m 512 -display none \
	-nic none -parallel none -monitor none -serial stdio -no-reboot \
	-cdrom "$image" </dev/null | tee "$demo/console.log" || status=$?
if [[ $status -ne 0 ]]; then
	say "qemu failed or timed out (status $status); console in $demo/console.log"
	exit 1
fi
if ! grep -q "LIVEISO-MARKER: $marker" "$demo/console.log"; then
	say "the guest never printed its marker line; console in $demo/console.log"
	exit 1
fi
say "the guest booted to its marker line and powered off"
