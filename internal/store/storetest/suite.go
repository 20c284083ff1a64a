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
		{"AppState", testAppState},
		{"Nonces", testNonces},
		{"NoncesSurviveReopen", testNoncesSurviveReopen},
		{"Tokens", testTokens},
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
	// A re-send a minute later, in a flush of its own.
	if res := write(t, st, &store.EventBatch{AppID: "a", ReceivedAt: now.Add(time.Minute), Events: b1.Events}); res[0] != (store.EventResult{Duplicates: 2}) {
		t.Errorf("re-send: %+v", res[0])
	}
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

// testOrder is an order with two goods lines in status at the given time;
// statuses from 1140 on count as paid, like the domain decides.
func testOrder(id string, status int64, at time.Time) store.Order {
	o := store.Order{
		ExternalID: id, CreateTime: t0, Source: "wxapp", Type: 1, GoodsNumTotal: 3,
		GoodsFen: 9000, FreightFen: 1000, OrderFen: 10000, PayableFen: 9500, PaymentFen: 9500,
		Status: status, StatusTime: at, OpenID: "o-" + id, UnionID: "u-" + id,
		Goods: []store.Goods{
			{SKUID: "s1", SKUName: "tea", SPUID: "p1", SPUName: "tea", GoodsFen: 3000, PaymentFen: 5700, Num: 2},
			{SKUID: "s2", SKUName: "cup", SPUID: "p2", SPUName: "cup", GoodsFen: 3000, PaymentFen: 2800, Num: 1, StoreID: "st1"},
		},
		Raw: json.RawMessage(fmt.Sprintf(`{"external_order_id":%q,"order_status":"%d"}`, id, status)),
	}
	if status >= 1140 && status != 9999 {
		o.PaidTime = at
	}
	return o
}

// TestOrder is testOrder for the stores' own tests.
func TestOrder(id string, status int64, at time.Time) store.Order { return testOrder(id, status, at) }

func addOrders(t *testing.T, st store.Store, orders ...store.Order) store.OrderResult {
	t.Helper()
	res, err := st.AddOrders(context.Background(), []*store.OrderBatch{{AppID: "a", ReceivedAt: t0, Orders: orders}})
	if err != nil {
		t.Fatal(err)
	}
	return res[0]
}

type orderState struct {
	Status  int64
	At      time.Time
	Paid    *time.Time
	Payment int64
	Goods   int
	History int
}

func stateOf(t *testing.T, st store.Store, id string) orderState {
	t.Helper()
	var s orderState
	if err := st.DB().QueryRow(`SELECT status, status_change_time, paid_time, payment_fen,
		(SELECT count(*) FROM order_goods g WHERE g.app_id = o.app_id AND g.external_order_id = o.external_order_id),
		(SELECT count(*) FROM order_status_history h WHERE h.app_id = o.app_id AND h.external_order_id = o.external_order_id)
		FROM orders o WHERE app_id = 'a' AND external_order_id = $1`, id).Scan(&s.Status, &s.At, &s.Paid, &s.Payment, &s.Goods, &s.History); err != nil {
		t.Fatalf("order %s: %v", id, err)
	}
	s.At = s.At.UTC()
	if s.Paid != nil {
		p := s.Paid.UTC()
		s.Paid = &p
	}
	return s
}

func ptr(t time.Time) *time.Time { return &t }

func testAddOrdersStatusFlow(t *testing.T, o Opener) {
	st := o.Open(t)
	t1, t2, t3 := t0.Add(time.Minute), t0.Add(2*time.Minute), t0.Add(3*time.Minute)

	res := addOrders(t, st, testOrder("A", 1110, t0))
	if res.Created != 1 || res.Updated != 0 || len(res.Paid) != 0 {
		t.Fatalf("create: %+v", res)
	}
	// Paid, then shipped: only the first makes it paid.
	res = addOrders(t, st, testOrder("A", 1150, t1))
	want := []store.PaidOrder{{AppID: "a", ExternalID: "A", PaidTime: t1, PaymentFen: 9500, OpenID: "o-A", UnionID: "u-A"}}
	if res.Updated != 1 || !reflect.DeepEqual(res.Paid, want) {
		t.Fatalf("paid: %+v", res)
	}
	res = addOrders(t, st, testOrder("A", 1160, t3))
	if res.Updated != 1 || len(res.Paid) != 0 {
		t.Fatalf("shipped: %+v", res)
	}
	// An older update arrives late: kept in the history, not applied.
	late := testOrder("A", 1150, t2)
	late.PaymentFen = 1
	res = addOrders(t, st, late)
	if res.Stale != 1 || res.Updated != 0 || len(res.Paid) != 0 {
		t.Fatalf("late: %+v", res)
	}
	got := stateOf(t, st, "A")
	if want := (orderState{Status: 1160, At: t3, Paid: ptr(t1), Payment: 9500, Goods: 2, History: 4}); !reflect.DeepEqual(got, want) {
		t.Fatalf("after late update: %+v, want %+v", got, want)
	}
	// The same call again changes nothing.
	res = addOrders(t, st, testOrder("A", 1160, t3))
	if res.Updated != 1 || len(res.Paid) != 0 {
		t.Fatalf("repeat: %+v", res)
	}
	if got2 := stateOf(t, st, "A"); !reflect.DeepEqual(got2, got) {
		t.Fatalf("repeat changed the order: %+v, was %+v", got2, got)
	}
}

func testAddOrdersPaidOutOfOrder(t *testing.T, o Opener) {
	st := o.Open(t)
	t1, t2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
	// Shipped arrives before paid: paid at the shipped time, then the
	// earlier paid time, without a second "became paid".
	if res := addOrders(t, st, testOrder("B", 1160, t2)); len(res.Paid) != 1 || !res.Paid[0].PaidTime.Equal(t2) {
		t.Fatalf("shipped first: %+v", res)
	}
	if res := addOrders(t, st, testOrder("B", 1150, t1)); res.Stale != 1 || len(res.Paid) != 0 {
		t.Fatalf("paid late: %+v", res)
	}
	if got := stateOf(t, st, "B"); got.Status != 1160 || !got.Paid.Equal(t1) || got.History != 2 {
		t.Fatalf("state: %+v", got)
	}
	// Several statuses of one order in one call.
	res := addOrders(t, st, testOrder("C", 1180, t2), testOrder("C", 1110, t0), testOrder("C", 1150, t1))
	if res.Created != 1 || len(res.Paid) != 1 || !res.Paid[0].PaidTime.Equal(t1) {
		t.Fatalf("one call: %+v", res)
	}
	if got := stateOf(t, st, "C"); got.Status != 1180 || got.History != 3 {
		t.Fatalf("state: %+v", got)
	}
}

func testAddOrdersReplacesChangedGoods(t *testing.T, o Opener) {
	st := o.Open(t)
	addOrders(t, st, testOrder("G", 1110, t0), testOrder("H", 1110, t0))
	g := testOrder("G", 1150, t0.Add(time.Minute))
	g.Goods = g.Goods[:1]
	g.Goods[0].Num = 3
	addOrders(t, st, g)
	var n, units int
	if err := st.DB().QueryRow(`SELECT count(*), sum(goods_num) FROM order_goods WHERE external_order_id = 'G'`).Scan(&n, &units); err != nil {
		t.Fatal(err)
	}
	if n != 1 || units != 3 {
		t.Fatalf("goods of G: %d lines, %d units; want 1, 3", n, units)
	}
	if got := stateOf(t, st, "H"); got.Goods != 2 {
		t.Fatalf("H lost goods: %+v", got)
	}
}

func testAddOrdersSeveralBatches(t *testing.T, o Opener) {
	st := o.Open(t)
	t1 := t0.Add(time.Minute)
	// Two calls committed together name the same order: the second is
	// applied after the first, in a round of its own.
	res, err := st.AddOrders(context.Background(), []*store.OrderBatch{
		{AppID: "a", ReceivedAt: t0, Orders: []store.Order{testOrder("A", 1110, t0), testOrder("B", 1110, t0)}},
		{AppID: "b", ReceivedAt: t0, Orders: []store.Order{testOrder("A", 1150, t1)}}, // another app's A
		{AppID: "a", ReceivedAt: t0, Orders: []store.Order{testOrder("A", 1150, t1)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Created != 2 || res[1].Created != 1 || len(res[1].Paid) != 1 || res[2].Updated != 1 || len(res[2].Paid) != 1 {
		t.Fatalf("results %+v", res)
	}
	if got := stateOf(t, st, "A"); got.Status != 1150 || got.History != 2 || got.Goods != 2 {
		t.Fatalf("A of app a: %+v", got)
	}
	if n := Count(t, st, `SELECT count(*) FROM orders WHERE external_order_id = 'A'`); n != 2 {
		t.Fatalf("orders A: %d, want one per app", n)
	}
}

func testAddOrdersHookRollsBack(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	boom := errors.New("outbox full")
	var seen []store.PaidOrder
	_, err := st.AddOrders(ctx, []*store.OrderBatch{{AppID: "a", ReceivedAt: t0,
		Orders: []store.Order{testOrder("P", 1150, t0), testOrder("Q", 1110, t0)},
		OnPaid: func(ctx context.Context, tx store.Tx, paid []store.PaidOrder) error {
			seen = paid
			if _, err := tx.AddConversions(ctx, []store.Conversion{conv("c-P", "a")}); err != nil {
				return err
			}
			return boom
		}}})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the hook's", err)
	}
	if len(seen) != 1 || seen[0].ExternalID != "P" {
		t.Fatalf("hook got %+v", seen)
	}
	for _, table := range []string{"orders", "order_goods", "order_status_history", "ad_conversions"} {
		if n := Count(t, st, `SELECT count(*) FROM `+table); n != 0 {
			t.Errorf("%s: %d rows after rollback", table, n)
		}
	}
	// A hook writing through tx commits with the orders.
	if _, err := st.AddOrders(ctx, []*store.OrderBatch{{AppID: "a", ReceivedAt: t0,
		Orders: []store.Order{testOrder("P", 1150, t0)},
		OnPaid: func(ctx context.Context, tx store.Tx, paid []store.PaidOrder) error {
			_, err := tx.AddConversions(ctx, []store.Conversion{conv("c-"+paid[0].ExternalID, paid[0].AppID)})
			return err
		}}}); err != nil {
		t.Fatal(err)
	}
	if n := Count(t, st, `SELECT count(*) FROM ad_conversions WHERE id = 'c-P'`); n != 1 {
		t.Fatalf("hook row: %d", n)
	}
}

func testOrderSumsAndPages(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	d1 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	sums := []store.OrderSum{
		{Day: d1, GiveOrderFen: 100, GiveOrderNum: 1, PaymentFen: 100, PayedNum: 1, Raw: json.RawMessage(`{}`)},
		{Day: d1, GiveOrderFen: 200, GiveOrderNum: 2, PaymentFen: 150, PayedNum: 1, Raw: json.RawMessage(`{}`)},
	}
	if err := st.AddOrderSums(ctx, "a", sums, t0); err != nil {
		t.Fatal(err)
	}
	if err := st.AddOrderSums(ctx, "a", sums[1:], t0); err != nil {
		t.Fatal(err)
	}
	var day string
	var fen, num int
	if err := st.DB().QueryRow(`SELECT CAST(ref_date AS VARCHAR), give_order_fen, give_order_num FROM order_sums`).Scan(&day, &fen, &num); err != nil {
		t.Fatal(err)
	}
	if day != "2025-03-01" || fen != 200 || num != 2 {
		t.Fatalf("sum: %s %d %d", day, fen, num)
	}

	pages := []store.VisitPage{
		{Day: d1, PagePath: "pages/index/index", Page: "pages/index/index", VisitPV: 10, VisitUV: 5, StayTimePV: 3.5},
		{Day: d1, PagePath: "pages/cart/cart", Page: "pages/cart/cart", VisitPV: 4},
		{Day: d1, PagePath: "pages/index/index", Page: "pages/index/index", VisitPV: 12, VisitUV: 6},
	}
	for range 2 {
		if err := st.AddVisitPages(ctx, "a", pages, t0); err != nil {
			t.Fatal(err)
		}
	}
	if n := Count(t, st, `SELECT count(*) FROM wxapp_visit_pages`); n != 2 {
		t.Fatalf("pages: %d rows", n)
	}
	if n := Count(t, st, `SELECT page_visit_pv FROM wxapp_visit_pages WHERE page_path = 'pages/index/index'`); n != 12 {
		t.Fatalf("index pv: %d", n)
	}
}

func testDataSources(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	ds, created, err := st.AddDataSource(ctx, store.DataSource{AppID: "a", ID: "100", Type: 0, MerchantID: "m", CreatedAt: t0})
	if err != nil || !created || ds.ID != "100" {
		t.Fatalf("add: %+v %v %v", ds, created, err)
	}
	ds, created, err = st.AddDataSource(ctx, store.DataSource{AppID: "a", ID: "200", Type: 0, CreatedAt: t0})
	if err != nil || created || ds.ID != "100" || ds.MerchantID != "m" {
		t.Fatalf("second of type 0: %+v %v %v", ds, created, err)
	}
	if _, _, err := st.AddDataSource(ctx, store.DataSource{AppID: "a", ID: "300", Type: 51, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.AddDataSource(ctx, store.DataSource{AppID: "b", ID: "100", Type: 0, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	list, err := st.DataSources(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "100" || list[1].ID != "300" || !list[0].CreatedAt.Equal(t0) {
		t.Fatalf("list: %+v", list)
	}
}

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

func testAppState(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	if _, ok, err := st.AppState(ctx, "a", "k"); ok || err != nil {
		t.Fatalf("unset: %v %v", ok, err)
	}
	for _, v := range []string{"1", "2"} {
		if err := st.SetAppState(ctx, "a", "k", v, t0); err != nil {
			t.Fatal(err)
		}
	}
	if v, ok, err := st.AppState(ctx, "a", "k"); v != "2" || !ok || err != nil {
		t.Fatalf("get: %q %v %v", v, ok, err)
	}
	if _, ok, _ := st.AppState(ctx, "b", "k"); ok {
		t.Fatal("another app's state")
	}
}

func testNonces(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	use := func(app, nonce string, now time.Time) bool {
		t.Helper()
		fresh, err := st.UseNonce(ctx, app, nonce, now, now.Add(5*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return fresh
	}
	if !use("a", "n1", t0) || use("a", "n1", t0.Add(time.Minute)) {
		t.Fatal("a nonce must be fresh once")
	}
	if !use("b", "n1", t0) {
		t.Fatal("another app's nonce")
	}
	if !use("a", "n1", t0.Add(6*time.Minute)) {
		t.Fatal("an expired nonce is fresh again")
	}
	// Many uses at once: one winner.
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Go(func() {
			fresh, err := st.UseNonce(ctx, "a", "race", t0, t0.Add(time.Minute))
			if err != nil {
				t.Error(err)
			}
			if fresh {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d uses of one nonce were fresh", wins)
	}
}

func testNoncesSurviveReopen(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	if fresh, err := st.UseNonce(ctx, "a", "n", t0, t0.Add(5*time.Minute)); !fresh || err != nil {
		t.Fatal(fresh, err)
	}
	st = o.Reopen(t, st)
	if fresh, err := st.UseNonce(ctx, "a", "n", t0.Add(time.Minute), t0.Add(6*time.Minute)); fresh || err != nil {
		t.Fatalf("after a restart the nonce is fresh again (%v)", err)
	}
}

func testTokens(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	if _, ok, err := st.LoadToken(ctx, "wx1"); ok || err != nil {
		t.Fatalf("no token yet: %v %v", ok, err)
	}
	tok := store.Token{Value: "T1", FetchedAt: t0, ExpiresAt: t0.Add(2 * time.Hour), RefreshAt: t0.Add(115 * time.Minute)}
	if err := st.SaveToken(ctx, "wx1", tok); err != nil {
		t.Fatal(err)
	}
	tok2 := tok
	tok2.Value = "T2"
	if err := st.SaveToken(ctx, "wx1", tok2); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := st.LoadToken(ctx, "wx1"); !ok || err != nil || got != tok2 {
		t.Fatalf("load: %+v %v %v, want %+v", got, ok, err, tok2)
	}
	// A caller reporting the stale T1 cannot drop the fresh T2.
	if deleted, err := st.DeleteTokenIf(ctx, "wx1", "T1"); deleted || err != nil {
		t.Fatalf("delete of a stale value: %v %v", deleted, err)
	}
	if deleted, err := st.DeleteTokenIf(ctx, "wx1", "T2"); !deleted || err != nil {
		t.Fatalf("delete: %v %v", deleted, err)
	}
	if _, ok, _ := st.LoadToken(ctx, "wx1"); ok {
		t.Fatal("token still there")
	}
	if lead, err := st.Lead(ctx, "token wx1"); !lead || err != nil {
		t.Fatalf("the only process does not lead: %v %v", lead, err)
	}
}
