package order

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// gatedStore holds its first commit until released and fails any commit
// holding the order "poison". It stands in for the store only to steer
// which calls share a commit; the store itself is tested in store/duckdb.
type gatedStore struct {
	store.OrderStore
	gate    chan struct{}
	mu      sync.Mutex
	commits []string // the orders of each commit, "+"-joined per batch
}

func (g *gatedStore) AddOrders(_ context.Context, batches []*store.OrderBatch) ([]store.OrderResult, error) {
	var names []string
	poisoned := false
	for _, b := range batches {
		names = append(names, b.Orders[0].ExternalID)
		poisoned = poisoned || b.Orders[0].ExternalID == "poison"
	}
	g.mu.Lock()
	first := len(g.commits) == 0
	g.commits = append(g.commits, strings.Join(names, "+"))
	g.mu.Unlock()
	if first {
		<-g.gate
	}
	if poisoned {
		return nil, errors.New("poisoned")
	}
	res := make([]store.OrderResult, len(batches))
	for i := range res {
		res[i].Created = 1
	}
	return res, nil
}

func TestCommitterGroupsAndIsolates(t *testing.T) {
	st := &gatedStore{gate: make(chan struct{})}
	g := &committer{st: st, maxOrders: 100}
	batch := func(id string) *store.OrderBatch {
		return &store.OrderBatch{AppID: "a", Orders: []store.Order{{ExternalID: id}}}
	}
	type outcome struct {
		id  string
		err error
	}
	out := make(chan outcome, 3)
	add := func(id string) {
		_, err := g.add(batch(id))
		out <- outcome{id, err}
	}
	go add("first")
	waitFor(t, func() bool { st.mu.Lock(); defer st.mu.Unlock(); return len(st.commits) == 1 })
	// While the first commit runs, two calls queue; they commit together,
	// and when that fails, each alone.
	go add("second")
	waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.queue) == 1 })
	go add("poison")
	waitFor(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.queue) == 2 })
	close(st.gate)
	got := map[string]error{}
	for range 3 {
		o := <-out
		got[o.id] = o.err
	}
	if got["first"] != nil || got["second"] != nil || got["poison"] == nil {
		t.Fatalf("outcomes %v", got)
	}
	if want := "first,second+poison,second,poison"; strings.Join(st.commits, ",") != want {
		t.Fatalf("commits %v, want %s", st.commits, want)
	}
	if g.busy || len(g.queue) != 0 {
		t.Fatalf("committer left busy=%v queue=%d", g.busy, len(g.queue))
	}
}

// waitFor yields until cond holds; it waits on progress, not on a clock.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; !cond(); i++ {
		if i > 10_000_000 {
			t.Fatal("condition never held")
		}
		runtime.Gosched()
	}
}
