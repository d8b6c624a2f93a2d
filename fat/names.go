package fat

import (
	"fmt"
	"strings"
)

// shortSpecial are the punctuation characters allowed in a short name
// besides A-Z and 0-9 (fatgen103, "DIR_Name").
const shortSpecial = "$%'-_@~`!(){}^#&"

func shortChar(c byte) bool {
	return 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(shortSpecial, c) >= 0
}

// asShortName returns name as an 8.3 entry name if it already is a valid
// upper-case short name, so that it needs no long-name entries.
func asShortName(name string) ([11]byte, bool) {
	var out [11]byte
	base, ext, _ := strings.Cut(name, ".")
	if base == "" || len(base) > 8 || len(ext) > 3 || strings.Contains(ext, ".") || strings.HasSuffix(name, ".") {
		return out, false
	}
	for i := 0; i < len(base); i++ {
		if !shortChar(base[i]) {
			return out, false
		}
	}
	for i := 0; i < len(ext); i++ {
		if !shortChar(ext[i]) {
			return out, false
		}
	}
	copy(out[:], padName(base, 8))
	copy(out[8:], padName(ext, 3))
	return out, true
}

// basis is the upper-cased, filtered base and extension of name from which
// a numbered short name BASE~N.EXT is made (the "basis-name generation
// algorithm" of the specification, without its code-page details).
func basis(name string) (string, string) {
	clean := func(s string, n int) string {
		var b strings.Builder
		for i := 0; i < len(s) && b.Len() < n; i++ {
			c := s[i]
			if c == ' ' || c == '.' {
				continue
			}
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			if !shortChar(c) {
				c = '_'
			}
			b.WriteByte(c)
		}
		return b.String()
	}
	name = strings.TrimLeft(name, ".")
	base, ext := name, ""
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		base, ext = name[:i], name[i+1:]
	}
	return clean(base, 8), clean(ext, 3)
}

// shortNames gives every name of a directory its short name: the name
// itself when it is a valid short name, else BASE~N.EXT unique in the
// directory. long reports which names need long-name entries.
func shortNames(names []string) (short [][11]byte, long []bool, err error) {
	short = make([][11]byte, len(names))
	long = make([]bool, len(names))
	used := map[[11]byte]bool{}
	for i, n := range names {
		if s, ok := asShortName(n); ok {
			short[i] = s
			used[s] = true
		}
	}
	for i, n := range names {
		if _, ok := asShortName(n); ok {
			continue
		}
		long[i] = true
		base, ext := basis(n)
		if base == "" {
			base = "_"
		}
		found := false
		for k := 1; k < 1000000 && !found; k++ {
			tail := fmt.Sprintf("~%d", k)
			b := base
			if len(b)+len(tail) > 8 {
				b = b[:8-len(tail)]
			}
			var s [11]byte
			copy(s[:], padName(b+tail, 8))
			copy(s[8:], padName(ext, 3))
			if !used[s] {
				used[s] = true
				short[i] = s
				found = true
			}
		}
		if !found {
			return nil, nil, fmt.Errorf("%s: %w: no free short name", n, ErrInvalidInput)
		}
	}
	return short, long, nil
}
