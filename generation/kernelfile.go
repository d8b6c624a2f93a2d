package generation

import (
	"fmt"
	"os"
	"path/filepath"
)

// KernelFile is the path of the kernel a build of opts puts on the CD:
// opts.Kernel, or the newest regular file Rootfs/boot/vmlinuz-*. It is for
// a reader that takes the kernel by path, such as QEMU's -kernel.
func KernelFile(opts Options) (string, error) {
	if opts.Kernel != "" {
		fi, err := os.Stat(opts.Kernel)
		if err != nil {
			return "", fmt.Errorf("kernel: %w", err)
		}
		if !fi.Mode().IsRegular() {
			return "", fmt.Errorf("kernel %s: not a regular file", opts.Kernel)
		}
		return opts.Kernel, nil
	}
	rel, err := newestKernel(opts.Rootfs)
	if err != nil {
		return "", err
	}
	return filepath.Join(opts.Rootfs, rel), nil
}
