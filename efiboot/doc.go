// Package efiboot knows how liveiso's image boots under UEFI: which loader,
// where it looks for its configuration, and what goes into the EFI System
// Partition. It builds the ESP with package fat; CDFiles hands over every
// file UEFI boot needs on the CD with its path, and the caller places them
// in the ISO tree and names CD.ESPPath in isolayout.ElTorito.EFIImagePath.
//
// The loader is GRUB's monolithic CD image as Debian and Ubuntu ship it,
// signed (package grub-efi-amd64-signed: gcdx64.efi.signed), installed as
// EFI/BOOT/BOOTX64.EFI, the removable-media path UEFI firmware boots. Why
// GRUB and not systemd-boot: GRUB reads ISO 9660, so the kernel and the
// initrd stay where they are, stored once, and the ESP holds only the
// loader (about 4 MB, constant: an edit of the rootfs never touches it).
// systemd-boot reads only FAT, so the kernel and initrd would have to be in
// the ESP: either stored twice (tens to hundreds of MB more, and the ESP
// would change with every initrd), or FAT cluster chains aimed at the ISO
// files' sectors, which ties the ESP's FAT to the initrd's size and puts the
// volatile initrd inside the ESP's extent — and El Torito's 16-bit sector
// count cannot describe an ESP that spans a large initrd.
//
// Secure Boot: with a shim (package shim-signed: shimx64.efi.signed, signed
// by Microsoft's UEFI CA, which firmware trusts), shim is BOOTX64.EFI, and
// the signed GRUB is grubx64.efi beside it, with MokManager (mmx64.efi), as
// Debian's installer images lay them out. Shim verifies GRUB with the
// distribution's certificate built into it, and GRUB has shim verify the
// kernel; FindShim finds the pair. The ESP stays constant: shim changes
// nothing else. Without Secure Boot shim starts GRUB all the same.
//
// The embedded configuration of Debian's gcdx64 sets $root to the device it
// was loaded from with the prefix /boot/grub: from a CD that is the whole
// CD, so it reads /boot/grub/grub.cfg from ISO 9660. From a disk it is the
// ESP partition, where /boot/grub does not exist, and the embedded
// configuration then searches every device for /.disk/info: the image's
// whole-disk device is ISO 9660 and has it. So the image carries
// GrubConfigPath and DiskInfoPath, and both paths boot the same grub.cfg,
// the same kernel and the same initrd. The ESP also carries
// EFI/BOOT/grub.cfg, which GRUB images that source $cmdpath/grub.cfg read:
// it finds the ISO the same way and hands over to the same file.
//
// It carries the same file as boot/grub/grub.cfg too. The embedded
// configuration starts with `if [ -z "$prefix" -o ! -e "$prefix" ]`, and
// when $root is the ESP (a disk or USB stick, HTTP Boot's RAM disk, or
// firmware that boots a CD's El Torito image as a partition) GRUB's test
// command, asked about the missing /boot/grub, leaves the error "file
// `/boot/' not found" behind although the test succeeds, and GRUB prints
// it before it goes on to search for /.disk/info and boots. With
// /boot/grub in the ESP the prefix exists, nothing is printed, and the
// embedded configuration sources $prefix/grub.cfg: the same hand-over.
package efiboot
