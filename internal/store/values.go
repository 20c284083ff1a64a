package store

// Int64 reads an integer column value as the drivers return it (DuckDB
// gives int32, int64 or uint64 by column type, PostgreSQL int64); anything
// else, NULL included, is 0.
func Int64(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case uint64:
		return int64(x)
	}
	return 0
}
