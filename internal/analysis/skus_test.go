package analysis

import (
	"errors"
	"testing"
)

func TestSKUs(t *testing.T) {
	st := fixture(t)
	res := ask(t, st, "skus", "2026-03-01", "2026-03-02", "")
	if len(res.Rows) != 3 {
		t.Fatalf("rows:\n%s", dump(res))
	}
	// S1: exposed to and clicked by A and C; A's detail view; cart units
	// A 2 + C 1 (C's removal is no add). Sold: BO3 (backend), 1 unit,
	// 50.00. The SDK's orders carry no SKU.
	want(t, "S1", row(t, res, "S1"), map[string]any{
		"sku_name": "Lychee 2kg", "exposures": 2, "exposure_users": 2, "clicks": 2, "ctr": 1.0,
		"detail_views": 1, "cart_units": 3, "cart_users": 2, "orders": 1, "paid_units": 1, "gmv_fen": 5000,
	})
	// S2: exposed to B just before midnight, D's detail view. Orders
	// placed: BO2 (unpaid) and O4 (paid, 45.00).
	want(t, "S2", row(t, res, "S2"), map[string]any{
		"exposures": 1, "exposure_users": 1, "clicks": 0, "ctr": 0.0, "detail_views": 1,
		"cart_units": 0, "cart_users": 0, "orders": 2, "paid_units": 1, "gmv_fen": 4500,
	})
	// S3: only in a backend order (BO1, 2 units, 200.00).
	want(t, "S3", row(t, res, "S3"), map[string]any{
		"sku_name": "Mango box", "exposures": 0, "exposure_users": 0, "ctr": nil,
		"orders": 1, "paid_units": 2, "gmv_fen": 20000,
	})
	// Default order: exposures.
	if res.Rows[0][0] != "S1" || res.Rows[1][0] != "S2" || res.Rows[2][0] != "S3" {
		t.Errorf("order by exposures:\n%s", dump(res))
	}
	res = ask(t, st, "skus", "2026-03-01", "2026-03-02", "sort=gmv_fen&limit=2")
	if len(res.Rows) != 2 || res.Rows[0][0] != "S3" || res.Rows[1][0] != "S1" {
		t.Errorf("top 2 by GMV:\n%s", dump(res))
	}
	// Only 03-01: A's S1 events and B's S2 exposure (23:59:58); BO3 paid.
	res = ask(t, st, "skus", "2026-03-01", "2026-03-01", "")
	want(t, "S1 03-01", row(t, res, "S1"), map[string]any{"exposures": 1, "cart_units": 2, "orders": 1, "gmv_fen": 5000})
	want(t, "S2 03-01", row(t, res, "S2"), map[string]any{"exposures": 1, "detail_views": 0, "orders": 1, "paid_units": 0, "gmv_fen": 0})

	for _, p := range []string{"sort=sku_id", "sort=exposures%3Bdrop", "limit=0", "limit=x", "limit=10001"} {
		_, err := askErr(st, "skus", "2026-03-01", "2026-03-02", p, false)
		var bad *BadRequest
		if !errors.As(err, &bad) {
			t.Errorf("%s: %v, want a BadRequest", p, err)
		}
	}
}
