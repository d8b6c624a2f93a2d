package isolayout

import (
	"strconv"
	"strings"
)

// Identifier limits. ECMA-119 7.5.1 and 7.6.3 allow 8.3 names at level 1;
// levels 2 and 3 allow a file name plus extension of up to 30 characters and
// directory identifiers of up to 31 characters. Rock Ridge NM carries the
// real name, so the ISO name only has to be valid and unique.
const (
	maxFileIdentifierLen = 30 // file name + file name extension, without separators and version
	maxDirIdentifierLen  = 31
	maxExtensionKeep     = 8 // when a name must be shortened, the extension keeps at least this much
	fileVersion          = ";1"
)

// isoName is a node's ISO 9660 name split as ECMA-119 7.5.1 describes it:
// file name, separator 1 ".", extension, separator 2 ";", version.
// Directories have only a name.
type isoName struct {
	base, ext string
	dir       bool
}

// identifier returns the File Identifier field (ECMA-119 9.1.11) for the name.
func (n isoName) identifier() []byte {
	if n.dir {
		return []byte(n.base)
	}
	b := make([]byte, 0, len(n.base)+1+len(n.ext)+len(fileVersion))
	b = append(b, n.base...)
	b = append(b, '.')
	b = append(b, n.ext...)
	return append(b, fileVersion...)
}

// key is what must be unique within a directory. A file without extension
// and a directory of the same name collide: readers without Rock Ridge strip
// the "." and ";1".
func (n isoName) key() string {
	if n.ext == "" {
		return n.base
	}
	return n.base + "." + n.ext
}

// less orders identifiers as ECMA-119 9.3 requires for directory records:
// by file name, then by extension, each compared as if padded with spaces
// (0x20). d-characters are all above 0x20, so padding with spaces orders like
// a plain byte comparison where a prefix comes first.
func (n isoName) less(o isoName) bool {
	if n.base != o.base {
		return n.base < o.base
	}
	return n.ext < o.ext
}

// isDChar reports whether c is a d-character (ECMA-119 7.4.1).
func isDChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// mapDChars upper-cases s and replaces every byte that is not a d-character
// with '_'.
func mapDChars(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if !isDChar(c) {
			c = '_'
		}
		b[i] = c
	}
	return string(b)
}

// baseISOName maps a Linux name to an ISO 9660 name before uniqueness is
// enforced: upper case, d-characters, the last dot (not a leading one)
// separates the extension of a file, and both parts fit the length limits.
func baseISOName(name string, dir bool) isoName {
	if dir {
		base := mapDChars(name)
		if len(base) > maxDirIdentifierLen {
			base = base[:maxDirIdentifierLen]
		}
		return isoName{base: base, dir: true}
	}
	base, ext := name, ""
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		base, ext = name[:i], name[i+1:]
	}
	base, ext = mapDChars(base), mapDChars(ext)
	if len(base)+len(ext) > maxFileIdentifierLen {
		if len(ext) > maxExtensionKeep {
			ext = ext[:max(maxExtensionKeep, maxFileIdentifierLen-len(base))]
		}
		if len(base)+len(ext) > maxFileIdentifierLen {
			base = base[:maxFileIdentifierLen-len(ext)]
		}
	}
	return isoName{base: base, ext: ext}
}

// uniqueISONames assigns ISO names to the entries of one directory. names
// must be sorted (bytewise, by Linux name) so that the assignment is
// deterministic; a collision is resolved by replacing the end of the file
// name with "_N" for the smallest N that makes it unique.
func uniqueISONames(names []string, dirs []bool) []isoName {
	out := make([]isoName, len(names))
	taken := make(map[string]struct{}, len(names))
	for i, name := range names {
		n := baseISOName(name, dirs[i])
		if _, dup := taken[n.key()]; dup {
			// Leave room for the suffix in the file name.
			n.ext = n.ext[:min(len(n.ext), maxExtensionKeep)]
			limit := maxFileIdentifierLen - len(n.ext)
			if n.dir {
				limit = maxDirIdentifierLen
			}
			orig := n.base
			for k := 1; ; k++ {
				suffix := "_" + strconv.Itoa(k)
				n.base = orig[:min(len(orig), limit-len(suffix))] + suffix
				if _, dup := taken[n.key()]; !dup {
					break
				}
			}
		}
		taken[n.key()] = struct{}{}
		out[i] = n
	}
	return out
}
