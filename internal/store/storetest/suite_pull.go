package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// testPullDays: attempts are counted, the last error kept, a complete day
// is final, and days are listed per app within the range.
func testPullDays(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	d1 := time.Date(2025, 12, 8, 0, 0, 0, 0, time.UTC)
	d2 := d1.AddDate(0, 0, 1)
	save := func(app, fam string, day time.Time, status store.PullStatus, msg string, at time.Time) {
		t.Helper()
		if err := st.SavePullDay(ctx, store.PullDay{App: app, Family: fam, Day: day, Status: status, LastError: msg, UpdatedAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	save("a", "mini_program", d1, store.PullPending, "data not ready", t0)
	save("a", "mini_program", d1, store.PullComplete, "", t0.Add(time.Hour))
	save("a", "mini_program", d1, store.PullFailed, "late failure", t0.Add(2*time.Hour)) // ignored: complete is final
	save("a", "mini_program", d2, store.PullFailed, "errcode 61501", t0.Add(3*time.Hour))
	save("a", "official_account", d2, store.PullPending, "is_delay", t0)
	save("b", "mini_program", d1, store.PullPending, "", t0)

	got, err := st.PullDays(ctx, "a", d1, d2)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.PullDay{
		{App: "a", Family: "mini_program", Day: d1, Status: store.PullComplete, Attempts: 2, UpdatedAt: t0.Add(time.Hour)},
		{App: "a", Family: "mini_program", Day: d2, Status: store.PullFailed, Attempts: 1, LastError: "errcode 61501", UpdatedAt: t0.Add(3 * time.Hour)},
		{App: "a", Family: "official_account", Day: d2, Status: store.PullPending, Attempts: 1, LastError: "is_delay", UpdatedAt: t0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("PullDays:\n got %+v\nwant %+v", got, want)
	}
	if got, _ := st.PullDays(ctx, "a", d2, d2); len(got) != 2 {
		t.Fatalf("PullDays of one day: %+v, want 2 rows", got)
	}
}

// testPulledDays: a pulled day is stored with its status complete in one
// go; a re-pull replaces the day (fewer rows afterwards leave none behind);
// pushed and pulled page visits of one day and page are kept side by side,
// and neither writer touches the other's rows.
func testPulledDays(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	d1 := time.Date(2025, 12, 8, 0, 0, 0, 0, time.UTC)
	mini := func(pv int64, pages ...string) store.PulledDay {
		m := &store.MiniDay{
			Trend:   store.VisitTrend{Sessions: 7, VisitPV: pv, VisitUV: 5, VisitUVNew: 2, StayTimeUV: 12.5, StayTimeSession: 3.25, VisitDepth: 1.5},
			Summary: store.DailySummary{VisitTotal: 1000, SharePV: 3, ShareUV: 2},
			Distribution: []store.DistributionItem{
				{Index: "access_source_session_cnt", Key: 18, Value: 4}, {Index: "access_source_session_cnt", Key: 1, Value: 3},
				{Index: "access_source_visit_uv", Key: 18, Value: 2},
			},
		}
		for _, p := range pages {
			m.Pages = append(m.Pages, store.VisitPage{Day: d1, PagePath: p, Page: p, VisitPV: pv, VisitUV: 1, StayTimePV: 2.5})
		}
		return store.PulledDay{App: "a", Family: "mini_program", Day: d1, At: t0, Mini: m}
	}
	pushed := []store.VisitPage{{Day: d1, PagePath: "pages/index/index", Page: "pages/index/index", VisitPV: 99, VisitUV: 9}}
	if err := st.AddVisitPages(ctx, "a", pushed, t0); err != nil {
		t.Fatal(err)
	}
	if err := st.SavePulledDay(ctx, mini(10, "pages/index/index", "pages/cart/cart", "pages/user/user")); err != nil {
		t.Fatal(err)
	}
	if n := Count(t, st, `SELECT count(*) FROM wxapp_visit_pages WHERE source = 'pulled'`); n != 3 {
		t.Fatalf("pulled pages: %d rows, want 3", n)
	}
	// A re-pull with fewer pages replaces the day, and leaves the pushed
	// row of the same page alone.
	if err := st.SavePulledDay(ctx, mini(11, "pages/index/index", "pages/cart/cart")); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]int{
		`SELECT count(*) FROM wxapp_visit_pages WHERE source = 'pulled'`:                                          2,
		`SELECT sum(page_visit_pv) FROM wxapp_visit_pages WHERE source = 'pulled'`:                                22,
		`SELECT page_visit_pv FROM wxapp_visit_pages WHERE source = 'pushed' AND page_path = 'pages/index/index'`: 99,
		`SELECT count(*) FROM wx_visit_trends`:                                                                    1,
		`SELECT visit_pv FROM wx_visit_trends`:                                                                    11,
		`SELECT count(*) FROM wx_daily_summaries`:                                                                 1,
		`SELECT count(*) FROM wx_visit_distributions`:                                                             3,
		`SELECT value FROM wx_visit_distributions WHERE dist_index = 'access_source_visit_uv' AND dist_key = 18`:  2,
	} {
		if n := Count(t, st, q); n != want {
			t.Errorf("%s = %d, want %d", q, n, want)
		}
	}
	// Pushing again updates the pushed row only.
	pushed[0].VisitPV = 98
	if err := st.AddVisitPages(ctx, "a", pushed, t0); err != nil {
		t.Fatal(err)
	}
	if n := Count(t, st, `SELECT sum(page_visit_pv) FROM wxapp_visit_pages`); n != 98+22 {
		t.Fatalf("pages after a second push: pv %d, want %d", n, 98+22)
	}

	acct := func(reads int64) store.PulledDay {
		return store.PulledDay{App: "a", Family: "official_account", Day: d1, At: t0, Account: &store.AccountDay{
			UserSources: []store.UserSource{{Source: 0, New: 3, Cancel: 1}, {Source: 30, New: 2}},
			Followers:   5000,
			Articles:    []store.ArticleDay{{MsgID: "2247490001_1", ReadUser: reads, ShareUser: 4}, {MsgID: "2247490000_1", ReadUser: 5}},
			Biz:         &store.BizSummary{ReadUser: reads + 5, ShareUser: 4, SendPageCount: 1},
			Published: []store.Article{{MsgID: "2247490001_1", Title: "Spring sale", ContentURL: "https://mp.weixin.qq.com/s?mid=2247490001&idx=1",
				Totals: []store.ArticleTotal{{StatDate: d1, ReadUser: reads, ShareUser: 4, ReadSubscribeUser: 2}}}},
		}}
	}
	for _, reads := range []int64{40, 41} {
		if err := st.SavePulledDay(ctx, acct(reads)); err != nil {
			t.Fatal(err)
		}
	}
	for q, want := range map[string]int{
		`SELECT count(*) FROM oa_user_summaries`:                                         2,
		`SELECT cumulate_user FROM oa_user_cumulates`:                                    5000,
		`SELECT count(*) FROM oa_article_days`:                                           2,
		`SELECT read_user FROM oa_article_days WHERE msgid = '2247490001_1'`:             41,
		`SELECT read_user FROM oa_biz_summaries`:                                         46,
		`SELECT count(*) FROM oa_articles WHERE title = 'Spring sale'`:                   1,
		`SELECT read_subscribe_user FROM oa_article_totals WHERE msgid = '2247490001_1'`: 2,
	} {
		if n := Count(t, st, q); n != want {
			t.Errorf("%s = %d, want %d", q, n, want)
		}
	}
	days, err := st.PullDays(ctx, "a", d1, d1)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 2 || days[0].Status != store.PullComplete || days[1].Status != store.PullComplete {
		t.Fatalf("pull days after storing: %+v, want both families complete", days)
	}
	if err := st.SavePulledDay(ctx, store.PulledDay{App: "a", Family: "mini_program", Day: d1, At: t0}); err == nil {
		t.Fatal("a mini-program day without its data was stored")
	}

	// A refresh of the day's publishes replaces the articles and their
	// curves only; ArticleCurves tells how far they reach.
	curves, err := st.ArticleCurves(ctx, "a", d1.AddDate(0, 0, -5), d1.AddDate(0, 0, 5))
	if err != nil {
		t.Fatal(err)
	}
	if len(curves) != 1 || !curves[0].Published.Equal(d1) || !curves[0].Through.Equal(d1) {
		t.Fatalf("curves after the day's pull: %+v, want %s through itself", curves, d1.Format(time.DateOnly))
	}
	d2, d3 := d1.AddDate(0, 0, 1), d1.AddDate(0, 0, 2)
	err = st.SavePublished(ctx, store.PublishedDay{App: "a", Day: d1, At: t0.Add(48 * time.Hour), Articles: []store.Article{
		{MsgID: "2247490001_1", Title: "Spring sale", ContentURL: "https://mp.weixin.qq.com/s?mid=2247490001&idx=1",
			Totals: []store.ArticleTotal{{StatDate: d1, ReadUser: 41, ReadSubscribeUser: 2}, {StatDate: d2, ReadUser: 60, ReadSubscribeUser: 3},
				{StatDate: d3, ReadUser: 70, ReadSubscribeUser: 5}}},
		{MsgID: "2247490001_2", Title: "Second article"}, // no curve yet
	}})
	if err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]int{
		`SELECT count(*) FROM oa_articles`:                                                 2,
		`SELECT count(*) FROM oa_article_totals`:                                           3,
		`SELECT read_subscribe_user FROM oa_article_totals WHERE stat_date = '2025-12-10'`: 5,
		`SELECT read_user FROM oa_biz_summaries`:                                           46, // the rest of the day stays
		`SELECT count(*) FROM oa_article_days`:                                             2,
		`SELECT count(*) FROM wx_pull_days WHERE status = 'complete'`:                      2,
	} {
		if n := Count(t, st, q); n != want {
			t.Errorf("after a refresh: %s = %d, want %d", q, n, want)
		}
	}
	curves, err = st.ArticleCurves(ctx, "a", d1, d1)
	if err != nil {
		t.Fatal(err)
	}
	if len(curves) != 1 || !curves[0].Through.IsZero() {
		t.Fatalf("curves with an article that has none: %+v, want no day", curves)
	}
	if err := st.SavePublished(ctx, store.PublishedDay{App: "a", Day: d1, At: t0, Articles: []store.Article{
		{MsgID: "x_1"}, {MsgID: "x_1"}}}); err == nil {
		t.Fatal("an article listed twice was stored")
	}
}
