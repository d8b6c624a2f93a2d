package qemu

// Ring keeps the last lines added to it.
type Ring struct {
	lines []string
	next  int // where the next line goes
	full  bool
}

// NewRing keeps the last n lines (n >= 1).
func NewRing(n int) *Ring { return &Ring{lines: make([]string, max(n, 1))} }

// Add appends a line, dropping the oldest when the ring is full.
func (r *Ring) Add(line string) {
	r.lines[r.next] = line
	r.next = (r.next + 1) % len(r.lines)
	if r.next == 0 {
		r.full = true
	}
}

// Lines returns the lines kept, oldest first.
func (r *Ring) Lines() []string {
	if !r.full {
		return append([]string(nil), r.lines[:r.next]...)
	}
	return append(append([]string(nil), r.lines[r.next:]...), r.lines[:r.next]...)
}
