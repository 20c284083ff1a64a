package main

import "testing"

// A PostgreSQL node trades heap for CPU unless told otherwise; the
// embedded store keeps Go's default.
func TestGCPercent(t *testing.T) {
	for _, c := range []struct {
		driver, gogc string
		want         int
		set          bool
	}{
		{"postgres", "", nodeGCPercent, true},
		{"postgres", "150", 0, false},
		{"postgres", "off", 0, false},
		{"duckdb", "", 0, false},
	} {
		got, set := gcPercent(c.driver, func(k string) string {
			if k == "GOGC" {
				return c.gogc
			}
			return ""
		})
		if got != c.want || set != c.set {
			t.Errorf("%s with GOGC=%q: %d, %v; want %d, %v", c.driver, c.gogc, got, set, c.want, c.set)
		}
	}
}
