#!/usr/bin/env bash
# demo.sh is liveiso's main job on a tiny busybox Linux: it serves the live
# CD image of a rootfs directory with `liveiso mount`, boots it in QEMU with
# the guest's console here, edits the rootfs, and boots again to show the
# edit in the image at once. It returns when the second boot powers off.
# Works without a terminal too (CI).
#
#   1. set-up (scripts/setup.sh: Debian packages, the test kernel)
#   2. the demo rootfs: busybox-static, an /init that prints a marker line
#      (the contents of /etc/marker), in .fixtures/demo/rootfs
#   3. liveiso mount of that rootfs on .fixtures/demo/mnt: the live image
#      is .fixtures/demo/mnt/image.iso
#   4. boot it in QEMU (TCG, serial console on this terminal)
#   5. edit /etc/marker, wait for the new generation, boot again
#
# Environment: LIVEISO_FIXTURES as for scripts/setup.sh; DEMO_TIMEOUT
# (seconds, default 300) bounds each boot.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
fixtures=${LIVEISO_FIXTURES:-$repo/.fixtures}
demo=$fixtures/demo
marker="hello from the liveiso demo"
say() { echo "demo: $*" >&2; }

# 1. set-up
scripts/setup.sh
say "building bin/liveiso"
go build -o bin/liveiso ./cmd/liveiso

# 2. the demo rootfs
mnt=$demo/mnt
if mountpoint -q "$mnt" 2>/dev/null || [[ -e $mnt && ! -d $mnt/. ]]; then
	fusermount3 -u "$mnt" 2>/dev/null || fusermount3 -uz "$mnt" 2>/dev/null || true
fi
say "building the demo rootfs in $demo/rootfs"
rm -rf -- "$demo"
mkdir -p "$demo" "$mnt"
go run ./integration/cmd/liveiso-fixture rootfs -marker "$marker" "$demo/rootfs"

# 3. the live image
kernel=$(go run ./integration/cmd/liveiso-fixture kernel)
say "liveiso mount --rootfs $demo/rootfs $mnt (log in $demo/mount.log)"
bin/liveiso mount --rootfs "$demo/rootfs" --kernel "$kernel" \
	--append "console=ttyS0 panic=-1 quiet" --cache-dir "$demo/cache" \
	"$mnt" >"$demo/mount.log" 2>&1 &
daemon=$!
trap 'kill -INT $daemon 2>/dev/null; wait $daemon 2>/dev/null || true' EXIT

# generation prints the generation status.json says is ready (0 before).
generation() {
	sed -n 's/^ *"generation": \([0-9]*\),$/\1/p' "$mnt/status.json" 2>/dev/null || echo 0
}
# wait_generation waits until a generation newer than $1 is ready.
wait_generation() {
	for _ in $(seq 600); do
		if ! kill -0 $daemon 2>/dev/null; then
			say "liveiso mount exited:"
			cat "$demo/mount.log" >&2
			exit 1
		fi
		g=$(generation)
		if [[ ${g:-0} -gt $1 ]] && grep -q '"state": "ready"' "$mnt/status.json"; then
			return 0
		fi
		sleep 0.1
	done
	say "no generation after $1 within a minute:"
	cat "$demo/mount.log" >&2
	exit 1
}
wait_generation 0
bin/liveiso status "$mnt" >&2

# 4. boot; boot_expect MARKER boots the live image and checks the marker.
boot_expect() {
	say "booting $mnt/image.iso in QEMU (TCG; about 10 s); the guest's console follows"
	status=0
	timeout "${DEMO_TIMEOUT:-300}" qemu-system-x86_64 -accel tcg -m 512 -display none \
		-nic none -parallel none -monitor none -serial stdio -no-reboot \
		-cdrom "$mnt/image.iso" </dev/null | tee "$demo/console.log" || status=$?
	if [[ $status -ne 0 ]]; then
		say "qemu failed or timed out (status $status); console in $demo/console.log"
		exit 1
	fi
	if ! grep -q "LIVEISO-MARKER: $1" "$demo/console.log"; then
		say "the guest never printed its marker line; console in $demo/console.log"
		exit 1
	fi
	say "the guest booted to its marker line and powered off"
}
boot_expect "$marker"

# 5. edit the rootfs; the live image follows
edited="edited at $(date +%T)"
g=$(generation)
say "echo '$edited' > $demo/rootfs/etc/marker"
echo "$edited" >"$demo/rootfs/etc/marker"
wait_generation "$g"
bin/liveiso status "$mnt" >&2
boot_expect "$edited"
