// Package intakelog benchmarks the collector's intake log
// (internal/intake) against Pebble used as the same kind of log: each SDK
// upload a key (its big-endian sequence number) and a value (the same
// payload bytes), appended with a synced write, read back in order with
// an iterator and dropped with DeleteRange once consumed.
//
// It is a module of its own so that Pebble is never a dependency of the
// main module: `go test ./...` at the repository root does not build it.
// Everything is in the _test.go files; see README.md for the commands.
package intakelog
