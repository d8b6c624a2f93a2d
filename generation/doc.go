// Package generation builds one immutable generation of the image: it packs
// the rootfs into an initrd (package cache), gathers the boot files (kernel,
// isolinux.bin, ldlinux.c32, isolinux.cfg) and the extra files, and plans the
// ISO 9660 layout over them (package isolayout). It is the one place that
// knows what goes where on the CD; `liveiso build` copies a Generation's image
// into a file and `liveiso mount` serves a sequence of them. With
// AutoCompression it also chooses the initrd's compression, from what package
// kernel reads of the kernel's configuration.
//
// Build gathers, then plans: gather.go opens the kernel, the loaders and the
// extra files; plan.go turns what was gathered into isolayout.Input without
// I/O, asking package efiboot for the files UEFI boot needs and their paths.
//
// A generation also has a unified kernel image (package uki) when
// systemd-stub is installed: the same kernel and initrd sources behind the
// stub, planned beside the ISO and no more copied than in it. With shim
// (SecureBoot), the ESP boots through it, and the kernel and GRUB are
// checked against the certificates shim trusts (package secureboot), so a
// kernel that will not boot with Secure Boot enforcing is a warning of the
// build, not a surprise at boot.
//
// Nothing here reads file contents except the small loader, which the
// El Torito boot-info-table patch needs, a user's isolinux.cfg, the UKI's
// stub and os-release, once in NewBuilder for AutoCompression the kernel's
// header and configuration, and, with shim, the kernel and GRUB whole for
// their signatures, once per version of each file (not per generation);
// every other byte is read on demand through the sources the layout refers
// to.
package generation
