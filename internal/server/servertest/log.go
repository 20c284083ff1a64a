// Package servertest holds what the tests of packages that run a server
// (server, web) share.
package servertest

import (
	"strings"
	"sync"
)

// Log is a log a server writes to while a test reads it: its access lines
// are written after the answer, from the server's goroutine.
type Log struct {
	mu sync.Mutex
	b  strings.Builder
}

// Write appends p to the log.
func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String is everything written so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Reset forgets what was written.
func (l *Log) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}
