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
			`SELECT count(*) FROM wxapp_visit_pages WHERE source = 'pulled'`:                           30 * 8,
			`SELECT count(DISTINCT ref_date) FROM wxapp_visit_pages`:                                   30,
			`SELECT count(*) FROM wx_visit_trends`:                                                     30,
			`SELECT count(*) FROM wx_daily_summaries`:                                                  30,
			`SELECT count(*) FROM oa_user_cumulates`:                                                   30,
			`SELECT count(*) FROM oa_biz_summaries`:                                                    19, // from 1 November
			`SELECT count(DISTINCT publish_date) FROM oa_articles`:                                     30,
			`SELECT count(*) FROM oa_articles WHERE content_url = '' AND publish_date >= '2025-11-01'`: 0,
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
