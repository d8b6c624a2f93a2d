package rootfs

import (
	"fmt"
	"path"
	"strings"
)

// excluder decides which paths a scan leaves out. The patterns follow the
// rules rsync, mksquashfs and gitignore share, all relative to the rootfs:
//
//   - a pattern with a "/" at its start or in its middle is anchored at the
//     rootfs root and matched component by component against the whole path:
//     "/var/cache/apt/*" excludes what that directory holds, not the directory;
//   - a pattern without "/" matches the base name at any depth: "*.pyc";
//   - a trailing "/" restricts the pattern to directories: "__pycache__/";
//   - in an anchored pattern a component "**" matches any number (also zero)
//     of components: "/usr/share/**/*.mo".
//
// Within a component, "*", "?", "[...]" ("[!...]" or "[^...]" negated) and
// "\" escapes mean what they mean to path.Match; "*" never crosses a "/". The root itself is never excluded.
type excluder struct {
	patterns []pattern
}

type pattern struct {
	components []string // anchored: the whole path; otherwise one base-name glob
	anchored   bool
	dirOnly    bool
}

func compileExcludes(globs []string) (*excluder, error) {
	ex := &excluder{}
	for _, g := range globs {
		p, err := compilePattern(g)
		if err != nil {
			return nil, err
		}
		ex.patterns = append(ex.patterns, p)
	}
	return ex, nil
}

func compilePattern(g string) (pattern, error) {
	var p pattern
	s := g
	for strings.HasSuffix(s, "/") {
		s, p.dirOnly = s[:len(s)-1], true
	}
	p.anchored = strings.Contains(s, "/")
	s = strings.TrimLeft(s, "/")
	if s == "" {
		return p, fmt.Errorf("exclude %q: %w: matches nothing or the root", g, ErrBadPattern)
	}
	p.components = strings.Split(s, "/")
	for i, c := range p.components {
		c = shellNegation(c)
		p.components[i] = c
		if c == "" {
			return p, fmt.Errorf("exclude %q: %w: empty path component", g, ErrBadPattern)
		}
		if _, err := path.Match(c, ""); err != nil {
			return p, fmt.Errorf("exclude %q: %w: %v", g, ErrBadPattern, err)
		}
	}
	return p, nil
}

// shellNegation rewrites the shell's "[!...]" as path.Match's "[^...]".
func shellNegation(c string) string {
	if !strings.Contains(c, "[!") {
		return c
	}
	b := []byte(c)
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == '\\':
			i++
		case b[i] == '[' && i+1 < len(b) && b[i+1] == '!':
			b[i+1] = '^'
		}
	}
	return string(b)
}

// match reports whether the rootfs-relative rel ("." is the root) is excluded.
func (ex *excluder) match(rel string, isDir bool) bool {
	if ex == nil || len(ex.patterns) == 0 || rel == "." {
		return false
	}
	var parts []string // split lazily: most patterns are base-name globs
	for i := range ex.patterns {
		p := &ex.patterns[i]
		if p.dirOnly && !isDir {
			continue
		}
		if !p.anchored {
			if ok, _ := path.Match(p.components[0], path.Base(rel)); ok {
				return true
			}
			continue
		}
		if parts == nil {
			parts = strings.Split(rel, "/")
		}
		if matchComponents(p.components, parts) {
			return true
		}
	}
	return false
}

// matchComponents matches glob components against path components; "**"
// matches zero or more components.
func matchComponents(globs, parts []string) bool {
	for len(globs) > 0 {
		if globs[0] == "**" {
			for len(globs) > 0 && globs[0] == "**" {
				globs = globs[1:]
			}
			if len(globs) == 0 {
				return true
			}
			for i := range parts {
				if matchComponents(globs, parts[i:]) {
					return true
				}
			}
			return false
		}
		if len(parts) == 0 {
			return false
		}
		if ok, _ := path.Match(globs[0], parts[0]); !ok {
			return false
		}
		globs, parts = globs[1:], parts[1:]
	}
	return len(parts) == 0
}
