package isolayout

import (
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Joliet name limits (Joliet specification 1995, "Filename Lengths"): a
// file or directory identifier holds at most 64 UCS-2 characters, the
// separator "." not counted. 103 (JolietLongChars) is the most an ISO 9660
// directory record can hold; xorriso writes it with -joliet-long, and
// Windows and Linux read it.
const (
	JolietChars     = 64
	JolietLongChars = 103

	jolietMinExtension = 3 // a shortened name keeps at least this much of a long extension
	jolietMaxDigits    = 7 // a collision is resolved with a number of at most this many digits
)

// jolietReplacement stands in for a character Joliet cannot hold.
const jolietReplacement = '_'

// jolietForbidden reports whether c may not appear in a Joliet identifier:
// the control characters and * / : ; ? \ (Joliet specification, "Allowed
// Character Set").
func jolietForbidden(c uint16) bool {
	return c < 0x20 || c == '*' || c == '/' || c == ':' || c == ';' || c == '?' || c == '\\'
}

// jolietName is a node's Joliet name and, when it differs from the Linux
// name, why.
type jolietName struct {
	units  []uint16 // UCS-2 code units, without version: xorriso's Joliet names have none
	reason string   // "" when the name is stored as it is
}

func (n jolietName) String() string {
	var b strings.Builder
	for _, u := range n.units {
		b.WriteRune(rune(u))
	}
	return b.String()
}

// identifier is the File Identifier field: the name in UCS-2 big-endian.
func (n jolietName) identifier() []byte {
	b := make([]byte, 0, 2*len(n.units))
	for _, u := range n.units {
		b = append(b, byte(u>>8), byte(u))
	}
	return b
}

// toUCS2 converts a Linux name to UCS-2. A character beyond the Basic
// Multilingual Plane, or a byte that is not UTF-8, becomes one
// replacement character: UCS-2 has no surrogate pairs (xorriso's
// default; its joliet_utf16 option would write them).
func toUCS2(name string) (units []uint16, outside bool) {
	units = make([]uint16, 0, len(name))
	for i := 0; i < len(name); {
		r, size := utf8.DecodeRuneInString(name[i:])
		i += size
		if r == utf8.RuneError && size <= 1 || r > 0xFFFF || r >= 0xD800 && r <= 0xDFFF {
			units = append(units, jolietReplacement)
			outside = true
			continue
		}
		units = append(units, uint16(r))
	}
	return units, outside
}

// baseJolietName maps a Linux name to a Joliet name before uniqueness is
// enforced, as xorriso (libisofs) does: forbidden characters become "_";
// a directory name is cut at maxChars; a file name longer than maxChars
// plus its "." keeps as much of its extension (the part after the last
// ".") as leaves room for the name, and at least three characters of it.
func baseJolietName(name string, dir bool, maxChars int) jolietName {
	units, outside := toUCS2(name)
	var reasons []string
	if outside {
		reasons = append(reasons, "characters outside UCS-2")
	}
	if slices.ContainsFunc(units, jolietForbidden) {
		reasons = append(reasons, `characters Joliet forbids (* / : ; ? \ or control)`)
	}
	out := units
	switch {
	case dir || lastDot(units) < 0:
		if len(units) > maxChars {
			out = units[:maxChars]
		}
	default:
		i := lastDot(units)
		base, ext := units[:i], units[i+1:]
		if len(units) > maxChars+1 {
			keepExt := len(ext)
			if len(ext) > jolietMinExtension {
				keepExt = jolietMinExtension
				if len(base) < maxChars-jolietMinExtension {
					keepExt = maxChars - len(base)
				}
			}
			keepBase := maxChars - keepExt
			out = make([]uint16, 0, maxChars+1)
			out = append(out, base[:keepBase]...)
			out = append(out, '.')
			out = append(out, ext[:keepExt]...)
		}
	}
	if len(out) != len(units) {
		reasons = append(reasons, "longer than "+strconv.Itoa(maxChars)+" characters")
	}
	mapped := make([]uint16, len(out))
	for i, c := range out {
		if jolietForbidden(c) {
			c = jolietReplacement
		}
		mapped[i] = c
	}
	return jolietName{units: mapped, reason: strings.Join(reasons, ", ")}
}

// lastDot is the index of the last "." in a file name, -1 for none or a
// name that ends with it (it then has no extension to keep).
func lastDot(units []uint16) int {
	for i := len(units) - 1; i >= 0; i-- {
		if units[i] == '.' {
			if i == len(units)-1 {
				return -1
			}
			return i
		}
	}
	return -1
}

// foldKey is what must be unique within a Joliet directory: the name with
// its letters upper-cased. Windows and Linux's isofs (check=relaxed, its
// default for Joliet) look Joliet names up without regard to case, so
// "README" and "readme" would open the same file there. xorriso keeps
// such pairs; liveiso numbers them like any other collision.
func foldKey(units []uint16) string {
	b := make([]byte, 0, 2*len(units))
	for _, u := range units {
		if r := unicode.ToUpper(rune(u)); r <= 0xFFFF {
			u = uint16(r)
		}
		b = append(b, byte(u>>8), byte(u))
	}
	return string(b)
}

// uniqueJolietNames assigns Joliet names to the entries of one directory
// (names sorted bytewise, as order sorts them, so the result is
// deterministic). Entries whose mapped names are equal but for case are
// all renamed, as xorriso renames equal ones: the name is cut to leave
// room for a number of as few digits as make every one of them unique,
// counted from 0 and skipping names already taken, and the extension of
// a file is kept.
func uniqueJolietNames(names []string, dirs []bool, maxChars int) []jolietName {
	out := make([]jolietName, len(names))
	keys := make([]string, len(names))
	taken := make(map[string]struct{}, len(names))
	for i, name := range names {
		out[i] = baseJolietName(name, dirs[i], maxChars)
		keys[i] = foldKey(out[i].units)
		taken[keys[i]] = struct{}{}
	}
	idx := make([]int, len(names))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return strings.Compare(keys[a], keys[b]) })
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && keys[idx[i]] == keys[idx[j]] {
			j++
		}
		if j-i > 1 {
			renameGroup(out, idx[i:j], dirs, maxChars, taken)
		}
		i = j
	}
	return out
}

// renameGroup gives every entry of group (equal names) a numbered name.
func renameGroup(out []jolietName, group []int, dirs []bool, maxChars int, taken map[string]struct{}) {
	for digits := 1; digits <= jolietMaxDigits; digits++ {
		names := make([][]uint16, 0, len(group))
		ok := true
		next := 0
		limit := 1
		for range digits {
			limit *= 10
		}
		for _, i := range group {
			// Each keeps its own spelling: the names are equal but
			// for case.
			base, ext := cutForNumber(out[i].units, dirs[i], maxChars, digits)
			var name []uint16
			for ; next < limit; next++ {
				name = numbered(base, next, digits, ext)
				if _, dup := taken[foldKey(name)]; !dup {
					break
				}
			}
			if next == limit {
				ok = false
				break
			}
			next++
			names = append(names, name)
			taken[foldKey(name)] = struct{}{}
		}
		if !ok {
			for _, name := range names {
				delete(taken, foldKey(name))
			}
			continue
		}
		for k, i := range group {
			reason := out[i].reason
			if reason != "" {
				reason += ", "
			}
			out[i] = jolietName{units: names[k], reason: reason + "another name in its directory maps to the same Joliet name, ignoring case"}
		}
		return
	}
	// 10^7 equal names in one directory: more entries than a directory
	// extent can describe. Keep them as they are rather than fail.
}

// cutForNumber splits a name into the part a number follows and the
// extension it keeps (a file's, after the last dot), cut so that the
// number of digits digits fits in maxChars.
func cutForNumber(units []uint16, dir bool, maxChars, digits int) (base, ext []uint16) {
	base = units
	if i := lastDot(units); i >= 0 && !dir {
		base, ext = units[:i], units[i+1:]
	}
	room := maxChars - len(ext) - digits
	if room <= 0 {
		// A long extension gives way so that the name keeps one
		// character of its own, if it has one.
		room = min(len(base), 1)
		ext = ext[:max(jolietMinExtension, maxChars-room-digits)]
	}
	return base[:min(len(base), room)], ext
}

// numbered is base, number with digits digits, and "." ext when ext is not
// empty.
func numbered(base []uint16, number, digits int, ext []uint16) []uint16 {
	s := strconv.Itoa(number)
	s = strings.Repeat("0", max(0, digits-len(s))) + s
	out := make([]uint16, 0, len(base)+len(s)+1+len(ext))
	out = append(out, base...)
	for _, c := range s {
		out = append(out, uint16(c))
	}
	if len(ext) > 0 {
		out = append(out, '.')
		out = append(out, ext...)
	}
	return out
}
