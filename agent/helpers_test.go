package agent

import (
	"bufio"
	"io"
)

func newReaderForTest(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }
