package qemu

// AgentSerialArgs are the arguments of the guest's second serial port
// (ttyS1: the 16550 UART, built into common distribution kernels, so no
// module is needed) joined to a Unix socket QEMU listens on at path, for
// the guest agent. They must come after Args' own -serial, as Extra does.
func AgentSerialArgs(path string) []string {
	return []string{
		"-chardev", "socket,id=liveiso-agent,path=" + path + ",server=on,wait=off",
		"-serial", "chardev:liveiso-agent",
	}
}
