package cron_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shuyuan-dev/shuyuan/internal/cron"
)

// RunNow runs a round and returns when it is done, whatever the period.
func TestRunNowWaitsForTheRound(t *testing.T) {
	var rounds atomic.Int32
	r, err := cron.New(nil, nil, nil, cron.Task{Name: "count", Period: time.Hour, Run: func(ctx context.Context) error {
		time.Sleep(10 * time.Millisecond)
		rounds.Add(1)
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := r.RunNow(context.Background(), "count"); err != nil {
			t.Fatal(err)
		}
		if n := rounds.Load(); n != int32(i+1) {
			t.Fatalf("after RunNow %d: %d rounds", i+1, n)
		}
	}
	if err := r.RunNow(context.Background(), "nope"); !errors.Is(err, cron.ErrNoTask) {
		t.Fatalf("unknown task: %v", err)
	}
}

// roles is a fake election that tests move by hand.
type roles struct {
	mu     sync.Mutex
	holder map[string]bool
}

func (l *roles) set(role string, v bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.holder[role] = v
}

func (l *roles) lead(_ context.Context, role string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.holder[role], nil
}

// An elected task runs only while this node holds its role; a task of
// every node always runs; errors are counted in the metrics.
func TestElectedTasks(t *testing.T) {
	l := &roles{holder: map[string]bool{}}
	var elected, everywhere, loops atomic.Int32
	var looping atomic.Bool
	reg := prometheus.NewRegistry()
	r, err := cron.New(l.lead, reg, nil,
		cron.Task{Name: "elected", Period: 5 * time.Millisecond, Elected: true, Run: func(context.Context) error { elected.Add(1); return nil }},
		cron.Task{Name: "everywhere", Period: 5 * time.Millisecond, Run: func(context.Context) error {
			everywhere.Add(1)
			return errors.New("boom")
		}},
		cron.Task{Name: "loop", Period: 5 * time.Millisecond, Elected: true, Loop: func(ctx context.Context) {
			loops.Add(1)
			looping.Store(true)
			<-ctx.Done()
			looping.Store(false)
		}},
	)
	if err != nil {
		t.Fatal(err)
	}
	r.Start()
	defer r.Stop()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for start := time.Now(); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Since(start) > 5*time.Second {
				t.Fatalf("waited 5 s for %s", what)
			}
		}
	}
	waitFor("the task of every node", func() bool { return everywhere.Load() >= 3 })
	if elected.Load() != 0 || looping.Load() {
		t.Fatal("elected tasks ran without the role")
	}
	l.set("task elected", true)
	l.set("task loop", true)
	waitFor("the elected task", func() bool { return elected.Load() >= 2 })
	waitFor("the elected loop", looping.Load)
	l.set("task elected", false)
	l.set("task loop", false)
	waitFor("the loop to stop", func() bool { return !looping.Load() })
	time.Sleep(30 * time.Millisecond) // a round in flight may finish
	n := elected.Load()
	time.Sleep(50 * time.Millisecond)
	if elected.Load() != n {
		t.Fatal("the elected task ran after the role moved away")
	}
	l.set("task loop", true)
	waitFor("the loop to start again", func() bool { return loops.Load() == 2 && looping.Load() })
	if got := counter(t, reg, "shuyuan_task_errors_total", "everywhere"); got < 3 {
		t.Fatalf("errors counted: %v", got)
	}
}

func counter(t *testing.T, reg *prometheus.Registry, name, task string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "task" && lp.GetValue() == task {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no %s{task=%q}", name, task)
	return 0
}

func TestBadTables(t *testing.T) {
	for _, tasks := range [][]cron.Task{
		{{Name: "", Period: time.Second, Run: func(context.Context) error { return nil }}},
		{{Name: "a", Run: func(context.Context) error { return nil }}},
		{{Name: "a", Period: time.Second}},
		{{Name: "a", Period: time.Second, Run: func(context.Context) error { return nil }}, {Name: "a", Loop: func(context.Context) {}}},
	} {
		if _, err := cron.New(nil, nil, nil, tasks...); err == nil || !strings.Contains(err.Error(), "task") {
			t.Errorf("%+v: %v", tasks, err)
		}
	}
}
