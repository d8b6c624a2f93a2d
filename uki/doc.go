// Package uki lays out a Unified Kernel Image: systemd-stub's PE/COFF
// image with the kernel, its command line, an os-release and the initrd
// added as sections, the layout systemd's UKI specification and ukify use.
//
// Its place in the pipeline is beside isolayout: it places, it does not
// read. Plan parses the stub's headers (bytes held in memory), appends the
// section headers and returns the whole file as an extent list whose
// .linux and .initrd extents are the caller's sources, read only when the
// file is. The initrd is the last section, so an edit of the rootfs moves
// only its section (and the headers that record its size).
package uki
