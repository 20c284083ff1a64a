package analysis

import "testing"

// TestWeChatVisits: WeChat's pulled visit trend (fixtureArticles) beside the
// overview's figures of the fixture (TestOverview), on both days; a day not
// pulled has WeChat's figures empty.
func TestWeChatVisits(t *testing.T) {
	st := fixture(t)
	res := ask(t, st, "wechat-visits", "2026-02-28", "2026-03-02", "")
	t.Log("\n" + dump(res))
	if len(res.Rows) != 3 {
		t.Fatalf("rows:\n%s", dump(res))
	}
	// 02-28: D's first visit (tD0, a launch: no page view); not pulled.
	want(t, "02-28", row(t, res, "2026-02-28"), map[string]any{
		"wx_sessions": nil, "sessions": 1, "diff_sessions": nil, "wx_visitors": nil, "visitors": 1,
		"new_visitors": 1, "wx_page_views": nil, "page_views": 0, "diff_page_views": nil,
	})
	// 03-01: A and B, both new, two sessions, two page views.
	want(t, "03-01", row(t, res, "2026-03-01"), map[string]any{
		"wx_sessions": 5, "sessions": 2, "diff_sessions": -3,
		"wx_visitors": 3, "visitors": 2, "diff_visitors": -1,
		"wx_new_visitors": 1, "new_visitors": 2,
		"wx_page_views": 9, "page_views": 2, "diff_page_views": -7,
	})
	// 03-02: A, B (after midnight), C (new), D: four sessions, two views.
	want(t, "03-02", row(t, res, "2026-03-02"), map[string]any{
		"wx_sessions": 4, "sessions": 4, "diff_sessions": 0,
		"wx_visitors": 5, "visitors": 4, "diff_visitors": -1,
		"wx_new_visitors": 1, "new_visitors": 1,
		"wx_page_views": 2, "page_views": 2, "diff_page_views": 0,
	})
}
