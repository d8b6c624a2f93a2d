// Package qemu runs the guest that boots a live image: it builds QEMU's
// command line (accelerator, firmware, medium or direct kernel boot),
// keeps a private copy of OVMF's variable store, talks to QEMU over QMP
// (system_reset, quit), scans the guest's serial console for the lines a
// scripted run waits for, and owns the QEMU process until it has ended.
//
// It knows nothing of how the image is made: `liveiso run` (cmd/liveiso)
// hands it the path of image.iso or initrd.img in a live mount and tells
// it when a new generation is ready.
package qemu
