package conversion_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/conversion"
	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/wxfake"
)

// BenchmarkOutboxBacklog delivers a backlog of 100,000 paid orders (one
// COMPLETE_ORDER each, attributed, pending) to the fake, 50 actions per
// user_actions/add, and reports the rate. Run with -benchtime 1x.
func BenchmarkOutboxBacklog(b *testing.B) {
	const backlog = 100_000
	for range b.N {
		b.StopTimer()
		r := newBenchRig(b)
		// The backlog, written straight into the outbox as the paid hook
		// writes it (one statement: setting up is not what is measured).
		if _, err := r.st.DB().Exec(`INSERT INTO ad_conversions (id, app_id, kind, ref_id, action_type, source, open_id,
				occurred_at, value_fen, click_id, payload, status, attempts, created_at, deadline, next_attempt_at)
			SELECT md5('bench' || i), $1, 'order', 'ord-' || i, 'COMPLETE_ORDER', 'backend', 'o-' || (i % 30000),
				$2::TIMESTAMPTZ, 100 + i % 5000, 'wx' || lpad(CAST(i AS VARCHAR), 16, '0'),
				'{"action_time":' || CAST(epoch($2::TIMESTAMPTZ) AS BIGINT) || ',"action_type":"COMPLETE_ORDER","url":"https://shop.example.com/","trace":{"click_id":"wx'
					|| lpad(CAST(i AS VARCHAR), 16, '0') || '"},"action_param":{"value":' || (100 + i % 5000) || '},"outer_action_id":"' || md5('bench' || i) || '"}',
				'pending', 0, $2::TIMESTAMPTZ, $2::TIMESTAMPTZ + INTERVAL 1 DAY, $2::TIMESTAMPTZ
			FROM range(`+fmt.Sprint(backlog)+`) t(i)`, shopApp, time.Now().Add(-time.Minute).UTC()); err != nil {
			b.Fatal(err)
		}
		if _, _, err := r.svc.EnsureDataSource(context.Background(), shopApp); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		res, err := r.worker.Flush(context.Background())
		took := time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if res.Delivered != backlog || len(r.fake.Actions()) != backlog {
			b.Fatalf("delivered %d, fake has %d, want %d", res.Delivered, len(r.fake.Actions()), backlog)
		}
		b.ReportMetric(float64(backlog)/took.Seconds(), "actions/s")
		b.ReportMetric(float64(r.fake.Calls(wxfake.EndpointActionsAdd)), "calls")
	}
}

// BenchmarkPaidToFakeDelay pays orders at a steady rate through the
// data-api's store path (AddOrders with the paid hook) while the worker
// runs, and reports how long each order took from the add_order call to
// the fake recording its action: p50 and p99. Run with -benchtime 1x.
func BenchmarkPaidToFakeDelay(b *testing.B) {
	const (
		orders  = 3000
		perCall = 5                     // orders per add_order call
		every   = 50 * time.Millisecond // → 100 paid orders per second
		users   = 1000
	)
	for range b.N {
		b.StopTimer()
		r := newBenchRig(b)
		ctx := context.Background()
		if _, _, err := r.svc.EnsureDataSource(ctx, shopApp); err != nil {
			b.Fatal(err)
		}
		var visits []event.Event
		for u := range users {
			e := r.event(fmt.Sprint("o-", u), event.AppLaunch, time.Now().Add(-time.Hour))
			e.GdtVid = clickID(u)
			visits = append(visits, e)
		}
		r.write(shopApp, visits...)
		runCtx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { r.worker.Run(runCtx) })

		b.StartTimer()
		sent := make(map[string]time.Time, orders)
		committed := make(map[string]time.Time, orders)
		start := time.Now()
		tick := time.NewTicker(every)
		for n := 0; n < orders; n += perCall {
			<-tick.C
			var batch []store.Order
			for i := n; i < n+perCall; i++ {
				batch = append(batch, order(fmt.Sprint("ord-", i), fmt.Sprint("o-", i%users), time.Now().Add(-time.Second), 100))
			}
			at := time.Now()
			r.pay(shopApp, batch...)
			done := time.Now()
			for _, o := range batch {
				id := conversion.ID(shopApp, o.ExternalID, "COMPLETE_ORDER")
				sent[id], committed[id] = at, done
			}
		}
		tick.Stop()
		rate := float64(orders) / time.Since(start).Seconds()
		// Wait for the last ones, then stop the worker.
		for len(r.fake.Actions()) < orders {
			time.Sleep(5 * time.Millisecond)
		}
		b.StopTimer()
		cancel()
		wg.Wait()
		// From the add_order call (the order's commit included) and from
		// the moment add_order returned, to the fake recording the action.
		var fromCall, fromCommit []time.Duration
		for _, a := range r.fake.Actions() {
			if at, ok := sent[a.OuterActionID]; ok && !a.Duplicate {
				fromCall = append(fromCall, a.ArrivedAt.Sub(at))
				fromCommit = append(fromCommit, max(0, a.ArrivedAt.Sub(committed[a.OuterActionID])))
			}
		}
		if len(fromCall) != orders {
			b.Fatalf("%d delays for %d orders", len(fromCall), orders)
		}
		ms := func(d []time.Duration, q float64) float64 {
			return float64(d[min(len(d)-1, int(float64(len(d))*q))].Microseconds()) / 1000
		}
		slices.Sort(fromCall)
		slices.Sort(fromCommit)
		b.ReportMetric(ms(fromCall, 0.5), "p50-ms")
		b.ReportMetric(ms(fromCall, 0.99), "p99-ms")
		b.ReportMetric(ms(fromCall, 1), "max-ms")
		b.ReportMetric(ms(fromCommit, 0.5), "p50-after-commit-ms")
		b.ReportMetric(ms(fromCommit, 0.99), "p99-after-commit-ms")
		b.ReportMetric(rate, "orders/s")
		b.ReportMetric(float64(r.fake.Calls(wxfake.EndpointActionsAdd)), "calls")
	}
}

// newBenchRig is a rig on the real clock: the worker runs for real
// against the fake over loopback HTTP.
func newBenchRig(b *testing.B) *rig {
	b.Helper()
	return newRig(b, rigOptions{realClock: true})
}

// BenchmarkOutboxNodes is BenchmarkOutboxBacklog on PostgreSQL with three
// nodes: three services and workers, each with its own connection pool
// and lease holder name, deliver one backlog together, claiming with
// FOR UPDATE SKIP LOCKED. Every action must reach the fake once. It skips
// without SHUYUAN_TEST_POSTGRES. Run with -benchtime 1x.
func BenchmarkOutboxNodes(b *testing.B) {
	const backlog, nodes = 60_000, 3
	storetest.SkipWithoutPostgres(b)
	for range b.N {
		b.StopTimer()
		r := newRig(b, rigOptions{realClock: true, store: storetest.Postgres})
		if _, err := r.st.DB().Exec(`INSERT INTO ad_conversions (id, app_id, kind, ref_id, action_type, source, open_id,
				occurred_at, value_fen, click_id, payload, status, attempts, created_at, deadline, next_attempt_at)
			SELECT md5('bench' || i), $1, 'order', 'ord-' || i, 'COMPLETE_ORDER', 'backend', 'o-' || (i % 30000),
				$2::timestamptz, 100 + i % 5000, 'wx' || lpad(i::text, 16, '0'),
				'{"action_time":' || extract(epoch FROM $2::timestamptz)::bigint || ',"action_type":"COMPLETE_ORDER","url":"https://shop.example.com/","trace":{"click_id":"wx'
					|| lpad(i::text, 16, '0') || '"},"action_param":{"value":' || (100 + i % 5000) || '},"outer_action_id":"' || md5('bench' || i) || '"}',
				'pending', 0, $2::timestamptz, $2::timestamptz + interval '1 day', $2::timestamptz
			FROM generate_series(0, `+fmt.Sprint(backlog-1)+`) i`, shopApp, time.Now().Add(-time.Minute).UTC()); err != nil {
			b.Fatal(err)
		}
		if _, _, err := r.svc.EnsureDataSource(context.Background(), shopApp); err != nil {
			b.Fatal(err)
		}
		workers := []*conversion.Worker{r.worker}
		for range nodes - 1 {
			svc := conversion.NewService(storetest.Postgres.Node(b, r.st), r.apps, conversion.Options{
				BaseURL: r.hs.URL, HTTPClient: r.hs.Client(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			workers = append(workers, conversion.NewWorker(svc, conversion.WorkerOptions{}))
		}
		b.StartTimer()
		start := time.Now()
		var wg sync.WaitGroup
		delivered := make([]int, nodes)
		for i, w := range workers {
			wg.Go(func() {
				for {
					res, err := w.Flush(context.Background())
					if err != nil {
						b.Error(err)
						return
					}
					delivered[i] += res.Delivered
					if res.Delivered+res.Retried+res.Dead == 0 {
						return
					}
				}
			})
		}
		wg.Wait()
		took := time.Since(start)
		b.StopTimer()
		seen := map[string]bool{}
		for _, a := range r.fake.Actions() {
			if seen[a.OuterActionID] {
				b.Fatalf("action %s delivered twice", a.OuterActionID)
			}
			seen[a.OuterActionID] = true
		}
		if len(seen) != backlog {
			b.Fatalf("the fake has %d actions, want %d", len(seen), backlog)
		}
		b.ReportMetric(float64(backlog)/took.Seconds(), "actions/s")
		b.Logf("delivered per node: %v", delivered)
	}
}

// BenchmarkLeaseMove measures how long the conversions a dead node had
// claimed take to reach WeChat through another node: a node claims 1,000
// due rows with a 3 s lease and dies without settling them; the second
// node's worker runs as in serve (its idle poll of 1 s). The figure is
// the lease plus up to one poll, by design: a row is never sent by two
// nodes inside one lease. It skips without SHUYUAN_TEST_POSTGRES. Run
// with -benchtime 1x.
func BenchmarkLeaseMove(b *testing.B) {
	const rows, lease = 1000, 3 * time.Second
	storetest.SkipWithoutPostgres(b)
	for range b.N {
		b.StopTimer()
		r := newRig(b, rigOptions{realClock: true, store: storetest.Postgres})
		if _, err := r.st.DB().Exec(`INSERT INTO ad_conversions (id, app_id, kind, ref_id, action_type, source, open_id,
				occurred_at, value_fen, click_id, payload, status, attempts, created_at, deadline, next_attempt_at)
			SELECT md5('lease' || i), $1, 'order', 'ord-' || i, 'COMPLETE_ORDER', 'backend', 'o-' || i,
				$2::timestamptz, 100, 'wx' || lpad(i::text, 16, '0'),
				'{"action_time":' || extract(epoch FROM $2::timestamptz)::bigint || ',"action_type":"COMPLETE_ORDER","url":"https://shop.example.com/","trace":{"click_id":"wx'
					|| lpad(i::text, 16, '0') || '"},"action_param":{"value":100},"outer_action_id":"' || md5('lease' || i) || '"}',
				'pending', 0, $2::timestamptz, $2::timestamptz + interval '1 day', $2::timestamptz
			FROM generate_series(0, `+fmt.Sprint(rows-1)+`) i`, shopApp, time.Now().Add(-time.Minute).UTC()); err != nil {
			b.Fatal(err)
		}
		if _, _, err := r.svc.EnsureDataSource(context.Background(), shopApp); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		died := time.Now()
		claimed, err := r.st.ClaimConversions(context.Background(), shopApp, "dead-node", died, lease, rows)
		if err != nil || len(claimed) != rows {
			b.Fatalf("claimed %d: %v", len(claimed), err)
		}
		svc := conversion.NewService(storetest.Postgres.Node(b, r.st), r.apps, conversion.Options{
			BaseURL: r.hs.URL, HTTPClient: r.hs.Client(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		w := conversion.NewWorker(svc, conversion.WorkerOptions{Lease: lease})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { w.Run(ctx); close(done) }()
		for len(r.fake.Actions()) < rows {
			if time.Since(died) > time.Minute {
				b.Fatalf("%d of %d actions after a minute", len(r.fake.Actions()), rows)
			}
			time.Sleep(5 * time.Millisecond)
		}
		took := time.Since(died)
		b.StopTimer()
		cancel()
		<-done
		if n := len(r.fake.Actions()); n != rows {
			b.Fatalf("the fake has %d actions, want %d", n, rows)
		}
		b.ReportMetric(took.Seconds(), "s-to-delivered")
		b.ReportMetric(lease.Seconds(), "s-lease")
	}
}
