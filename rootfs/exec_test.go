package rootfs

import (
	"os"
	"os/exec"
	"syscall"
)

// runAs runs the test binary bin as uid (and gid) with one extra environment
// variable and returns its output.
func runAs(bin string, uid uint32, arg, env string) (string, error) {
	cmd := exec.Command(bin, arg, "-test.v")
	cmd.Env = append(os.Environ(), env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	out, err := cmd.CombinedOutput()
	return string(out), err
}
