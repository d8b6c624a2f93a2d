package kernel

import "strings"

// RDZstd is the option that builds the initramfs unpacker's zstd decoder
// into the kernel (usr/Kconfig; Linux 5.9 and later).
const RDZstd = "CONFIG_RD_ZSTD"

// Config is a kernel build configuration, the .config format Kconfig
// writes: CONFIG_NAME=VALUE lines; "# CONFIG_NAME is not set" and other
// comments set nothing.
type Config map[string]string

// ParseConfig reads a .config. Lines it does not understand are ignored,
// as Kconfig ignores them.
func ParseConfig(data []byte) Config {
	c := Config{}
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(name, "CONFIG_") {
			continue
		}
		c[name] = value
	}
	return c
}

// Builtin says whether option is built into the kernel (=y). A module (=m)
// is not enough for the initramfs unpacker, which runs before any module
// can load.
func (c Config) Builtin(option string) bool { return c[option] == "y" }
