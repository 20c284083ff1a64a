package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// conv is a pending conversion of app due at t0.
func conv(id, app string) store.Conversion {
	return store.Conversion{
		ID: id, AppID: app, Kind: "order", RefID: id, ActionType: "COMPLETE_ORDER", Source: "backend",
		OpenID: "o1", OccurredAt: t0, ValueFen: 9500, ClickID: "wx0click", AdID: "77", TouchAt: t0.Add(-time.Hour),
		Payload: `{"action_type":"COMPLETE_ORDER"}`, Status: store.ConversionPending, CreatedAt: t0,
		Deadline: t0.Add(24 * time.Hour), NextAttemptAt: t0,
	}
}

func addConversions(t *testing.T, st store.Store, cs ...store.Conversion) int {
	t.Helper()
	var n int
	err := st.Transact(context.Background(), func(tx store.Tx) error {
		var err error
		n, err = tx.AddConversions(context.Background(), cs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func testOutboxAddAndList(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	un := conv("u", "a")
	un.Status, un.Payload, un.ClickID, un.AdID, un.TouchAt, un.Deadline, un.NextAttemptAt = store.ConversionUnattributed, "", "", "", time.Time{}, time.Time{}, time.Time{}
	// Repeats, inside the call and of stored ids, are left alone.
	if n := addConversions(t, st, conv("p1", "a"), conv("p1", "a"), un, conv("p2", "b")); n != 2 {
		t.Fatalf("pending added: %d, want 2", n)
	}
	changed := conv("p1", "a")
	changed.ValueFen = 1
	if n := addConversions(t, st, changed, conv("p3", "a")); n != 1 {
		t.Fatalf("pending added: %d, want 1", n)
	}
	_ = st.Transact(ctx, func(tx store.Tx) error {
		got, err := tx.StoredConversions(ctx, []string{"p1", "u", "nope"})
		if err != nil || !reflect.DeepEqual(got, map[string]bool{"p1": true, "u": true}) {
			t.Errorf("stored: %v %v", got, err)
		}
		return nil
	})
	list, err := st.ListConversions(ctx, "a", "", 10)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]store.Conversion{}
	for _, c := range list {
		byID[c.ID] = c
	}
	if len(list) != 3 || !reflect.DeepEqual(byID["p1"], conv("p1", "a")) || !reflect.DeepEqual(byID["u"], un) {
		t.Fatalf("list:\n%+v\nwant p1 = %+v and u = %+v", list, conv("p1", "a"), un)
	}
	if l, _ := st.ListConversions(ctx, "a", store.ConversionUnattributed, 10); len(l) != 1 || l[0].ID != "u" {
		t.Fatalf("unattributed: %+v", l)
	}
	counts, err := st.ConversionCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.ConversionCount{{App: "a", Status: "pending", N: 2, OldestCreated: t0}, {App: "a", Status: "unattributed", N: 1, OldestCreated: t0}, {App: "b", Status: "pending", N: 1, OldestCreated: t0}}
	if !reflect.DeepEqual(counts, want) {
		t.Fatalf("counts %+v, want %+v", counts, want)
	}
	if apps, err := st.AppsWithPendingConversions(ctx); err != nil || !reflect.DeepEqual(apps, []string{"a", "b"}) {
		t.Fatalf("apps: %v %v", apps, err)
	}
	if at, ok, err := st.NextConversionDue(ctx, "a"); err != nil || !ok || !at.Equal(t0) {
		t.Fatalf("next due: %v %v %v", at, ok, err)
	}
	if _, ok, err := st.NextConversionDue(ctx, "c"); err != nil || ok {
		t.Fatalf("next due of an app without: %v %v", ok, err)
	}
	occ, err := st.ConversionsOccurred(ctx, "a", t0, t0.Add(time.Second))
	if err != nil || len(occ) != 2 {
		t.Fatalf("occurred (the unattributed one left out): %+v %v", occ, err)
	}
}

// unattributed is conv(id, app) of user open at at, recorded without a
// touch.
func unattributed(id, app, open string, at time.Time) store.Conversion {
	c := conv(id, app)
	c.OpenID, c.OccurredAt = open, at
	c.Status, c.Payload, c.ClickID, c.AdID, c.TouchAt, c.Deadline, c.NextAttemptAt = store.ConversionUnattributed, "", "", "", time.Time{}, time.Time{}, time.Time{}
	return c
}

// Conversions recorded without a touch are found by user and time, and a
// touch found later credits each once.
func testOutboxLateAttribution(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	lead := unattributed("lead", "a", "o2", t0)
	lead.Kind, lead.ActionType, lead.Source, lead.ValueFen = "lead", "RESERVATION", "event", 0
	byUnion := unattributed("union", "a", "", t0)
	byUnion.UnionID = "u9"
	api := unattributed("api", "a", "o1", t0)
	api.Kind = "api"
	addConversions(t, st,
		unattributed("in", "a", "o1", t0), lead, byUnion, api,
		unattributed("late", "a", "o1", t0.Add(48*time.Hour)), // after the range
		unattributed("other-app", "b", "o1", t0),
		unattributed("other-user", "a", "o3", t0),
		conv("pending", "a"), // o1, already credited
	)
	var found []store.Conversion
	err := st.Transact(ctx, func(tx store.Tx) error {
		var err error
		found, err = tx.UnattributedConversions(ctx, "a", []string{"o1", "o2"}, []string{"u9"}, t0.Add(-time.Hour), t0.Add(time.Hour))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(found, func(i, j int) bool { return found[i].ID < found[j].ID })
	var got []string
	for _, c := range found {
		got = append(got, c.ID)
	}
	if !reflect.DeepEqual(got, []string{"in", "lead", "union"}) {
		t.Fatalf("unattributed found %v, want in, lead, union", got)
	}
	if c := found[0]; c.AppID != "a" || c.Kind != "order" || c.RefID != "in" || c.ActionType != "COMPLETE_ORDER" ||
		c.Source != "backend" || c.OpenID != "o1" || !c.OccurredAt.Equal(t0) || c.ValueFen != 9500 {
		t.Errorf("found %+v", c)
	}
	if c := found[2]; c.UnionID != "u9" || c.OpenID != "" {
		t.Errorf("by union: %+v", c)
	}
	credit := func(cs ...store.Conversion) int {
		t.Helper()
		var n int
		if err := st.Transact(ctx, func(tx store.Tx) error {
			var err error
			n, err = tx.AttributeConversions(ctx, cs)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	in := conv("in", "a")
	pend := conv("pending", "a")
	pend.ClickID = "wx0other"
	if n := credit(in, pend); n != 1 {
		t.Fatalf("credited %d, want 1 (the pending row is left alone)", n)
	}
	if n := credit(in); n != 0 {
		t.Fatalf("credited again: %d", n)
	}
	list, err := st.ListConversions(ctx, "a", "", 20)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		switch c.ID {
		case "in":
			if !reflect.DeepEqual(c, conv("in", "a")) {
				t.Errorf("credited row %+v, want %+v", c, conv("in", "a"))
			}
		case "pending":
			if c.ClickID != "wx0click" {
				t.Errorf("a pending row took another touch: %+v", c)
			}
		}
	}
}

func ids(cs []store.ClaimedConversion) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	sort.Strings(out)
	return out
}

// A claim leases rows to one holder; another claim skips them until the
// lease ends; only the last holder of a row settles it.
func testOutboxLeaseAndFencing(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	later := conv("p3", "a")
	later.NextAttemptAt = t0.Add(time.Hour)
	addConversions(t, st, conv("p1", "a"), conv("p2", "a"), later, conv("q1", "b"))
	now := t0.Add(time.Second)
	a, err := st.ClaimConversions(ctx, "a", "A", now, time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(a); !reflect.DeepEqual(got, []string{"p1", "p2"}) {
		t.Fatalf("claim A: %v", got)
	}
	if c := a[0]; c.Payload == "" || c.Attempts != 0 || !c.Deadline.Equal(t0.Add(24*time.Hour)) || !c.CreatedAt.Equal(t0) {
		t.Fatalf("claimed row: %+v", c)
	}
	if b, _ := st.ClaimConversions(ctx, "a", "B", now.Add(30*time.Second), time.Minute, 10); len(b) != 0 {
		t.Fatalf("B claimed %v during A's lease", ids(b))
	}
	if at, _, _ := st.NextConversionDue(ctx, "a"); !at.Equal(now.Add(time.Minute)) {
		t.Fatalf("next due during the lease: %v, want its end", at)
	}
	// A's lease runs out (A died or is slow); B takes p1 and p2.
	b, err := st.ClaimConversions(ctx, "a", "B", now.Add(2*time.Minute), time.Minute, 1)
	if err != nil || len(b) != 1 {
		t.Fatalf("B after the lease: %v %v", ids(b), err)
	}
	// A settles both: only the row B did not take is A's to settle.
	n, err := st.SettleConversions(ctx, "A", now.Add(2*time.Minute), []store.Settlement{{IDs: []string{"p1", "p2"}, Status: store.ConversionDelivered}})
	if err != nil || n != 1 {
		t.Fatalf("A settled %d (%v), want 1", n, err)
	}
	// B's retry is recorded; A can no longer touch it.
	next := now.Add(time.Hour)
	if n, err := st.SettleConversions(ctx, "B", now.Add(3*time.Minute), []store.Settlement{{IDs: ids(b), Status: store.ConversionPending, Next: next, Err: "timeout", Class: "network"}}); err != nil || n != 1 {
		t.Fatalf("B settled %d (%v)", n, err)
	}
	if n, _ := st.SettleConversions(ctx, "A", now.Add(3*time.Minute), []store.Settlement{{IDs: ids(b), Status: store.ConversionDead, Err: "x"}}); n != 0 {
		t.Fatalf("A settled B's row")
	}
	list, _ := st.ListConversions(ctx, "a", "", 10)
	states := map[string]string{}
	for _, c := range list {
		states[c.ID] = fmt.Sprintf("%s/%d/%s", c.Status, c.Attempts, c.LastClass)
		if c.ID == ids(b)[0] && !c.NextAttemptAt.Equal(next) {
			t.Errorf("retry due %v, want %v", c.NextAttemptAt, next)
		}
	}
	other := "p1"
	if ids(b)[0] == "p1" {
		other = "p2"
	}
	want := map[string]string{ids(b)[0]: "pending/1/network", other: "delivered/1/", "p3": "pending/0/"}
	if !reflect.DeepEqual(states, want) {
		t.Fatalf("states %v, want %v", states, want)
	}
	// The retry is due at next; app b is untouched throughout.
	if c, _ := st.ClaimConversions(ctx, "a", "C", next.Add(-time.Second), time.Minute, 10); len(c) != 1 || c[0].ID != "p3" {
		t.Fatalf("claim before the retry is due: %v", ids(c))
	}
	if c, _ := st.ClaimConversions(ctx, "b", "C", now, time.Minute, 10); len(c) != 1 {
		t.Fatalf("app b: %v", ids(c))
	}
}

// Concurrent claims never hand one row to two holders.
func testOutboxConcurrentClaims(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	var cs []store.Conversion
	for i := range 200 {
		cs = append(cs, conv(fmt.Sprintf("c%03d", i), "a"))
	}
	addConversions(t, st, cs...)
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for h := range 4 {
		wg.Go(func() {
			holder := fmt.Sprint("H", h)
			for {
				got, err := st.ClaimConversions(ctx, "a", holder, t0, time.Hour, 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, c := range got {
					if prev, dup := seen[c.ID]; dup {
						t.Errorf("%s claimed by %s and %s", c.ID, prev, holder)
					}
					seen[c.ID] = holder
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 200 {
		t.Fatalf("%d rows claimed, want 200", len(seen))
	}
}

func testOutboxReplay(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	addConversions(t, st, conv("d1", "a"), conv("d2", "a"), conv("d3", "b"))
	for _, app := range []string{"a", "b"} {
		c, _ := st.ClaimConversions(ctx, app, "A", t0, time.Minute, 10)
		if _, err := st.SettleConversions(ctx, "A", t0, []store.Settlement{{IDs: ids(c), Status: store.ConversionDead, Err: "refused", Class: "permanent"}}); err != nil {
			t.Fatal(err)
		}
	}
	later := t0.Add(time.Hour)
	if n, err := st.ReplayConversions(ctx, "a", []string{"d2"}, later, later.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("replay d2: %d %v", n, err)
	}
	if n, err := st.ReplayConversions(ctx, "a", nil, later, later.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("replay the rest of a: %d %v", n, err)
	}
	c, err := st.ClaimConversions(ctx, "a", "B", later, time.Minute, 10)
	if err != nil || !reflect.DeepEqual(ids(c), []string{"d1", "d2"}) || c[0].Attempts != 0 || !c[0].Deadline.Equal(later.Add(time.Hour)) {
		t.Fatalf("claim after replay: %+v %v", c, err)
	}
	if l, _ := st.ListConversions(ctx, "b", store.ConversionDead, 10); len(l) != 1 {
		t.Fatalf("app b's dead letter: %+v", l)
	}
}
