package analysis

import "testing"

func TestSearch(t *testing.T) {
	st := fixture(t)
	res := ask(t, st, "search", "2026-03-01", "2026-03-02", "")
	if len(res.Rows) != 2 {
		t.Fatalf("rows:\n%s", dump(res))
	}
	// "Lychee" (A) and "lychee " (C) are one keyword. A clicked S1 after
	// it; C searched "Durian" before clicking, so the click follows that
	// search, not C's "lychee".
	want(t, "lychee", row(t, res, "lychee"), map[string]any{"searches": 2, "searchers": 2, "searches_clicked": 1, "click_rate": 0.5})
	want(t, "durian", row(t, res, "durian"), map[string]any{"searches": 1, "searchers": 1, "searches_clicked": 1, "click_rate": 1.0})
	if res.Rows[0][0] != "lychee" {
		t.Errorf("not by searches:\n%s", dump(res))
	}
	res = ask(t, st, "search", "2026-03-01", "2026-03-02", "limit=1")
	if len(res.Rows) != 1 {
		t.Errorf("limit 1:\n%s", dump(res))
	}
	res = ask(t, st, "search", "2026-03-01", "2026-03-01", "")
	want(t, "03-01", row(t, res, "lychee"), map[string]any{"searches": 1, "searchers": 1, "searches_clicked": 1})
}
