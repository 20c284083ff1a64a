package duckdb_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/duckdb"
)

// The roll-ups follow the committed events through RollUp, once each,
// across a reopen (as after a crash between a commit and its roll-up).
func TestRollUpCatchesUpOnce(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := duckdb.Open(ctx, dir, duckdb.Options{MemoryLimit: "512MB", Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	write := func(st store.Store, ev ...event.Event) {
		t.Helper()
		if _, err := st.WriteEvents(ctx, []*store.EventBatch{{AppID: "a", ReceivedAt: time.Now(), Events: ev}}); err != nil {
			t.Fatal(err)
		}
	}
	rolled := func(st store.Store) int {
		return count(t, st, `SELECT coalesce(sum(events), 0) FROM rollup_event_types`)
	}
	// rollUp runs RollUp twice (the second must add nothing) and wants
	// want events in the roll-ups.
	rollUp := func(st *duckdb.Store, want int) {
		t.Helper()
		for range 2 {
			if err := st.RollUp(ctx); err != nil {
				t.Fatal(err)
			}
			if n := rolled(st); n != want {
				t.Fatalf("rolled up %d events, want %d", n, want)
			}
		}
	}
	write(st, searchEvent(t, "T", 1795373591817, "x", "o1"), searchEvent(t, "T", 1795373591818, "y", "o1"))
	if n := rolled(st); n != 0 {
		t.Fatalf("rolled up before RollUp: %d", n)
	}
	rollUp(st, 2)
	// A duplicate adds nothing; a new event is rolled up after a reopen.
	write(st, searchEvent(t, "T", 1795373591817, "x", "o1"), searchEvent(t, "T", 1795373591900, "z", "o1"))
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = duckdb.Open(ctx, dir, duckdb.Options{MemoryLimit: "512MB", Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n := rolled(st); n != 2 {
		t.Fatalf("after reopen: %d rolled up, want 2 until RollUp", n)
	}
	rollUp(st, 3)
	// The next flush numbers follow the stored ones.
	write(st, searchEvent(t, "T", 1795373591950, "w", "o1"))
	rollUp(st, 4)
	if n := count(t, st, `SELECT count(DISTINCT seq) FROM events`); n != 3 {
		t.Errorf("%d flush numbers, want 3", n)
	}
}

// WriteEvents skips the ad-touch upsert when it would change nothing; the
// touches must be what the upsert alone would make.
func TestAdTouchesWithKnownClicks(t *testing.T) {
	st, err := duckdb.Open(context.Background(), t.TempDir(), duckdb.Options{MemoryLimit: "512MB", Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const click = "wx0ewinbalytptma00"
	n := int64(0)
	visit := func(open, union, adID string, at time.Time) event.Event {
		n++
		e := event.Event{Type: event.BrowseWxappPage, Kind: event.KindOf(event.BrowseWxappPage), Time: at.UTC(), Key: n,
			TrackingID: "t", UserKey: open, OpenID: open, UnionID: union, Page: "pages/index/index", Props: json.RawMessage(`{}`),
			GdtVid: click}
		if adID != "" {
			e.AdInfo = adID + "." + click + ".0.0"
		}
		return e
	}
	write := func(ev ...event.Event) {
		t.Helper()
		if _, err := st.WriteEvents(context.Background(), []*store.EventBatch{{AppID: "a", ReceivedAt: time.Now(), Events: ev}}); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	first := visit("o1", "", "", t0)
	write(first)
	write(visit("o1", "", "", t0.Add(time.Hour)))        // known: nothing to change
	write(visit("o1", "", "", t0.Add(-time.Hour)))       // earlier
	write(visit("o1", "u1", "777", t0.Add(2*time.Hour))) // adds the ad and union ids
	// A re-send of the first event naming another user is a duplicate: it
	// makes no touch, and a later event of that user must still make one.
	resend := first
	resend.OpenID, resend.UserKey = "o2", "o2"
	write(resend)
	if c := count(t, st, `SELECT count(*) FROM ad_touches WHERE user_key = 'o2'`); c != 0 {
		t.Fatalf("duplicate made a touch")
	}
	write(visit("o2", "", "", t0.Add(3*time.Hour)))

	type touch struct {
		user, union, ad string
		first           time.Time
	}
	var got []touch
	rows, err := st.DB().Query(`SELECT user_key, coalesce(union_id, ''), coalesce(ad_id, ''), first_seen FROM ad_touches ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var x touch
		if err := rows.Scan(&x.user, &x.union, &x.ad, &x.first); err != nil {
			t.Fatal(err)
		}
		got = append(got, x)
	}
	want := []touch{{"o1", "u1", "777", t0.Add(-time.Hour)}, {"o2", "", "", t0.Add(3 * time.Hour)}}
	if len(got) != len(want) {
		t.Fatalf("touches %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].user != want[i].user || got[i].union != want[i].union || got[i].ad != want[i].ad || !got[i].first.Equal(want[i].first) {
			t.Errorf("touch %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
