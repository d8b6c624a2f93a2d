package httpserve

import (
	"net/http"
	"strings"
)

// withoutBadRange is r without its Range header when that is not a valid
// byte range set (RFC 9110 14.1.1): such a header is ignored and the whole
// file served (RFC 9110 14.2), where http.ServeContent would answer 416. A
// valid set that no byte satisfies still gets 416 from ServeContent.
func withoutBadRange(r *http.Request) *http.Request {
	h := r.Header.Get("Range")
	if h == "" || validRangeSet(h) {
		return r
	}
	r = r.Clone(r.Context())
	r.Header.Del("Range")
	return r
}

// validRangeSet reports whether h is "bytes=" and a comma-separated list of
// "FIRST-LAST" (FIRST <= LAST), "FIRST-" or "-SUFFIX".
func validRangeSet(h string) bool {
	unit, set, ok := strings.Cut(h, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return false
	}
	for _, spec := range strings.Split(set, ",") {
		first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
		switch {
		case !ok, first == "" && last == "":
			return false
		case first == "":
			if !digits(last) {
				return false
			}
		case !digits(first):
			return false
		case last == "":
		case !digits(last) || lessDecimal(last, first):
			return false
		}
	}
	return true
}

func digits(s string) bool {
	if s == "" || len(s) > 19 { // more would overflow an int64 in ServeContent
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// lessDecimal compares two digit strings as numbers.
func lessDecimal(a, b string) bool {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
