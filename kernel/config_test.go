package kernel

import "testing"

func TestConfigRDZstd(t *testing.T) {
	for _, tc := range []struct {
		name, config string
		want         bool
	}{
		{"set", sampleConfig, true},
		{"set, CRLF and spaces", "CONFIG_RD_GZIP=y\r\n  CONFIG_RD_ZSTD=y  \r\n", true},
		{"not set", "CONFIG_RD_GZIP=y\n# CONFIG_RD_ZSTD is not set\n", false},
		{"commented out", "CONFIG_RD_GZIP=y\n#CONFIG_RD_ZSTD=y\n# CONFIG_RD_ZSTD=y\n", false},
		{"absent", "CONFIG_RD_GZIP=y\n", false},
		{"module", "CONFIG_RD_ZSTD=m\n", false},
		{"a longer name", "CONFIG_RD_ZSTD_EXTRA=y\nXCONFIG_RD_ZSTD=y\n", false},
		{"the last line wins", "CONFIG_RD_ZSTD=y\nCONFIG_RD_ZSTD=n\n", false},
		{"no newline at the end", "CONFIG_RD_ZSTD=y", true},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseConfig([]byte(tc.config)).Builtin(RDZstd); got != tc.want {
				t.Errorf("Builtin(RDZstd) = %v, want %v in:\n%s", got, tc.want, tc.config)
			}
		})
	}
}
