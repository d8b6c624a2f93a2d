package newc

import "errors"

// Errors returned (wrapped with the entry's name) by Header.Encode and Writer.
var (
	// ErrTooLarge: c_filesize is 32 bits, so a file of 4 GiB or more cannot
	// be stored in a newc archive.
	ErrTooLarge = errors.New("newc: file size 4 GiB or more cannot be stored (32-bit size field)")
	// ErrNameTooLong: the name with its NUL exceeds MaxNameBytes.
	ErrNameTooLong = errors.New("newc: name longer than the kernel's PATH_MAX")
	// ErrInvalidName: an empty name or one containing a NUL byte.
	ErrInvalidName = errors.New("newc: invalid name")
	// ErrFieldRange: a value (mtime, size) that a 32-bit field cannot hold.
	ErrFieldRange = errors.New("newc: value out of range of a 32-bit field")
	// ErrWriteTooLong: more data written than the header's Size.
	ErrWriteTooLong = errors.New("newc: write too long")
	// ErrWriteTooShort: a new header, Flush or trailer before Size bytes of
	// the previous entry were written.
	ErrWriteTooShort = errors.New("newc: missing data: fewer bytes written than the header's size")
)
