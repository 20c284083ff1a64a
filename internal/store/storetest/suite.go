package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// Run states the storage contract: every test runs on a fresh store of o.
func Run(t *testing.T, o Opener) {
	for _, c := range []struct {
		name string
		f    func(t *testing.T, o Opener)
	}{
		{"WriteEventsDeduplicates", testWriteEventsDeduplicates},
		{"UnknownTypes", testUnknownTypes},
		{"IntakePosition", testIntakePosition},
		{"UntimedEventsDeduplicate", testUntimedEventsDeduplicate},
		{"WriterGroupCommit", testWriterGroupCommit},
		{"WriterFailureReachesEveryRequest", testWriterFailure},
		{"QuarantineDeduplicates", testQuarantineDeduplicates},
		{"AdTouches", testAdTouches},
		{"EventHookCommitsWithEvents", testEventHook},
		{"RollUpCatchesUpOnce", testRollUpCatchesUpOnce},
		{"RollUpCountsLateCommit", testRollUpCountsLateCommit},
		{"AddOrdersStatusFlow", testAddOrdersStatusFlow},
		{"AddOrdersPaidOutOfOrder", testAddOrdersPaidOutOfOrder},
		{"AddOrdersReplacesChangedGoods", testAddOrdersReplacesChangedGoods},
		{"AddOrdersSeveralBatches", testAddOrdersSeveralBatches},
		{"AddOrdersHookRollsBack", testAddOrdersHookRollsBack},
		{"OrderSumsAndPages", testOrderSumsAndPages},
		{"DataSources", testDataSources},
		{"OutboxAddAndList", testOutboxAddAndList},
		{"OutboxLeaseAndFencing", testOutboxLeaseAndFencing},
		{"OutboxConcurrentClaims", testOutboxConcurrentClaims},
		{"OutboxReplay", testOutboxReplay},
		{"OutboxLateAttribution", testOutboxLateAttribution},
		{"RelayOrderPerRef", testRelayOrderPerRef},
		{"RelaySeqsAcrossRestart", testRelaySeqsAcrossRestart},
		{"RelayLeaseFencingReplay", testRelayLeaseFencingReplay},
		{"RelayConcurrentClaims", testRelayConcurrentClaims},
		{"RelayPrune", testRelayPrune},
		{"RelayClaimWithBacklog", testRelayClaimWithBacklog},
		{"RelayWithBackendData", testRelayWithBackendData},
		{"RelayWithEvents", testRelayWithEvents},
		{"AppState", testAppState},
		{"Nonces", testNonces},
		{"NoncesSurviveReopen", testNoncesSurviveReopen},
		{"Tokens", testTokens},
		{"PullDays", testPullDays},
		{"PulledDays", testPulledDays},
		{"ArticleMarkers", testArticleMarkers},
	} {
		t.Run(c.name, func(t *testing.T) { c.f(t, o) })
	}
}

var t0 = time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC)

// SearchEvent is a parsed SDK search event of user open at ms (Unix
// milliseconds of props.time).
func SearchEvent(t testing.TB, tracking string, ms int64, kw, open string) event.Event {
	t.Helper()
	return parse(t, fmt.Sprintf(`{"type":"search","tracking_id":%q,"log_id":1,"props":{"page":"pages/s","time":%d,"keyword":%q,"wx_user":{"open_id":%q},"chan":{"chan_wxapp_scene":1001}}}`,
		tracking, ms, kw, open))
}

// UntimedEvent is a parsed event of the merchant's own type, which need
// not carry props.time.
func UntimedEvent(t testing.TB, tracking, what, open string) event.Event {
	t.Helper()
	return parse(t, fmt.Sprintf(`{"type":"shop_custom","tracking_id":%q,"props":{"what":%q,"wx_user":{"open_id":%q}}}`, tracking, what, open))
}

func parse(t testing.TB, raw string) event.Event {
	t.Helper()
	ev, err := event.Parse(json.RawMessage(raw))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// Count runs a counting query on st.
func Count(t testing.TB, st store.Store, q string, args ...any) int {
	t.Helper()
	var n int
	if err := st.DB().QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func write(t *testing.T, st store.Store, batches ...*store.EventBatch) []store.EventResult {
	t.Helper()
	res, err := st.WriteEvents(context.Background(), batches)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// UnknownTypes lists each app's stored types of unknown kind with their
// first receive time; known kinds, other apps and later or re-sent
// events change nothing.
func testUnknownTypes(t *testing.T, o Opener) {
	st := o.Open(t)
	custom := func(typ, tracking string) event.Event {
		return parse(t, fmt.Sprintf(`{"type":%q,"tracking_id":%q,"props":{"what":"x","wx_user":{"open_id":"o1"}}}`, typ, tracking))
	}
	first := t0.Add(time.Hour)
	write(t, st, &store.EventBatch{AppID: "a", ReceivedAt: first, Events: []event.Event{
		custom("shop_custom", "T1"), SearchEvent(t, "T1", 1795373591817, "x", "o1")}})
	write(t, st, &store.EventBatch{AppID: "a", ReceivedAt: first.Add(time.Hour), Events: []event.Event{
		custom("shop_custom", "T2"), custom("other_custom", "T2")}},
		&store.EventBatch{AppID: "b", ReceivedAt: first.Add(time.Hour), Events: []event.Event{custom("b_only", "T3")}})
	got, err := st.UnknownTypes(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{"shop_custom": first.UTC(), "other_custom": first.Add(time.Hour).UTC()}
	if len(got) != len(want) {
		t.Fatalf("unknown types %v, want %v", got, want)
	}
	for typ, at := range want {
		if !got[typ].Equal(at) {
			t.Errorf("%s first received %v, want %v", typ, got[typ], at)
		}
	}
}

func testWriteEventsDeduplicates(t *testing.T, o Opener) {
	st := o.Open(t)
	now := time.Now()
	b1 := &store.EventBatch{AppID: "a", ReceivedAt: now, Events: []event.Event{
		SearchEvent(t, "T", 1795373591817, "x", "o1"),
		SearchEvent(t, "T", 1795373591818, "y", "o1"),
	}, Quarantined: []event.Quarantined{{Type: "search", Reason: "props.keyword: required", Raw: json.RawMessage(`{"type":"search"}`)}}}
	if res := write(t, st, b1); res[0] != (store.EventResult{Accepted: 2, Quarantined: 1}) {
		t.Fatalf("first write: %+v", res[0])
	}
	// The re-send (other user context, same content) and a new event, and
	// the same event twice in one flush from another batch.
	b2 := &store.EventBatch{AppID: "a", ReceivedAt: now, Events: []event.Event{
		SearchEvent(t, "T", 1795373591817, "x", "o2"),
		SearchEvent(t, "T", 1795373591900, "z", "o1"),
	}}
	b3 := &store.EventBatch{AppID: "a", ReceivedAt: now, Events: []event.Event{SearchEvent(t, "T", 1795373591900, "z", "o1")}}
	// The same event for another app is not a duplicate.
	b4 := &store.EventBatch{AppID: "b", ReceivedAt: now, Events: []event.Event{SearchEvent(t, "T", 1795373591817, "x", "o1")}}
	res := write(t, st, b2, b3, b4)
	want := []store.EventResult{{Accepted: 1, Duplicates: 1}, {Duplicates: 1}, {Accepted: 1}}
	if !reflect.DeepEqual(res, want) {
		t.Errorf("results %+v, want %+v", res, want)
	}
	if n := Count(t, st, `SELECT count(*) FROM events WHERE app_id='a'`); n != 3 {
		t.Errorf("events: %d, want 3", n)
	}
	if n := Count(t, st, `SELECT count(*) FROM event_contexts`); n != 3 {
		t.Errorf("contexts: %d, want 3 (o1 and o2 for a, o1 for b)", n)
	}
	if n := Count(t, st, `SELECT count(*) FROM quarantine WHERE reason LIKE 'props.keyword%'`); n != 1 {
		t.Errorf("quarantine: %d", n)
	}
	// The props are kept whole and read as JSON in SQL on both stores
	// (the embedded store keeps their text, migration 0023).
	if n := Count(t, st, `SELECT count(*) FROM events WHERE app_id = 'a' AND (props->>'keyword') = 'z'`); n != 1 {
		t.Errorf("events with props.keyword z: %d, want 1", n)
	}
	// A re-send a minute later, in a flush of its own.
	if res := write(t, st, &store.EventBatch{AppID: "a", ReceivedAt: now.Add(time.Minute), Events: b1.Events}); res[0] != (store.EventResult{Duplicates: 2}) {
		t.Errorf("re-send: %+v", res[0])
	}
}

// The intake position moves with the batches that carry it, in their
// transaction: a flush whose hook fails leaves it where it was, a flush
// of an upload with nothing to store still moves it, and it survives a
// restart.
func testIntakePosition(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	pos := func(want uint64) {
		t.Helper()
		got, err := st.IntakePosition(ctx)
		if err != nil || got != want {
			t.Fatalf("intake position %d, %v; want %d", got, err, want)
		}
	}
	pos(0)
	now := time.Now()
	write(t, st, &store.EventBatch{AppID: "a", ReceivedAt: now, IntakeSeq: 7, Events: []event.Event{SearchEvent(t, "T", 1795373591817, "x", "o1")}},
		&store.EventBatch{AppID: "a", ReceivedAt: now, IntakeSeq: 5, Events: []event.Event{SearchEvent(t, "T", 1795373591818, "y", "o1")}})
	pos(7)
	write(t, st, &store.EventBatch{AppID: "a", ReceivedAt: now, IntakeSeq: 8}) // nothing to store
	pos(8)
	boom := errors.New("hook fails")
	st.SetEventHook(func(context.Context, store.Tx, []*store.EventBatch) error { return boom })
	if _, err := st.WriteEvents(ctx, []*store.EventBatch{{AppID: "a", ReceivedAt: now, IntakeSeq: 9,
		Events: []event.Event{SearchEvent(t, "T", 1795373591900, "z", "o1")}}}); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the hook's", err)
	}
	pos(8)
	st.SetEventHook(nil)
	// A flush without intake numbers (the data-api's, a test's) leaves it.
	write(t, st, &store.EventBatch{AppID: "a", ReceivedAt: now, Events: []event.Event{SearchEvent(t, "T", 1795373591901, "w", "o1")}})
	pos(8)
	st = o.Reopen(t, st)
	pos(8)
}

// An event without props.time is keyed by what it says, not by when it
// arrived: the same body posted again is one event.
func testUntimedEventsDeduplicate(t *testing.T, o Opener) {
	st := o.Open(t)
	now := time.Now()
	e := UntimedEvent(t, "T", "x", "o1")
	if !e.Time.IsZero() {
		t.Fatal("event has a time")
	}
	other := UntimedEvent(t, "T", "y", "o1")
	if res := write(t, st, &store.EventBatch{AppID: "a", ReceivedAt: now, Events: []event.Event{e}}); res[0].Accepted != 1 {
		t.Fatalf("first: %+v", res[0])
	}
	res := write(t, st,
		&store.EventBatch{AppID: "a", ReceivedAt: now.Add(3 * time.Second), Events: []event.Event{e, other}},
		&store.EventBatch{AppID: "a", ReceivedAt: now.Add(4 * time.Second), Events: []event.Event{other}})
	if want := []store.EventResult{{Accepted: 1, Duplicates: 1}, {Duplicates: 1}}; !reflect.DeepEqual(res, want) {
		t.Fatalf("re-post: %+v, want %+v", res, want)
	}
	if n := Count(t, st, `SELECT count(*) FROM events`); n != 2 {
		t.Fatalf("%d events stored, want 2", n)
	}
	// A timed event with the same content is another event.
	timed := parse(t, `{"type":"shop_custom","tracking_id":"T","props":{"what":"x","time":1795373591817,"wx_user":{"open_id":"o1"}}}`)
	if res := write(t, st, &store.EventBatch{AppID: "a", ReceivedAt: now, Events: []event.Event{timed}}); res[0].Accepted != 1 {
		t.Fatalf("timed: %+v", res[0])
	}
}

func testWriterGroupCommit(t *testing.T, o Opener) {
	st := o.Open(t)
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
	for i := range 40 {
		wg.Go(func() {
			res, err := w.Write(context.Background(), &store.EventBatch{AppID: "a", ReceivedAt: time.Now(),
				Events: []event.Event{SearchEvent(t, fmt.Sprint("T", i), 1795373591817, "x", "o")}})
			if err != nil || res.Accepted != 1 {
				t.Errorf("write %d: %+v %v", i, res, err)
			}
		})
	}
	wg.Wait()
	w.Close()
	if _, err := w.Write(context.Background(), &store.EventBatch{AppID: "a"}); !errors.Is(err, store.ErrWriterClosed) {
		t.Errorf("write after close: %v", err)
	}
	if events != 40 || commits >= 40 {
		t.Errorf("%d events in %d commits: want 40 events in fewer commits", events, commits)
	}
	if n := Count(t, st, `SELECT count(*) FROM events`); n != 40 {
		t.Errorf("stored %d", n)
	}
}

// failing is a store whose writes fail while fail is set, as a full disk
// or a lost connection would make them.
type failing struct {
	store.Store
	fail atomic.Bool
}

var errFull = fmt.Errorf("%w: no space left on device", store.ErrUnavailable)

func (f *failing) WriteEvents(ctx context.Context, b []*store.EventBatch) ([]store.EventResult, error) {
	if f.fail.Load() {
		return nil, errFull
	}
	return f.Store.WriteEvents(ctx, b)
}

// A failed commit is every waiting request's failure (none of them may
// answer code 0), nothing of it is stored, and the writer goes on.
func testWriterFailure(t *testing.T, o Opener) {
	st := &failing{Store: o.Open(t)}
	st.fail.Store(true)
	w := store.NewWriter(st, store.WriterOptions{MaxWait: 20 * time.Millisecond})
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			_, err := w.Write(context.Background(), &store.EventBatch{AppID: "a", ReceivedAt: time.Now(),
				Events: []event.Event{SearchEvent(t, fmt.Sprint("F", i), 1795373591817, "x", "o")}})
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("write %d during the failure: %v, want ErrUnavailable", i, err)
			}
		})
	}
	wg.Wait()
	if n := Count(t, st, `SELECT count(*) FROM events`); n != 0 || w.Waiting() != 0 {
		t.Fatalf("%d events stored and %d waiting after failed commits", n, w.Waiting())
	}
	st.fail.Store(false)
	if res, err := w.Write(context.Background(), &store.EventBatch{AppID: "a", ReceivedAt: time.Now(),
		Events: []event.Event{SearchEvent(t, "after", 1795373591817, "x", "o")}}); err != nil || res.Accepted != 1 {
		t.Fatalf("after the failure: %+v %v", res, err)
	}
	w.Close()
}

// An SDK re-send of an upload carries its invalid events and malformed
// click ids again; each is quarantined once while the re-send is inside
// the dedup window, and again after it.
func testQuarantineDeduplicates(t *testing.T, o Opener) {
	st := o.Open(t)
	upload := func(recv time.Time, keyword string) *store.EventBatch {
		return &store.EventBatch{AppID: "a", ReceivedAt: recv, Events: []event.Event{SearchEvent(t, "T", 1795373591817, "x", "o1")},
			Quarantined: []event.Quarantined{
				{Type: "search", Reason: "props.keyword: required", Raw: json.RawMessage(`{"type":"search","n":1}`)},
				{Type: "search", Reason: "props.keyword: required", Raw: json.RawMessage(`{"type":"search","n":` + keyword + `}`)},
			},
			BadClicks: []event.Quarantined{{Type: "search", Reason: "malformed click id", Raw: json.RawMessage(`{"value":"bad!"}`)}},
		}
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
		res := write(t, st, tc.batches...)
		if res[0].Quarantined != 2 {
			t.Errorf("write %d: %d quarantined, want 2 (the answer counts them whether stored before or not)", i, res[0].Quarantined)
		}
		if n := Count(t, st, `SELECT count(*) FROM quarantine WHERE source = 'sdk'`); n != tc.sdk {
			t.Errorf("write %d: %d sdk rows, want %d", i, n, tc.sdk)
		}
		if n := Count(t, st, `SELECT count(*) FROM quarantine WHERE source = 'attribution'`); n != tc.attribution {
			t.Errorf("write %d: %d attribution rows, want %d", i, n, tc.attribution)
		}
	}
}

// The touches are one per app, user and click: the earliest time and
// every id any stored event carried. A process skips the upserts it knows
// change nothing; the result must be what the upserts alone make.
func testAdTouches(t *testing.T, o Opener) {
	st := o.Open(t)
	const click = "wx0ewinbalytptma00"
	n := int64(0)
	at0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	visit := func(open, union, adID string, at time.Time) event.Event {
		n++
		return event.Event{Type: event.BrowseWxappPage, Kind: event.KindOf(event.BrowseWxappPage), Time: at.UTC(), Key: n,
			TrackingID: "t", UserKey: open, OpenID: open, UnionID: union, Page: "pages/index/index", Props: json.RawMessage(`{}`),
			GdtVid: click, ClickID: click, AdID: adID}
	}
	w := func(ev ...event.Event) {
		t.Helper()
		write(t, st, &store.EventBatch{AppID: "a", ReceivedAt: time.Now(), Events: ev})
	}
	first := visit("o1", "", "", at0)
	w(first)
	w(visit("o1", "", "", at0.Add(time.Hour)))        // known: nothing to change
	w(visit("o1", "", "", at0.Add(-time.Hour)))       // earlier
	w(visit("o1", "u1", "777", at0.Add(2*time.Hour))) // adds the ad and union ids
	// A re-send of the first event naming another user is a duplicate: it
	// makes no touch, and a later event of that user must still make one.
	resend := first
	resend.OpenID, resend.UserKey = "o2", "o2"
	w(resend)
	if c := Count(t, st, `SELECT count(*) FROM ad_touches WHERE user_key = 'o2'`); c != 0 {
		t.Fatalf("duplicate made a touch")
	}
	w(visit("o2", "", "", at0.Add(3*time.Hour)))
	// Without an open_id the union_id is the user; without either, none.
	w(visit("", "u3", "", at0), visit("", "", "", at0))

	var got []store.Touch
	err := st.Transact(context.Background(), func(tx store.Tx) error {
		var err error
		got, err = tx.Touches(context.Background(), "a", []string{"o1", "o2"}, []string{"u3"}, at0.Add(-2*time.Hour), at0.Add(3*time.Hour))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(got, func(i, j int) bool { return got[i].UserKey < got[j].UserKey })
	want := []store.Touch{
		{AppID: "a", UserKey: "o1", OpenID: "o1", UnionID: "u1", ClickID: click, AdID: "777", FirstSeen: at0.Add(-time.Hour)},
		{AppID: "a", UserKey: "o2", OpenID: "o2", ClickID: click, FirstSeen: at0.Add(3 * time.Hour)},
		{AppID: "a", UserKey: "u3", UnionID: "u3", ClickID: click, FirstSeen: at0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("touches\n%+v\nwant\n%+v", got, want)
	}
	// The range bounds first_seen; the ad of a click is found by click id.
	_ = st.Transact(context.Background(), func(tx store.Tx) error {
		got, err = tx.Touches(context.Background(), "a", []string{"o1", "o2"}, nil, at0, at0.Add(2*time.Hour))
		if err != nil || len(got) != 0 {
			t.Errorf("touches before o1's first and after o2's: %+v %v", got, err)
		}
		if ad, err := tx.AdOfClick(context.Background(), "a", click); ad != "777" || err != nil {
			t.Errorf("ad of click: %q %v", ad, err)
		}
		if ad, err := tx.AdOfClick(context.Background(), "b", click); ad != "" || err != nil {
			t.Errorf("ad of another app's click: %q %v", ad, err)
		}
		return nil
	})
}

// The event hook runs in the flush's transaction with every batch; what it
// writes commits with the events, and its error rolls everything back.
func testEventHook(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	boom := errors.New("outbox full")
	fail := true
	st.SetEventHook(func(ctx context.Context, tx store.Tx, batches []*store.EventBatch) error {
		if _, err := tx.AddConversions(ctx, []store.Conversion{conv("c-"+batches[0].Events[0].Keyword, "a")}); err != nil {
			return err
		}
		if fail {
			return boom
		}
		return nil
	})
	b := &store.EventBatch{AppID: "a", ReceivedAt: time.Now(), Events: []event.Event{SearchEvent(t, "T", 1795373591817, "x", "o1")},
		Quarantined: []event.Quarantined{{Type: "x", Reason: "r", Raw: json.RawMessage(`{}`)}}}
	if _, err := st.WriteEvents(ctx, []*store.EventBatch{b}); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the hook's", err)
	}
	for _, table := range []string{"events", "event_contexts", "quarantine", "ad_conversions"} {
		if n := Count(t, st, `SELECT count(*) FROM `+table); n != 0 {
			t.Errorf("%s: %d rows after the hook failed", table, n)
		}
	}
	fail = false
	if res := write(t, st, b); res[0].Accepted != 1 {
		t.Fatalf("after: %+v", res)
	}
	if n := Count(t, st, `SELECT count(*) FROM ad_conversions WHERE id = 'c-x'`); n != 1 {
		t.Fatalf("hook's conversion: %d rows", n)
	}
}

func rolled(t testing.TB, st store.Store) int {
	return Count(t, st, `SELECT coalesce(sum(events), 0) FROM rollup_event_types`)
}

// The roll-ups follow the committed events through RollUp, once each,
// across a reopen (as after a crash between a commit and its roll-up).
func testRollUpCatchesUpOnce(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	rollUp := func(want int) {
		t.Helper()
		for range 2 { // the second must add nothing
			if err := st.RollUp(ctx); err != nil {
				t.Fatal(err)
			}
			if n := rolled(t, st); n != want {
				t.Fatalf("rolled up %d events, want %d", n, want)
			}
		}
	}
	w := func(ev ...event.Event) {
		write(t, st, &store.EventBatch{AppID: "a", ReceivedAt: time.Now(), Events: ev})
	}
	w(SearchEvent(t, "T", 1795373591817, "x", "o1"), SearchEvent(t, "T", 1795373591818, "y", "o1"))
	if n := rolled(t, st); n != 0 {
		t.Fatalf("rolled up before RollUp: %d", n)
	}
	rollUp(2)
	// A duplicate adds nothing; a new event is rolled up after a reopen.
	w(SearchEvent(t, "T", 1795373591817, "x", "o1"), SearchEvent(t, "T", 1795373591900, "z", "o1"))
	st = o.Reopen(t, st)
	if n := rolled(t, st); n != 2 {
		t.Fatalf("after reopen: %d rolled up, want 2 until RollUp", n)
	}
	rollUp(3)
	w(SearchEvent(t, "T", 1795373591950, "w", "o1"))
	rollUp(4)
}

// A flush that commits after a later one must still be rolled up: with
// several writers the flushes' numbers do not commit in order, and a mark
// that passed the late one would skip it for ever.
func testRollUpCountsLateCommit(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	entered, release := make(chan struct{}), make(chan struct{})
	st.SetEventHook(func(ctx context.Context, tx store.Tx, batches []*store.EventBatch) error {
		if batches[0].AppID == "slow" {
			close(entered)
			<-release
		}
		return nil
	})
	var wg sync.WaitGroup
	wg.Go(func() {
		write(t, st, &store.EventBatch{AppID: "slow", ReceivedAt: time.Now(), Events: []event.Event{SearchEvent(t, "S", 1795373591817, "x", "o1")}})
	})
	<-entered
	// A later flush and a roll-up while the first is open. The embedded
	// store serialises them behind it; the shared one commits the second
	// at once, and its roll-up must wait for or leave room for the first.
	fast := make(chan struct{})
	wg.Go(func() {
		write(t, st, &store.EventBatch{AppID: "fast", ReceivedAt: time.Now(), Events: []event.Event{SearchEvent(t, "F", 1795373591817, "x", "o1")}})
		close(fast)
	})
	rolledUp := make(chan error, 1)
	wg.Go(func() {
		select {
		case <-fast:
		case <-time.After(2 * time.Second): // serialised behind the first
		}
		rolledUp <- st.RollUp(ctx)
	})
	select {
	case err := <-rolledUp:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Second):
	}
	close(release)
	wg.Wait()
	if err := st.RollUp(ctx); err != nil {
		t.Fatal(err)
	}
	for _, app := range []string{"slow", "fast"} {
		if n := Count(t, st, `SELECT coalesce(sum(events), 0) FROM rollup_event_types WHERE app_id = $1`, app); n != 1 {
			t.Errorf("app %s: %d events rolled up, want 1", app, n)
		}
	}
}
