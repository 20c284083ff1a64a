package storetest

import "testing"

// TestDuckDB runs the contract on the embedded store.
func TestDuckDB(t *testing.T) { Run(t, DuckDB) }

// TestPostgres runs the contract on the shared store.
func TestPostgres(t *testing.T) {
	SkipWithoutPostgres(t)
	Run(t, Postgres)
}
