package testenv

import fixtures "github.com/liveiso/liveiso/internal/fixture"

// The fixtures, as package fixture finds them (see there).
const FixturesEnv = fixtures.FixturesEnv

var (
	ErrNoFixture = fixtures.ErrNoFixture
	Modules      = fixtures.Modules
	ProbeModules = fixtures.ProbeModules
	RepoRoot     = fixtures.RepoRoot
	FixturesDir  = fixtures.FixturesDir
	Kernel       = fixtures.Kernel
)

// TestKernel is the Debian kernel unpacked by scripts/setup.sh.
type TestKernel = fixtures.TestKernel
