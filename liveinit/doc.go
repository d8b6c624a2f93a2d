// Package liveinit makes the small initrd of --root squashfs: liveiso's own
// init (package guestinit, which is the liveiso binary itself, copied in as
// /init), its configuration, and the kernel modules it needs, taken from
// the rootfs's /lib/modules/RELEASE (the module closure from modules.dep)
// for the kernel that boots. It is made once per Builder: nothing in it
// depends on the rootfs's other files, so it stays the same bytes across
// generations (and in the same place on the medium).
package liveinit
