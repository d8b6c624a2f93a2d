package integration

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// FixturesEnv names the environment variable that overrides the fixture
// directory (by default .fixtures in the repository root).
const FixturesEnv = "LIVEISO_FIXTURES"

// Modules returns the kernel modules the guest needs to mount its CD, in the
// order they must be loaded (each after the ones it depends on). The list is
// also in scripts/setup.sh.
func Modules() []string {
	return []string{"scsi_common", "scsi_mod", "libata", "ata_piix", "cdrom", "sr_mod", "isofs"}
}

// ErrNoFixture means that a fixture scripts/setup.sh provides is missing.
var ErrNoFixture = errors.New("fixture missing: run scripts/setup.sh (or make setup)")

// RepoRoot returns the root of the liveiso repository: the nearest directory
// above the working directory that holds go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// FixturesDir returns the directory scripts/setup.sh fills: $LIVEISO_FIXTURES
// if set, else .fixtures in the repository root.
func FixturesDir() (string, error) {
	if dir := os.Getenv(FixturesEnv); dir != "" {
		return filepath.Abs(dir)
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".fixtures"), nil
}

// TestKernel is the Debian kernel unpacked by scripts/setup.sh.
type TestKernel struct {
	Vmlinuz    string // path of the kernel image
	ModulesDir string // holds <name>.ko for each name in Modules(), uncompressed
	Release    string // e.g. "6.1.0-56-amd64"
	// Config is config-RELEASE beside Vmlinuz (CONFIG_RD_ZSTD=y, so the
	// default --compression auto picks zstd), or "" in a fixture made
	// before scripts/setup.sh kept it.
	Config string
}

// Kernel returns the test kernel, or an error wrapping ErrNoFixture when
// scripts/setup.sh has not fetched it yet.
func Kernel() (TestKernel, error) {
	dir, err := FixturesDir()
	if err != nil {
		return TestKernel{}, err
	}
	dir = filepath.Join(dir, "kernel")
	// setup.sh writes PACKAGE last, so its presence means the rest is there.
	if _, err := os.Stat(filepath.Join(dir, "PACKAGE")); err != nil {
		return TestKernel{}, fmt.Errorf("test kernel in %s: %w", dir, ErrNoFixture)
	}
	release, err := os.ReadFile(filepath.Join(dir, "RELEASE"))
	if err != nil {
		return TestKernel{}, fmt.Errorf("test kernel: %w (%w)", err, ErrNoFixture)
	}
	k := TestKernel{
		Vmlinuz:    filepath.Join(dir, "vmlinuz"),
		ModulesDir: filepath.Join(dir, "modules"),
		Release:    strings.TrimSpace(string(release)),
	}
	if c := filepath.Join(dir, "config-"+k.Release); fileExists(c) {
		k.Config = c
	}
	for _, m := range Modules() {
		if _, err := os.Stat(filepath.Join(k.ModulesDir, m+".ko")); err != nil {
			return TestKernel{}, fmt.Errorf("test kernel module %s: %w (%w)", m, err, ErrNoFixture)
		}
	}
	return k, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
