package agent

import (
	"fmt"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// ptsDir is where the agent mounts a devpts instance of its own for a
// moment, to open a terminal pair: the rootfs's init may not have mounted
// /dev/pts yet, or ever.
const ptsDir = "/." + Name + "-pts"

// openPTY opens a new pseudo-terminal pair of size rows×cols: the master
// (pollable, so that reads can have deadlines) and the slave.
func openPTY(rows, cols uint16) (master, slave *os.File, err error) {
	if err := os.Mkdir(ptsDir, 0o700); err != nil && !os.IsExist(err) {
		return nil, nil, err
	}
	defer os.Remove(ptsDir)
	if err := unix.Mount("devpts", ptsDir, "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0600,mode=0600"); err != nil {
		return nil, nil, fmt.Errorf("mount devpts: %w", err)
	}
	// Detached at once: the terminal lives on in its descriptors.
	defer unix.Unmount(ptsDir, unix.MNT_DETACH)
	master, err = os.OpenFile(ptsDir+"/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("unlockpt: %w", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("ptsname: %w", err)
	}
	// By name, while the instance is mounted: TIOCGPTPEER would need its
	// open flags as the ioctl's argument.
	slave, err = os.OpenFile(fmt.Sprintf("%s/%d", ptsDir, n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols})
	return master, slave, nil
}

// runTTY runs argv as the session leader of a new terminal: the stream's
// input is typed into it, its output is the stream's stdout, and the
// host's sizes become its size (the kernel sends SIGWINCH).
func runTTY(s *stream, req Request, argv []string) Result {
	master, slave, err := openPTY(req.Rows, req.Cols)
	if err != nil {
		return Result{ExitCode: 127, Error: err.Error()}
	}
	defer master.Close()
	cmd := command(argv, req)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	err = cmd.Start()
	slave.Close()
	if err != nil {
		return Result{ExitCode: 127, Error: err.Error()}
	}
	done := make(chan struct{})
	defer close(done)
	go io.Copy(master, s.in[tInput])
	go func() {
		for {
			select {
			case ws := <-s.size:
				unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: ws[0], Col: ws[1]})
			case sig := <-s.sig:
				syscall.Kill(-cmd.Process.Pid, syscall.Signal(sig))
			case <-done:
				return
			}
		}
	}()
	exited := make(chan struct{})
	pumped := make(chan struct{})
	go func() {
		pump(master, s.out[tStdout], exited)
		close(pumped)
	}()
	err = cmd.Wait()
	close(exited)
	<-pumped
	return result(cmd, err)
}
