package newc

import (
	"fmt"
	"io"
)

// Writer writes a sequence of newc entries: WriteHeader, then exactly
// Header.Size bytes with Write. It pads the data as soon as the last byte of
// it is written, so after each complete entry the stream ends on an entry
// boundary (a chunk can be cut there). It never writes a trailer by itself:
// call WriteTrailer (or use AppendTrailer) where the archive ends.
//
// A Writer does not buffer: wrap w in a bufio.Writer for small writes.
type Writer struct {
	w       io.Writer
	name    string // current entry, for errors
	remain  int64  // data bytes still owed for the current entry
	padding int    // zeros that follow the current entry's data
	written int64
	err     error // sticky: the first error from w
	buf     []byte
}

// NewWriter returns a Writer that writes entries to w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w}
}

// WriteHeader writes h and prepares the Writer for h.Size bytes of data. It
// fails with ErrWriteTooShort if the previous entry's data is incomplete.
func (tw *Writer) WriteHeader(h *Header) error {
	if err := tw.Flush(); err != nil {
		return err
	}
	var err error
	tw.buf, err = h.Encode(tw.buf[:0])
	if err != nil {
		return err
	}
	tw.name = h.Name
	if err := tw.emit(tw.buf); err != nil {
		return err
	}
	tw.remain, tw.padding = h.Size, h.DataPadding()
	return nil
}

// Write writes data of the current entry. Writing more than the header's
// Size is an error wrapping ErrWriteTooLong, and nothing is written.
func (tw *Writer) Write(p []byte) (int, error) {
	if tw.err != nil {
		return 0, tw.err
	}
	if int64(len(p)) > tw.remain {
		return 0, fmt.Errorf("%s: %w: %d bytes more than the header's size", tw.name, ErrWriteTooLong, int64(len(p))-tw.remain)
	}
	n, err := tw.w.Write(p)
	tw.remain -= int64(n)
	tw.written += int64(n)
	if err != nil {
		tw.err = fmt.Errorf("%s: %w", tw.name, err)
		return n, tw.err
	}
	if tw.remain == 0 && tw.padding > 0 {
		var zeros [Alignment]byte
		if err := tw.emit(zeros[:tw.padding]); err != nil {
			return n, err
		}
		tw.padding = 0
	}
	return n, nil
}

// Flush reports an error wrapping ErrWriteTooShort if the current entry's
// data is incomplete. Entries are padded as they complete, so there is
// nothing else to flush.
func (tw *Writer) Flush() error {
	if tw.err != nil {
		return tw.err
	}
	if tw.remain > 0 {
		return fmt.Errorf("%s: %w (%d bytes missing)", tw.name, ErrWriteTooShort, tw.remain)
	}
	return nil
}

// WriteTrailer writes the TRAILER!!! entry that ends an archive.
func (tw *Writer) WriteTrailer() error {
	if err := tw.Flush(); err != nil {
		return err
	}
	tw.buf = AppendTrailer(tw.buf[:0])
	tw.name = TrailerName
	return tw.emit(tw.buf)
}

// Written returns the number of bytes written to the underlying writer.
func (tw *Writer) Written() int64 { return tw.written }

func (tw *Writer) emit(b []byte) error {
	n, err := tw.w.Write(b)
	tw.written += int64(n)
	if err != nil {
		tw.err = fmt.Errorf("%s: %w", tw.name, err)
		return tw.err
	}
	return nil
}
