package duckdb

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/collect"
	"github.com/shuyuan-dev/shuyuan/internal/demo"
	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// uploads parses n demo uploads of 10 events (the bench ingest's traffic)
// into batches, as the collector hands them to the writer.
func uploads(tb testing.TB, g *demo.Generator, n int) []*store.EventBatch {
	tb.Helper()
	out := make([]*store.EventBatch, 0, n)
	for len(out) < n {
		up, ok := g.Next()
		if !ok {
			tb.Fatal("generator ran out")
		}
		raws, err := collect.Decode(collect.Upload{Body: up.Body})
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, collect.NewBatch("bench", time.Now(), raws))
	}
	return out
}

// benchStore opens a store holding about stored events: a demo week written
// through WriteEvents, then copied by SQL as other users' other weeks
// (received over the last hours, so inside the dedup window, the worst
// case), with the roll-ups rebuilt from them.
func benchStore(b *testing.B, stored int) *Store {
	b.Helper()
	ctx := context.Background()
	threads := 2
	if v, err := strconv.Atoi(os.Getenv("SHUYUAN_BENCH_THREADS")); err == nil && v > 0 {
		threads = v
	}
	st, err := Open(ctx, b.TempDir(), Options{MemoryLimit: "1GB", Threads: threads})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	g := demo.New(demo.Options{Seed: 1, Users: 200_000, Days: 30, BatchEvents: 10})
	const base = 20_000
	for n := 0; n < base; {
		bs := uploads(b, g, 500)
		if _, err := st.WriteEvents(ctx, bs); err != nil {
			b.Fatal(err)
		}
		for _, x := range bs {
			n += len(x.Events)
		}
	}
	var have int
	if err := st.db.QueryRow(`SELECT count(*) FROM events`).Scan(&have); err != nil {
		b.Fatal(err)
	}
	copies := stored/have - 1
	cols := strings.Fields(strings.NewReplacer(",", " ").Replace(eventColumns))
	sel := make([]string, len(cols))
	for i, c := range cols {
		switch c {
		case "ts":
			sel[i] = "ts - to_days(30 * k)"
		case "received_at":
			sel[i] = "received_at - to_minutes(k)"
		case "dedup_key":
			sel[i] = "xor(dedup_key, k)"
		case "user_key", "open_id", "union_id", "tracking_id", "local_id":
			sel[i] = c + " || '~' || k"
		case "context_id":
			sel[i] = "xor(context_id, k)"
		default:
			sel[i] = c
		}
	}
	start := time.Now()
	for _, q := range []string{
		`CREATE TEMP TABLE seed AS SELECT * FROM events`,
		`CREATE TEMP TABLE seed_ctx AS SELECT * FROM event_contexts`,
		`CREATE TEMP TABLE seed_touch AS SELECT * FROM ad_touches`,
		`INSERT INTO events (` + eventColumns + `) SELECT ` + strings.Join(sel, ", ") + ` FROM seed, range(1, ` + strconv.Itoa(copies+1) + `) r(k) ORDER BY k DESC, received_at`,
		`INSERT INTO event_contexts SELECT app_id, xor(context_id, k), context, first_seen FROM seed_ctx, range(1, ` + strconv.Itoa(copies+1) + `) r(k)`,
		`INSERT INTO ad_touches SELECT app_id, user_key || '~' || k, open_id || '~' || k, union_id, click_id, ad_id, first_seen FROM seed_touch, range(1, ` + strconv.Itoa(copies+1) + `) r(k)`,
		`DELETE FROM rollup_state`,
	} {
		if _, err := st.db.Exec(q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	if err := ensureRollups(ctx, st.db); err != nil {
		b.Fatal(err)
	}
	if _, err := st.db.Exec(`CHECKPOINT`); err != nil {
		b.Fatal(err)
	}
	if err := st.db.QueryRow(`SELECT count(*) FROM events`).Scan(&have); err != nil {
		b.Fatal(err)
	}
	b.Logf("store: %d events, filled in %v", have, time.Since(start).Round(time.Millisecond))
	return st
}

// BenchmarkFlush times WriteEvents flushes of 16 and 64 ten-event uploads
// on a store of SHUYUAN_BENCH_EVENTS events (default 1 M) and reports the
// mean time of every statement of the transaction ("other": appenders and
// Go work), then the time RollUp takes to add those events to the roll-ups.
//
//	go test -run '^$' -bench Flush -benchtime 20x ./internal/store/duckdb/
func BenchmarkFlush(b *testing.B) {
	stored := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("SHUYUAN_BENCH_EVENTS")); err == nil && v > 0 {
		stored = v
	}
	st := benchStore(b, stored)
	g := demo.New(demo.Options{Seed: 2, Users: 200_000, Days: 30, BatchEvents: 10})
	for _, n := range []int{16, 64} {
		b.Run(fmt.Sprintf("uploads=%d", n), func(b *testing.B) {
			sums := map[string]time.Duration{}
			runs := map[string]int{}
			st.trace = func(q string, took time.Duration) { sums[stmtName(q)] += took; runs[stmtName(q)]++ }
			defer func() { st.trace = nil }()
			events := 0
			var total time.Duration
			for i := 0; i < b.N; i++ {
				bs := uploads(b, g, n)
				for _, x := range bs {
					events += len(x.Events)
				}
				start := time.Now()
				if _, err := st.WriteEvents(context.Background(), bs); err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
			}
			var stmts time.Duration
			names := make([]string, 0, len(sums))
			for k, d := range sums {
				stmts += d
				names = append(names, k)
			}
			sort.Slice(names, func(i, j int) bool { return sums[names[i]] > sums[names[j]] })
			per := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
			var sb strings.Builder
			fmt.Fprintf(&sb, "%d events/flush, %.1f ms/flush:", events/b.N, per(total))
			for _, k := range names {
				fmt.Fprintf(&sb, "\n  %-28s %7.2f ms  (in %d%% of flushes)", k, per(sums[k]), 100*runs[k]/b.N)
			}
			fmt.Fprintf(&sb, "\n  %-28s %7.2f ms", "other (appenders, Go)", per(total-stmts))
			// What the background task then does with those events.
			clear(sums)
			start := time.Now()
			if err := st.RollUp(context.Background()); err != nil {
				b.Fatal(err)
			}
			took := time.Since(start)
			fmt.Fprintf(&sb, "\nroll-up of those %d events: %.1f ms (%.1f µs/event)", events, float64(took.Microseconds())/1000,
				float64(took.Microseconds())/float64(events))
			for k, d := range sums {
				fmt.Fprintf(&sb, "\n  %-28s %7.2f ms", k, float64(d.Microseconds())/1000)
			}
			b.Log(sb.String())
			b.ReportMetric(float64(events)/total.Seconds(), "events/s")
		})
	}
}

// stmtName is a short name for a statement of the write transaction.
func stmtName(q string) string {
	f := strings.Fields(q)
	switch {
	case len(f) == 0:
		return "?"
	case f[0] == "SELECT" && strings.Contains(q, "dedup_key"):
		return "find duplicates"
	case f[0] == "INSERT" && len(f) > 2:
		if f[1] == "OR" && len(f) > 4 {
			return "insert " + f[4]
		}
		return "insert " + f[2]
	case f[0] == "DELETE" && len(f) > 2:
		if strings.Contains(q, "WHERE") {
			return "delete dup " + f[2]
		}
		return "clear " + f[2]
	}
	if len(f) > 3 {
		f = f[:3]
	}
	return strings.Join(f, " ")
}
