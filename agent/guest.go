package agent

import (
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Guest-side names.
const (
	// Path is where the agent is in the initrd; the kernel's rdinit=
	// names it.
	Path = "/liveiso-agent"
	// Name is the base name the agent's binary runs under; cmd/liveiso
	// dispatches on it.
	Name = "liveiso-agent"
	// InitEnv, on the kernel command line (liveiso_init=PATH; no dot, or the
	// kernel takes it for a module parameter and keeps it from init), names the
	// init the agent hands over to; "/init" without it. The kernel passes
	// such a word to init in its environment, from which the agent
	// removes it.
	InitEnv = "liveiso_init"
	// serveArg makes the agent's binary the server.
	serveArg = "serve"
)

// The serial port the agent talks on: ttyS1, the 16550 UART at 0x2f8,
// character device 4:65.
const (
	ttyMajor, ttyMinor = 4, 65
	ttyName            = "ttyS1"
)

// KernelArgs are the words the kernel command line needs for the agent to
// start first.
func KernelArgs() string { return "rdinit=" + Path }

// Main is the agent: as the kernel's first process it starts the server
// and becomes the rootfs's init; with serveArg it is the server. It
// returns only on failure, with an exit status.
func Main(args []string) int {
	lg := log.New(os.Stderr, Name+": ", 0)
	if len(args) > 1 && args[1] == serveArg {
		return serve(lg)
	}
	return handOver(args, lg)
}

// handOver starts the server as a child (in a session of its own, so
// init's job control leaves it alone) and execs the real init in this
// process, PID 1, with the arguments and environment the kernel gave. The
// server stays a child of PID 1; the real init reaps it if it ever exits,
// as it reaps every orphan, and the server reaps its own commands.
func handOver(args []string, lg *log.Logger) int {
	initPath := "/init"
	var env []string
	for _, kv := range os.Environ() {
		if v, ok := strings.CutPrefix(kv, InitEnv+"="); ok {
			initPath = v
			continue
		}
		env = append(env, kv)
	}
	self := args[0]
	if !strings.HasPrefix(self, "/") {
		self = Path
	}
	_, err := syscall.ForkExec(self, []string{Name, serveArg}, &syscall.ProcAttr{
		Env:   []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Setsid: true},
	})
	if err != nil {
		lg.Printf("start the server: %v (the guest boots without it)", err)
	}
	argv := append([]string{initPath}, args[1:]...)
	err = syscall.Exec(initPath, argv, env)
	// As the kernel does when its init cannot run: the next candidates,
	// then the words a boot test's --fail set catches.
	for _, p := range []string{"/sbin/init", "/etc/init", "/bin/init", "/bin/sh"} {
		if p != initPath {
			argv[0] = p
			syscall.Exec(p, argv, env)
		}
	}
	lg.Printf("exec %s: %v; No working init found.", initPath, err)
	return 1
}

// serve opens the serial port and serves the host, again after a link
// failure.
func serve(lg *log.Logger) int {
	tty, err := openTTY()
	if err != nil {
		lg.Printf("%v", err)
		return 1
	}
	bootID := uint64(time.Now().UnixNano())<<16 ^ uint64(os.Getpid())
	for {
		err := Serve(tty, bootID, lg)
		lg.Printf("link to the host: %v", err)
		time.Sleep(time.Second)
	}
}

// openTTY opens ttyS1 through a device node of its own (no /dev needs
// to be mounted this early; the node is removed once open) and puts the
// line in raw mode: no echo, no line editing, no translation, 8 bits, no
// flow control characters.
func openTTY() (*os.File, error) {
	node := "/." + Name + "-" + ttyName
	unix.Unlink(node)
	if err := unix.Mknod(node, unix.S_IFCHR|0o600, int(unix.Mkdev(ttyMajor, ttyMinor))); err != nil {
		return nil, fmt.Errorf("mknod %s: %w", node, err)
	}
	fd, err := unix.Open(node, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	unix.Unlink(node)
	if err != nil {
		if errors.Is(err, unix.ENXIO) || errors.Is(err, unix.EIO) {
			return nil, fmt.Errorf("open %s: %w (no second serial port: the agent needs one)", ttyName, err)
		}
		return nil, fmt.Errorf("open %s: %w", ttyName, err)
	}
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: %w", ttyName, err)
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF | unix.IXANY
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB | unix.CRTSCTS | unix.CBAUD
	t.Cflag |= unix.CS8 | unix.CLOCAL | unix.CREAD | unix.B115200
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: raw mode: %w", ttyName, err)
	}
	return os.NewFile(uintptr(fd), ttyName), nil
}
