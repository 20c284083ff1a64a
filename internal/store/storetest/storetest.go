// Package storetest opens a fresh, migrated store for a test: DuckDB in a
// temporary directory.
package storetest

import (
	"context"
	"testing"

	"github.com/shuyuan-dev/shuyuan/internal/store/duckdb"
)

// Open returns a fresh DuckDB store in t.TempDir(), closed when the test ends.
func Open(t testing.TB) *duckdb.Store {
	t.Helper()
	st, err := duckdb.Open(context.Background(), t.TempDir(), duckdb.Options{MemoryLimit: "512MB", Threads: 2})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
