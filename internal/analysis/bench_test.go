package analysis

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/demo"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/duckdb"
	"github.com/shuyuan-dev/shuyuan/internal/store/postgres"
)

// BenchmarkAnalyses times every analysis over the last 30 days of a store
// filled by the demo generator: 60 days, 300,000 users and
// SHUYUAN_BENCH_EVENTS events (10000000 for the figures in BENCHMARKS.md).
// Without that variable it is skipped. SHUYUAN_BENCH_QUERIES replaces
// the default questions. The store is kept in
// SHUYUAN_BENCH_DIR (default $TMPDIR/shuyuan-bench-<events>) and reused
// while it holds the same generated data, so only the first run fills it.
//
//	SHUYUAN_BENCH_EVENTS=10000000 go test -run '^$' -bench Analyses -benchtime 20x -cpu 2 ./internal/analysis/
//
// With SHUYUAN_BENCH_DSN (a PostgreSQL database) it times the same
// questions on PostgreSQL, the database filled once by copying the
// embedded store above into it (shuyuan store copy), so both hold the same
// data; the copy's rate is logged.
func BenchmarkAnalyses(b *testing.B) {
	target, _ := strconv.Atoi(os.Getenv("SHUYUAN_BENCH_EVENTS"))
	if target <= 0 {
		b.Skip("set SHUYUAN_BENCH_EVENTS (e.g. 10000000) to build the demo store and time the analyses")
	}
	dir := os.Getenv("SHUYUAN_BENCH_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), fmt.Sprintf("shuyuan-bench-%d", target))
	}
	end := time.Date(2026, 6, 30, 23, 59, 0, 0, shanghai)
	opts := demo.Options{Seed: 1, Days: 60, Users: 300_000, TargetEvents: target, End: end}
	// The marker names the generated data: another target, seed or roll-up
	// definition means another store.
	marker := filepath.Join(dir, "filled")
	want := fmt.Sprintf("%+v", opts)
	st, err := duckdb.Open(context.Background(), dir, duckdb.Options{Threads: runtime.GOMAXPROCS(0)})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if got, _ := os.ReadFile(marker); string(got) != want {
		b.Logf("filling %s with %d events (once)", dir, target)
		t0 := time.Now()
		w := store.NewWriter(st, store.WriterOptions{})
		stats, err := demo.Fill(context.Background(), w, demoApp, opts)
		w.Close()
		if err != nil {
			b.Fatal(err)
		}
		// Roll up now, not in the first timed analysis.
		if err := st.RollUp(context.Background()); err != nil {
			b.Fatal(err)
		}
		if _, err := st.DB().Exec("CHECKPOINT"); err != nil {
			b.Fatal(err)
		}
		b.Logf("filled in %v: %d events (%d stored), %d users, %d sessions, %d orders",
			time.Since(t0).Round(time.Second), stats.Events, stats.Accepted, stats.Users, stats.Sessions, stats.Orders)
		if err := os.WriteFile(marker, []byte(want), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	var on store.Store = st
	if dsn := os.Getenv("SHUYUAN_BENCH_DSN"); dsn != "" {
		pg, err := postgres.Open(context.Background(), dsn, postgres.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer pg.Close()
		if got, _, _ := pg.AppState(context.Background(), "", "bench_filled"); got != want {
			b.Logf("copying %s into PostgreSQL (once)", dir)
			t0 := time.Now()
			var rows int64
			err := pg.CopyFrom(context.Background(), st.DB(), postgres.CopyOptions{AllowNonEmpty: true, Progress: func(p postgres.CopyProgress) {
				if p.Done {
					rows += p.Copied
					b.Logf("  %s: %d rows in %v (%.0f rows/s)", p.Table, p.Copied, p.Elapsed.Round(time.Millisecond), p.Rate())
				}
			}})
			if err != nil {
				b.Fatal(err)
			}
			b.Logf("copied %d rows and rolled up in %v", rows, time.Since(t0).Round(time.Second))
			// On one connection without the pool's statement timeout:
			// VACUUM ANALYZE of 10 M events takes over a minute.
			conn, err := pg.DB().Conn(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			_, err = conn.ExecContext(context.Background(), "SET statement_timeout = 0")
			if err == nil {
				_, err = conn.ExecContext(context.Background(), "VACUUM ANALYZE")
			}
			conn.Close()
			if err != nil {
				b.Fatal(err)
			}
			if err := pg.SetAppState(context.Background(), "", "bench_filled", want, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
		on = pg
	}
	from := end.AddDate(0, 0, -29).Format("2006-01-02")
	to := end.Format("2006-01-02")
	// Every analysis with its defaults, or the questions listed in
	// SHUYUAN_BENCH_QUERIES ("name?params;name?params").
	type question struct{ name, params string }
	var qs []question
	for _, a := range All() {
		qs = append(qs, question{a.Name, ""})
	}
	if env := os.Getenv("SHUYUAN_BENCH_QUERIES"); env != "" {
		qs = nil
		for _, s := range strings.Split(env, ";") {
			name, params, _ := strings.Cut(strings.TrimSpace(s), "?")
			qs = append(qs, question{name, params})
		}
	}
	for _, qq := range qs {
		label := qq.name
		if qq.params != "" {
			label += "?" + qq.params
		}
		b.Run(label, func(b *testing.B) {
			var times []time.Duration
			for b.Loop() {
				t0 := time.Now()
				res, err := askApp(on, demoApp, qq.name, from, to, qq.params, false)
				if err != nil {
					b.Fatal(err)
				}
				times = append(times, time.Since(t0))
				if len(res.Rows) == 0 && len(times) == 1 {
					b.Logf("%s: no rows", qq.name)
				}
			}
			slices.Sort(times)
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "median-ms")
		})
	}
}
