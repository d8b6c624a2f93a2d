package rootfs

import (
	"errors"
	"strings"
	"testing"
)

func TestExcludeMatch(t *testing.T) {
	for _, c := range []struct {
		pattern string
		path    string
		isDir   bool
		want    bool
	}{
		{"/var/cache/apt/*", "var/cache/apt/archives", true, true},
		{"/var/cache/apt/*", "var/cache/apt/pkgcache.bin", false, true},
		{"/var/cache/apt/*", "var/cache/apt", true, false},
		{"/var/cache/apt/*", "x/var/cache/apt/y", false, false},
		{"*.pyc", "a.pyc", false, true},
		{"*.pyc", "usr/lib/x/a.pyc", false, true},
		{"*.pyc", "usr/lib/x/a.py", false, false},
		{"*.pyc", "a.pyc/b", false, false},
		{"*", ".hidden", false, true},
		{"tmp/", "tmp", false, false},
		{"tmp/", "var/tmp", true, true},
		{"/tmp/", "var/tmp", true, false},
		{"var/log", "var/log", true, true},
		{"var/log", "x/var/log", true, false},
		{"/usr/**/*.mo", "usr/share/locale/de/LC_MESSAGES/x.mo", false, true},
		{"/usr/**/*.mo", "usr/x.mo", false, true},
		{"/usr/**", "usr/x", false, true},
		{"/usr/**", "usr", true, true}, // "**" matches zero components
		{"/a/?/c", "a/b/c", false, true},
		{"/a/[bc]", "a/c", false, true},
		{"/a/[!b]", "a/b", false, false},
		{`\*`, "*", false, true},
		{`\*`, "x", false, false},
		{"/", ".", true, false},
	} {
		ex, err := compileExcludes([]string{c.pattern})
		if c.pattern == "/" {
			if !errors.Is(err, ErrBadPattern) {
				t.Errorf("%q: %v", c.pattern, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", c.pattern, err)
		}
		if got := ex.match(c.path, c.isDir); got != c.want {
			t.Errorf("%q matches %q (dir %v) = %v, want %v", c.pattern, c.path, c.isDir, got, c.want)
		}
	}
	for _, bad := range []string{"", "[a-", "/a//b", "a/[/b"} {
		if _, err := compileExcludes([]string{bad}); !errors.Is(err, ErrBadPattern) || !strings.Contains(err.Error(), bad) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// FuzzExclude checks that any pattern either fails to compile or matches
// without panicking, that the root is never excluded, and that a pattern
// made of a path's own escaped components, anchored, matches that path.
func FuzzExclude(f *testing.F) {
	f.Add("/var/cache/apt/*", "var/cache/apt/x")
	f.Add("*.pyc", "a/b.pyc")
	f.Add("/usr/**/x", "usr/a/b/x")
	f.Add("[a-", "a")
	f.Fuzz(func(t *testing.T, pattern, rel string) {
		ex, err := compileExcludes([]string{pattern})
		if err == nil {
			ex.match(rel, false)
			if ex.match(".", true) {
				t.Fatalf("%q excludes the root", pattern)
			}
		}
		p, ok := CleanRel(rel)
		if !ok || p == "." || strings.ContainsRune(p, 0) {
			return
		}
		var esc strings.Builder
		esc.WriteString("/")
		for i := 0; i < len(p); i++ { // bytes: names need not be UTF-8
			if strings.IndexByte(`*?[]\`, p[i]) >= 0 {
				esc.WriteByte('\\')
			}
			esc.WriteByte(p[i])
		}
		lit, err := compileExcludes([]string{esc.String()})
		if err != nil {
			t.Fatalf("escaped %q: %v", esc.String(), err)
		}
		if !lit.match(p, false) {
			t.Fatalf("escaped %q does not match %q", esc.String(), p)
		}
	})
}
