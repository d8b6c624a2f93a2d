package main

import (
	"os"
	"sort"
	"time"
)

// samples are repeated measurements of one quantity (seconds, bytes/s, bytes).
type samples []float64

func (s samples) sorted() samples {
	c := append(samples(nil), s...)
	sort.Float64s(c)
	return c
}

// median of the samples; 0 when there are none.
func (s samples) median() float64 {
	if len(s) == 0 {
		return 0
	}
	c := s.sorted()
	if n := len(c); n%2 == 1 {
		return c[n/2]
	} else {
		return (c[n/2-1] + c[n/2]) / 2
	}
}

func (s samples) min() float64 {
	if len(s) == 0 {
		return 0
	}
	return s.sorted()[0]
}

func (s samples) max() float64 {
	if len(s) == 0 {
		return 0
	}
	return s.sorted()[len(s)-1]
}

// timeIt runs f and returns how long it took in seconds.
func timeIt(f func() error) (float64, error) {
	start := time.Now()
	err := f()
	return time.Since(start).Seconds(), err
}

// sizeOf is the size of the file at path, or 0.
func sizeOf(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
