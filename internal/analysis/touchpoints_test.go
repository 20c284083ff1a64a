package analysis

import "testing"

func TestGuides(t *testing.T) {
	st := fixture(t)
	res := ask(t, st, "guides", "2026-03-01", "2026-03-02", "")
	if len(res.Rows) != 2 {
		t.Fatalf("rows:\n%s", dump(res))
	}
	// G1: sessions tA1 (A: a share, a cart add) and tC1 (C: a cart add).
	// Orders: O1 (placed in tA1, paid in tA2 the next day), O3 (tC1,
	// cancelled), BO3 (backend, its own guide_id; paid 03-01, refunded
	// 03-02).
	want(t, "G1", row(t, res, "G1"), map[string]any{
		"visitors": 2, "shares": 1, "cart_users": 2, "orders": 3, "paid_orders": 2,
		"paying_users": 1, "gmv_fen": 11000, "refunds": 1, "refund_fen": 5000,
	})
	// G9 is only on the backend order BO1.
	want(t, "G9", row(t, res, "G9"), map[string]any{
		"visitors": 0, "shares": 0, "cart_users": 0, "orders": 1, "paid_orders": 1,
		"paying_users": 1, "gmv_fen": 20000, "refunds": 0, "refund_fen": 0,
	})
	// 03-01 only: O1 is placed but paid after; BO3 paid, refunded after.
	res = ask(t, st, "guides", "2026-03-01", "2026-03-01", "")
	want(t, "G1 03-01", row(t, res, "G1"), map[string]any{
		"visitors": 1, "orders": 2, "paid_orders": 1, "gmv_fen": 5000, "refunds": 0,
	})
}

func TestLive(t *testing.T) {
	st := fixture(t)
	res := ask(t, st, "live", "2026-03-01", "2026-03-02", "")
	if len(res.Rows) != 1 {
		t.Fatalf("rows:\n%s", dump(res))
	}
	// R1: B's session across midnight; O2 placed at 23:59:59, paid at
	// 00:00:05 and refunded at 00:00:09 (still GMV).
	want(t, "R1", row(t, res, "R1"), map[string]any{
		"visitors": 1, "sessions": 1, "stay_ms": 15000, "exposures": 1, "clicks": 0, "cart_adds": 0,
		"orders": 1, "paid_orders": 1, "paying_users": 1, "gmv_fen": 10000,
	})
	// 03-02 only: the part of tB1 after midnight; O2 paid then.
	res = ask(t, st, "live", "2026-03-02", "2026-03-02", "")
	want(t, "R1 03-02", row(t, res, "R1"), map[string]any{
		"visitors": 1, "sessions": 1, "stay_ms": 15000, "exposures": 0, "orders": 0, "paid_orders": 1, "gmv_fen": 10000,
	})
	res = ask(t, st, "live", "2026-03-01", "2026-03-01", "")
	want(t, "R1 03-01", row(t, res, "R1"), map[string]any{
		"visitors": 1, "stay_ms": 0, "exposures": 1, "orders": 1, "paid_orders": 0, "gmv_fen": 0,
	})
}

func TestStores(t *testing.T) {
	st := fixture(t)
	res := ask(t, st, "stores", "2026-03-01", "2026-03-02", "")
	if len(res.Rows) != 2 {
		t.Fatalf("rows:\n%s", dump(res))
	}
	// SHOP1: tA1 (A: exposure, click, detail view, cart add) and tB1 (B:
	// exposure). Orders O1, O2 (SDK sessions) and BO3 (backend store_info).
	want(t, "SHOP1", row(t, res, "SHOP1"), map[string]any{
		"store_name": "Store One", "visitors": 2, "exposures": 2, "clicks": 1, "detail_views": 1, "cart_adds": 1,
		"orders": 3, "paid_orders": 3, "gmv_fen": 21000, "avg_order_fen": 7000,
	})
	// SHOP2: only the backend's BO1.
	want(t, "SHOP2", row(t, res, "SHOP2"), map[string]any{
		"store_name": "Store Two", "visitors": 0, "exposures": 0, "orders": 1, "paid_orders": 1,
		"gmv_fen": 20000, "avg_order_fen": 20000,
	})
}
