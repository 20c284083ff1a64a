// Package cron runs shuyuan's background work from one declared table of
// tasks: what runs, how often, and whether on every node or on the one
// node elected for it (the store's roles), with each task's last run,
// duration and error in /metrics and a way for tests to run a round now
// and wait for it.
package cron

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Task is one piece of background work.
type Task struct {
	Name string
	// Period is the time between the starts of two rounds; Jitter adds up
	// to that much at random to each wait, so nodes started together do
	// not all knock at once.
	Period time.Duration
	Jitter time.Duration
	// Elected runs the task only on the node that holds the role
	// "task <Name>" of the store, so it runs once across the cluster; a
	// node that loses the role stops running it, one that gains it starts.
	// Otherwise every node runs it.
	Elected bool
	// Run is one round. A task either has Run, called every Period, or
	// Loop, which runs until its context ends (work with its own wake-ups,
	// such as the outbox delivery).
	Run  func(ctx context.Context) error
	Loop func(ctx context.Context)
}

// LeadFunc reports whether this node holds a role (store.StateStore.Lead).
type LeadFunc func(ctx context.Context, role string) (bool, error)

// Runner runs a table of tasks.
type Runner struct {
	tasks []Task
	lead  LeadFunc
	log   *slog.Logger

	cancel context.CancelFunc
	wg     sync.WaitGroup
	// round serialises the rounds of each task: the ticker's and RunNow's.
	round map[string]*sync.Mutex

	lastRun  *prometheus.GaugeVec
	duration *prometheus.GaugeVec
	failures *prometheus.CounterVec
	leading  *prometheus.GaugeVec
}

// New returns a runner of tasks; lead elects the nodes of elected tasks
// (nil: this node runs them all), and its metrics go to reg (nil: none).
func New(lead LeadFunc, reg prometheus.Registerer, log *slog.Logger, tasks ...Task) (*Runner, error) {
	if lead == nil {
		lead = func(context.Context, string) (bool, error) { return true, nil }
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Runner{tasks: tasks, lead: lead, log: log, round: map[string]*sync.Mutex{},
		lastRun: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "shuyuan_task_last_run_timestamp_seconds",
			Help: "When each background task last finished a round (Unix seconds)."}, []string{"task"}),
		duration: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "shuyuan_task_last_duration_seconds",
			Help: "How long each background task's last round took."}, []string{"task"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shuyuan_task_errors_total",
			Help: "Rounds of each background task that ended in an error."}, []string{"task"}),
		leading: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "shuyuan_task_leading",
			Help: "1 while this node runs the task (always, for tasks every node runs; for elected ones, while it holds the role)."}, []string{"task"}),
	}
	for _, t := range tasks {
		if t.Name == "" || (t.Run == nil) == (t.Loop == nil) || (t.Run != nil && t.Period <= 0) {
			return nil, fmt.Errorf("task %q: needs a name and either Run with a Period or Loop", t.Name)
		}
		if _, dup := r.round[t.Name]; dup {
			return nil, fmt.Errorf("task %q declared twice", t.Name)
		}
		r.round[t.Name] = &sync.Mutex{}
		r.failures.WithLabelValues(t.Name)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{r.lastRun, r.duration, r.failures, r.leading} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register task metrics: %w", err)
			}
		}
	}
	return r, nil
}

// Tasks lists the table.
func (r *Runner) Tasks() []Task { return r.tasks }

// Start runs every task in the background until Stop.
func (r *Runner) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	for _, t := range r.tasks {
		r.wg.Go(func() {
			r.log.Info("background task started", "task", t.Name, "period", t.Period.String(), "elected", t.Elected)
			r.runTask(ctx, t)
			r.log.Info("background task stopped", "task", t.Name)
		})
	}
}

// Stop ends every task and waits for the rounds in flight.
func (r *Runner) Stop() {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
}

// ErrNoTask is returned by RunNow for a name not in the table.
var ErrNoTask = errors.New("no such task")

// RunNow runs one round of the task now, on this node whatever the
// election, and returns when it is done (after a round already running).
func (r *Runner) RunNow(ctx context.Context, name string) error {
	for _, t := range r.tasks {
		if t.Name == name && t.Run != nil {
			return r.once(ctx, t)
		}
	}
	return fmt.Errorf("%w: %q", ErrNoTask, name)
}

func (r *Runner) runTask(ctx context.Context, t Task) {
	if t.Loop != nil {
		r.loop(ctx, t)
		return
	}
	for {
		if r.leads(ctx, t) {
			if err := r.once(ctx, t); err != nil && ctx.Err() == nil {
				r.log.Error("background task", "task", t.Name, "error", err)
			}
		}
		wait := t.Period
		if t.Jitter > 0 {
			wait += time.Duration(rand.Int64N(int64(t.Jitter)))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// loop runs a Loop task while this node leads it; an elected loop is
// stopped when the node loses the role and started when it gains it.
func (r *Runner) loop(ctx context.Context, t Task) {
	if !t.Elected {
		r.leading.WithLabelValues(t.Name).Set(1)
		t.Loop(ctx)
		return
	}
	check := t.Period
	if check <= 0 {
		check = time.Second
	}
	var stop context.CancelFunc
	var done chan struct{}
	for {
		lead := r.leads(ctx, t)
		switch {
		case lead && stop == nil:
			var lctx context.Context
			lctx, stop = context.WithCancel(ctx)
			done = make(chan struct{})
			go func() { defer close(done); t.Loop(lctx) }()
		case !lead && stop != nil:
			stop()
			<-done
			stop = nil
		}
		select {
		case <-ctx.Done():
			if stop != nil {
				stop()
				<-done
			}
			return
		case <-time.After(check):
		}
	}
}

// leads tells whether this node runs t now.
func (r *Runner) leads(ctx context.Context, t Task) bool {
	if !t.Elected {
		r.leading.WithLabelValues(t.Name).Set(1)
		return true
	}
	ok, err := r.lead(ctx, "task "+t.Name)
	if err != nil && ctx.Err() == nil {
		r.log.Warn("background task: election", "task", t.Name, "error", err)
	}
	v := 0.0
	if ok {
		v = 1
	}
	r.leading.WithLabelValues(t.Name).Set(v)
	return ok
}

func (r *Runner) once(ctx context.Context, t Task) error {
	mu := r.round[t.Name]
	mu.Lock()
	defer mu.Unlock()
	start := time.Now()
	err := t.Run(ctx)
	r.duration.WithLabelValues(t.Name).Set(time.Since(start).Seconds())
	r.lastRun.WithLabelValues(t.Name).Set(float64(time.Now().Unix()))
	if err != nil {
		r.failures.WithLabelValues(t.Name).Inc()
		return fmt.Errorf("task %s: %w", t.Name, err)
	}
	return nil
}
