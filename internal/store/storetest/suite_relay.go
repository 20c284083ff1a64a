package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/store"
)

func relayRow(app, kind, ref, body string) store.Relay {
	return store.Relay{AppID: app, Kind: kind, RefID: ref, Body: body, ReceivedAt: t0}
}

func addRelays(t *testing.T, st store.Store, rs ...store.Relay) {
	t.Helper()
	if err := st.Transact(context.Background(), func(tx store.Tx) error {
		return tx.AddRelays(context.Background(), rs)
	}); err != nil {
		t.Fatal(err)
	}
}

func claimBodies(t *testing.T, st store.Store, app, holder string, now time.Time) ([]string, []int64) {
	t.Helper()
	cs, err := st.ClaimRelays(context.Background(), app, holder, now, time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	var seqs []int64
	for _, c := range cs {
		bodies, seqs = append(bodies, c.Body), append(seqs, c.Seq)
	}
	return bodies, seqs
}

// An order's later rows wait for its earlier ones; other rows go in the
// order they were added; a rolled-back transaction adds nothing.
func testRelayOrderPerRef(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	enc := relayRow("a", store.RelaySDK, "", "sdk-1")
	enc.Encrypted = true
	addRelays(t, st, relayRow("a", "order/add_order", "o1", "create-o1"), enc,
		relayRow("a", "order/add_order", "o1", "pay-o1"), relayRow("a", "order/add_order", "o2", "create-o2"),
		relayRow("b", store.RelaySDK, "", "other-app"))
	boom := errors.New("refused")
	if err := st.Transact(ctx, func(tx store.Tx) error {
		if err := tx.AddRelays(ctx, []store.Relay{relayRow("a", store.RelaySDK, "", "rolled-back")}); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("transact: %v", err)
	}
	cs, err := st.ClaimRelays(ctx, "a", "h1", t0, time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, c := range cs {
		bodies = append(bodies, c.Body)
	}
	if want := []string{"create-o1", "sdk-1", "create-o2"}; !reflect.DeepEqual(bodies, want) {
		t.Fatalf("claimed %q, want %q", bodies, want)
	}
	if c := cs[1]; !c.Encrypted || c.Kind != store.RelaySDK || !c.ReceivedAt.Equal(t0) || c.AppID != "a" {
		t.Errorf("sdk row read back as %+v", c)
	}
	// The update of o1 waits while its creation is pending, even unleased
	// (a retry).
	if n, err := st.SettleRelays(ctx, "h1", t0, []store.RelaySettlement{
		{Seqs: []int64{cs[0].Seq}, Status: store.RelayPending, Next: t0.Add(time.Hour), Err: "503"},
		{Seqs: []int64{cs[1].Seq, cs[2].Seq}, Status: store.RelayDelivered},
	}); err != nil || n != 3 {
		t.Fatalf("settle: %d %v", n, err)
	}
	if b, _ := claimBodies(t, st, "a", "h1", t0.Add(30*time.Minute)); len(b) != 0 {
		t.Fatalf("claimed %q before o1's creation was due", b)
	}
	b, seqs := claimBodies(t, st, "a", "h1", t0.Add(time.Hour))
	if !reflect.DeepEqual(b, []string{"create-o1"}) {
		t.Fatalf("claimed %q, want only create-o1", b)
	}
	if _, err := st.SettleRelays(ctx, "h1", t0.Add(time.Hour), []store.RelaySettlement{{Seqs: seqs, Status: store.RelayDelivered}}); err != nil {
		t.Fatal(err)
	}
	if b, _ := claimBodies(t, st, "a", "h1", t0.Add(time.Hour)); !reflect.DeepEqual(b, []string{"pay-o1"}) {
		t.Fatalf("claimed %q, want pay-o1 once its creation was delivered", b)
	}
}

// Rows added after a restart come after every row still stored, also
// when the newest were delivered and pruned in between: an order's update
// added after the restart never overtakes its creation.
func testRelaySeqsAcrossRestart(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	addRelays(t, st, relayRow("a", "order/add_order", "o1", "create-o1"), relayRow("a", store.RelaySDK, "", "sdk-1"),
		relayRow("a", store.RelaySDK, "", "sdk-2"))
	cs, err := st.ClaimRelays(ctx, "a", "h", t0, time.Minute, 100)
	if err != nil || len(cs) != 3 {
		t.Fatalf("claim: %d rows, %v", len(cs), err)
	}
	// The SDK rows, the newest, are delivered and pruned; the creation
	// waits for a retry.
	if _, err := st.SettleRelays(ctx, "h", t0, []store.RelaySettlement{
		{Seqs: []int64{cs[0].Seq}, Status: store.RelayPending, Next: t0.Add(time.Hour), Err: "503"},
		{Seqs: []int64{cs[1].Seq, cs[2].Seq}, Status: store.RelayDelivered},
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := st.PruneRelays(ctx, "a", t0.Add(time.Second)); err != nil || n != 2 {
		t.Fatalf("prune: %d, %v", n, err)
	}
	st = o.Reopen(t, st)
	addRelays(t, st, relayRow("a", "order/add_order", "o1", "pay-o1"), relayRow("a", store.RelaySDK, "", "sdk-3"))
	cs2, err := st.ClaimRelays(ctx, "a", "h", t0.Add(time.Hour), time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, c := range cs2 {
		bodies = append(bodies, c.Body)
		if c.Body != "create-o1" && c.Seq <= cs[0].Seq {
			t.Errorf("%s numbered %d after the restart, not past the stored row's %d", c.Body, c.Seq, cs[0].Seq)
		}
	}
	if want := []string{"create-o1", "sdk-3"}; !reflect.DeepEqual(bodies, want) {
		t.Fatalf("claimed %q after the restart, want %q (the update waits for its creation)", bodies, want)
	}
}

// A lease keeps others off; its end frees the rows; a holder whose rows
// were taken cannot settle them; dead rows replay.
func testRelayLeaseFencingReplay(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	addRelays(t, st, relayRow("a", store.RelaySDK, "", "x"), relayRow("a", store.RelaySDK, "", "y"))
	_, seqs := claimBodies(t, st, "a", "h1", t0)
	if b, _ := claimBodies(t, st, "a", "h2", t0.Add(30*time.Second)); len(b) != 0 {
		t.Fatalf("h2 claimed %q under h1's lease", b)
	}
	if b, _ := claimBodies(t, st, "a", "h2", t0.Add(time.Minute)); len(b) != 2 {
		t.Fatalf("h2 claimed %q after h1's lease ended", b)
	}
	if n, err := st.SettleRelays(ctx, "h1", t0, []store.RelaySettlement{{Seqs: seqs, Status: store.RelayDelivered}}); err != nil || n != 0 {
		t.Fatalf("h1 settled %d rows it no longer holds (%v)", n, err)
	}
	if n, err := st.SettleRelays(ctx, "h2", t0, []store.RelaySettlement{{Seqs: seqs, Status: store.RelayDead, Err: "code 1001"}}); err != nil || n != 2 {
		t.Fatalf("h2 settled %d, %v", n, err)
	}
	counts, err := st.RelayCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []store.RelayCount{{App: "a", Kind: "sdk", Status: "dead", N: 2, OldestReceived: t0}}; !reflect.DeepEqual(counts, want) {
		t.Fatalf("counts %+v, want %+v", counts, want)
	}
	if b, _ := claimBodies(t, st, "a", "h2", t0.Add(time.Hour)); len(b) != 0 {
		t.Fatalf("claimed dead rows %q", b)
	}
	if n, err := st.ReplayRelays(ctx, "a", t0.Add(time.Hour)); err != nil || n != 2 {
		t.Fatalf("replay: %d %v", n, err)
	}
	cs, err := st.ClaimRelays(ctx, "a", "h3", t0.Add(time.Hour), time.Minute, 10)
	if err != nil || len(cs) != 2 || cs[0].Attempts != 1 || cs[0].Body != "x" {
		t.Fatalf("after replay: %+v %v", cs, err)
	}
}

// Pruning drops the app's rows delivered before the cut, and nothing
// pending, dead, newer or of another app.
func testRelayPrune(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	addRelays(t, st, relayRow("a", store.RelaySDK, "", "old"), relayRow("a", store.RelaySDK, "", "new"),
		relayRow("a", store.RelaySDK, "", "dead"), relayRow("a", store.RelaySDK, "", "pending"),
		relayRow("b", store.RelaySDK, "", "other app"))
	cs, err := st.ClaimRelays(ctx, "a", "h", t0, time.Minute, 10)
	if err != nil || len(cs) != 4 {
		t.Fatalf("claim: %d %v", len(cs), err)
	}
	_, bseqs := claimBodies(t, st, "b", "h", t0)
	settle := func(at time.Time, status string, seqs ...int64) {
		t.Helper()
		if n, err := st.SettleRelays(ctx, "h", at, []store.RelaySettlement{{Seqs: seqs, Status: status, Next: at.Add(time.Hour)}}); err != nil || n != len(seqs) {
			t.Fatalf("settle %s: %d %v", status, n, err)
		}
	}
	settle(t0, store.RelayDelivered, cs[0].Seq)
	settle(t0.Add(2*time.Hour), store.RelayDelivered, cs[1].Seq)
	settle(t0, store.RelayDead, cs[2].Seq)
	settle(t0, store.RelayPending, cs[3].Seq)
	settle(t0, store.RelayDelivered, bseqs...)
	if n, err := st.PruneRelays(ctx, "a", t0.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("pruned %d rows (%v), want 1", n, err)
	}
	counts, err := st.RelayCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.RelayCount{
		{App: "a", Kind: "sdk", Status: "dead", N: 1, OldestReceived: t0},
		{App: "a", Kind: "sdk", Status: "delivered", N: 1, OldestReceived: t0},
		{App: "a", Kind: "sdk", Status: "pending", N: 1, OldestReceived: t0},
		{App: "b", Kind: "sdk", Status: "delivered", N: 1, OldestReceived: t0},
	}
	if !reflect.DeepEqual(counts, want) {
		t.Fatalf("left %+v, want %+v", counts, want)
	}
}

// The backend's sums and page reports add their relay rows in the
// transaction that stores them, in the order given.
func testRelayWithBackendData(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	day := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	if err := st.AddOrderSums(ctx, "a", []store.OrderSum{{Day: day, PaymentFen: 100, Raw: json.RawMessage(`{}`)}}, t0,
		relayRow("a", "order/add_order_sum", "order sums", "sum-1")); err != nil {
		t.Fatal(err)
	}
	if err := st.AddVisitPages(ctx, "a", []store.VisitPage{{Day: day, PagePath: "p", Page: "p", VisitPV: 1}}, t0,
		relayRow("a", "analysis/add_wxapp_visit_page", "visit pages", "pages-1")); err != nil {
		t.Fatal(err)
	}
	if err := st.AddOrderSums(ctx, "a", nil, t0, relayRow("a", "order/add_order_sum", "order sums", "sum-2")); err != nil {
		t.Fatal(err)
	}
	b, _ := claimBodies(t, st, "a", "h", t0)
	if want := []string{"sum-1", "pages-1"}; !reflect.DeepEqual(b, want) {
		t.Fatalf("claimed %q, want %q (sum-2 waits for sum-1)", b, want)
	}
}

// A backlog (Youshu down for hours) is claimed as fast as a short queue:
// the order rule must not pair every pending upload with every other (on
// DuckDB a correlated NOT EXISTS did, and 20,000 uploads took the memory
// limit).
func testRelayClaimWithBacklog(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	var rs []store.Relay
	for i := range 20000 {
		rs = append(rs, relayRow("a", store.RelaySDK, "", fmt.Sprint("u", i)))
		if i%5000 == 0 {
			rs = append(rs, relayRow("a", "order/add_order", "o1", fmt.Sprint("o1-", i)))
		}
	}
	for len(rs) > 0 {
		n := min(len(rs), 2000)
		addRelays(t, st, rs[:n]...)
		rs = rs[n:]
	}
	b, seqs := claimBodies(t, st, "a", "h", t0)
	if len(b) != 100 || b[0] != "u0" || b[1] != "o1-0" || b[2] != "u1" {
		t.Fatalf("claimed %d rows starting %q", len(b), b[:min(len(b), 3)])
	}
	for _, body := range b {
		if strings.HasPrefix(body, "o1-") && body != "o1-0" {
			t.Fatalf("claimed %q while o1's first row is pending", body)
		}
	}
	if _, err := st.SettleRelays(ctx, "h", t0, []store.RelaySettlement{{Seqs: seqs, Status: store.RelayDelivered}}); err != nil {
		t.Fatal(err)
	}
	if b, _ := claimBodies(t, st, "a", "h", t0); len(b) != 100 || b[0] != "u99" {
		t.Fatalf("second claim: %d rows starting %q", len(b), b[:min(len(b), 1)])
	}
}

// Concurrent claims, from two nodes, take disjoint rows.
func testRelayConcurrentClaims(t *testing.T, o Opener) {
	st := o.Open(t)
	other := o.Node(t, st)
	var rs []store.Relay
	for range 60 {
		rs = append(rs, relayRow("a", store.RelaySDK, "", "e"))
	}
	addRelays(t, st, rs...)
	seen := map[int64]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, s := range []store.Store{st, other, st, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				cs, err := s.ClaimRelays(context.Background(), "a", string(rune('p'+i)), t0, time.Minute, 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(cs) == 0 {
					return
				}
				mu.Lock()
				for _, c := range cs {
					seen[c.Seq]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 60 {
		t.Fatalf("claimed %d distinct rows, want 60", len(seen))
	}
	for seq, n := range seen {
		if n != 1 {
			t.Errorf("row %d claimed %d times", seq, n)
		}
	}
}

// WriteEvents adds the relay rows of its batches in its transaction: for
// an upload of only quarantined events and for a re-send of stored events
// too (both were acknowledged), and none for a batch without one.
func testRelayWithEvents(t *testing.T, o Opener) {
	st := o.Open(t)
	now := t0.Add(time.Hour)
	ev := SearchEvent(t, "T", 1795373591812, "k", "o1")
	sdk := func(body string) *store.Relay {
		return &store.Relay{AppID: "a", Kind: store.RelaySDK, Body: body, Encrypted: true, EncryptKey: "key", ReceivedAt: now}
	}
	write(t, st, &store.EventBatch{AppID: "a", ReceivedAt: now, Events: []event.Event{ev}, Relay: sdk("first")},
		&store.EventBatch{AppID: "a", ReceivedAt: now, Events: []event.Event{ev}},
		&store.EventBatch{AppID: "a", ReceivedAt: now, Quarantined: []event.Quarantined{
			{Type: "search", Reason: "props.keyword: required", Raw: json.RawMessage(`{"type":"search"}`)}}, Relay: sdk("quarantined")})
	write(t, st, &store.EventBatch{AppID: "a", ReceivedAt: now, Events: []event.Event{ev}, Relay: sdk("re-sent")})
	cs, err := st.ClaimRelays(context.Background(), "a", "h", now, time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, c := range cs {
		bodies = append(bodies, c.Body)
	}
	if want := []string{"first", "quarantined", "re-sent"}; !reflect.DeepEqual(bodies, want) {
		t.Fatalf("relayed %q, want %q", bodies, want)
	}
	if c := cs[0]; !c.Encrypted || c.EncryptKey != "key" || !c.ReceivedAt.Equal(now) {
		t.Errorf("read back as %+v", c)
	}
}
