#!/usr/bin/env bash
# demo.sh is liveiso's main job on a tiny busybox Linux, in one command:
# `liveiso run` serves the live CD image of a rootfs directory, boots it in
# QEMU with the guest's console here, and when the rootfs is edited resets
# the guest, which boots the edited image. It returns when the guest prints
# the edited marker. Works without a terminal too (CI).
#
#   1. set-up (scripts/setup.sh: Debian packages, the test kernel)
#   2. the demo rootfs: busybox-static, an /init that prints a marker line
#      (the contents of /etc/marker) and powers off, in .fixtures/demo/rootfs
#   3. liveiso run --watch --until 'the edited marker': the first boot; as
#      soon as its marker is on the console, this script edits /etc/marker
#      (in the background, as you would in your editor), liveiso builds the
#      new generation and resets the guest, and the second boot prints the
#      edited marker, which ends the run
#
# Environment: LIVEISO_FIXTURES as for scripts/setup.sh; DEMO_TIMEOUT
# (seconds, default 300) bounds the run.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
fixtures=${LIVEISO_FIXTURES:-$repo/.fixtures}
demo=$fixtures/demo
marker="hello from the liveiso demo"
edited="edited at $(date +%T)"
say() { echo "demo: $*" >&2; }

# 1. set-up
scripts/setup.sh
say "building bin/liveiso"
go build -o bin/liveiso ./cmd/liveiso

# 2. the demo rootfs (a mount left by the demo of older versions goes first)
if mountpoint -q "$demo/mnt" 2>/dev/null || [[ -e $demo/mnt && ! -d $demo/mnt/. ]]; then
	fusermount3 -u "$demo/mnt" 2>/dev/null || fusermount3 -uz "$demo/mnt" 2>/dev/null || true
fi
say "building the demo rootfs in $demo/rootfs"
rm -rf -- "$demo"
mkdir -p "$demo"
go run ./integration/cmd/liveiso-fixture rootfs -marker "$marker" "$demo/rootfs"
kernel=$(go run ./integration/cmd/liveiso-fixture kernel)

# 3. the edit, made once the first boot has printed its marker
console=$demo/console.log
(
	for _ in $(seq 3000); do
		if grep -q "LIVEISO-MARKER: $marker" "$console" 2>/dev/null; then
			say "echo '$edited' > $demo/rootfs/etc/marker"
			echo "$edited" >"$demo/rootfs/etc/marker"
			exit 0
		fi
		sleep 0.1
	done
) &
editor=$!
trap 'kill $editor 2>/dev/null || true' EXIT

say "liveiso run --rootfs $demo/rootfs --watch --until 'LIVEISO-MARKER: $edited' (QEMU; about 10 s a boot without KVM)"
status=0
bin/liveiso run --rootfs "$demo/rootfs" --kernel "$kernel" \
	--append "console=ttyS0 panic=-1 quiet" --cache-dir "$demo/cache" \
	--memory 512M --until "LIVEISO-MARKER: $edited" --watch \
	--timeout "${DEMO_TIMEOUT:-300}" --console-log "$console" || status=$?
if [[ $status -ne 0 ]]; then
	say "liveiso run ended with status $status (see liveiso run --help); console in $console"
	exit 1
fi
say "the guest booted the edited rootfs, reset by liveiso run; console in $console"
