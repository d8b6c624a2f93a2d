package main

import (
	"runtime/debug"
	"strings"
)

// version says which liveiso this is, from the build information the Go
// tool records: the module's version, else the VCS revision and time it was
// built from, marked "modified" when the work tree had changes.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (built without module support)"
	}
	return versionOf(bi)
}

func versionOf(bi *debug.BuildInfo) string {
	setting := map[string]string{}
	for _, s := range bi.Settings {
		setting[s.Key] = s.Value
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		rev := setting["vcs.revision"]
		if rev == "" {
			return "(devel), " + bi.GoVersion
		}
		parts := []string{rev}
		if t := setting["vcs.time"]; t != "" {
			parts = append(parts, t)
		}
		if setting["vcs.modified"] == "true" {
			parts = append(parts, "modified")
		}
		v = strings.Join(parts, " ")
	}
	return v + ", " + bi.GoVersion
}
