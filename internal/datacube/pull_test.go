package datacube_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/datacube"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/wxfake"
)

var shanghai = time.FixedZone("Asia/Shanghai", 8*3600)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// pulledTables are every table the pull writes, for snapshots.
var pulledTables = []string{"wxapp_visit_pages", "wx_visit_trends", "wx_daily_summaries", "wx_visit_distributions",
	"oa_user_summaries", "oa_user_cumulates", "oa_article_days", "oa_biz_summaries", "oa_articles", "oa_article_totals", "wx_pull_days"}

// snapshot renders every row of the pulled tables but their updated_at,
// sorted, so two snapshots compare equal when the data is.
func snapshot(t *testing.T, db *sql.DB) string {
	t.Helper()
	var lines []string
	for _, table := range pulledTables {
		rows, err := db.Query("SELECT * FROM " + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			b.WriteString(table)
			for i, c := range cols {
				if c != "updated_at" {
					fmt.Fprintf(&b, " %s=%v", c, vals[i])
				}
			}
			lines = append(lines, b.String())
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

func calls(f *wxfake.Server) int {
	n := 0
	for _, ep := range wxfake.DatacubeEndpoints {
		n += f.Calls(ep)
	}
	return n
}

// TestBackfillWithFaultsAndNotReadyMorning is the proof of issue 12: a
// 30-day backfill, across the switch to the new article endpoints, under
// random transient faults and starting on a morning when yesterday's
// mini-program data is not ready, ends with every day of both families
// complete and each stored once; a re-pull changes nothing; a complete
// day is never fetched again.
func TestBackfillWithFaultsAndNotReadyMorning(t *testing.T) {
	storetest.Each(t, func(t *testing.T, o storetest.Opener) {
		// 2025-11-20 09:00 in Beijing: the account's data of the 19th is
		// ready (08:00), the mini-program's is not (10:00).
		r := newRigAt(t, time.Date(2025, 11, 20, 1, 0, 0, 0, time.UTC),
			wxfake.Options{FaultRate: 0.1, FaultSeed: 12, FaultEndpoints: wxfake.DatacubeEndpoints})
		st := o.Open(t)
		ctx := context.Background()
		app := datacube.App{ID: "shop", Schedule: datacube.Schedule{Location: shanghai, BackfillDays: 30, Hour: 9},
			Client: r.client(r.mini, r.oa)}
		p := datacube.NewPuller(st, []datacube.App{app}, r.clock.Now, quiet())
		first, last := r.yesterday.AddDate(0, 0, -29), r.yesterday

		status := func() (complete int, byKey map[string]store.PullDay) {
			days, err := st.PullDays(ctx, "shop", first, last)
			if err != nil {
				t.Fatal(err)
			}
			byKey = map[string]store.PullDay{}
			for _, d := range days {
				byKey[d.Family+" "+d.Day.Format(time.DateOnly)] = d
				if d.Status == store.PullComplete {
					complete++
				}
			}
			return complete, byKey
		}
		// At 09:00 yesterday's mini-program day is due (hour 9) and not
		// ready: it stays pending (a random fault may answer first).
		for i := 0; ; i++ {
			res, err := p.PullDay(ctx, app, datacube.FamilyMini, last)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != store.PullPending {
				t.Fatalf("yesterday's mini-program day at 09:00: %+v, want pending", res)
			}
			if strings.Contains(res.Error, "not ready") {
				break
			}
			if i == 5 {
				t.Fatalf("never told not ready: %+v", res)
			}
		}
		if err := p.Run(ctx); err != nil {
			t.Fatal(err)
		}
		rounds := 1
		for ; rounds < 80; rounds++ {
			if n, _ := status(); n == 60 {
				break
			}
			r.clock.Advance(10 * time.Minute)
			if err := p.Run(ctx); err != nil {
				t.Fatal(err)
			}
		}
		n, days := status()
		if n != 60 {
			t.Fatalf("after %d rounds %d of 60 days complete: %+v", rounds, n, days)
		}
		if d := days["mini_program 2025-11-19"]; d.Attempts < 2 {
			t.Fatalf("yesterday's mini-program day took %d attempts, want the not-ready morning among them", d.Attempts)
		}
		retried := 0
		for _, d := range days {
			if d.Attempts > 1 && d.Day.Before(last) {
				retried++
			}
		}
		if retried == 0 {
			t.Fatal("no day before yesterday took two attempts: the faults were not exercised")
		}
		t.Logf("%d rounds, %d datacube calls, %d older days retried after faults", rounds, calls(r.fake), retried)

		// Each day stored once: the fake reports 8 pages a day; one trend,
		// summary and follower count a day; sessions by source add up to
		// the day's sessions.
		db := st.DB()
		for q, want := range map[string]int{
			`SELECT count(*) FROM wxapp_visit_pages WHERE source = 'pulled'`:                              30 * 8,
			`SELECT count(DISTINCT ref_date) FROM wxapp_visit_pages`:                                      30,
			`SELECT count(*) FROM wx_visit_trends`:                                                        30,
			`SELECT count(*) FROM wx_daily_summaries`:                                                     30,
			`SELECT count(*) FROM oa_user_cumulates`:                                                      30,
			`SELECT count(*) FROM oa_biz_summaries`:                                                       30, // getuserread before 1 November
			`SELECT count(*) FROM oa_biz_summaries WHERE read_user = 0`:                                   0,
			`SELECT count(*) FROM oa_biz_summaries WHERE ref_date < '2025-11-01' AND collection_user = 0`: 0,
			`SELECT count(DISTINCT publish_date) FROM oa_articles`:                                        30,
			`SELECT count(*) FROM oa_articles WHERE content_url = '' AND publish_date >= '2025-11-01'`:    0,
			`SELECT count(*) FROM (SELECT t.ref_date FROM wx_visit_trends t JOIN wx_visit_distributions d
				ON d.app_id = t.app_id AND d.ref_date = t.ref_date AND d.dist_index = 'access_source_session_cnt'
				GROUP BY t.ref_date, t.session_cnt HAVING sum(d.value) <> t.session_cnt) x`: 0,
		} {
			if got := storetest.Count(t, st, q); got != want {
				t.Errorf("%s = %d, want %d", q, got, want)
			}
		}
		// Articles of retired-endpoint days come from getarticlesummary.
		if got := storetest.Count(t, st, `SELECT count(*) FROM oa_article_days WHERE ref_date < '2025-11-01'`); got == 0 {
			t.Error("no article days before 1 November: the retired endpoints were not pulled")
		}

		// A complete day is never fetched again.
		before, n0 := snapshot(t, db), calls(r.fake)
		if err := p.Run(ctx); err != nil {
			t.Fatal(err)
		}
		if n := calls(r.fake); n != n0 {
			t.Fatalf("a round with every day complete called WeChat %d times", n-n0)
		}
		// A re-pull by hand replaces every day with the same data.
		if _, err := p.PullRange(ctx, "shop", first, last, true); err != nil {
			t.Fatal(err)
		}
		if calls(r.fake) == n0 {
			t.Fatal("the re-pull called nothing")
		}
		if after := snapshot(t, db); after != before {
			t.Fatalf("a re-pull changed the stored data:\nbefore:\n%.2000s\nafter:\n%.2000s", before, after)
		}
	})
}

// TestPullTokensNeverMix: a puller wired with each app's token on the
// other family gets WeChat's rejection, stores nothing and records why;
// wired right, a pull by hand takes the failed days again.
func TestPullTokensNeverMix(t *testing.T) {
	r := newRig(t)
	st := storetest.Open(t)
	ctx := context.Background()
	sched := datacube.Schedule{Location: shanghai, BackfillDays: 2, Hour: 11}
	wrong := datacube.NewPuller(st, []datacube.App{{ID: "shop", Schedule: sched, Client: r.client(r.oa, r.mini)}}, r.clock.Now, quiet())
	if err := wrong.Run(ctx); err != nil {
		t.Fatal(err)
	}
	days, err := st.PullDays(ctx, "shop", r.yesterday.AddDate(0, 0, -1), r.yesterday)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 4 {
		t.Fatalf("recorded %d days, want 2 of each family: %+v", len(days), days)
	}
	for _, d := range days {
		if d.Status != store.PullFailed || !strings.Contains(d.LastError, "errcode 40001") {
			t.Fatalf("day %+v: want failed with WeChat's 40001", d)
		}
	}
	if n := storetest.Count(t, st, `SELECT count(*) FROM wxapp_visit_pages`) + storetest.Count(t, st, `SELECT count(*) FROM oa_user_cumulates`); n != 0 {
		t.Fatalf("%d rows stored with the wrong tokens", n)
	}
	// Failed days are not retried by the schedule...
	n0 := calls(r.fake)
	if err := wrong.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if calls(r.fake) != n0 {
		t.Fatal("the schedule retried failed days")
	}
	// ...but by hand, once the wiring is fixed.
	right := datacube.NewPuller(st, []datacube.App{{ID: "shop", Schedule: sched, Client: r.client(r.mini, r.oa)}}, r.clock.Now, quiet())
	res, err := right.PullRange(ctx, "shop", r.yesterday.AddDate(0, 0, -1), r.yesterday, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range res {
		if x.Status != store.PullComplete {
			t.Fatalf("pull by hand: %+v, want complete", x)
		}
	}
}

// TestFinalAndQuotaErrors: a final error fails the day and the round goes
// on with the next day; the daily quota leaves the day pending and stops
// the family for the round.
func TestFinalAndQuotaErrors(t *testing.T) {
	r := newRig(t)
	st := storetest.Open(t)
	ctx := context.Background()
	sched := datacube.Schedule{Location: shanghai, BackfillDays: 3, Hour: 11}
	p := datacube.NewPuller(st, []datacube.App{{ID: "shop", Schedule: sched, Client: r.client(r.mini, nil)}}, r.clock.Now, quiet())
	if err := r.fake.Script(wxfake.EndpointDailyVisitTrend,
		wxfake.Fault{Kind: wxfake.FaultErrcode, Code: 61501},     // day 1: final
		wxfake.Fault{Kind: wxfake.FaultDailyQuota}); err != nil { // day 2: quota
		t.Fatal(err)
	}
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	days, err := st.PullDays(ctx, "shop", r.yesterday.AddDate(0, 0, -2), r.yesterday)
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 2 || days[0].Status != store.PullFailed || days[1].Status != store.PullPending ||
		!strings.Contains(days[1].LastError, "45009") {
		t.Fatalf("days after a final error and the quota: %+v", days)
	}
	// Next round: the pending day and yesterday complete, the failed one
	// stays failed.
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	days, _ = st.PullDays(ctx, "shop", r.yesterday.AddDate(0, 0, -2), r.yesterday)
	got := []store.PullStatus{}
	for _, d := range days {
		got = append(got, d.Status)
	}
	if fmt.Sprint(got) != "[failed complete complete]" {
		t.Fatalf("statuses after the second round: %v", got)
	}
}

// TestArticleCurvesRefreshed: the pull of a publish date stores its
// articles' curves as far as WeChat has them, that date; each later day's
// round fetches them again until they reach the last due day, at most once
// an hour per date, so the stored curves end up as WeChat's and give the
// follows of the days after publishing.
func TestArticleCurvesRefreshed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, o storetest.Opener) {
		// 2025-12-10 11:00 in Beijing, after the schedule's hour.
		r := newRig(t)
		st := o.Open(t)
		ctx := context.Background()
		app := datacube.App{ID: "shop", Schedule: datacube.Schedule{Location: shanghai, BackfillDays: 1, Hour: 9},
			Client: r.client(nil, r.oa)}
		p := datacube.NewPuller(st, []datacube.App{app}, r.clock.Now, quiet())
		published := r.yesterday
		curve := func() string {
			t.Helper()
			curves, err := st.ArticleCurves(ctx, "shop", published, published)
			if err != nil {
				t.Fatal(err)
			}
			if len(curves) != 1 {
				t.Fatalf("curves of %s: %+v", published.Format(time.DateOnly), curves)
			}
			return curves[0].Through.Format(time.DateOnly)
		}
		totalCalls := func() int { return r.fake.Calls(wxfake.EndpointArticleTotalDet) }
		if err := p.Run(ctx); err != nil {
			t.Fatal(err)
		}
		if got := curve(); got != "2025-12-09" {
			t.Fatalf("after the publish date's pull the curves reach %s, want the date itself", got)
		}
		for i := 1; i <= 4; i++ {
			r.clock.Advance(24 * time.Hour)
			n0 := totalCalls()
			if err := p.Run(ctx); err != nil {
				t.Fatal(err)
			}
			want := published.AddDate(0, 0, i).Format(time.DateOnly)
			if got := curve(); got != want {
				t.Fatalf("day %d: curves reach %s, want %s", i, got, want)
			}
			// Today's publish date and the refreshed one: one call each.
			if n := totalCalls() - n0; n != 1+i {
				t.Fatalf("day %d: %d getarticletotaldetail calls, want %d (the day's publishes and %d refreshes)", i, n, 1+i, i)
			}
			// A round later the same day has nothing to refresh.
			r.clock.Advance(10 * time.Minute)
			n0 = totalCalls()
			if err := p.Run(ctx); err != nil {
				t.Fatal(err)
			}
			if n := totalCalls() - n0; n != 0 {
				t.Fatalf("day %d: a second round called getarticletotaldetail %d times", i, n)
			}
		}
		// The refreshed curves are what a pull of the date by hand stores
		// now, and they step: follows after reading on later days.
		before := snapshot(t, st.DB())
		if _, err := p.PullRange(ctx, "shop", published, published, true); err != nil {
			t.Fatal(err)
		}
		after := snapshot(t, st.DB())
		pick := func(s string) string {
			var out []string
			for _, l := range strings.Split(s, "\n") {
				if strings.HasPrefix(l, "oa_article_totals ") || strings.HasPrefix(l, "oa_articles ") {
					out = append(out, l)
				}
			}
			return strings.Join(out, "\n")
		}
		if pick(before) != pick(after) {
			t.Fatalf("refreshed curves differ from a pull now:\nrefreshed:\n%s\nnow:\n%s", pick(before), pick(after))
		}
		q := `SELECT count(*) FROM oa_article_totals WHERE publish_date = '2025-12-09' AND stat_date > publish_date`
		if got := storetest.Count(t, st, q); got < 4 {
			t.Fatalf("%s = %d, want the four later days of each article", q, got)
		}
	})
}

// TestCurveRefreshWaitsWhenWeChatIsLate: a date whose curves a refresh
// left short is asked again only after an hour.
func TestCurveRefreshWaitsWhenWeChatIsLate(t *testing.T) {
	r := newRig(t)
	st := storetest.Open(t)
	ctx := context.Background()
	app := datacube.App{ID: "shop", Schedule: datacube.Schedule{Location: shanghai, BackfillDays: 1, Hour: 9},
		Client: r.client(nil, r.oa)}
	p := datacube.NewPuller(st, []datacube.App{app}, r.clock.Now, quiet())
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(24 * time.Hour)
	// WeChat fails the next two calls of getarticletotaldetail.
	if err := r.fake.Script(wxfake.EndpointArticleTotalDet, wxfake.Fault{Kind: wxfake.FaultErrcode, Code: -1},
		wxfake.Fault{Kind: wxfake.FaultErrcode, Code: -1}); err != nil {
		t.Fatal(err)
	}
	calls := []int{}
	for range 7 { // an hour of rounds
		n0 := r.fake.Calls(wxfake.EndpointArticleTotalDet)
		if err := p.Run(ctx); err != nil {
			t.Fatal(err)
		}
		calls = append(calls, r.fake.Calls(wxfake.EndpointArticleTotalDet)-n0)
		r.clock.Advance(10 * time.Minute)
	}
	// Round 1: the day's publishes fail (-1, pending) and the refresh
	// fails; round 2: the day's publishes again, the refresh waits; ...
	// round 7, an hour on: the refresh again.
	if fmt.Sprint(calls) != "[2 1 0 0 0 0 1]" {
		t.Fatalf("getarticletotaldetail calls per round: %v", calls)
	}
}
