package duckdb_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
)

func searchEvent(t testing.TB, tracking string, ms int64, kw, open string) event.Event {
	t.Helper()
	raw := fmt.Sprintf(`{"type":"search","tracking_id":%q,"log_id":1,"props":{"page":"pages/s","time":%d,"keyword":%q,"wx_user":{"open_id":%q},"chan":{"chan_wxapp_scene":1001}}}`,
		tracking, ms, kw, open)
	ev, err := event.Parse(json.RawMessage(raw))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func count(t *testing.T, st store.Store, q string, args ...any) int {
	t.Helper()
	var n int
	if err := st.DB().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestWriteEventsDeduplicates(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	now := time.Now()
	b1 := &store.EventBatch{AppID: "a", ReceivedAt: now, Events: []event.Event{
		searchEvent(t, "T", 1795373591817, "x", "o1"),
		searchEvent(t, "T", 1795373591818, "y", "o1"),
	}, Quarantined: []event.Quarantined{{Type: "search", Reason: "props.keyword: required", Raw: json.RawMessage(`{"type":"search"}`)}}}
	res, err := st.WriteEvents(ctx, []*store.EventBatch{b1})
	if err != nil {
		t.Fatal(err)
	}
	if res[0] != (store.EventResult{Accepted: 2, Quarantined: 1}) {
		t.Fatalf("first write: %+v", res[0])
	}
	// The re-send (other user context, same content) and a new event, and
	// the same event twice in one flush from another batch.
	b2 := &store.EventBatch{AppID: "a", ReceivedAt: now, Events: []event.Event{
		searchEvent(t, "T", 1795373591817, "x", "o2"),
		searchEvent(t, "T", 1795373591900, "z", "o1"),
	}}
	b3 := &store.EventBatch{AppID: "a", ReceivedAt: now, Events: []event.Event{searchEvent(t, "T", 1795373591900, "z", "o1")}}
	// The same event for another app is not a duplicate.
	b4 := &store.EventBatch{AppID: "b", ReceivedAt: now, Events: []event.Event{searchEvent(t, "T", 1795373591817, "x", "o1")}}
	res, err = st.WriteEvents(ctx, []*store.EventBatch{b2, b3, b4})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.EventResult{{Accepted: 1, Duplicates: 1}, {Duplicates: 1}, {Accepted: 1}}
	for i := range want {
		if res[i] != want[i] {
			t.Errorf("batch %d: %+v, want %+v", i, res[i], want[i])
		}
	}
	if n := count(t, st, `SELECT count(*) FROM events WHERE app_id='a'`); n != 3 {
		t.Errorf("events: %d, want 3", n)
	}
	if n := count(t, st, `SELECT count(*) FROM event_contexts`); n != 3 {
		t.Errorf("contexts: %d, want 3 (o1 and o2 for a, o1 for b)", n)
	}
	if n := count(t, st, `SELECT count(*) FROM quarantine WHERE reason LIKE 'props.keyword%'`); n != 1 {
		t.Errorf("quarantine: %d", n)
	}
}

func TestWriterGroupCommit(t *testing.T) {
	st := storetest.Open(t)
	var commits, events int
	var mu sync.Mutex
	w := store.NewWriter(st, store.WriterOptions{MaxWait: 20 * time.Millisecond, OnCommit: func(n int, _ time.Duration, _ []store.EventResult, err error) {
		mu.Lock()
		commits++
		events += n
		mu.Unlock()
		if err != nil {
			t.Error(err)
		}
	}})
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res, err := w.Write(context.Background(), &store.EventBatch{AppID: "a", ReceivedAt: time.Now(),
				Events: []event.Event{searchEvent(t, fmt.Sprint("T", i), 1795373591817, "x", "o")}})
			if err != nil || res.Accepted != 1 {
				t.Errorf("write %d: %+v %v", i, res, err)
			}
		}(i)
	}
	wg.Wait()
	w.Close()
	if _, err := w.Write(context.Background(), &store.EventBatch{AppID: "a"}); err != store.ErrWriterClosed {
		t.Errorf("write after close: %v", err)
	}
	if events != 40 || commits >= 40 {
		t.Errorf("%d events in %d commits: want 40 events in fewer commits", events, commits)
	}
	if n := count(t, st, `SELECT count(*) FROM events`); n != 40 {
		t.Errorf("stored %d", n)
	}
}

// TestQuarantineDeduplicates: an SDK re-send of an upload carries its
// invalid events and malformed click ids again; each is quarantined once
// while the re-send is inside the dedup window, and again after it.
func TestQuarantineDeduplicates(t *testing.T) {
	st := storetest.Open(t)
	ctx := context.Background()
	badClick := searchEvent(t, "T", 1795373591817, "x", "o1")
	badClick.GdtVid = "bad!" // too short, and a character outside the rule
	upload := func(recv time.Time, keyword string) *store.EventBatch {
		return &store.EventBatch{AppID: "a", ReceivedAt: recv, Events: []event.Event{badClick},
			Quarantined: []event.Quarantined{
				{Type: "search", Reason: "props.keyword: required", Raw: json.RawMessage(`{"type":"search","n":1}`)},
				{Type: "search", Reason: "props.keyword: required", Raw: json.RawMessage(`{"type":"search","n":` + keyword + `}`)},
			}}
	}
	now := time.Now()
	for i, tc := range []struct {
		batches          []*store.EventBatch
		sdk, attribution int // rows stored after the write
	}{
		{[]*store.EventBatch{upload(now, "2")}, 2, 1},
		// The re-send, twice in one flush: nothing new.
		{[]*store.EventBatch{upload(now.Add(time.Second), "2"), upload(now.Add(2*time.Second), "2")}, 2, 1},
		// One new invalid event among the re-sent ones.
		{[]*store.EventBatch{upload(now.Add(3*time.Second), "3")}, 3, 1},
		// Long after the window (6 h): a new occurrence, stored again.
		{[]*store.EventBatch{upload(now.Add(7*time.Hour), "3")}, 5, 2},
	} {
		res, err := st.WriteEvents(ctx, tc.batches)
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		if res[0].Quarantined != 2 {
			t.Errorf("write %d: %d quarantined, want 2 (the answer counts them whether stored before or not)", i, res[0].Quarantined)
		}
		if n := count(t, st, `SELECT count(*) FROM quarantine WHERE source = 'sdk'`); n != tc.sdk {
			t.Errorf("write %d: %d sdk rows, want %d", i, n, tc.sdk)
		}
		if n := count(t, st, `SELECT count(*) FROM quarantine WHERE source = 'attribution'`); n != tc.attribution {
			t.Errorf("write %d: %d attribution rows, want %d", i, n, tc.attribution)
		}
	}
}
