package analysis

import (
	"errors"
	"testing"
)

func TestChannels(t *testing.T) {
	st := fixture(t)
	res := ask(t, st, "channels", "2026-03-01", "2026-03-02", "")
	t.Log("\n" + dump(res))
	// Paid in the range, attributed: BO3 50.00 (backend: its own mp_1 /
	// 1058; chan_custom art-1 from A's session tA1, the last before it),
	// O1 60.00 (SDK: placed in tA1, paid in tA2: tA1's values), O2 100.00
	// (tB1), O4 45.00 and BO1 200.00 (backend, no chan_info: D's session
	// tD1).
	for _, c := range []struct {
		dim, value string
		figures    map[string]any
	}{
		{"chan_id", "mp_1", map[string]any{"visitors": 1, "sessions": 1, "paying_users": 1, "paid_orders": 2, "gmv_fen": 11000}},
		{"chan_id", "search_1", map[string]any{"visitors": 1, "sessions": 1, "paying_users": 0, "paid_orders": 0, "gmv_fen": 0}},
		{"chan_id", "live_1", map[string]any{"visitors": 1, "sessions": 1, "paying_users": 1, "paid_orders": 1, "gmv_fen": 10000}},
		{"chan_id", "share_1", map[string]any{"visitors": 1, "sessions": 1, "paying_users": 0, "gmv_fen": 0}},
		{"chan_id", "mp_2", map[string]any{"visitors": 1, "sessions": 1, "paying_users": 1, "paid_orders": 2, "gmv_fen": 24500}},
		{"scene", "1058", map[string]any{"visitors": 1, "sessions": 1, "paying_users": 1, "paid_orders": 2, "gmv_fen": 11000}},
		{"scene", "1001", map[string]any{"visitors": 1, "sessions": 1, "paying_users": 0}},
		{"scene", "1089", map[string]any{"visitors": 1, "paying_users": 1, "gmv_fen": 10000}},
		{"scene", "1007", map[string]any{"visitors": 1, "paying_users": 0}},
		{"scene", "1035", map[string]any{"visitors": 1, "sessions": 1, "paying_users": 1, "paid_orders": 2, "gmv_fen": 24500}},
		{"chan_custom_cat_1", "owned", map[string]any{"visitors": 1, "sessions": 1, "paying_users": 1, "paid_orders": 2, "gmv_fen": 11000}},
		{"chan_custom_cat_2", "content", map[string]any{"visitors": 1, "paid_orders": 2}},
		{"chan_custom_cat_3", "article", map[string]any{"visitors": 1, "paid_orders": 2}},
		{"chan_custom_id", "art-1", map[string]any{"visitors": 1, "sessions": 1, "paying_users": 1, "paid_orders": 2, "gmv_fen": 11000}},
		// No chan_custom: A's tA2, B, C, D; O2, O4, BO1.
		{"chan_custom_id", "<nil>", map[string]any{"visitors": 4, "sessions": 4, "paying_users": 2, "paid_orders": 3, "gmv_fen": 34500}},
	} {
		var r map[string]any
		if c.value == "<nil>" {
			r = row(t, res, c.dim, nil)
		} else {
			r = row(t, res, c.dim, c.value)
		}
		want(t, c.dim+"="+c.value, r, c.figures)
	}
	// Every dimension adds up to the same GMV: 455.00.
	sum := map[string]int64{}
	for _, r := range res.Rows {
		sum[r[0].(string)] += r[6].(int64)
	}
	for d, s := range sum {
		if s != 45500 {
			t.Errorf("%s: GMV adds up to %d, want 45500", d, s)
		}
	}
	res = ask(t, st, "channels", "2026-03-01", "2026-03-02", "dimension=scene")
	if len(res.Rows) != 5 {
		t.Errorf("scene only:\n%s", dump(res))
	}
	_, err := askErr(st, "channels", "2026-03-01", "2026-03-02", "dimension=page", false)
	var bad *BadRequest
	if !errors.As(err, &bad) {
		t.Errorf("dimension=page: %v", err)
	}
}
