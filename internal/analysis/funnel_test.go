package analysis

import (
	"errors"
	"strings"
	"testing"

	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
)

// TestFunnel runs on both stores: each finds the chains its own way
// (DuckDB with ASOF joins, PostgreSQL with time buckets).
func TestFunnel(t *testing.T) {
	storetest.Each(t, testFunnel)
}

func testFunnel(t *testing.T, o storetest.Opener) {
	st := fixtureOn(t, o)
	steps := func(res *Result) []map[string]any {
		t.Helper()
		var out []map[string]any
		for _, r := range res.Rows {
			m := map[string]any{}
			for i, c := range res.Columns {
				m[c.Name] = r[i]
			}
			out = append(out, m)
		}
		return out
	}

	// Default steps. browse_sku_page: A (03-01 10:00:40) and D (03-02
	// 14:00:10). add_to_cart after it within a day: A only (C added to
	// cart without a detail view). custom_order payed: A's O1, paid the
	// next morning in another session, 22h59m after the add.
	res := ask(t, st, "funnel", "2026-03-01", "2026-03-02", "")
	got := steps(res)
	if len(got) != 3 {
		t.Fatalf("rows:\n%s", dump(res))
	}
	want(t, "step 1", got[0], map[string]any{"step": 1, "name": "browse_sku_page", "users": 2, "conversion": 1.0, "step_conversion": nil})
	want(t, "step 2", got[1], map[string]any{"step": 2, "name": "add_to_cart", "users": 1, "conversion": 0.5, "step_conversion": 0.5})
	want(t, "step 3", got[2], map[string]any{"step": 3, "name": "custom_order:payed", "users": 1, "conversion": 0.5, "step_conversion": 1.0})

	// A 12-hour window loses A's payment (22h59m after the add).
	got = steps(ask(t, st, "funnel", "2026-03-01", "2026-03-02", "window=12h"))
	want(t, "12h step 3", got[2], map[string]any{"users": 0, "conversion": 0.0, "step_conversion": 0.0})

	// By guide: A's detail view carried G1, D's no guide.
	res = ask(t, st, "funnel", "2026-03-01", "2026-03-02", "by=guide_id")
	if len(res.Rows) != 6 {
		t.Fatalf("by guide rows:\n%s", dump(res))
	}
	want(t, "G1 step 3", row(t, res, "G1", 3), map[string]any{"users": 1, "conversion": 1.0})
	want(t, "no guide step 1", row(t, res, nil, 1), map[string]any{"users": 1})
	want(t, "no guide step 2", row(t, res, nil, 2), map[string]any{"users": 0, "step_conversion": 0.0})

	// Launch, then an order placed: A (tA1), B (tB1, 9 s before midnight)
	// and C; D's visit in the range began with app_show.
	got = steps(ask(t, st, "funnel", "2026-03-01", "2026-03-02", "steps=app_launch,custom_order:give_order"))
	want(t, "launch", got[0], map[string]any{"users": 3})
	want(t, "placed", got[1], map[string]any{"users": 3, "conversion": 1.0})

	// Only 03-02: B's launch (03-01 23:59:50) is outside, C's counts.
	got = steps(ask(t, st, "funnel", "2026-03-02", "2026-03-02", "steps=app_launch,custom_order:give_order"))
	want(t, "03-02 launch", got[0], map[string]any{"users": 1})

	// A search followed by a SKU click: A and C. A cart removal is not an
	// add: C's cart step counts once, through the append.
	got = steps(ask(t, st, "funnel", "2026-03-01", "2026-03-02", "steps=search,trigger_sku_component,add_to_cart"))
	want(t, "search", got[0], map[string]any{"users": 2})
	want(t, "click", got[1], map[string]any{"users": 2})
	want(t, "cart", got[2], map[string]any{"users": 2})
	got = steps(ask(t, st, "funnel", "2026-03-01", "2026-03-02", "steps=add_to_cart:remove_from_cart"))
	want(t, "removal", got[0], map[string]any{"users": 1})

	// The same type twice needs two events in order: only A shared once
	// and nobody twice; A viewed two pages (03-01 and 03-02) within a day.
	got = steps(ask(t, st, "funnel", "2026-03-01", "2026-03-02", "steps=browse_wxapp_page,browse_wxapp_page"))
	want(t, "page twice", got[1], map[string]any{"users": 1})

	// A's cart add came 10 s after the detail view (10:00:40, 10:00:50):
	// within a window of exactly 10 s, not of 9 s. Windows of 10 s and 20 s
	// put the two in adjacent buckets and in one; 9 s and 11 s cut them
	// elsewhere.
	for _, c := range []struct {
		window string
		users  int
	}{{"9s", 0}, {"10s", 1}, {"11s", 1}, {"20s", 1}, {"1s", 0}} {
		got = steps(ask(t, st, "funnel", "2026-03-01", "2026-03-02", "steps=browse_sku_page,add_to_cart&window="+c.window))
		want(t, "window "+c.window, got[1], map[string]any{"users": c.users})
	}
	// One step: the users with its events.
	got = steps(ask(t, st, "funnel", "2026-03-01", "2026-03-02", "steps=browse_sku_page"))
	if len(got) != 1 {
		t.Fatalf("one step: %v", got)
	}
	want(t, "one step", got[0], map[string]any{"users": 2, "conversion": 1.0})
}

func TestFunnelBadRequest(t *testing.T) {
	st := fixture(t)
	for _, p := range []string{
		"steps=" + strings.Repeat("search,", 10) + "search",
		"steps=search,,add_to_cart",
		"window=abc",
		"window=0s",
		"window=100d",
		"by=user",
	} {
		_, err := askErr(st, "funnel", "2026-03-01", "2026-03-02", p, false)
		var bad *BadRequest
		if !errors.As(err, &bad) {
			t.Errorf("%s: %v, want a BadRequest", p, err)
		}
	}
}
