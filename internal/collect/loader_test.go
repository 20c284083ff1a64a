package collect_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/collect"
	"github.com/shuyuan-dev/shuyuan/internal/demo"
	"github.com/shuyuan-dev/shuyuan/internal/intake"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

var (
	loaderApp      = &tenant.App{ID: "shop", SDKToken: "shop-sdk-token", Location: time.UTC}
	loaderReceived = time.UnixMilli(1795373700000) // just after the captures were sent
)

func appsOf(id string) (*tenant.App, bool) { return loaderApp, id == loaderApp.ID }

// runLoader runs a loader of l into st until the test ends.
func runLoader(t *testing.T, c *collect.Collector, l *intake.Log, st store.Store) *collect.Loader {
	t.Helper()
	ld := collect.NewLoader(c, l, st, appsOf, collect.LoaderOptions{MaxEvents: 300})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ld.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return ld
}

// collectAll posts bodies to c as the loader's app's uploads.
func collectAll(t *testing.T, c *collect.Collector, bodies [][]byte) {
	t.Helper()
	for _, body := range bodies {
		if _, err := c.Collect(context.Background(), collect.Upload{App: loaderApp, Body: body, ReceivedAt: loaderReceived, MaxEvents: 500}); err != nil {
			t.Fatal(err)
		}
	}
}

// storedDirect is a store holding bodies as the direct path (no log)
// stores them: what a loader must store too.
func storedDirect(t *testing.T, bodies [][]byte) store.Store {
	t.Helper()
	st := storetest.Open(t)
	w := store.NewWriter(st, store.WriterOptions{})
	defer w.Close()
	collectAll(t, collect.New(w, nil), bodies)
	return st
}

// The real captures acknowledged on the log, every upload twice (the
// SDK's re-send after a lost answer), are stored as the direct path
// stores them: the same events, once; and a second loader after a restart
// loads nothing again.
func TestLoaderStoresWhatWasAcknowledgedOnce(t *testing.T) {
	bodies := captureBodies(t)
	ctx := context.Background()

	direct := storedDirect(t, bodies)

	st := storetest.Open(t)
	dir := filepath.Join(t.TempDir(), "intake")
	l, err := intake.Open(dir, intake.Options{SegmentBytes: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	c := collect.New(nil, nil).WithLog(l)
	for round := 0; round < 2; round++ {
		for _, body := range bodies {
			res, err := c.Collect(ctx, collect.Upload{App: loaderApp, Body: body, ReceivedAt: loaderReceived, MaxEvents: 500})
			if err != nil || res != (store.EventResult{}) {
				t.Fatalf("collect on the log: %+v, %v", res, err)
			}
		}
	}
	// A refused upload is refused whole, as without the log: not appended.
	if _, err := c.Collect(ctx, collect.Upload{App: loaderApp, Body: []byte(`[{"type":`), ReceivedAt: loaderReceived}); err == nil {
		t.Fatal("a body that is not JSON was accepted")
	}
	if l.End() != uint64(2*len(bodies)) {
		t.Fatalf("log holds %d uploads; want %d", l.End(), 2*len(bodies))
	}
	ld := runLoader(t, c, l, st)
	if !ld.CatchUp(ctx, time.Minute) {
		t.Fatal("loader did not catch up within a minute")
	}
	const q = `SELECT count(*) FROM events`
	want := storetest.Count(t, direct, q)
	if got := storetest.Count(t, st, q); got != want || want == 0 {
		t.Fatalf("loaded %d events; the direct path stored %d", got, want)
	}
	const qq = `SELECT count(*) FROM quarantine`
	if got, want := storetest.Count(t, st, qq), storetest.Count(t, direct, qq); got != want {
		t.Fatalf("loaded %d quarantine rows; the direct path stored %d", got, want)
	}
	if pos, err := st.IntakePosition(ctx); err != nil || pos != l.End() {
		t.Fatalf("store's intake position %d, %v; want %d", pos, err, l.End())
	}
	if b := l.Backlog(); b.Records != 0 || b.Bytes != 0 || !b.Oldest.IsZero() {
		t.Fatalf("backlog after catching up: %+v", b)
	}
	if segs, _ := filepath.Glob(filepath.Join(dir, "*.seg")); len(segs) != 1 {
		t.Fatalf("%d segments left once all is loaded; want only the open one", len(segs))
	}

	// A restart: the log opened again beside the store loads nothing twice.
	l.Close()
	l2, err := intake.Open(dir, intake.Options{NextSeq: l.End() + 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	c2 := collect.New(nil, nil).WithLog(l2)
	if _, err := c2.Collect(ctx, collect.Upload{App: loaderApp, Body: bodies[0], ReceivedAt: loaderReceived, MaxEvents: 500}); err != nil {
		t.Fatal(err)
	}
	ld2 := runLoader(t, c2, l2, st)
	if !ld2.CatchUp(ctx, time.Minute) {
		t.Fatal("second loader did not catch up")
	}
	if got := storetest.Count(t, st, q); got != want {
		t.Fatalf("after a restart and a re-send the store holds %d events; want %d", got, want)
	}
	if pos, _ := st.IntakePosition(ctx); pos != l2.End() || pos != uint64(2*len(bodies)+1) {
		t.Fatalf("position %d after the restart; want %d", pos, l2.End())
	}
}

// gatedStore holds its first WriteEvents until gate is closed, having
// closed entered.
type gatedStore struct {
	store.Store
	entered, gate chan struct{}
	first         sync.Once
}

func (g *gatedStore) WriteEvents(ctx context.Context, batches []*store.EventBatch) ([]store.EventResult, error) {
	g.first.Do(func() { close(g.entered); <-g.gate })
	return g.Store.WriteEvents(ctx, batches)
}

// A loader stopped while it stores one chunk, with the next one read and
// parsed ahead, leaves the store's position after the first; a new loader
// goes on from there, and every event is stored once.
func TestLoaderStoppedWithAChunkReadAhead(t *testing.T) {
	bodies := captureBodies(t)
	ctx := context.Background()
	st := storetest.Open(t)
	l, err := intake.Open(t.TempDir(), intake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := collect.New(nil, nil).WithLog(l)
	collectAll(t, c, bodies)
	gated := &gatedStore{Store: st, entered: make(chan struct{}), gate: make(chan struct{})}
	var loads int
	ld := collect.NewLoader(c, l, gated, appsOf, collect.LoaderOptions{MaxEvents: 20,
		OnLoad: func([]*store.EventBatch, []store.EventResult, time.Duration, error) { loads++ }})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { ld.Run(runCtx); close(done) }()
	<-gated.entered
	time.Sleep(100 * time.Millisecond) // the next chunk is read meanwhile
	stop()
	close(gated.gate)
	<-done
	pos, err := st.IntakePosition(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if loads != 1 || pos == 0 || pos >= l.End() {
		t.Fatalf("stopped loader: %d loads, position %d of %d; want one load, part of the log", loads, pos, l.End())
	}
	if ld.Loaded() != pos {
		t.Fatalf("loader says %d loaded, the store %d", ld.Loaded(), pos)
	}

	ld2 := runLoader(t, c, l, st)
	if !ld2.CatchUp(ctx, time.Minute) {
		t.Fatal("second loader did not catch up")
	}
	direct := storedDirect(t, bodies)
	const q = `SELECT count(*) FROM events`
	if got, want := storetest.Count(t, st, q), storetest.Count(t, direct, q); got != want || want == 0 {
		t.Fatalf("stored %d events across the two loaders; the direct path stored %d", got, want)
	}
	if pos, _ := st.IntakePosition(ctx); pos != l.End() {
		t.Fatalf("position %d after the second loader; want %d", pos, l.End())
	}
}

// An analysis's RollUp waits for the loader; past the wait it answers with
// what is loaded and notes the rest.
func TestFreshNotesWhatIsNotLoaded(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	l, err := intake.Open(t.TempDir(), intake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := collect.New(nil, nil).WithLog(l)
	bodies := captureBodies(t)
	collectAll(t, c, bodies[:3])
	ld := collect.NewLoader(c, l, st, appsOf, collect.LoaderOptions{})
	fresh := ld.Fresh(st, 50*time.Millisecond)
	wctx, note := store.WatchUnloaded(ctx)
	if err := fresh.RollUp(wctx); err != nil {
		t.Fatal(err)
	}
	if u := note.Get(); u == nil || u.Uploads != 3 || u.OldestReceived.IsZero() {
		t.Fatalf("note with the loader stopped: %+v; want 3 uploads", u)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { ld.Run(runCtx); close(done) }()
	defer func() { cancel(); <-done }()
	fresh = ld.Fresh(st, time.Minute)
	wctx, note = store.WatchUnloaded(ctx)
	if err := fresh.RollUp(wctx); err != nil {
		t.Fatal(err)
	}
	if u := note.Get(); u != nil {
		t.Fatalf("note with the loader running: %+v", u)
	}
	if n := storetest.Count(t, st, `SELECT count(*) FROM events`); n == 0 {
		t.Fatal("RollUp returned before the uploads were loaded")
	}
}

// Past the backlog bound an upload gets the SDK's retryable code and is
// not appended; once loaded, uploads are taken again.
func TestBacklogRefusesForARetry(t *testing.T) {
	ctx := context.Background()
	l, err := intake.Open(t.TempDir(), intake.Options{MaxBacklog: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := collect.New(nil, nil).WithLog(l)
	bodies := captureBodies(t)
	var refused *collect.Error
	for i := 0; i < len(bodies) && refused == nil; i++ {
		_, err := c.Collect(ctx, collect.Upload{App: loaderApp, Body: bodies[i], ReceivedAt: loaderReceived, MaxEvents: 500})
		if err != nil && !errors.As(err, &refused) {
			t.Fatal(err)
		}
	}
	if refused == nil || refused.Code != collect.CodeUnavailable || !errors.Is(refused, intake.ErrBacklog) {
		t.Fatalf("no retryable refusal past the bound: %v", refused)
	}
	if !c.Backlogged() {
		t.Fatal("Backlogged is false past the bound: the server would read and check the body first")
	}
	end := l.End()
	st := storetest.Open(t)
	ld := runLoader(t, c, l, st)
	if !ld.CatchUp(ctx, time.Minute) {
		t.Fatal("loader did not catch up")
	}
	if c.Backlogged() {
		t.Fatal("still Backlogged once loaded")
	}
	if _, err := c.Collect(ctx, collect.Upload{App: loaderApp, Body: bodies[0], ReceivedAt: loaderReceived, MaxEvents: 500}); err != nil {
		t.Fatalf("after loading: %v", err)
	}
	if l.End() != end+1 {
		t.Fatalf("log end %d; want %d (the refused upload not appended)", l.End(), end+1)
	}
}

// BenchmarkLoader is the intake loader alone: each round loads 10,000
// generated 10-event uploads (as `shuyuan bench ingest` posts them, ~88 k
// events) from an intake log into a fresh embedded store and reports
// events/s. The roll-ups, which serve runs beside it every 2 s, are not
// in it.
func BenchmarkLoader(b *testing.B) {
	gen := demo.New(demo.Options{Seed: 1, Users: 200_000, Days: 30, BatchEvents: 10})
	var ups []demo.Upload
	events := 0
	for len(ups) < 10000 {
		up, ok := gen.Next()
		if !ok {
			break
		}
		ups = append(ups, up)
		events += up.Events
	}
	ctx := context.Background()
	b.ResetTimer()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		st := storetest.Open(b)
		l, err := intake.Open(b.TempDir(), intake.Options{})
		if err != nil {
			b.Fatal(err)
		}
		c := collect.New(nil, nil).WithLog(l)
		var wg sync.WaitGroup
		for w := 0; w < 64; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := w; j < len(ups); j += 64 {
					if _, err := c.Collect(ctx, collect.Upload{App: loaderApp, Body: ups[j].Body, ReceivedAt: ups[j].Time, MaxEvents: 500}); err != nil {
						b.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		b.StartTimer()
		ld := collect.NewLoader(c, l, st, appsOf, collect.LoaderOptions{})
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { ld.Run(runCtx); close(done) }()
		if !ld.CatchUp(ctx, 10*time.Minute) {
			b.Fatal("loader did not catch up")
		}
		b.StopTimer()
		cancel()
		<-done
		l.Close()
		if n := storetest.Count(b, st, `SELECT count(*) FROM events`); n != events {
			b.Fatalf("stored %d events of %d", n, events)
		}
	}
	b.ReportMetric(float64(events*b.N)/b.Elapsed().Seconds(), "events/s")
}
