package testenv

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// QEMU is the emulator the harness runs. Only TCG: KVM is not usable on the
// machines the tests run on.
const QEMU = "qemu-system-x86_64"

// Firmware files of Debian's ovmf package.
const (
	OVMFCode = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	OVMFVars = "/usr/share/OVMF/OVMF_VARS_4M.fd"

	// With Microsoft's keys enrolled and Secure Boot enforcing.
	OVMFSecureBootCode = "/usr/share/OVMF/OVMF_CODE_4M.ms.fd"
	OVMFSecureBootVars = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"
)

// KernelArgs are the kernel command-line words every harness boot uses: the
// console on the first serial port (which QEMU writes to a file), a kernel
// panic ends the VM at once (with NoReboot) instead of hanging until the
// test's timeout.
const KernelArgs = "console=ttyS0 panic=-1"

// ConsoleTailLines is how many console lines a failure report shows.
const ConsoleTailLines = 40

// FailedConsolesDir is where, under os.TempDir(), StartVM keeps the whole
// console of a VM whose test failed.
const FailedConsolesDir = "liveiso-failed-consoles"

// VMOptions says what the VM boots from. Paths are used as given.
type VMOptions struct {
	CDROM  string   // -cdrom: an ISO image
	Drives []string // each one -drive value, e.g. "file=image.iso,format=raw,if=virtio,readonly=on"
	Kernel string   // -kernel: direct kernel boot
	Initrd string   // -initrd, with Kernel
	Append string   // -append, with Kernel; KernelArgs is not added for you
	BIOS   string   // -bios: another firmware file
	OVMF   bool     // UEFI: OVMFCode read-only and a private copy of OVMFVars as pflash
	// SecureBoot, with OVMF: the Secure Boot firmware (OVMFSecureBootCode and
	// a private copy of OVMFSecureBootVars) on a q35 machine with SMM, whose
	// flash only SMM may write, as that firmware needs.
	SecureBoot bool
	// HTTPBootURI, with OVMF, adds a boot option that boots this URL with
	// UEFI HTTP Boot, first in the boot order (AddHTTPBootOption).
	HTTPBootURI string
	Boot        string   // -boot value, e.g. "d" for the CD first, "n" for the network
	NIC         string   // -nic value, e.g. "user,model=e1000,bootfile=URL"; "" means no network
	MemoryMB    int      // 0 means 512
	NoReboot    bool     // -no-reboot: a guest reboot or kernel panic ends QEMU
	Args        []string // more QEMU arguments
}

// VM is one running QEMU. Its serial console goes to a file that
// WaitForLine polls; its human monitor listens on its own Unix socket. A VM
// is used by one goroutine.
type VM struct {
	dir         string
	consolePath string
	monitorPath string
	stderrPath  string
	cmd         *exec.Cmd
	done        chan struct{} // closed when QEMU has exited; then exitErr is set
	exitErr     error
	cursor      int  // console bytes already consumed by WaitForLine
	tailShown   bool // a failure message already included the console tail
}

// Start starts QEMU with the files it writes (console, stderr, firmware
// variables) in dir. Call Kill when done.
func Start(dir string, opts VMOptions) (_ *VM, err error) {
	vm := &VM{
		dir:         dir,
		consolePath: filepath.Join(dir, "console.log"),
		stderrPath:  filepath.Join(dir, "qemu.stderr"),
		monitorPath: filepath.Join(dir, "monitor.sock"),
		done:        make(chan struct{}),
	}
	// A Unix socket path is limited to 108 bytes; test temp dirs can be long.
	if len(vm.monitorPath) > 100 {
		short, mkErr := os.MkdirTemp("", "vm")
		if mkErr != nil {
			return nil, mkErr
		}
		vm.monitorPath = filepath.Join(short, "monitor.sock")
		defer func() {
			if err != nil {
				os.RemoveAll(short)
			}
		}()
	}
	memory := opts.MemoryMB
	if memory == 0 {
		memory = 512
	}
	args := []string{
		"-accel", "tcg",
		"-m", fmt.Sprint(memory),
		"-display", "none",
		"-nic", cmp.Or(opts.NIC, "none"), // no network unless asked: faster firmware, no option ROM needed
		"-parallel", "none",
		"-serial", "file:" + vm.consolePath,
		"-monitor", "unix:" + vm.monitorPath + ",server,nowait",
	}
	if opts.CDROM != "" {
		args = append(args, "-cdrom", opts.CDROM)
	}
	for _, d := range opts.Drives {
		args = append(args, "-drive", d)
	}
	if opts.Kernel != "" {
		args = append(args, "-kernel", opts.Kernel)
		if opts.Initrd != "" {
			args = append(args, "-initrd", opts.Initrd)
		}
		if opts.Append != "" {
			args = append(args, "-append", opts.Append)
		}
	}
	if opts.BIOS != "" {
		args = append(args, "-bios", opts.BIOS)
	}
	if opts.OVMF {
		code, varsTemplate := OVMFCode, OVMFVars
		if opts.SecureBoot {
			code, varsTemplate = OVMFSecureBootCode, OVMFSecureBootVars
			args = append(args, "-machine", "q35,smm=on", "-global", "driver=cfi.pflash01,property=secure,value=on")
		}
		vars := filepath.Join(dir, "OVMF_VARS.fd")
		if err := CopyFile(varsTemplate, vars, 0o644); err != nil {
			return nil, fmt.Errorf("OVMF variables: %w", err)
		}
		if opts.HTTPBootURI != "" {
			if err := AddHTTPBootOption(vars, "liveiso HTTP Boot", opts.HTTPBootURI); err != nil {
				return nil, fmt.Errorf("OVMF variables: %w", err)
			}
		}
		args = append(args,
			"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+code,
			"-drive", "if=pflash,format=raw,unit=1,file="+vars)
	}
	if opts.Boot != "" {
		args = append(args, "-boot", opts.Boot)
	}
	if opts.NoReboot {
		args = append(args, "-no-reboot")
	}
	args = append(args, opts.Args...)

	stderr, err := os.Create(vm.stderrPath)
	if err != nil {
		return nil, err
	}
	defer stderr.Close()
	vm.cmd = exec.Command(QEMU, args...)
	vm.cmd.Stderr = stderr
	vm.cmd.Stdout = stderr
	if err := vm.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", QEMU, err)
	}
	go func() {
		vm.exitErr = vm.cmd.Wait()
		close(vm.done)
	}()
	return vm, nil
}

// StartVM starts a VM for a test in a temporary directory of its own (so
// boot tests can run in parallel), kills it when the test ends, and then,
// if the test failed, logs the guest's last console lines unless a failure
// message already showed them.
func StartVM(t testing.TB, opts VMOptions) *VM {
	t.Helper()
	vm, err := Start(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		vm.Kill()
		if !t.Failed() {
			return
		}
		if !vm.tailShown {
			t.Logf("%s", vm.tailReport())
		}
		// The test's temp dir goes away; keep the whole console.
		if path, err := vm.keepConsole(t.Name()); err == nil {
			t.Logf("whole console of the guest: %s", path)
		}
	})
	return vm
}

// keepConsole copies the console file to FailedConsolesDir.
func (vm *VM) keepConsole(testName string) (string, error) {
	dir := filepath.Join(os.TempDir(), FailedConsolesDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(testName)
	f, err := os.CreateTemp(dir, name+"-*.log")
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.WriteString(vm.Console()); err != nil {
		return "", err
	}
	return f.Name(), f.Close()
}

// ConsolePath is the file QEMU writes the serial console to.
func (vm *VM) ConsolePath() string { return vm.consolePath }

// Console returns everything the guest has written to its serial console so
// far, with "\r\n" turned into "\n".
func (vm *VM) Console() string {
	b, err := os.ReadFile(vm.consolePath)
	if err != nil {
		return ""
	}
	return consoleText(b)
}

// Tail returns the last n lines of the console.
func (vm *VM) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(vm.Console(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// tailReport is the console tail (and QEMU's own errors, if any) as a
// failure message shows it.
func (vm *VM) tailReport() string {
	vm.tailShown = true
	var b strings.Builder
	fmt.Fprintf(&b, "--- last %d console lines of the guest ---\n%s\n--- end of console ---",
		ConsoleTailLines, vm.Tail(ConsoleTailLines))
	if stderr, err := os.ReadFile(vm.stderrPath); err == nil && len(stderr) > 0 {
		fmt.Fprintf(&b, "\n--- qemu stderr ---\n%s", strings.TrimRight(string(stderr), "\n"))
	}
	return b.String()
}

// Fatalf fails the test with the message followed by the guest's last
// console lines.
func (vm *VM) Fatalf(t testing.TB, format string, args ...any) {
	t.Helper()
	t.Fatalf("%s\n%s", fmt.Sprintf(format, args...), vm.tailReport())
}

// Exited reports whether QEMU has exited.
func (vm *VM) Exited() bool {
	select {
	case <-vm.done:
		return true
	default:
		return false
	}
}

// WaitForLine waits until the guest prints a whole console line matching re
// after the lines earlier WaitForLine calls consumed, consumes the console up
// to that line and returns the line. It fails when timeout passes or QEMU
// exits first; the error then holds the console's last lines.
func (vm *VM) WaitForLine(re *regexp.Regexp, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		// Check for exit before reading, so the last read sees all QEMU wrote.
		exited := vm.Exited()
		text := vm.Console()
		if vm.cursor <= len(text) {
			rest := text[vm.cursor:]
			line, end, ok := MatchLine(rest, re)
			if ok {
				vm.cursor += end
				return line, nil
			}
			if exited && re.MatchString(rest[end:]) { // last line without "\n"
				vm.cursor = len(text)
				return rest[end:], nil
			}
		}
		if exited {
			return "", fmt.Errorf("waiting for a console line matching %q: qemu exited (%v)\n%s",
				re, vm.exitErr, vm.tailReport())
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("waiting for a console line matching %q: timed out after %v\n%s",
				re, timeout, vm.tailReport())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// MatchLine finds the first whole line of text (ended by "\n") that re
// matches: the line and the offset just past its newline. Without one, end
// is where the unfinished last line starts.
func MatchLine(text string, re *regexp.Regexp) (line string, end int, ok bool) {
	for {
		nl := strings.IndexByte(text[end:], '\n')
		if nl < 0 {
			return "", end, false
		}
		line = text[end : end+nl]
		end += nl + 1
		if re.MatchString(line) {
			return line, end, true
		}
	}
}

// WaitExit waits until QEMU exits (for example after the guest powered off
// with NoReboot) and returns its exit error.
func (vm *VM) WaitExit(timeout time.Duration) error {
	select {
	case <-vm.done:
		return vm.exitErr
	case <-time.After(timeout):
		return fmt.Errorf("qemu still running after %v\n%s", timeout, vm.tailReport())
	}
}

// Kill stops QEMU at once and waits for it to exit. It may be called more
// than once.
func (vm *VM) Kill() error {
	if !vm.Exited() {
		if err := vm.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return err
		}
	}
	<-vm.done
	if dir := filepath.Dir(vm.monitorPath); dir != vm.dir {
		os.RemoveAll(dir)
	}
	return nil
}

// cdDriveRe finds a CD drive's name in the monitor's info block.
var cdDriveRe = regexp.MustCompile(`(?m)^(ide\d+-cd\d+)\b`)

// BootNewestCD boots the newest generation of a live image attached as the
// CD the way the README says for a QEMU started by hand: stop the guest,
// give the CD a fresh open of image (a file, or an NBD URL; -f because a
// guest that mounted its CD locked the tray), reset, continue. A reset
// alone boots the generation the CD was opened with (promise 7).
func (vm *VM) BootNewestCD(image string) error {
	info, err := vm.Monitor("info block")
	if err != nil {
		return err
	}
	m := cdDriveRe.FindStringSubmatch(info)
	if m == nil {
		return fmt.Errorf("no CD drive in info block:\n%s", info)
	}
	for _, c := range []string{"stop", "change " + m[1] + " -f " + image + " raw", "system_reset", "cont"} {
		reply, err := vm.Monitor(c)
		if err != nil {
			return err
		}
		if reply != "" {
			return fmt.Errorf("monitor %q: %s", c, reply)
		}
	}
	return nil
}
