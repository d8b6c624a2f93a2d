package live

import "github.com/liveiso/liveiso/generation"

// States of status.json.
const (
	StateBuilding = "building" // a new generation is being built; the last good one is served
	StateReady    = "ready"    // the newest generation is served
	StateError    = "error"    // the last build failed; the last good generation is served
)

// Status is the content of MOUNTPOINT/status.json. The field names are a
// stable interface: scripts and tests wait on "generation" and "state".
type Status struct {
	Generation      uint64               `json:"generation"` // of the generation served; 0 before the first
	State           string               `json:"state"`
	Error           string               `json:"error"` // of the last failed build, while State is "error"
	ImageSize       int64                `json:"image_size"`
	Capacity        int64                `json:"capacity"`       // size of image.iso: image plus zero headroom
	CapacityGrown   int                  `json:"capacity_grown"` // times the image outgrew the capacity
	InitrdSize      int64                `json:"initrd_size"`
	ChunksTotal     int                  `json:"chunks_total"`
	ChunksRebuilt   int                  `json:"chunks_rebuilt"`
	ChunksRacy      int                  `json:"chunks_racy"` // of the generation served: in no cache yet, until they settle
	BytesCompressed int64                `json:"bytes_compressed"`
	Entries         int                  `json:"entries"` // in the initrd's archive
	Files           int                  `json:"files"`   // on the CD
	BuildMs         int64                `json:"build_ms"`
	ReadyAt         string               `json:"ready_at"` // RFC 3339
	Rootfs          string               `json:"rootfs"`
	Warnings        []generation.Warning `json:"warnings,omitempty"`
	SecureBoot      bool                 `json:"secure_boot"` // UEFI boots through shim
	Joliet          bool                 `json:"joliet"`      // the image has a Joliet tree
	UKISize         int64                `json:"uki_size"`    // of uki.efi; 0: none served

	// Compression of the initrd, and why it was chosen (--compression auto).
	Compression       string `json:"compression"`
	CompressionReason string `json:"compression_reason"`

	BuildCounts
}

// BuildCounts count the daemon's builds since it started, the first one
// included, so a benchmark can tell how many generations a burst of edits
// became. Every build started ends cancelled, failed or published.
type BuildCounts struct {
	Started   int `json:"builds_started"`
	Cancelled int `json:"builds_cancelled"` // abandoned for a newer edit, or at shutdown
	Failed    int `json:"builds_failed"`
	Published int `json:"generations_published"`
}
