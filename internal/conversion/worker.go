package conversion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/wxads"
)

// WorkerOptions tune delivery. Zero values take the defaults named.
type WorkerOptions struct {
	// BatchSize is the most actions of one user_actions/add (default and
	// maximum 50, the documented limit).
	BatchSize int
	// ClaimSize is the most rows one delivery round takes (default 2000):
	// each round's statements scan the outbox once, whatever their size.
	ClaimSize int
	// Concurrency is the most user_actions/add calls of one app in flight
	// (default 4).
	Concurrency int
	// Lease is how long a claimed row is reserved for its delivery; a row
	// left claimed by a crash is due again after it (default 5 min).
	Lease time.Duration
	// BaseBackoff and MaxBackoff bound the exponential backoff of retryable
	// failures: BaseBackoff·2^(attempt−1), at most MaxBackoff, of which a
	// random half is jitter (defaults 1 s and 10 min).
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// Poll is the longest an idle app waits before looking for due rows
	// again; new rows wake it at once (default 1 s).
	Poll time.Duration
	// SendTimeout bounds one call, token fetch included (default 30 s).
	SendTimeout time.Duration
	// Holder names this worker in the leases it takes, so that only it
	// settles the rows it claimed (default: host, process and a random
	// suffix, unique per worker).
	Holder string
	// Rand returns jitter in [0,1) (default math/rand/v2).
	Rand func() float64
	// Metrics, if set, counts deliveries.
	Metrics *Metrics
}

func (o WorkerOptions) withDefaults() WorkerOptions {
	if o.BatchSize <= 0 || o.BatchSize > wxads.MaxActionsPerRequest {
		o.BatchSize = wxads.MaxActionsPerRequest
	}
	if o.ClaimSize <= 0 {
		o.ClaimSize = 2000
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
	if o.Lease <= 0 {
		o.Lease = 5 * time.Minute
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 10 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = 30 * time.Second
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.Holder == "" {
		o.Holder = NewHolder()
	}
	return o
}

// Worker delivers the outbox. Each app has its own runner, so a failing
// account (refused, rate-limited, out of quota) never delays another's
// deliveries. It is safe for concurrent use.
type Worker struct {
	svc *Service
	opt WorkerOptions

	mu      sync.Mutex
	runners map[string]*runner
}

// runner is one app's delivery state.
type runner struct {
	app  string
	wake chan struct{}
	// mu makes rounds of one app sequential (Run's loop and Flush).
	mu          sync.Mutex
	pausedUntil time.Time
}

// NewWorker returns the worker of svc's outbox; the service wakes it when
// it writes pending rows.
func NewWorker(svc *Service, opt WorkerOptions) *Worker {
	w := &Worker{svc: svc, opt: opt.withDefaults(), runners: map[string]*runner{}}
	svc.setNotify(w.Kick)
	return w
}

func (w *Worker) runner(app string) *runner {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := w.runners[app]
	if r == nil {
		r = &runner{app: app, wake: make(chan struct{}, 1)}
		w.runners[app] = r
	}
	return r
}

// Kick tells the app's runner that rows may be due.
func (w *Worker) Kick(app string) {
	select {
	case w.runner(app).wake <- struct{}{}:
	default: // already told
	}
}

// Run delivers until ctx ends, then waits for the deliveries in flight to
// be answered and recorded: shutdown loses nothing and leaves no row
// claimed. It runs one runner per app that takes part in the loop.
func (w *Worker) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, a := range w.svc.apps.Apps() {
		if !Enabled(a) {
			continue
		}
		r := w.runner(a.ID)
		wg.Go(func() { w.loop(ctx, r) })
	}
	wg.Wait()
}

func (w *Worker) loop(ctx context.Context, r *runner) {
	// Rounds run detached from ctx: a delivery in flight at shutdown is
	// finished (bounded by SendTimeout) and recorded, not abandoned.
	work := context.WithoutCancel(ctx)
	for ctx.Err() == nil {
		n, _, err := w.round(work, r)
		if err != nil {
			w.svc.log.Error("ads outbox round failed", "app", r.app, "error", err)
		}
		if n > 0 && err == nil {
			continue // more may be due
		}
		wait := w.opt.Poll
		if next, ok, err := w.svc.st.NextConversionDue(ctx, r.app); err == nil && ok {
			wait = min(wait, max(0, next.Sub(w.svc.now())))
		}
		r.mu.Lock()
		if d := r.pausedUntil.Sub(w.svc.now()); d > wait {
			wait = min(d, w.opt.Poll)
		}
		r.mu.Unlock()
		if wait <= 0 && n == 0 {
			// Due but nothing claimed (claimed elsewhere): do not spin.
			wait = w.opt.Poll / 10
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-r.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// FlushResult counts what a Flush did.
type FlushResult struct {
	Delivered int
	Retried   int
	Dead      int
}

// Flush delivers, for every app, whatever is due now, round after round
// until nothing due is left (rows scheduled for later stay pending). Tests
// drive the outbox with it and an injected clock instead of waiting;
// `shuyuan outbox replay` uses it to deliver without a server.
func (w *Worker) Flush(ctx context.Context) (FlushResult, error) {
	var total FlushResult
	apps, err := w.pendingApps(ctx)
	if err != nil {
		return total, err
	}
	for _, app := range apps {
		r := w.runner(app)
		for {
			n, res, err := w.round(ctx, r)
			total.Delivered += res.Delivered
			total.Retried += res.Retried
			total.Dead += res.Dead
			if err != nil {
				return total, err
			}
			if n == 0 {
				break
			}
		}
	}
	return total, nil
}

// NextDue is when the earliest pending conversion (of any app) is due,
// counting apps paused by a rate limit or quota; ok is false when nothing
// is pending. Tests move their clock there between Flushes.
func (w *Worker) NextDue(ctx context.Context) (time.Time, bool, error) {
	apps, err := w.pendingApps(ctx)
	if err != nil {
		return time.Time{}, false, err
	}
	var best time.Time
	for _, app := range apps {
		next, ok, err := w.svc.st.NextConversionDue(ctx, app)
		if err != nil {
			return time.Time{}, false, err
		}
		if !ok {
			continue
		}
		r := w.runner(app)
		r.mu.Lock()
		if r.pausedUntil.After(next) {
			next = r.pausedUntil
		}
		r.mu.Unlock()
		if best.IsZero() || next.Before(best) {
			best = next
		}
	}
	return best, !best.IsZero(), nil
}

func (w *Worker) pendingApps(ctx context.Context) ([]string, error) {
	return w.svc.st.AppsWithPendingConversions(ctx)
}

// batch is one user_actions/add call's worth of claimed rows.
type batch struct {
	setID   int64
	rows    []store.ClaimedConversion
	actions []wxads.Action
}

// outcome is what became of a batch (or, after a split, of one row).
type outcome struct {
	rows []store.ClaimedConversion
	err  error
}

// round claims the app's due rows, sends them in batches and records the
// outcomes. It returns how many rows it claimed and what became of them.
func (w *Worker) round(ctx context.Context, r *runner) (int, FlushResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := w.svc.now()
	if now.Before(r.pausedUntil) {
		return 0, FlushResult{}, nil
	}
	rows, err := w.svc.st.ClaimConversions(ctx, r.app, w.opt.Holder, now, w.opt.Lease, w.opt.ClaimSize)
	if err != nil || len(rows) == 0 {
		return 0, FlushResult{}, err
	}

	var outcomes []outcome
	_, wx, err := w.svc.app(r.app)
	if err != nil {
		outcomes = []outcome{{rows: rows, err: permanent(err)}}
	} else {
		batches, bad := w.batches(ctx, r.app, rows)
		outcomes = append(bad, w.send(ctx, wx.client, batches)...)
		if m := w.opt.Metrics; m != nil {
			m.observeResends(r.app, batches)
		}
	}
	res, err := w.record(ctx, r, now, outcomes)
	return len(rows), res, err
}

// batches groups rows by data source into calls of at most BatchSize
// actions. Rows that cannot be sent (no data source, unreadable payload)
// come back as outcomes.
func (w *Worker) batches(ctx context.Context, app string, rows []store.ClaimedConversion) ([]batch, []outcome) {
	var out []outcome
	bySet := map[int64][]store.ClaimedConversion{}
	var sets []int64
	for _, c := range rows {
		if _, ok := bySet[c.SetID]; !ok {
			sets = append(sets, c.SetID)
		}
		bySet[c.SetID] = append(bySet[c.SetID], c)
	}
	sort.Slice(sets, func(i, j int) bool { return sets[i] < sets[j] })
	var bs []batch
	for _, set := range sets {
		group := bySet[set]
		id := set
		if id == 0 {
			var err error
			if id, err = w.svc.SetID(ctx, app); err != nil {
				out = append(out, outcome{rows: group, err: fmt.Errorf("data source of app %s: %w", app, err)})
				continue
			}
		}
		var cur *batch
		size := 0
		for _, c := range group {
			var a wxads.Action
			if err := json.Unmarshal([]byte(c.Payload), &a); err != nil {
				out = append(out, outcome{rows: []store.ClaimedConversion{c}, err: permanent(fmt.Errorf("stored payload is not an action: %w", err))})
				continue
			}
			// Keep each body well under the 50 KB limit.
			if cur == nil || len(cur.rows) >= w.opt.BatchSize || size+len(c.Payload) > wxads.MaxActionsBodyBytes-4096 {
				bs = append(bs, batch{setID: id})
				cur, size = &bs[len(bs)-1], 0
			}
			cur.rows = append(cur.rows, c)
			cur.actions = append(cur.actions, a)
			size += len(c.Payload) + 1
		}
	}
	return bs, out
}

// send makes the calls, at most Concurrency at a time.
func (w *Worker) send(ctx context.Context, c *wxads.Client, bs []batch) []outcome {
	outs := make([][]outcome, len(bs))
	sem := make(chan struct{}, w.opt.Concurrency)
	var wg sync.WaitGroup
	for i, b := range bs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			outs[i] = w.sendBatch(ctx, c, b)
		})
	}
	wg.Wait()
	var all []outcome
	for _, o := range outs {
		all = append(all, o...)
	}
	return all
}

func (w *Worker) sendBatch(ctx context.Context, c *wxads.Client, b batch) []outcome {
	call := func(actions []wxads.Action) error {
		cctx, cancel := context.WithTimeout(ctx, w.opt.SendTimeout)
		defer cancel()
		return c.AddActions(cctx, b.setID, actions)
	}
	err := call(b.actions)
	if err == nil || len(b.rows) == 1 || !aboutContent(err) {
		return []outcome{{rows: b.rows, err: err}}
	}
	// The platform refuses a whole batch for one bad action: send each
	// alone, so only the bad ones go to the dead letters.
	outs := make([]outcome, len(b.rows))
	for i := range b.rows {
		outs[i] = outcome{rows: b.rows[i : i+1], err: call(b.actions[i : i+1])}
	}
	return outs
}

// aboutContent tells a refusal of what was sent (one action may be at
// fault) from one of the account (every action would be refused).
func aboutContent(err error) bool {
	if errors.Is(err, wxads.ErrInvalidInput) {
		return true
	}
	var ae *wxads.APIError
	if errors.As(err, &ae) {
		switch ae.Code {
		case 900351000, 900351002, 900318001, 47001:
			return true
		}
	}
	return false
}

// permanentError marks failures on our side that no retry can fix.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return permanentError{err} }

func classOf(err error) wxads.Class {
	var pe permanentError
	if errors.As(err, &pe) {
		return wxads.ClassPermanent
	}
	return wxads.Classify(err)
}

// record turns outcomes into settlements, in one transaction, and pauses
// the app when WeChat said to stop for a while.
func (w *Worker) record(ctx context.Context, r *runner, now time.Time, outcomes []outcome) (FlushResult, error) {
	type key struct {
		state, err, class string
		next              int64
	}
	groups := map[key][]string{}
	var keys []key
	add := func(k key, id string) {
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], id)
	}
	var delivered, retried, dead int
	var delays []float64
	retriedBy := map[string]int{}
	for _, o := range outcomes {
		if o.err == nil {
			for _, c := range o.rows {
				add(key{state: StateDelivered}, c.ID)
				delays = append(delays, now.Sub(c.CreatedAt).Seconds())
			}
			delivered += len(o.rows)
			continue
		}
		class := classOf(o.err)
		msg := truncate(o.err.Error(), 2000)
		if class == wxads.ClassPermanent || class == wxads.ClassNone {
			for _, c := range o.rows {
				add(key{state: StateDead, err: msg, class: class.String()}, c.ID)
			}
			dead += len(o.rows)
			w.svc.log.Warn("ads conversions refused for good", "app", r.app, "count", len(o.rows), "error", msg, "alert", wxads.NeedsAlert(o.err))
			continue
		}
		notBefore := wxads.RetryNotBefore(o.err, now)
		if class == wxads.ClassRateLimited || class == wxads.ClassQuota {
			// The limit is the account's: stop calling until it lifts.
			if notBefore.After(r.pausedUntil) {
				r.pausedUntil = notBefore
			}
		}
		jitter := w.opt.Rand()
		for _, c := range o.rows {
			next := now.Add(w.backoff(c.Attempts+1, jitter))
			if notBefore.After(next) {
				next = notBefore
			}
			if !c.Deadline.IsZero() && next.After(c.Deadline) {
				add(key{state: StateDead, class: class.String(),
					err: truncate(fmt.Sprintf("retry budget exhausted (deadline %s) after %d attempts; last error: %s",
						c.Deadline.Format(time.RFC3339), c.Attempts+1, msg), 2000)}, c.ID)
				dead++
				continue
			}
			add(key{state: StatePending, err: msg, class: class.String(), next: next.UnixMicro()}, c.ID)
			retried++
			retriedBy[class.String()]++
		}
	}
	ss := make([]store.Settlement, 0, len(keys))
	total := 0
	for _, k := range keys {
		s := store.Settlement{IDs: groups[k], Status: k.state, Err: k.err, Class: k.class}
		if k.state == StatePending {
			s.Next = time.UnixMicro(k.next)
		}
		ss = append(ss, s)
		total += len(s.IDs)
	}
	settled, err := w.svc.st.SettleConversions(ctx, w.opt.Holder, now, ss)
	if err != nil {
		// The rows stay claimed until their lease ends, then are sent
		// again with the same payload: at worst a duplicate that
		// outer_action_id lets the platform absorb.
		return FlushResult{}, fmt.Errorf("record delivery outcomes of %s: %w", r.app, err)
	}
	if settled < total {
		// Fenced off: the lease ran out during the delivery and another
		// holder took the rows; its outcome is the one recorded.
		w.svc.log.Warn("ads conversions settled by another holder after this one's lease ran out",
			"app", r.app, "rows", total-settled, "holder", w.opt.Holder, "lease", w.opt.Lease)
	}
	if m := w.opt.Metrics; m != nil {
		m.observe(r.app, retriedBy, delivered, dead, delays)
	}
	return FlushResult{Delivered: delivered, Retried: retried, Dead: dead}, nil
}

// backoff is the wait before attempt n+1 after n failures: exponential,
// capped, half of it random.
func (w *Worker) backoff(n int64, jitter float64) time.Duration {
	d := w.opt.BaseBackoff
	for i := int64(1); i < n && d < w.opt.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.opt.MaxBackoff)
	return d/2 + time.Duration(jitter*float64(d/2))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// NewHolder returns a lease holder name unique to this call: the host, the
// process and a random suffix.
func NewHolder() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%08x", host, os.Getpid(), rand.Uint32())
}
