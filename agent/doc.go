// Package agent is liveiso's guest agent and the host's side of its
// protocol.
//
// The agent is the liveiso binary itself, stored as /liveiso-agent in one
// more initrd member (Member) and started by the kernel first (rdinit=). As
// PID 1 it starts its server in a child process and execs the rootfs's own
// init with the same arguments, so the guest's init is still PID 1 (Main).
// The server talks to the host over the guest's second serial port
// (ttyS1), which needs no module in common distribution kernels (the 16550
// UART is built in); QEMU joins that port to a Unix socket in the private
// directory of `liveiso run`, so only the host user can reach it.
//
// The protocol (frame.go) is a stream of length-prefixed frames, each
// naming a stream; a stream is one request (run a command, receive or send
// a tar archive). Data frames are flow controlled by credit per stream and
// direction (mux.go): the reader of the channel never blocks, so a slow
// consumer of one stream cannot stop the others, and no side can write more
// than the other has room for.
package agent
