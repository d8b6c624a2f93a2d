package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Formatting of figures, and what the report says of the machine.

func secs(s samples) string {
	if s.median() < 1 {
		return fmt.Sprintf("%s (%s-%s)", ms(s.median()), strings.TrimSuffix(ms(s.min()), " ms"), ms(s.max()))
	}
	return fmt.Sprintf("%.2f s (%.2f-%.2f)", s.median(), s.min(), s.max())
}

func ms(seconds float64) string { return fmt.Sprintf("%.0f ms", seconds*1000) }

// counts is a median of counts with its range.
func counts(s samples) string {
	return fmt.Sprintf("%.0f (%.0f-%.0f)", s.median(), s.min(), s.max())
}

func rate(s samples) string {
	return fmt.Sprintf("%.0f MB/s (%.0f-%.0f)", s.median()/1e6, s.min()/1e6, s.max()/1e6)
}

func mb(n float64) string { return fmt.Sprintf("%.1f MB", n/1e6) }

func mib(n int64) string { return fmt.Sprintf("%d MiB", n>>20) }

func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func cpuModel() string {
	for _, line := range strings.Split(readFile("/proc/cpuinfo"), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func memTotal() string {
	for _, line := range strings.Split(readFile("/proc/meminfo"), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			var kb int64
			fmt.Sscan(strings.TrimSpace(rest), &kb)
			return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	return "unknown"
}

func toolVersion(tool, flag string) string {
	out, err := exec.Command(tool, flag).CombinedOutput()
	if err != nil && len(out) == 0 {
		return tool + " (version unknown)"
	}
	for _, line := range strings.Split(string(out), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return tool
}
