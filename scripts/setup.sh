#!/usr/bin/env bash
# setup.sh installs what liveiso's demo and tests need on Debian 12 and is
# safe to run again: each step first checks whether it is already done.
#
#   1. Debian packages (apt-get install, only the missing ones)
#   2. staticcheck (go install, pinned version, only when missing)
#   3. the test kernel: vmlinuz, its config-RELEASE and the CD-ROM modules of
#      the newest Debian 6.1 kernel package, unpacked into .fixtures/kernel/
#      (apt-get download + dpkg-deb -x; the package is never installed)
#   4. the arm64 fixtures (dpkg --add-architecture arm64 first): the arm64
#      kernel, its config and the modules its guest reads its medium with
#      into .fixtures/arm64/kernel/, and arm64's static busybox, GRUB (signed
#      and unsigned), shim, MokManager and systemd-stub unpacked into
#      .fixtures/arm64/root/ (apt-get download + dpkg-deb -x, never installed)
#
# Usage: scripts/setup.sh [--dry-run]
#   --dry-run  say what would be done without changing anything
# Environment: LIVEISO_FIXTURES overrides the fixture directory (.fixtures).
# Runs unattended (no prompts), as root or through sudo.
set -euo pipefail

staticcheck_version=v0.8.2 # staticcheck 2026.2.2
# The harness and the reference pipeline need the first line; the second
# holds the independent readers and the UEFI loader that the FAT, hybrid and
# UEFI tests use (they skip when a tool is missing, so CI must have them);
# the third Secure Boot's shim and the UKI's systemd-stub, with the tools
# that read signatures and PE sections back; the fourth the shells and groff
# that check the completion scripts and man pages of cmd/liveiso; the fifth
# the NBD servers and the iPXE ROMs that the netboot and NBD tests boot
# through, and the nginx the HTTP benchmark compares liveiso serve with
# (and the fleet test caches serve with); the sixth the Joliet readers (7z,
# bsdtar) the Joliet tests hand images to; the seventh the arm64 guest's
# emulator and firmware (AAVMF), and the objdump that reads an arm64 UKI
# back; the eighth promtool, which checks serve's /metrics, and the browser
# the fleet page is tested in.
packages=(fuse3 qemu-system-x86 isolinux syslinux-common busybox-static cpio xorriso genisoimage ovmf zstd pigz
	dosfstools mtools fdisk gdisk grub-efi-amd64-signed
	shim-signed systemd-boot-efi sbsigntool binutils openssl
	zsh fish groff-base
	qemu-utils nbdkit ipxe-qemu nginx-light
	p7zip-full libarchive-tools tmux
	qemu-system-arm qemu-efi-aarch64 binutils-aarch64-linux-gnu
	prometheus chromium)
# The guest's /init loads these, in this order, to mount its CD (see
# internal/testenv/rootfs.go); virtio-blk and loop also let it read its
# medium as a virtio disk and mount a copy of it (liveiso.probe).
# The CD-ROM modules, then what liveiso's own init needs for --root squashfs
# (a loop device over the medium, the squashfs, an overlay on tmpfs, and
# virtio-blk for the disk medium of liveiso run --medium disk).
modules=(scsi_common scsi_mod libata ata_piix cdrom sr_mod isofs loop squashfs overlay
	virtio virtio_ring virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk)

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fixtures=${LIVEISO_FIXTURES:-$repo/.fixtures}
kernel_dir=$fixtures/kernel

dry_run=false
case ${1:-} in
--dry-run) dry_run=true ;;
"") ;;
*)
	echo "usage: $0 [--dry-run]" >&2
	exit 2
	;;
esac

say() { echo "setup: $*" >&2; }
die() {
	echo "setup: error: $*" >&2
	exit 1
}

# run runs a command that changes the system, or only shows it with --dry-run.
run() {
	if $dry_run; then
		echo "setup: would run: $*" >&2
		return 0
	fi
	"$@"
}

# as_root runs a command as root: directly when we are root, else via sudo.
as_root() {
	if [[ $EUID -eq 0 ]]; then
		run "$@"
	elif command -v sudo >/dev/null; then
		run sudo "$@"
	else
		die "need root (or sudo) to run: $*"
	fi
}

installed() {
	[[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

apt_updated=false
apt_update() {
	$apt_updated && return 0
	say "apt-get update"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
	apt_updated=true
}

install_packages() {
	local missing=() p
	for p in "${packages[@]}"; do
		installed "$p" || missing+=("$p")
	done
	if [[ ${#missing[@]} -eq 0 ]]; then
		say "Debian packages: all installed"
		return 0
	fi
	say "Debian packages: installing ${missing[*]}"
	apt_update
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" </dev/null
}

install_staticcheck() {
	command -v go >/dev/null || die "go is not in PATH; install Go (see go.mod for the version)"
	local bin
	bin=$(go env GOPATH)/bin/staticcheck
	if command -v staticcheck >/dev/null || [[ -x $bin ]]; then
		say "staticcheck: installed"
		return 0
	fi
	say "staticcheck: go install honnef.co/go/tools/cmd/staticcheck@$staticcheck_version"
	run go install "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version"
}

# newest_kernel_package prints the name of the newest linux-image-6.1.0-N-amd64
# package apt knows, preferring the one the linux-image-amd64 metapackage
# points at.
newest_kernel_package() {
	local name
	name=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-6\.1\.0-[0-9]*-amd64\)$/\1/p' | head -n 1)
	if [[ -z $name ]]; then
		name=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null |
			awk '{print $1}' | sort -V | tail -n 1)
	fi
	echo "$name"
}

fetch_kernel() {
	local pkg=""
	if [[ -f $kernel_dir/PACKAGE ]]; then
		local missing="" m
		for m in "${modules[@]}"; do
			[[ -f $kernel_dir/modules/$m.ko ]] || missing+=" $m"
		done
		if [[ -f $kernel_dir/config-$(cat "$kernel_dir/RELEASE" 2>/dev/null) && -z $missing ]]; then
			say "test kernel: $(cat "$kernel_dir/PACKAGE") in $kernel_dir"
			return 0
		fi
		# A fixture from before config-RELEASE or a module was kept: fetch
		# the same package again when apt still has it.
		pkg=$(cat "$kernel_dir/PACKAGE")
		say "test kernel: $kernel_dir lacks config-RELEASE or modules ($missing ); fetching $pkg again"
		apt-cache show "$pkg" >/dev/null 2>&1 || pkg=""
	fi
	[[ -n $pkg ]] || pkg=$(newest_kernel_package)
	if [[ -z $pkg ]]; then
		apt_update
		pkg=$(newest_kernel_package)
	fi
	[[ -n $pkg ]] || die "no linux-image-6.1.0-*-amd64 package found with apt-cache"
	say "test kernel: apt-get download $pkg and unpack vmlinuz, its config + ${#modules[@]} modules into $kernel_dir"
	if $dry_run; then
		return 0
	fi

	mkdir -p "$fixtures"
	# tmp is global so that the EXIT trap still sees it after a failure:
	# the unpacked package is several hundred MB, never leave it behind.
	tmp=$(mktemp -d "$fixtures/.kernel-tmp.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	# apt-get download drops privileges to _apt when it can; let it write.
	chmod 0777 "$tmp"
	(cd "$tmp" && apt-get download -q "$pkg" </dev/null)
	dpkg-deb -x "$tmp"/"$pkg"_*.deb "$tmp/root"

	local out=$tmp/kernel release m path
	mkdir -p "$out/modules"
	release=${pkg#linux-image-}
	cp "$tmp/root/boot/vmlinuz-$release" "$out/vmlinuz"
	# Beside the kernel, liveiso's --compression auto reads it
	# (CONFIG_RD_ZSTD) and picks zstd.
	cp "$tmp/root/boot/config-$release" "$out/config-$release"
	for m in "${modules[@]}"; do
		# Debian 12 ships plain .ko files; later kernels compress them.
		path=$(find "$tmp/root/lib/modules/$release" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" | head -n 1)
		[[ -n $path ]] || die "module $m not found in $pkg"
		case $path in
		*.ko) cp "$path" "$out/modules/$m.ko" ;;
		*.ko.xz) xz -dc "$path" >"$out/modules/$m.ko" ;;
		*.ko.zst) zstd -q -dc "$path" >"$out/modules/$m.ko" ;;
		esac
	done
	echo "$release" >"$out/RELEASE"
	# PACKAGE is written last: its presence means the directory is complete.
	echo "$pkg" >"$out/PACKAGE"
	rm -rf "$kernel_dir"
	mv "$out" "$kernel_dir"
	rm -rf "$tmp"
	trap - EXIT
	say "test kernel: done ($(du -sh "$kernel_dir" | cut -f1))"
}

# The arm64 guest's /init loads these, in this order, to read its medium
# (virtio-scsi CD or virtio-blk disk on QEMU's virt machine; see
# integration/rootfs.go). Debian's arm64 config has all of them =m.
arm64_modules=(virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci scsi_common scsi_mod
	virtio_scsi cdrom sr_mod isofs virtio_blk)
# The arm64 packages unpacked into .fixtures/arm64/root/: the guest's
# busybox, and the loaders an arm64 image boots through.
arm64_packages=(busybox-static grub-efi-arm64-signed grub-efi-arm64-bin shim-signed
	shim-helpers-arm64-signed systemd-boot-efi)
arm64_dir=$fixtures/arm64

add_arm64() {
	if dpkg --print-foreign-architectures | grep -qx arm64; then
		return 0
	fi
	say "dpkg --add-architecture arm64"
	as_root dpkg --add-architecture arm64
	apt_updated=false
	apt_update
}

fetch_arm64_kernel() {
	local dir=$arm64_dir/kernel pkg release tmp2 out m path
	if [[ -f $dir/PACKAGE ]]; then
		say "arm64 kernel: $(cat "$dir/PACKAGE") in $dir"
		return 0
	fi
	pkg=$(apt-cache depends linux-image-arm64:arm64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9.]*-[0-9]*-arm64\)\(:arm64\)\?$/\1/p' | head -n 1)
	[[ -n $pkg ]] || die "no linux-image-*-arm64 package found with apt-cache (is arm64 in dpkg --print-foreign-architectures?)"
	say "arm64 kernel: apt-get download $pkg:arm64 and unpack vmlinuz, its config + ${#arm64_modules[@]} modules into $dir"
	$dry_run && return 0
	mkdir -p "$arm64_dir"
	tmp2=$(mktemp -d "$arm64_dir/.kernel-tmp.XXXXXX")
	chmod 0777 "$tmp2"
	(cd "$tmp2" && apt-get download -q "$pkg:arm64" </dev/null)
	dpkg-deb -x "$tmp2"/"$pkg"_*.deb "$tmp2/root"
	release=${pkg#linux-image-}
	out=$tmp2/kernel
	mkdir -p "$out/modules"
	cp "$tmp2/root/boot/vmlinuz-$release" "$out/vmlinuz"
	cp "$tmp2/root/boot/config-$release" "$out/config-$release"
	for m in "${arm64_modules[@]}"; do
		path=$(find "$tmp2/root/lib/modules/$release" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" | head -n 1)
		[[ -n $path ]] || die "module $m not found in $pkg:arm64"
		case $path in
		*.ko) cp "$path" "$out/modules/$m.ko" ;;
		*.ko.xz) xz -dc "$path" >"$out/modules/$m.ko" ;;
		*.ko.zst) zstd -q -dc "$path" >"$out/modules/$m.ko" ;;
		esac
	done
	echo "$release" >"$out/RELEASE"
	echo "$pkg:arm64" >"$out/PACKAGE" # last: the directory is complete
	rm -rf "$dir"
	mv "$out" "$dir"
	rm -rf "$tmp2"
	say "arm64 kernel: done ($(du -sh "$dir" | cut -f1))"
}

fetch_arm64_root() {
	local root=$arm64_dir/root tmp2 p
	if [[ -f $root/PACKAGES ]] && [[ $(cat "$root/PACKAGES") == "${arm64_packages[*]}" ]]; then
		say "arm64 loaders and busybox: in $root"
		return 0
	fi
	say "arm64 loaders and busybox: apt-get download ${arm64_packages[*]} (arm64) and unpack into $root"
	$dry_run && return 0
	mkdir -p "$arm64_dir"
	tmp2=$(mktemp -d "$arm64_dir/.root-tmp.XXXXXX")
	chmod 0777 "$tmp2"
	(cd "$tmp2" && apt-get download -q "${arm64_packages[@]/%/:arm64}" </dev/null)
	for p in "${arm64_packages[@]}"; do
		dpkg-deb -x "$tmp2/${p}"_*_arm64.deb "$tmp2/root"
	done
	rm -rf "$tmp2/root/usr/share/doc" "$tmp2/root/usr/share/man"
	echo "${arm64_packages[*]}" >"$tmp2/root/PACKAGES" # last: the directory is complete
	rm -rf "$root"
	mv "$tmp2/root" "$root"
	rm -rf "$tmp2"
	say "arm64 loaders and busybox: done ($(du -sh "$root" | cut -f1))"
}

start=$SECONDS
install_packages
install_staticcheck
fetch_kernel
add_arm64
fetch_arm64_kernel
fetch_arm64_root
say "done in $((SECONDS - start)) s"
