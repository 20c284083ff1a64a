package collect

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/intake"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// LoaderOptions tune a Loader.
type LoaderOptions struct {
	// MaxEvents is how many events one transaction takes at most (default
	// 20,000): large appends are what the embedded store does fast;
	// 10,000 took ~100 MiB less memory at peak but loaded a quarter less
	// over 5 minutes (BENCHMARKS.md).
	MaxEvents int
	// Retry is the pause after a failed load before the same batches are
	// tried again (default 1s).
	Retry  time.Duration
	Logger *slog.Logger
	// OnLoad, if set, is told of every load: its batches with their
	// results (nil on error), how long the commit took and its error.
	OnLoad func(batches []*store.EventBatch, results []store.EventResult, took time.Duration, err error)
}

// Loader moves the uploads of the intake log into the store: it parses
// and validates them as Collect does without a log, writes thousands of
// events per transaction and stores its position in the log in that same
// transaction, so a crash between steps neither loses nor doubles an
// event. Loaded segments are deleted.
type Loader struct {
	c    *Collector
	log  *intake.Log
	st   store.Store
	apps func(id string) (*tenant.App, bool)
	opt  LoaderOptions

	mu      sync.Mutex
	loaded  uint64
	started bool
	moved   chan struct{} // closed and replaced when loaded moves
}

// NewLoader returns a loader of log into st; apps finds an upload's app.
func NewLoader(c *Collector, log *intake.Log, st store.Store, apps func(id string) (*tenant.App, bool), opt LoaderOptions) *Loader {
	if opt.MaxEvents <= 0 {
		opt.MaxEvents = 20000
	}
	if opt.Retry <= 0 {
		opt.Retry = time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Loader{c: c, log: log, st: st, apps: apps, opt: opt, moved: make(chan struct{})}
}

// Run loads until ctx ends; a load in progress is finished first.
func (l *Loader) Run(ctx context.Context) error {
	var pos uint64
	for {
		var err error
		if pos, err = l.st.IntakePosition(ctx); err == nil {
			break
		}
		l.opt.Logger.Error("intake loader: read position", "error", err)
		if !sleep(ctx, l.opt.Retry) {
			return nil
		}
	}
	l.setLoaded(pos)
	l.log.Loaded(pos, 0)
	rd := l.log.Reader(pos + 1)
	defer rd.Close()
	if end := l.log.End(); end > pos {
		b := l.log.Backlog()
		l.opt.Logger.Info("intake loader: loading what was accepted before the restart",
			"from", pos+1, "to", end, "bytes", b.Bytes)
	}
	// Reading and parsing the next records goes on while the previous
	// ones are stored: the two take about as long, on different cores.
	// A chunk read ahead and not stored is read again after a restart:
	// only the store's position counts. The channel is unbuffered: the
	// reader waits with one parsed chunk while another is stored, and a
	// buffer would only hold a third (~75 MiB at the peak, no faster:
	// BENCHMARKS.md).
	readCtx, stopReading := context.WithCancel(ctx)
	chunks := make(chan chunk)
	go func() {
		defer close(chunks)
		l.readAhead(readCtx, rd, chunks)
	}()
	defer func() {
		stopReading()
		for range chunks { // until the reader is done with rd
		}
	}()
	for ch := range chunks {
		if ctx.Err() != nil {
			return nil
		}
		if len(ch.batches) == 0 {
			l.log.Loaded(0, ch.bytes)
			continue
		}
		// Once read, the batches are written whatever happens to ctx: the
		// store's position must not pass them, and a retry is exact.
		for {
			start := time.Now()
			res, err := l.st.WriteEvents(context.WithoutCancel(ctx), ch.batches)
			if l.opt.OnLoad != nil {
				l.opt.OnLoad(ch.batches, res, time.Since(start), err)
			}
			if err == nil {
				break
			}
			l.opt.Logger.Error("intake loader: store", "uploads", len(ch.batches), "error", err)
			if !sleep(ctx, l.opt.Retry) {
				return nil
			}
		}
		if err := l.log.Loaded(ch.last, ch.bytes); err != nil {
			l.opt.Logger.Warn("intake loader", "error", err)
		}
		l.setLoaded(ch.last)
	}
	return nil
}

// chunk is what one transaction of the loader stores: batches up to the
// record last, and the log's bytes they took (with any records skipped
// on the way); a chunk without batches only accounts skipped bytes.
type chunk struct {
	batches []*store.EventBatch
	last    uint64
	bytes   int64
}

// readAhead reads the log into chunks until ctx ends.
func (l *Loader) readAhead(ctx context.Context, rd *intake.Reader, chunks chan<- chunk) {
	var skipped int64
	for {
		grew := l.log.Grew()
		batches, last, bytes, err := l.read(ctx, rd)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			l.opt.Logger.Error("intake loader: read the log", "error", err)
			if !sleep(ctx, l.opt.Retry) {
				return
			}
			continue
		}
		bytes += rd.Skipped - skipped
		skipped = rd.Skipped
		if len(batches) > 0 || bytes > 0 {
			select {
			case chunks <- chunk{batches: batches, last: last, bytes: bytes}:
			case <-ctx.Done():
				return
			}
		}
		if len(batches) == 0 {
			select {
			case <-grew:
			case <-ctx.Done():
				return
			}
		}
	}
}

// read takes the next records, up to MaxEvents events, as batches.
func (l *Loader) read(ctx context.Context, rd *intake.Reader) (batches []*store.EventBatch, last uint64, bytes int64, err error) {
	events := 0
	for events < l.opt.MaxEvents {
		rec, err := rd.Next()
		if errors.Is(err, intake.ErrCaughtUp) {
			break
		}
		if err != nil {
			if len(batches) > 0 {
				break // store what was read; the error comes again next time
			}
			return nil, 0, 0, err
		}
		b, err := l.batch(ctx, &rec)
		if err != nil {
			return nil, 0, 0, err // ctx ended: Run stops, the store's position is exact
		}
		batches = append(batches, b)
		events += len(b.Events) + len(b.Quarantined)
		last, bytes = rec.Seq, bytes+rec.Size
	}
	return batches, last, bytes, nil
}

// batch is the store's batch of one record. An upload the collector
// accepted decodes again; one that does not (its app was removed from the
// config since) becomes an empty batch that only moves the position.
func (l *Loader) batch(ctx context.Context, rec *intake.Record) (*store.EventBatch, error) {
	empty := &store.EventBatch{AppID: rec.App, ReceivedAt: rec.ReceivedAt, IntakeSeq: rec.Seq}
	app, ok := l.apps(rec.App)
	if !ok {
		l.opt.Logger.Warn("intake loader: upload of an app no longer configured, skipped", "app", rec.App, "seq", rec.Seq)
		return empty, nil
	}
	up := Upload{App: app, Body: rec.Body, Encrypted: rec.Encrypted, EncryptKey: rec.EncryptKey, ReceivedAt: rec.ReceivedAt}
	raws, err := decodeLogged(up)
	if err != nil {
		l.opt.Logger.Warn("intake loader: upload does not decode, skipped", "app", rec.App, "seq", rec.Seq, "error", err)
		return empty, nil
	}
	for {
		b, err := l.c.batch(ctx, up, raws)
		if err == nil {
			b.IntakeSeq = rec.Seq
			return b, nil
		}
		// Only the new-type gate's store reads fail here: wait for the store.
		l.opt.Logger.Error("intake loader: parse", "app", rec.App, "seq", rec.Seq, "error", err)
		if !sleep(ctx, l.opt.Retry) {
			return nil, ctx.Err()
		}
	}
}

func (l *Loader) setLoaded(seq uint64) {
	l.mu.Lock()
	l.started = true
	if seq > l.loaded {
		l.loaded = seq
	}
	close(l.moved)
	l.moved = make(chan struct{})
	l.mu.Unlock()
}

// Loaded is the number of the last upload in the store.
func (l *Loader) Loaded() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.loaded
}

// WaitFor waits until the uploads up to seq are in the store; false if
// ctx ended first.
func (l *Loader) WaitFor(ctx context.Context, seq uint64) bool {
	for {
		l.mu.Lock()
		done, moved := l.started && l.loaded >= seq, l.moved
		l.mu.Unlock()
		if done {
			return true
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return false
		}
	}
}

// CatchUp waits, at most wait, until every upload acknowledged before it
// was called is in the store.
func (l *Loader) CatchUp(ctx context.Context, wait time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	return l.WaitFor(ctx, l.log.End())
}

// Fresh wraps st so that RollUp, which every analysis calls first, waits
// (at most wait) for the loader to store what was acknowledged before it;
// past the wait it rolls up what is loaded and notes the rest
// (store.NoteUnloaded).
func (l *Loader) Fresh(st store.Store, wait time.Duration) store.Store {
	return freshStore{Store: st, l: l, wait: wait}
}

type freshStore struct {
	store.Store
	l    *Loader
	wait time.Duration
}

func (f freshStore) RollUp(ctx context.Context) error {
	if !f.l.CatchUp(ctx, f.wait) {
		if err := ctx.Err(); err != nil {
			return err
		}
		b := f.l.log.Backlog()
		store.NoteUnloaded(ctx, store.Unloaded{Uploads: b.Records, OldestReceived: b.Oldest})
	}
	return f.Store.RollUp(ctx)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
