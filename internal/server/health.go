package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// Readiness answers whether the node can write, not only whether its store
// answers a query: on a full disk every commit fails while reads go on,
// and a load balancer must stop sending uploads the node cannot store.
// What it knows comes from two places: the outcome of every group commit
// (Metrics.ObserveCommit) and a probe write that /readyz makes when what it
// knows is older than probeEvery, or, while writes fail, failHold after
// the latest failure: a node that failed stays unready at least that long,
// so that a disk just short of space does not flap it in and out, and
// recovers by itself once a probe succeeds.
const (
	probeEvery = 10 * time.Second
	failHold   = 5 * time.Second
)

// writeHealth is the latest known outcome of a write on this node.
type writeHealth struct {
	mu       sync.Mutex
	probe    sync.Mutex // one probe at a time
	err      error      // the latest outcome; nil: the node could write
	at       time.Time  // when it was observed
	failedAt time.Time  // the latest failed commit or probe
	probedAt time.Time
}

// commit records a group commit's outcome.
func (h *writeHealth) commit(now time.Time, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.err, h.at = err, now
	if err != nil {
		h.failedAt = now
	}
}

// writable returns nil when the node can write: what the latest commit or
// probe found, probing again when that is stale (probe nil: never).
func (h *writeHealth) writable(ctx context.Context, now time.Time, probe func(context.Context) error) error {
	h.mu.Lock()
	err := h.err
	due := probe != nil && now.Sub(h.probedAt) >= probeEvery
	if err != nil {
		due = probe != nil && now.Sub(h.failedAt) >= failHold
	}
	h.mu.Unlock()
	if !due {
		return err
	}
	h.probe.Lock()
	defer h.probe.Unlock()
	perr := probe(ctx)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.probedAt = now
	if !h.at.After(now) { // a commit observed meanwhile is fresher
		h.err, h.at = perr, now
		if perr != nil {
			h.failedAt = now
		}
	}
	return h.err
}

// known tells the last outcome without probing, for the gauge.
func (h *writeHealth) known() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// probeWrite commits one small write on the store's write path: the app
// state of no app, key readyz_probe.
func probeWrite(st store.Store, now time.Time) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := st.SetAppState(ctx, "", "readyz_probe", now.UTC().Format(time.RFC3339Nano), now); err != nil {
			return fmt.Errorf("probe write: %w", err)
		}
		return nil
	}
}
