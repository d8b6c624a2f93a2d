package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// debianCorpus returns a `debootstrap --variant=minbase bookworm` tree made
// from mirror, running debootstrap (installed with apt-get if missing) when
// the tree is not cached yet.
func debianCorpus(ctx context.Context, dir, mirror string) (*corpus, error) {
	root := filepath.Join(dir, "debian-bookworm-minbase")
	if _, err := os.Stat(root); err != nil {
		if _, err := exec.LookPath("debootstrap"); err != nil {
			fmt.Fprintln(os.Stderr, "bench: installing debootstrap")
			if out, err := exec.CommandContext(ctx, "apt-get", "install", "-y", "debootstrap").CombinedOutput(); err != nil {
				return nil, fmt.Errorf("apt-get install debootstrap: %w\n%s", err, lastLines(out, 10))
			}
		}
		tmp := root + ".tmp"
		if err := os.RemoveAll(tmp); err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "bench: debootstrap --variant=minbase bookworm %s %s\n", tmp, mirror)
		out, err := exec.CommandContext(ctx, "debootstrap", "--variant=minbase", "bookworm", tmp, mirror).CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("debootstrap --variant=minbase bookworm: %w\n%s", err, lastLines(out, 10))
		}
		if err := os.Rename(tmp, root); err != nil {
			return nil, err
		}
	}
	return countCorpus("debian-minbase", root)
}

// debianMirror returns the first Debian mirror URL the machine's apt sources
// name (one-line or deb822 format), the only host debootstrap may use.
func debianMirror() (string, error) {
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	files = append([]string{"/etc/apt/sources.list"}, files...)
	list, _ := filepath.Glob("/etc/apt/sources.list.d/*.list")
	files = append(files, list...)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, "#") {
				continue
			}
			for _, field := range strings.Fields(line) {
				if (strings.HasPrefix(field, "http://") || strings.HasPrefix(field, "https://")) &&
					strings.Contains(field, "debian") && !strings.Contains(field, "security") {
					return strings.TrimSuffix(field, "/"), nil
				}
			}
		}
	}
	return "", errors.New("no Debian mirror in /etc/apt/sources.list(.d)")
}
