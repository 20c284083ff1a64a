package analysis

import (
	"context"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/attribution"
	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
)

// fixtureArticles adds the article join's data to the fixture: markers,
// then the official account's pulled days (which match the markers) and
// the mini-program's visit distribution.
//
//	marker mp_1 (tA1's chan_id)  title "Lychee season" → 2247480001_1 by title
//	marker mp_2 (tD1's chan_id)  msgid 2247480001_2 by hand
//	marker oa-new                title "Not published yet": unmatched
//
//	articles      published  reads/shares 03-01  03-02   read_subscribe_user (cumulative)
//	2247480001_1  03-01      120/7              30/1    03-01: 3, 03-02: 5
//	2247480001_2  03-01      40/2               —       03-01: 1
//	2247480002_1  03-02      —                  15/0    03-02: 0   (no marker)
//
//	getVisitDistribution key 18: 03-01 4 sessions, 3 visitors; 03-02 2 and 2.
//	getDailyVisitTrend: 03-01 5 sessions, 9 page views, 3 visitors, 1 new;
//	                    03-02 4 sessions, 2 page views, 5 visitors, 1 new.
func fixtureArticles(t testing.TB, st store.Store) {
	t.Helper()
	ctx := context.Background()
	for _, m := range []store.ArticleMarker{
		{App: fixtureApp, Marker: "mp_1", Title: "Lychee season"},
		{App: fixtureApp, Marker: "mp_2", MsgID: "2247480001_2"},
		{App: fixtureApp, Marker: "oa-new", Title: "Not published yet"},
	} {
		m.UpdatedAt = at("2026-02-28 09:00:00")
		if err := st.PutArticleMarker(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	d1 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	d2 := d1.AddDate(0, 0, 1)
	total := func(day time.Time, subscribe int64) store.ArticleTotal {
		return store.ArticleTotal{StatDate: day, ReadSubscribeUser: subscribe}
	}
	days := []store.PulledDay{
		{Family: "official_account", Day: d1, Account: &store.AccountDay{
			Articles: []store.ArticleDay{{MsgID: "2247480001_1", ReadUser: 120, ShareUser: 7}, {MsgID: "2247480001_2", ReadUser: 40, ShareUser: 2}},
			Published: []store.Article{
				{MsgID: "2247480001_1", Title: "Lychee season", ContentURL: "http://mp.weixin.qq.com/s?mid=2247480001&idx=1",
					Totals: []store.ArticleTotal{total(d1, 3), total(d2, 5)}},
				{MsgID: "2247480001_2", Title: "Durian deals", Totals: []store.ArticleTotal{total(d1, 1)}},
			}}},
		{Family: "official_account", Day: d2, Account: &store.AccountDay{
			Articles:  []store.ArticleDay{{MsgID: "2247480001_1", ReadUser: 30, ShareUser: 1}, {MsgID: "2247480002_1", ReadUser: 15}},
			Published: []store.Article{{MsgID: "2247480002_1", Title: "Mango preview", Totals: []store.ArticleTotal{total(d2, 0)}}}}},
		{Family: "mini_program", Day: d1, Mini: &store.MiniDay{Trend: store.VisitTrend{Sessions: 5, VisitPV: 9, VisitUV: 3, VisitUVNew: 1},
			Distribution: []store.DistributionItem{
				{Index: "access_source_session_cnt", Key: 18, Value: 4}, {Index: "access_source_visit_uv", Key: 18, Value: 3},
				{Index: "access_source_session_cnt", Key: 1, Value: 50}}}},
		{Family: "mini_program", Day: d2, Mini: &store.MiniDay{Trend: store.VisitTrend{Sessions: 4, VisitPV: 2, VisitUV: 5, VisitUVNew: 1},
			Distribution: []store.DistributionItem{
				{Index: "access_source_session_cnt", Key: 18, Value: 2}, {Index: "access_source_visit_uv", Key: 18, Value: 2}}}},
	}
	for _, d := range days {
		d.App, d.At = fixtureApp, d.Day.AddDate(0, 0, 1)
		if err := st.SavePulledDay(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
}

// articleSessions are SDK sessions TestArticles adds to the fixture:
//
//	tE1  E (oE)  03-02 20:00  scene 1091, no chan_id: O5 placed and paid (88.00)
//	tF1  F (lF)  03-02 21:00  scene 1058, chan_id mp_1
//	tG1  G (oG)  03-02 22:00  scene 1058, chan_id oa-new
var articleSessions = []session{
	{"tE1", `{"app_id":"wx1","local_id":"lE","open_id":"oE"}`, `{"chan_wxapp_scene":1091}`, []sdkEvent{
		{"app_launch", "2026-03-02 20:00:00", `"page":"pages/goods/detail?sku_id=S1","page_title":"Detail","is_sdk_auto_track":true`},
		{"custom_order", "2026-03-02 20:01:00", order("O5", "give_order", "88")},
		{"custom_order", "2026-03-02 20:02:00", order("O5", "payed", "88")},
	}},
	{"tF1", `{"app_id":"wx1","local_id":"lF"}`, `{"chan_wxapp_scene":1058,"chan_id":"mp_1"}`, []sdkEvent{
		{"app_launch", "2026-03-02 21:00:00", `"page":"pages/index/index?chan_id=mp_1","page_title":"Home","is_sdk_auto_track":true`},
	}},
	{"tG1", `{"app_id":"wx1","local_id":"lG","open_id":"oG"}`, `{"chan_wxapp_scene":1058,"chan_id":"oa-new"}`, []sdkEvent{
		{"app_launch", "2026-03-02 22:00:00", `"page":"pages/index/index?chan_id=oa-new","page_title":"Home","is_sdk_auto_track":true`},
		{"browse_wxapp_page", "2026-03-02 22:00:05", `"page":"pages/index/index","page_title":"Home","is_sdk_auto_track":true`},
	}},
}

// TestArticles holds the article join to figures computed by hand from
// the fixture (fixture_test.go, fixtureArticles) and articleSessions, on
// both stores.
func TestArticles(t *testing.T) {
	for _, o := range storetest.Openers() {
		t.Run(o.Name, func(t *testing.T) {
			st := fixtureOn(t, o)
			// The fixture alone: 03-01.
			res := ask(t, st, "articles", "2026-03-01", "2026-03-01", "")
			t.Log("\n" + dump(res))
			// tA1 (A, 03-01, scene 1058, chan mp_1) placed O1 (SDK, paid
			// 03-02) and A's backend order BO3 (chan mp_1, scene 1058) was
			// placed and paid 03-01 (50.00).
			want(t, "article 1 on 03-01", row(t, res, "2026-03-01", "article", "2247480001_1"), map[string]any{
				"title": "Lychee season", "published": "2026-03-01", "markers": "mp_1",
				"read_users": 120, "share_users": 7, "follows": 3,
				"sessions": 1, "visitors": 1, "ordering_users": 1, "paid_orders": 1, "gmv_fen": 5000,
				"wx_article_sessions": nil,
			})
			want(t, "article 2 on 03-01", row(t, res, "2026-03-01", "article", "2247480001_2"), map[string]any{
				"title": "Durian deals", "markers": "mp_2", "read_users": 40, "share_users": 2, "follows": 1,
				"sessions": 0, "visitors": 0, "ordering_users": 0, "paid_orders": 0, "gmv_fen": 0,
			})
			want(t, "article scenes on 03-01", row(t, res, "2026-03-01", "article_scenes"), map[string]any{
				"msgid": nil, "markers": nil, "read_users": nil,
				"sessions": 1, "visitors": 1, "ordering_users": 1, "paid_orders": 1, "gmv_fen": 5000,
				"wx_article_sessions": 4, "wx_article_visitors": 3,
			})
			if len(res.Rows) != 3 {
				t.Errorf("03-01: %d rows, want 3 (no no_marker line: tA1 carried a marker)", len(res.Rows))
			}

			// Now with tE1, tF1 and tG1: 03-02.
			writeSessions(t, st, articleSessions)
			res = ask(t, st, "articles", "2026-03-01", "2026-03-02", "")
			t.Log("\n" + dump(res))
			// O1 was placed in tA1 (mp_1) and paid 03-02 (60.00); tF1 is a
			// 03-02 session of mp_1; follows 5 - 3.
			want(t, "article 1 on 03-02", row(t, res, "2026-03-02", "article", "2247480001_1"), map[string]any{
				"read_users": 30, "share_users": 1, "follows": 2,
				"sessions": 1, "visitors": 1, "ordering_users": 0, "paid_orders": 1, "gmv_fen": 6000,
			})
			// mp_2 by hand: tD1 (D, scene 1035); the backend's O4 (45.00)
			// and BO1 (200.00) take their channel from tD1. No reads that
			// day, and no pulled total for 03-02: follows unknown.
			want(t, "article 2 on 03-02", row(t, res, "2026-03-02", "article", "2247480001_2"), map[string]any{
				"read_users": nil, "share_users": nil, "follows": nil,
				"sessions": 1, "visitors": 1, "ordering_users": 1, "paid_orders": 2, "gmv_fen": 24500,
			})
			want(t, "article 3 on 03-02", row(t, res, "2026-03-02", "article", "2247480002_1"), map[string]any{
				"title": "Mango preview", "published": "2026-03-02", "markers": nil,
				"read_users": 15, "share_users": 0, "follows": 0, "sessions": 0, "gmv_fen": 0,
			})
			want(t, "unmatched marker on 03-02", row(t, res, "2026-03-02", "article", nil), map[string]any{
				"markers": "oa-new", "title": nil, "read_users": nil, "sessions": 1, "visitors": 1, "paid_orders": 0,
			})
			want(t, "no marker on 03-02", row(t, res, "2026-03-02", "no_marker"), map[string]any{
				"sessions": 1, "visitors": 1, "ordering_users": 1, "paid_orders": 1, "gmv_fen": 8800, "wx_article_sessions": nil,
			})
			// tE1, tF1, tG1; O5 (88.00) and O1 (60.00, scene 1058 from tA1).
			want(t, "article scenes on 03-02", row(t, res, "2026-03-02", "article_scenes"), map[string]any{
				"sessions": 3, "visitors": 3, "ordering_users": 1, "paid_orders": 2, "gmv_fen": 14800,
				"wx_article_sessions": 2, "wx_article_visitors": 2,
			})
			if len(res.Rows) != 9 {
				t.Errorf("03-01..03-02: %d rows, want 9", len(res.Rows))
			}
			// Order: by day, articles first by GMV.
			if res.Rows[3][2] != "2247480001_2" || res.Rows[4][2] != "2247480001_1" {
				t.Errorf("03-02 articles not by GMV:\n%s", dump(res))
			}
		})
	}
}

// writeSessions stores SDK sessions, one upload each, as fixtureOn does.
func writeSessions(t *testing.T, st store.Store, sessions []session) {
	t.Helper()
	w := store.NewWriter(st, store.WriterOptions{})
	defer w.Close()
	for _, s := range sessions {
		all := make([]int, len(s.events))
		for i := range all {
			all[i] = i
		}
		writeUpload(t, w, s, all)
	}
}

// writeUpload stores the events of s at idx (each keeps its log_id, its
// index in s) as one upload, received a second after the last of them.
func writeUpload(t *testing.T, w *store.Writer, s session, idx []int) {
	t.Helper()
	b := &store.EventBatch{AppID: fixtureApp, ReceivedAt: at(s.events[idx[len(idx)-1]].time).Add(time.Second)}
	for _, i := range idx {
		ev, err := event.Parse(sdkJSON(s, i))
		if err != nil {
			t.Fatalf("session %s event %d: %v", s.tracking, i, err)
		}
		b.Events = append(b.Events, ev)
	}
	attribution.Resolve(b)
	if _, err := w.Write(context.Background(), b); err != nil {
		t.Fatalf("write session %s: %v", s.tracking, err)
	}
}
