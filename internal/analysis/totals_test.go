package analysis

import "testing"

// TestTotals: the range as a whole counts a person once, where the sum of
// the overview's days counts them once a day; additive figures equal
// that sum.
func TestTotals(t *testing.T) {
	st := fixture(t)
	res := ask(t, st, "totals", "2026-03-01", "2026-03-02", "")
	if len(res.Rows) != 1 {
		t.Fatalf("rows:\n%s", dump(res))
	}
	tot := row(t, res)
	// A, B, C, D visited; B on both days (his session tB1 crosses
	// midnight), so 4 visitors and 5 sessions, not 2+4 and 2+4.
	want(t, "totals", tot, map[string]any{
		"visitors": 4, "new_visitors": 3, "sessions": 5, "page_views": 4,
		"stay_ms": 75000, "avg_stay_ms": 18750,
		"orders": 7, "paid_orders": 5, "gmv_fen": 45500, "avg_order_fen": 9100,
	})
	days := ask(t, st, "overview", "2026-03-01", "2026-03-02", "")
	for _, c := range []string{"searchers", "cart_users", "ordering_users", "paying_users"} {
		var sum, most int64
		for _, r := range days.Rows {
			v := row(t, days, r[0])[c].(int64)
			sum += v
			most = max(most, v)
		}
		got := tot[c].(int64)
		if got < most || got > sum {
			t.Errorf("%s = %d: want between the busiest day's %d and the days' sum %d", c, got, most, sum)
		}
	}
	if pc, ok := tot["pay_conversion"].(float64); !ok || pc != float64(tot["paying_users"].(int64))/4 {
		t.Errorf("pay_conversion = %v, want paying users / 4 visitors", tot["pay_conversion"])
	}
}
