package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ErrWriterClosed is returned for writes after Close.
var ErrWriterClosed = errors.New("writer closed")

// WriterOptions tune the group commit.
type WriterOptions struct {
	// MaxEvents flushes once this many events wait (default 5000).
	MaxEvents int
	// MaxWait is how long a flush waits for more requests once it has one
	// (default 2 ms). Under load commits themselves take longer than this,
	// so batches form while the previous one commits.
	MaxWait time.Duration
	// Queue is the number of requests that may wait (default 1024).
	Queue int
	// OnCommit, if set, is told of every flush: events written, how long the
	// commit took and its error.
	OnCommit func(events int, took time.Duration, results []EventResult, err error)
}

// Writer is the group-commit front of a Store: one goroutine takes the
// batches of concurrent requests, writes them in one transaction and
// releases every waiting request with its own result.
type Writer struct {
	st   Store
	opt  WriterOptions
	in   chan *request
	mu   sync.RWMutex // guards closed against sends on a closed channel
	shut bool
	done chan struct{}
	// waiting counts events handed in and not yet committed.
	waiting atomic.Int64
}

type request struct {
	batch *EventBatch
	out   chan outcome
}

type outcome struct {
	res EventResult
	err error
}

// NewWriter starts the writer's goroutine.
func NewWriter(st Store, opt WriterOptions) *Writer {
	if opt.MaxEvents <= 0 {
		opt.MaxEvents = 5000
	}
	if opt.MaxWait <= 0 {
		opt.MaxWait = 2 * time.Millisecond
	}
	if opt.Queue <= 0 {
		opt.Queue = 1024
	}
	w := &Writer{st: st, opt: opt, in: make(chan *request, opt.Queue), done: make(chan struct{})}
	go w.run()
	return w
}

// Write hands a batch to the writer and waits until it is committed (or the
// commit failed). The context only bounds the wait to be queued: once the
// batch is in a flush its outcome is decided by the commit.
func (w *Writer) Write(ctx context.Context, b *EventBatch) (EventResult, error) {
	req := &request{batch: b, out: make(chan outcome, 1)}
	w.mu.RLock()
	if w.shut {
		w.mu.RUnlock()
		return EventResult{}, ErrWriterClosed
	}
	n := int64(len(b.Events) + len(b.Quarantined))
	w.waiting.Add(n)
	select {
	case w.in <- req:
		w.mu.RUnlock()
	case <-ctx.Done():
		w.mu.RUnlock()
		w.waiting.Add(-n)
		return EventResult{}, fmt.Errorf("queue batch: %w", ctx.Err())
	}
	o := <-req.out
	return o.res, o.err
}

// Waiting is the number of events handed in and not yet committed.
func (w *Writer) Waiting() int64 { return w.waiting.Load() }

// Close stops taking batches, commits those already handed in and returns
// when the last flush is done.
func (w *Writer) Close() {
	w.mu.Lock()
	if !w.shut {
		w.shut = true
		close(w.in)
	}
	w.mu.Unlock()
	<-w.done
}

func (w *Writer) run() {
	defer close(w.done)
	for {
		first, ok := <-w.in
		if !ok {
			return
		}
		reqs := []*request{first}
		n := size(first)
		open := true
		// Take whatever already waits, then wait a little for more.
	drain:
		for n < w.opt.MaxEvents {
			select {
			case r, ok := <-w.in:
				if !ok {
					open = false
					break drain
				}
				reqs = append(reqs, r)
				n += size(r)
			default:
				break drain
			}
		}
		if open && n < w.opt.MaxEvents {
			timer := time.NewTimer(w.opt.MaxWait)
		wait:
			for n < w.opt.MaxEvents {
				select {
				case r, ok := <-w.in:
					if !ok {
						break wait
					}
					reqs = append(reqs, r)
					n += size(r)
				case <-timer.C:
					break wait
				}
			}
			timer.Stop()
		}
		w.flush(reqs, n)
	}
}

func size(r *request) int { return len(r.batch.Events) + len(r.batch.Quarantined) }

func (w *Writer) flush(reqs []*request, n int) {
	batches := make([]*EventBatch, len(reqs))
	for i, r := range reqs {
		batches[i] = r.batch
	}
	// The commit must not be cut short by one client going away: other
	// requests share it.
	start := time.Now()
	results, err := w.st.WriteEvents(context.Background(), batches)
	took := time.Since(start)
	if err == nil && len(results) != len(reqs) {
		err = fmt.Errorf("store returned %d results for %d batches", len(results), len(reqs))
	}
	if w.opt.OnCommit != nil {
		w.opt.OnCommit(n, took, results, err)
	}
	w.waiting.Add(-int64(n))
	for i, r := range reqs {
		if err != nil {
			r.out <- outcome{err: err}
			continue
		}
		r.out <- outcome{res: results[i]}
	}
}
