// Package storetest opens fresh, migrated stores for tests, and states the
// storage contract (store.Store) as one behavioural suite, Run, that both
// stores pass: the embedded DuckDB store always, PostgreSQL when
// SHUYUAN_TEST_POSTGRES names a server.
package storetest

import (
	"context"
	"testing"

	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/duckdb"
)

// Opener opens stores of one kind for tests.
type Opener struct {
	Name string
	// Open returns a fresh, migrated, empty store, closed when the test
	// ends.
	Open func(t testing.TB) store.Store
	// Reopen closes st and opens the same data again, as a restart would.
	Reopen func(t testing.TB, st store.Store) store.Store
	// Node opens the data of st once more, as another node would (st stays
	// open). The embedded store's file has one owner: its "other node" is
	// st itself.
	Node func(t testing.TB, st store.Store) store.Store
}

// DuckDB opens embedded stores in t.TempDir().
var DuckDB = Opener{
	Name: "duckdb",
	Open: func(t testing.TB) store.Store { return Open(t) },
	Reopen: func(t testing.TB, st store.Store) store.Store {
		t.Helper()
		path := st.(*duckdb.Store).Path()
		if err := st.Close(); err != nil {
			t.Fatalf("close store: %v", err)
		}
		return openDuckDB(t, path)
	},
	Node: func(_ testing.TB, st store.Store) store.Store { return st },
}

// Open returns a fresh DuckDB store in t.TempDir(), closed when the test ends.
func Open(t testing.TB) *duckdb.Store {
	t.Helper()
	return openDuckDB(t, t.TempDir())
}

func openDuckDB(t testing.TB, path string) *duckdb.Store {
	t.Helper()
	st, err := duckdb.Open(context.Background(), path, duckdb.Options{MemoryLimit: "512MB", Threads: 2})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Openers are the stores tests can run on: DuckDB always, and PostgreSQL
// when SHUYUAN_TEST_POSTGRES is set.
func Openers() []Opener {
	out := []Opener{DuckDB}
	if PostgresDSN() != "" {
		out = append(out, Postgres)
	}
	return out
}

// Each runs f on every store of Openers, each in a subtest named after
// it; without SHUYUAN_TEST_POSTGRES it says that PostgreSQL is skipped.
func Each(t *testing.T, f func(t *testing.T, o Opener)) {
	t.Helper()
	for _, o := range Openers() {
		t.Run(o.Name, func(t *testing.T) { f(t, o) })
	}
	if PostgresDSN() == "" {
		t.Run("postgres", func(t *testing.T) { SkipWithoutPostgres(t) })
	}
}
