package demo

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/attribution"
	"github.com/shuyuan-dev/shuyuan/internal/collect"
	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// Writer is where Fill hands its batches: the store's group-commit writer.
type Writer interface {
	Write(ctx context.Context, b *store.EventBatch) (store.EventResult, error)
}

// fillTuning says how Fill feeds the writer: how many goroutines decode and
// write, and how many uploads each puts into one EventBatch.
type fillTuning struct {
	workers int
	uploads int
}

// defaultTuning was measured on a 2-core machine: every flush of the
// store costs a fixed ~20 ms besides its per-event work, so a few workers
// each writing EventBatches of many uploads (several thousand events a
// commit) fill about three times faster than one EventBatch per upload,
// which would need hundreds of goroutines waiting on the writer to reach
// the same commit size.
func defaultTuning() fillTuning {
	return fillTuning{workers: max(2, runtime.GOMAXPROCS(0)), uploads: 1000}
}

// Fill generates the traffic of opts for app and stores it: every upload is
// decoded and validated exactly as the collector does (collect.Decode,
// event.Parse, quarantine on failure) and written through w; with
// opts.Backend, the merchant backend's orders, daily sums and visit-page
// report follow (backend.go). It returns what was generated and what the
// store made of it. Filling twice with the same options stores nothing
// new: the events are duplicates and the backend's calls upserts.
func Fill(ctx context.Context, w Writer, app *tenant.App, opts Options) (Stats, error) {
	return fill(ctx, w, app, opts, defaultTuning())
}

func fill(ctx context.Context, w Writer, app *tenant.App, opts Options, tune fillTuning) (Stats, error) {
	if app.WxAppID != "" && opts.WxAppID == "" {
		opts.WxAppID = app.WxAppID
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g := New(opts)
	var obs *pageObserver
	if opts.Backend != nil {
		g.kept = map[int64]*keptOrder{}
		obs = newPageObserver(g.loc)
	}
	ups := make(chan Upload, 4*tune.workers*tune.uploads)
	genDone := make(chan struct{})
	go func() {
		defer close(genDone)
		defer close(ups)
		for {
			up, ok := g.Next()
			if !ok {
				return
			}
			select {
			case ups <- up:
			case <-ctx.Done():
				return
			}
		}
	}()

	var (
		mu       sync.Mutex
		total    store.EventResult
		firstErr error
		wg       sync.WaitGroup
	)
	if opts.Progress != nil {
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-tick.C:
					mu.Lock()
					n := total.Accepted + total.Duplicates + total.Quarantined
					mu.Unlock()
					opts.Progress(n)
				case <-stop:
					return
				}
			}
		}()
	}
	for range tune.workers {
		wg.Go(func() {
			var b *store.EventBatch
			n := 0
			flush := func() error {
				if b == nil || len(b.Events)+len(b.Quarantined) == 0 {
					return nil
				}
				attribution.Resolve(b) // as collect.NewBatch does
				res, err := w.Write(ctx, b)
				if err != nil {
					return fmt.Errorf("write demo events: %w", err)
				}
				mu.Lock()
				total.Accepted += res.Accepted
				total.Duplicates += res.Duplicates
				total.Quarantined += res.Quarantined
				mu.Unlock()
				b, n = nil, 0
				return nil
			}
			fail := func(err error) {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				cancel()
			}
			for up := range ups {
				if b == nil {
					b = &store.EventBatch{AppID: app.ID, Events: make([]event.Event, 0, tune.uploads*10)}
				}
				n0 := len(b.Events)
				if err := addUpload(b, app, up); err != nil {
					fail(err)
					return
				}
				if obs != nil {
					obs.observe(b.Events[n0:])
				}
				n++
				if n >= tune.uploads {
					if err := flush(); err != nil {
						fail(err)
						return
					}
				}
			}
			if ctx.Err() == nil {
				if err := flush(); err != nil {
					fail(err)
				}
			}
		})
	}
	wg.Wait()
	cancel()
	<-genDone
	st := g.Stats()
	st.Accepted, st.Duplicates, st.Quarantined = total.Accepted, total.Duplicates, total.Quarantined
	if firstErr != nil {
		return st, firstErr
	}
	if err := parent.Err(); err != nil {
		return st, fmt.Errorf("fill demo: %w", err)
	}
	if opts.Backend != nil {
		bs, err := sendBackend(parent, opts.Backend, app, g, obs, time.Now())
		st.Backend = bs
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

// addUpload decodes one upload into b the way the collector does. The
// batch is stamped as received now (b.ReceivedAt, set by the caller): a
// batch holds many uploads spanning days, and stamping it with one of their
// send times put re-fills outside the store's dedup window, which compares
// by time received.
func addUpload(b *store.EventBatch, app *tenant.App, up Upload) error {
	raws, err := collect.Decode(collect.Upload{App: app, Body: up.Body})
	if err != nil {
		return fmt.Errorf("demo upload at %v does not decode: %w", up.Time, err)
	}
	if b.ReceivedAt.IsZero() {
		b.ReceivedAt = time.Now()
	}
	events, bad := collect.ParseEvents(raws)
	b.Events = append(b.Events, events...)
	b.Quarantined = append(b.Quarantined, bad...)
	return nil
}
