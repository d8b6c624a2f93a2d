package guestinit

import (
	"encoding/json"
	"fmt"
	"os"
)

// ConfigPath is where the small initrd holds the Config.
const ConfigPath = "/liveiso/init.json"

// Paths on the medium (ISO 9660 with Rock Ridge): the squashfs and the
// file holding the image's ID.
const (
	MediumDir    = "live"
	SquashfsName = "filesystem.squashfs"
	IDName       = "liveiso.id"
)

// Config is what the host tells the guest's init.
type Config struct {
	VolumeID       string   // the medium's ISO 9660 volume identifier
	ImageID        string   // the content of /live/liveiso.id on that medium
	Init           string   // the rootfs's init, run after switch_root
	Modules        []string // paths in the initrd, in load order
	TimeoutSeconds int      // how long to look for the medium
}

// ReadConfig reads the Config at path.
func ReadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if c.Init == "" {
		c.Init = "/sbin/init"
	}
	if c.TimeoutSeconds <= 0 {
		c.TimeoutSeconds = 30
	}
	return &c, nil
}
