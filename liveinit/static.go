package liveinit

import (
	"bytes"
	"debug/elf"
	"fmt"
)

// checkStatic reports an init binary that needs a dynamic loader: the
// initrd has no libraries (build liveiso with CGO_ENABLED=0).
func checkStatic(path string, data []byte) error {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("liveiso's init %s: not an ELF executable: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("liveiso's init %s is dynamically linked; the small initrd needs a static binary (build with CGO_ENABLED=0)", path)
		}
	}
	return nil
}
