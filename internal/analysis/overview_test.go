package analysis

import "testing"

func TestOverview(t *testing.T) {
	st := fixture(t)
	res := ask(t, st, "overview", "2026-03-01", "2026-03-02", "")
	t.Log("\n" + dump(res))
	if len(res.Rows) != 2 {
		t.Fatalf("rows:\n%s", dump(res))
	}
	// 03-01: A (tA1) and B (tB1 up to 23:59:59). Orders placed: O1, O2
	// (SDK), BO2, BO3 (backend); paid: BO3 only (O1 and O2 pay on 03-02).
	want(t, "03-01", row(t, res, "2026-03-01"), map[string]any{
		"visitors": 2, "new_visitors": 2, "sessions": 2, "page_views": 2,
		"stay_ms": 30000, "avg_stay_ms": 15000, "searchers": 1, "cart_users": 1,
		"ordering_users": 2, "orders": 4, "paying_users": 1, "paid_orders": 1,
		"gmv_fen": 5000, "avg_order_fen": 5000, "pay_conversion": 0.5,
	})
	// 03-02: A (tA2), B (tB1 after midnight), C, D. Orders placed: O3
	// (SDK), O4 and BO1 (backend; the SDK's O4 is the backend's). Paid: O1
	// 60.00, O2 100.00 (refunded later, still GMV), O4 45.00 (the
	// backend's amount, not the SDK's 50.00), BO1 200.00.
	want(t, "03-02", row(t, res, "2026-03-02"), map[string]any{
		"visitors": 4, "new_visitors": 1, "sessions": 4, "page_views": 2,
		"stay_ms": 45000, "avg_stay_ms": 11250, "searchers": 1, "cart_users": 1,
		"ordering_users": 2, "orders": 3, "paying_users": 3, "paid_orders": 4,
		"gmv_fen": 40500, "avg_order_fen": 10125, "pay_conversion": 0.75,
	})
}
