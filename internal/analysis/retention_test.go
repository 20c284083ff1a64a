package analysis

import (
	"testing"
	"time"
)

func TestRetention(t *testing.T) {
	st := fixture(t)
	res := ask(t, st, "retention", "2026-03-01", "2026-03-02", "")
	if len(res.Rows) != 2 {
		t.Fatalf("rows:\n%s", dump(res))
	}
	// 03-01: A (10:00) and B (23:59:50). Day 1 (03-02): A (tA2) and B
	// (tB1 went on past midnight). Day 2 (03-03): A only (tA3, after the
	// range). D first came on 02-28: in no cohort of the range.
	want(t, "03-01", row(t, res, "2026-03-01"), map[string]any{
		"new_users": 2, "d1": 1.0, "d2": 0.5, "d3": 0.0, "d7": 0.0, "d14": 0.0, "d30": 0.0,
	})
	// 03-02: C, never back.
	want(t, "03-02", row(t, res, "2026-03-02"), map[string]any{
		"new_users": 1, "d1": 0.0, "d2": 0.0, "d30": 0.0,
	})
}

func TestRetentionFutureDays(t *testing.T) {
	st := fixture(t)
	defer func(f func() time.Time) { retentionNow = f }(retentionNow)
	retentionNow = func() time.Time { return at("2026-03-04 09:00:00") }
	res := ask(t, st, "retention", "2026-03-01", "2026-03-02", "")
	// Today is 03-04: for 03-01 days 1..3 are known, day 4 on not yet.
	want(t, "03-01", row(t, res, "2026-03-01"), map[string]any{"d1": 1.0, "d2": 0.5, "d3": 0.0, "d4": nil, "d30": nil})
	want(t, "03-02", row(t, res, "2026-03-02"), map[string]any{"d1": 0.0, "d2": 0.0, "d3": nil})
}
