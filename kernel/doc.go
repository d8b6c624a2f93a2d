// Package kernel is what liveiso reads of a kernel image: its architecture
// (an x86 bzImage's setup header, an arm64 Image's header, also inside a
// gzip-compressed Image.gz), the version string (the setup header's
// kernel_version, an Image's linux_banner), and the kernel's build configuration
// (config-VERSION files, or the copy CONFIG_IKCONFIG embeds in the kernel).
// It sits beside the pipeline, not in it: package generation asks it whether
// the kernel unpacks a zstd initramfs (CONFIG_RD_ZSTD) before it chooses the
// initrd's compression. The kernel image is never modified, only read.
//
// The setup header is laid out as the x86 boot protocol specifies
// (Documentation/arch/x86/boot.rst in the kernel); the embedded
// configuration as kernel/configs.c writes it and scripts/extract-ikconfig
// finds it: "IKCFG_ST", a gzip member of the .config, "IKCFG_ED", inside the
// kernel's compressed payload.
package kernel
