package storetest

import "testing"

// TestDuckDB runs the contract on the embedded store.
func TestDuckDB(t *testing.T) { Run(t, DuckDB) }
