package generation

// Warning is something about a generation that its user should hear of,
// with where it comes from, so that each command reports it where it
// belongs (build prints the boot files' warnings beside its summary).
type Warning struct {
	Source  WarningSource `json:"source"`
	Message string        `json:"message"`
}

// WarningSource says which part of the build a Warning comes from.
type WarningSource string

const (
	// WarningRootfs: the packer, about the rootfs (a socket skipped, no
	// /init).
	WarningRootfs WarningSource = "rootfs"
	// WarningBoot: the boot files (a kernel that shim will refuse under
	// Secure Boot).
	WarningBoot WarningSource = "boot"
	// WarningLayout: the image's layout (a name the Joliet tree holds
	// shortened or changed, a symlink it leaves out).
	WarningLayout WarningSource = "layout"
)

// String is the warning as one line: its message.
func (w Warning) String() string { return w.Message }

// warnings tags each message with its source.
func warnings(source WarningSource, msgs []string) []Warning {
	ws := make([]Warning, 0, len(msgs))
	for _, m := range msgs {
		ws = append(ws, Warning{Source: source, Message: m})
	}
	return ws
}
