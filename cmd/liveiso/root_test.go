package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// run runs the command line in this process and returns its exit status,
// standard output and standard error.
func run(t *testing.T, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	status = execute(args, &out, &errOut)
	return status, out.String(), errOut.String()
}

func TestHelpSpellsFlagsLikeGNU(t *testing.T) {
	for _, args := range [][]string{{"build", "--help"}, {"build", "-h"}, {"help", "build"}} {
		status, out, errOut := run(t, args...)
		if status != exitOK || errOut != "" {
			t.Fatalf("liveiso %v: status %d, stderr %q", args, status, errOut)
		}
		for _, want := range []string{"--rootfs DIR", "-o, --output FILE", "-h, --help", "--exclude GLOB", "--quiet", "--verbose"} {
			if !strings.Contains(out, want) {
				t.Errorf("liveiso %v does not show %q:\n%s", args, want, out)
			}
		}
		// Go's flag package spells long flags with one dash.
		if m := regexp.MustCompile(`(?m)^\s+-[a-z]{2,}`).FindString(out); m != "" {
			t.Errorf("liveiso %v spells a long flag with one dash: %q", args, m)
		}
	}
}

// readmeFlags are the flags of the README's option table.
func readmeFlags(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	flagRe := regexp.MustCompile("`(--[a-z][a-z-]*)")
	var flags []string
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "| `--") {
			continue
		}
		firstCol := strings.Split(strings.ReplaceAll(line, `\|`, ""), "|")[1]
		for _, m := range flagRe.FindAllStringSubmatch(firstCol, -1) {
			flags = append(flags, m[1])
		}
	}
	if len(flags) < 15 {
		t.Fatalf("found only %d flags in the README's option table: %v", len(flags), flags)
	}
	return flags
}

func TestReadmeFlagsExist(t *testing.T) {
	root := newRootCommand()
	want := map[string][]string{
		"build":  append(readmeFlags(t), "--output", "--quiet", "--verbose"),
		"mount":  append(readmeFlags(t), "--capacity", "--allow-other", "--debug-fuse", "--listen", "--keep", "--quiet", "--verbose"),
		"serve":  append(readmeFlags(t), "--listen", "--keep", "--quiet", "--verbose"),
		"status": {"--json"},
		"run": append(readmeFlags(t), "--on-change", "--mount", "--attach", "--accel", "--firmware", "--ovmf-code", "--ovmf-vars",
			"--medium", "--memory", "--cpus", "--nic", "--direct", "--until", "--fail", "--timeout", "--watch", "--console-log", "--quiet", "--verbose"),
	}
	for name, flags := range want {
		cmd, _, err := root.Find([]string{name})
		if err != nil || cmd.Name() != name {
			t.Fatalf("no command %s: %v", name, err)
		}
		for _, f := range flags {
			if cmd.Flags().Lookup(strings.TrimPrefix(f, "--")) == nil {
				t.Errorf("liveiso %s has no %s", name, f)
			}
		}
	}
	build, _, _ := root.Find([]string{"build"})
	if f := build.Flags().ShorthandLookup("o"); f == nil || f.Name != "output" {
		t.Errorf("liveiso build -o is %v, want --output", f)
	}
}

func TestVersion(t *testing.T) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		t.Fatal("the test binary has no build information")
	}
	status, out, _ := run(t, "--version")
	if status != exitOK {
		t.Fatalf("liveiso --version: status %d", status)
	}
	if want := "liveiso " + versionOf(bi) + "\n"; out != want {
		t.Errorf("liveiso --version printed %q, want %q", out, want)
	}
	if !strings.Contains(out, runtime.Version()) {
		t.Errorf("liveiso --version does not say the Go version %s: %q", runtime.Version(), out)
	}
}

func TestVersionOf(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	for _, c := range []struct {
		version  string
		settings []debug.BuildSetting
		want     string
	}{
		{"v1.2.3", vcs("vcs.revision", "abc"), "v1.2.3, go1.99"},
		{"(devel)", vcs("vcs.revision", "0123abcd", "vcs.time", "2026-12-01T15:00:00Z", "vcs.modified", "true"),
			"0123abcd 2026-12-01T15:00:00Z modified, go1.99"},
		{"(devel)", vcs("vcs.revision", "0123abcd", "vcs.modified", "false"), "0123abcd, go1.99"},
		{"", nil, "(devel), go1.99"},
	} {
		bi := &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: c.version}, Settings: c.settings}
		if got := versionOf(bi); got != c.want {
			t.Errorf("versionOf(%q, %v) = %q, want %q", c.version, c.settings, got, c.want)
		}
	}
}

func TestExitStatus(t *testing.T) {
	noStatus := t.TempDir()
	for _, c := range []struct {
		args   []string
		status int
		stderr string
	}{
		{nil, exitUsage, "liveiso: no command given"},
		{[]string{"nosuch"}, exitUsage, `liveiso: unknown command "nosuch"`},
		{[]string{"help", "nosuch"}, exitUsage, `no help for "nosuch"`},
		{[]string{"build", "--no-such-flag"}, exitUsage, "liveiso build: unknown flag: --no-such-flag"},
		{[]string{"build", "-rootfs", "x", "-o", "y"}, exitUsage, "liveiso build: unknown shorthand flag"},
		{[]string{"build", "-o", "x"}, exitUsage, "liveiso build: --rootfs DIR is required"},
		{[]string{"build", "--rootfs", "x"}, exitUsage, "liveiso build: -o FILE (or --uki FILE) is required"},
		{[]string{"build", "--rootfs", "x", "-o", "y", "--secure-boot", "maybe"}, exitUsage, "--secure-boot \"maybe\": want auto, on or off"},
		{[]string{"build", "--rootfs", "x", "-o", "y", "extra"}, exitUsage, `liveiso build: unexpected argument "extra"`},
		{[]string{"build", "--rootfs", "x", "-o", "y", "--level", "high"}, exitUsage, `invalid argument "high" for "--level"`},
		{[]string{"build", "--rootfs", "x", "-o", "y", "--compression", "lzma"}, exitUsage, "gzip, zstd or none"},
		{[]string{"mount", "--rootfs", "x"}, exitUsage, "liveiso mount: want exactly one MOUNTPOINT"},
		{[]string{"mount", "--rootfs", "x", "--capacity", "big", noStatus}, exitUsage, "liveiso mount: --capacity"},
		{[]string{"mount", "--rootfs", "x", "--listen", "8080", noStatus}, exitUsage, "liveiso mount: --listen \"8080\": want HOST:PORT"},
		{[]string{"serve", "--rootfs", "x", "--keep", "0"}, exitUsage, "liveiso serve: --keep 0: want at least 1"},
		{[]string{"serve", "--rootfs", "x", "extra"}, exitUsage, "liveiso serve: unexpected argument \"extra\""},
		{[]string{"serve"}, exitUsage, "liveiso serve: --rootfs DIR is required"},
		{[]string{"status"}, exitUsage, "liveiso status: want exactly one MOUNTPOINT"},
		{[]string{"completion", "tcsh"}, exitUsage, `shell "tcsh"`},
		{[]string{"status", noStatus}, exitError, "liveiso status: open " + noStatus},
		// Options after the mount point are parsed: the rootfs is looked at.
		{[]string{"mount", noStatus, "--rootfs", "/no/such/rootfs", "--cache-dir", t.TempDir()}, exitError,
			"liveiso mount: rootfs: stat /no/such/rootfs"},
		{[]string{"build", "-o", filepath.Join(t.TempDir(), "image.iso"), "--rootfs", "/no/such/rootfs", "--cache-dir", t.TempDir()}, exitError,
			"liveiso build: rootfs: stat /no/such/rootfs"},
	} {
		status, _, errOut := run(t, c.args...)
		if status != c.status || !strings.Contains(errOut, c.stderr) {
			t.Errorf("liveiso %q: status %d, stderr:\n%s\nwant status %d and %q", c.args, status, errOut, c.status, c.stderr)
		}
	}
}

// Options may follow the positional arguments, as with mount(8).
func TestOptionsAfterArguments(t *testing.T) {
	dir := t.TempDir()
	const raw = `{"generation":7,"state":"ready"}`
	if err := os.WriteFile(filepath.Join(dir, "status.json"), []byte(raw), 0o644); err != nil {
		t.Fatal(err)
	}
	status, out, errOut := run(t, "status", dir, "--json")
	if status != exitOK || out != raw {
		t.Errorf("liveiso status DIR --json: status %d, stdout %q (want the raw file), stderr %q", status, out, errOut)
	}
	status, out, _ = run(t, "status", dir)
	if status != exitOK || !strings.Contains(out, "generation:  7") {
		t.Errorf("liveiso status DIR: status %d, stdout %q", status, out)
	}
}

// --exclude may be given many times, and a glob keeps its commas.
func TestExcludeRepeatable(t *testing.T) {
	root := newRootCommand()
	build, _, _ := root.Find([]string{"build"})
	if err := build.ParseFlags([]string{"--exclude", "/var/cache/*", "--exclude", "*.{pyc,pyo}"}); err != nil {
		t.Fatal(err)
	}
	got, err := build.Flags().GetStringArray("exclude")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/var/cache/*", "*.{pyc,pyo}"}; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("--exclude gave %q, want %q", got, want)
	}
}

func TestCompletionScripts(t *testing.T) {
	for _, c := range []struct {
		shell string
		check []string // a syntax check of the script, given as the last argument
		want  string
	}{
		{"bash", []string{"bash", "-n"}, "complete -o default -F __start_liveiso liveiso"},
		{"zsh", []string{"zsh", "-n"}, "#compdef liveiso"},
		{"fish", []string{"fish", "--no-execute"}, "complete -c liveiso"},
	} {
		t.Run(c.shell, func(t *testing.T) {
			status, out, errOut := run(t, "completion", c.shell)
			if status != exitOK || !strings.Contains(out, c.want) {
				t.Fatalf("liveiso completion %s: status %d, stderr %q, script without %q:\n%.500s", c.shell, status, errOut, c.want, out)
			}
			if _, err := exec.LookPath(c.check[0]); err != nil {
				t.Skipf("%s is not installed (scripts/setup.sh installs it): the script is not checked", c.check[0])
			}
			script := filepath.Join(t.TempDir(), "liveiso."+c.shell)
			if err := os.WriteFile(script, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			if b, err := exec.Command(c.check[0], append(c.check[1:], script)...).CombinedOutput(); err != nil || len(b) > 0 {
				t.Errorf("%s: %v\n%s", strings.Join(c.check, " "), err, b)
			}
		})
	}
}

// The scripts ask liveiso what to complete: its answer must hold the flags.
func TestCompletionAnswers(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", ""}, []string{"build", "mount", "serve", "status", "completion", "help"}},
		{[]string{"__complete", "build", "--ro"}, []string{"--rootfs", "--root-owner"}},
		{[]string{"__complete", "mount", "--ca"}, []string{"--capacity", "--cache-dir", "--cache-memory"}},
		{[]string{"__complete", "completion", ""}, []string{"bash", "zsh", "fish"}},
	} {
		status, out, errOut := run(t, c.args...)
		if status != exitOK {
			t.Fatalf("liveiso %q: status %d, stderr %q", c.args, status, errOut)
		}
		lines := map[string]bool{}
		for _, l := range strings.Split(out, "\n") {
			lines[strings.SplitN(l, "\t", 2)[0]] = true
		}
		for _, w := range c.want {
			if !lines[w] {
				t.Errorf("liveiso %q does not offer %s:\n%s", c.args, w, out)
			}
		}
		if lines["man"] {
			t.Errorf("liveiso %q offers the hidden man command:\n%s", c.args, out)
		}
	}
}

func TestManPages(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	if status, _, errOut := run(t, "man", dir); status != exitOK {
		t.Fatalf("liveiso man: status %d, stderr %q", status, errOut)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got, want := strings.Join(names, " "), "liveiso-build.1 liveiso-cache.1 liveiso-completion.1 liveiso-exec.1 liveiso-mount.1 liveiso-run.1 liveiso-serve.1 liveiso-status.1 liveiso.1"; got != want {
		t.Errorf("man pages %s, want %s", got, want)
	}
	if _, err := exec.LookPath("groff"); err != nil {
		t.Skip("groff is not installed (scripts/setup.sh installs groff-base): the pages are not rendered")
	}
	cmd := exec.Command("groff", "-man", "-Tascii", "-ww", filepath.Join(dir, "liveiso-build.1"))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil || errOut.Len() > 0 {
		t.Fatalf("groff: %v\n%s", err, errOut.String())
	}
	// groff -Tascii overstrikes bold text: drop the backspaces and what
	// they erase.
	text := regexp.MustCompile(".\b").ReplaceAllString(out.String(), "")
	for _, want := range []string{"liveiso-build", "--rootfs", "-o, --output", "--exclude", "Nov 2023"} {
		if !strings.Contains(text, want) {
			t.Errorf("the rendered liveiso-build(1) does not show %q:\n%s", want, text)
		}
	}
}
