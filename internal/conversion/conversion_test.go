package conversion_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/attribution"
	"github.com/shuyuan-dev/shuyuan/internal/conversion"
	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
	"github.com/shuyuan-dev/shuyuan/internal/wxads"
	"github.com/shuyuan-dev/shuyuan/internal/wxfake"
)

const (
	click1 = "wx0ewinbalytptma00"
	click2 = "wx0vnret2znwpts4"
	click3 = "wx03uxqfwz22ubsa00"
)

func TestPaidOrderReportedOnce(t *testing.T) { storetest.Each(t, testPaidOrderReportedOnce) }

func testPaidOrderReportedOnce(t *testing.T, so storetest.Opener) {
	r := newRig(t, rigOptions{store: so})
	r.visit(shopApp, "o-alice", click1, "20966864", t0)
	paidAt := t0.Add(2 * time.Hour)
	r.clock.Set(paidAt.Add(time.Minute))
	// The backend sends the order ten times: one conversion.
	for range 10 {
		r.pay(shopApp, order("ord-1", "o-alice", paidAt, 12345))
	}
	if got := r.statuses(shopApp); got[conversion.StatePending] != 1 || len(got) != 1 {
		t.Fatalf("outbox %v, want one pending conversion", got)
	}
	res := r.drain()
	if res.Delivered != 1 || res.Dead != 0 {
		t.Fatalf("flush %+v, want one delivered", res)
	}
	acts := r.actions()
	if len(acts) != 1 {
		t.Fatalf("fake got %d actions, want 1: %+v", len(acts), acts)
	}
	a := acts[0]
	p := payload(t, a)
	if a.ActionType != wxads.ActionCompleteOrder || a.ClickID != click1 || a.ActionTime != paidAt.Unix() ||
		p.ActionParam == nil || p.ActionParam.Value != 12345 || p.URL != "https://shop.example.com/" {
		t.Errorf("action %+v payload %s", a, a.Raw)
	}
	if a.OuterActionID != conversion.ID(shopApp, "ord-1", wxads.ActionCompleteOrder) {
		t.Errorf("outer_action_id %q, want the deterministic id", a.OuterActionID)
	}
	if set, err := r.svc.SetID(context.Background(), shopApp); err != nil || a.UserActionSetID != set {
		t.Errorf("sent to set %d, app's set %d (%v)", a.UserActionSetID, set, err)
	}
	// Sent again after delivery: still nothing new.
	r.pay(shopApp, order("ord-1", "o-alice", paidAt, 12345))
	if r.drain().Delivered != 0 || len(r.actions()) != 1 {
		t.Errorf("a delivered order was reported again")
	}
}

func TestUnattributedOrdersAreRecordedNotSent(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.visit(shopApp, "o-alice", click1, "20966864", t0)
	r.clock.Set(t0.Add(30 * 24 * time.Hour))
	// Alice's click is 8 days old; Bob never came through an ad.
	r.pay(shopApp, order("ord-old", "o-alice", t0.Add(8*24*time.Hour), 100), order("ord-bob", "o-bob", t0.Add(time.Hour), 200))
	if got := r.statuses(shopApp); got[conversion.StateUnattributed] != 2 || len(got) != 1 {
		t.Fatalf("outbox %v, want two unattributed conversions", got)
	}
	if res := r.drain(); res.Delivered != 0 || len(r.actions()) != 0 {
		t.Errorf("unattributed conversions were sent: %+v, %d actions", res, len(r.actions()))
	}
}

// An order paid before its ad click reached the store (the SDK queued the
// click, or its upload came after the backend's order) is credited when
// the click arrives, sent once with its pay time; a re-send of the click,
// a click after the payment and one older than the window credit nothing.
func TestLateTouchCreditsPaidOrderOnce(t *testing.T) {
	storetest.Each(t, testLateTouchCreditsPaidOrderOnce)
}

func testLateTouchCreditsPaidOrderOnce(t *testing.T, so storetest.Opener) {
	r := newRig(t, rigOptions{store: so})
	paidAt := t0.Add(2 * time.Hour)
	r.clock.Set(paidAt.Add(time.Minute))
	r.pay(shopApp,
		order("ord-alice", "o-alice", paidAt, 12345),
		order("ord-bob", "o-bob", paidAt, 200),
		order("ord-carol", "o-carol", paidAt, 300))
	if got := r.statuses(shopApp); got[conversion.StateUnattributed] != 3 || len(got) != 1 {
		t.Fatalf("outbox %v, want three unattributed conversions", got)
	}
	r.clock.Set(paidAt.Add(10 * time.Minute))
	// The clicks arrive: Alice's from before the payment, Bob's after it,
	// Carol's eight days before it (outside the 7-day window).
	r.visit(shopApp, "o-alice", click1, "20966864", t0)
	r.visit(shopApp, "o-bob", click2, "111", paidAt.Add(time.Minute))
	r.visit(shopApp, "o-carol", click3, "222", paidAt.Add(-8*24*time.Hour))
	if got := r.statuses(shopApp); got[conversion.StatePending] != 1 || got[conversion.StateUnattributed] != 2 {
		t.Fatalf("outbox %v, want Alice's pending and two unattributed", got)
	}
	// The same click again, and a second, earlier one: Alice's order stays
	// one conversion, credited once.
	r.visit(shopApp, "o-alice", click1, "20966864", t0)
	r.visit(shopApp, "o-alice", click2, "111", t0.Add(-time.Hour))
	if res := r.drain(); res.Delivered != 1 {
		t.Fatalf("flush %+v, want one delivered", res)
	}
	acts := r.actions()
	if len(acts) != 1 {
		t.Fatalf("fake got %d actions, want 1: %+v", len(acts), acts)
	}
	a := acts[0]
	p := payload(t, a)
	if a.ClickID != click1 || a.ActionTime != paidAt.Unix() || p.ActionParam == nil || p.ActionParam.Value != 12345 ||
		a.OuterActionID != conversion.ID(shopApp, "ord-alice", wxads.ActionCompleteOrder) {
		t.Errorf("action %+v payload %s", a, a.Raw)
	}
	r.visit(shopApp, "o-alice", click3, "333", t0.Add(time.Hour))
	if res := r.drain(); res.Delivered != 0 || len(r.actions()) != 1 {
		t.Errorf("a delivered conversion was credited again: %+v", res)
	}
	var ad string
	if err := r.st.DB().QueryRow(`SELECT ad_id FROM ad_conversions WHERE ref_id = 'ord-alice'`).Scan(&ad); err != nil || ad != "20966864" {
		t.Errorf("credited to ad %q (%v), want 20966864", ad, err)
	}
}

func TestSeveralTouchesLastOneWins(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.visit(shopApp, "o-alice", click1, "111", t0)
	r.visit(shopApp, "o-alice", click2, "222", t0.Add(time.Hour))
	r.visit(shopApp, "o-alice", click3, "333", t0.Add(3*time.Hour)) // after the payment
	r.clock.Set(t0.Add(4 * time.Hour))
	r.pay(shopApp, order("ord-1", "o-alice", t0.Add(2*time.Hour), 500))
	r.drain()
	acts := r.actions()
	if len(acts) != 1 || acts[0].ClickID != click2 {
		t.Fatalf("actions %+v, want one credited to click2", acts)
	}
	var adID string
	if err := r.st.DB().QueryRow(`SELECT ad_id FROM ad_conversions`).Scan(&adID); err != nil || adID != "222" {
		t.Errorf("conversion credited to ad %q (%v), want 222", adID, err)
	}
}

func TestSDKPaidOrdersAndLeads(t *testing.T) { storetest.Each(t, testSDKPaidOrdersAndLeads) }

func testSDKPaidOrdersAndLeads(t *testing.T, so storetest.Opener) {
	a := shop()
	a.DataAPIAppID, a.DataAPISecret = "", ""
	a.Ads = tenant.Ads{LeadEvent: "submit_lead", LeadAction: wxads.ActionConfirmEffectiveLeads, SendOuterActionID: true}
	r := newRig(t, rigOptions{store: so, apps: []*tenant.App{a}})
	r.clock.Set(t0.Add(time.Hour))
	launch := r.event("o-alice", event.AppLaunch, t0)
	launch.GdtVid, launch.AdInfo = click1, "20966864."+click1+".0.0"
	pay := r.event("o-alice", event.CustomOrder, t0.Add(10*time.Minute))
	pay.GdtVid, pay.OrderID, pay.OrderStatus, pay.PayFen = click1, "sdk-ord-1", "payed", 9880
	giveOrder := r.event("o-alice", event.CustomOrder, t0.Add(5*time.Minute))
	giveOrder.OrderID, giveOrder.OrderStatus, giveOrder.OrderFen = "sdk-ord-2", "give_order", 100
	lead := r.event("o-alice", "submit_lead", t0.Add(20*time.Minute))
	lead.Kind, lead.Props = event.KindUnknown, json.RawMessage(`{"lead_id":"L-42","form":"trial"}`)
	batch := []event.Event{launch, pay, giveOrder, lead}
	// The SDK sends the same upload twice (its answer was lost).
	r.write(shopApp, batch...)
	r.write(shopApp, batch...)
	// The app's default order source is the SDK here: it has no data-api.
	r.pay(shopApp, order("backend-1", "o-alice", t0.Add(30*time.Minute), 1))
	r.drain()
	acts := r.actions()
	if len(acts) != 2 {
		t.Fatalf("fake got %d actions, want the paid order and the lead: %+v", len(acts), acts)
	}
	byType := map[string]wxads.Action{}
	for _, x := range acts {
		byType[x.ActionType] = payload(t, x)
	}
	o := byType[wxads.ActionCompleteOrder]
	if o.ActionTime != pay.Time.Unix() || o.ActionParam == nil || o.ActionParam.Value != 9880 || o.Trace.ClickID != click1 {
		t.Errorf("order action %+v", o)
	}
	l, ok := byType[wxads.ActionConfirmEffectiveLeads]
	if !ok || l.ActionTime != lead.Time.Unix() || l.OuterActionID != conversion.ID(shopApp, "L-42", wxads.ActionConfirmEffectiveLeads) {
		t.Errorf("lead action %+v (present %v)", l, ok)
	}
}

func TestAppsWithoutWeChatTakeNoPart(t *testing.T) {
	a := shop()
	a.WxAppID, a.WxSecret = "", ""
	r := newRig(t, rigOptions{apps: []*tenant.App{a}, fake: func(o *wxfake.Options) { o.Apps = nil }})
	r.visit(shopApp, "o-alice", click1, "", t0)
	r.clock.Set(t0.Add(time.Hour))
	r.pay(shopApp, order("ord-1", "o-alice", t0.Add(time.Minute), 100))
	if n := r.count(`SELECT count(*) FROM ad_conversions`); n != 0 {
		t.Errorf("%d conversions for an app without wx_appid", n)
	}
}

// TestFaultsEveryConversionOnce is the fault test: 1,000 orders
// from 300 users with 30 % of user_actions/add calls failing in every way
// the fake knows. Every conversion ends up at the fake exactly once; the
// dead letters are exactly the actions of calls refused for good; a replay
// once the faults are gone delivers them, still once each.
func TestFaultsEveryConversionOnce(t *testing.T) { storetest.Each(t, testFaultsEveryConversionOnce) }

func testFaultsEveryConversionOnce(t *testing.T, so storetest.Opener) {
	tp := &tap{}
	a := shop()
	a.Ads.RetryBudget = 365 * 24 * time.Hour // the daily-quota fault waits for GMT+8 midnight, maybe several times
	r := newRig(t, rigOptions{store: so,
		apps:    []*tenant.App{a},
		handler: tp.wrap,
		// Smaller batches than the 50 allowed: more calls, more faults.
		worker: func(o *conversion.WorkerOptions) { o.BatchSize = 10 },
		fake: func(o *wxfake.Options) {
			o.FaultSeed = 42
			o.FaultKinds = wxfake.AllFaults
			o.FaultEndpoints = []string{wxfake.EndpointActionsAdd}
			o.SlowDelay = 20 * time.Millisecond // slow, but answered within the client's timeout
		},
	})
	ctx := context.Background()
	if _, _, err := r.svc.EnsureDataSource(ctx, shopApp); err != nil {
		t.Fatal(err)
	}
	const users, orders = 300, 1000
	var visits []event.Event
	for u := range users {
		e := r.event(fmt.Sprint("o-user-", u), event.AppLaunch, t0.Add(time.Duration(u)*time.Second))
		e.GdtVid, e.AdInfo = clickID(u), fmt.Sprint(30000000+u%7, ".", clickID(u), ".0.0")
		visits = append(visits, e)
	}
	r.write(shopApp, visits...)
	r.clock.Set(t0.Add(2 * time.Hour))
	want := map[string]store.Order{} // by conversion id
	for start := 0; start < orders; start += 50 {
		var batch []store.Order
		for i := start; i < start+50; i++ {
			o := order(fmt.Sprint("ord-", i), fmt.Sprint("o-user-", i%users), t0.Add(time.Hour+time.Duration(i)*time.Second), int64(100+i))
			batch = append(batch, o)
			want[conversion.ID(shopApp, o.ExternalID, wxads.ActionCompleteOrder)] = o
		}
		r.pay(shopApp, batch...)
	}
	// Every kind of fault at least once, first; then 30 % of calls at random.
	var script []wxfake.Fault
	for _, k := range wxfake.AllFaults {
		script = append(script, wxfake.Fault{Kind: k}, wxfake.Fault{})
	}
	if err := r.fake.Script(wxfake.EndpointActionsAdd, script...); err != nil {
		t.Fatal(err)
	}
	if err := r.fake.SetRandomFaults(0.3); err != nil {
		t.Fatal(err)
	}
	res := r.drain()
	t.Logf("with faults: %+v over %d calls", res, len(tp.all()))

	// The dead letters are exactly the actions of calls refused for good.
	refused := map[string]bool{}
	kinds := map[string]int{}
	for _, c := range tp.all() {
		switch {
		case c.dropped:
			kinds["dropped"]++
		case c.status != http.StatusOK:
			kinds[fmt.Sprint("http ", c.status)]++
		default:
			kinds[fmt.Sprint("errcode ", c.code)]++
		}
		if c.code == 48001 || c.code == 900351001 {
			for _, id := range c.outer {
				refused[id] = true
			}
		}
	}
	t.Logf("answers: %v", kinds)
	for _, k := range []string{"dropped", "http 502", "errcode -1", "errcode 900310000", "errcode 45011", "errcode 45009", "errcode 48001", "errcode 900351001"} {
		if kinds[k] == 0 {
			t.Errorf("no call got %s: the fault mix did not exercise it", k)
		}
	}
	dead := map[string]bool{}
	rows, err := r.st.DB().Query(`SELECT id, last_error FROM ad_conversions WHERE status = 'dead'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, msg string
		if err := rows.Scan(&id, &msg); err != nil {
			t.Fatal(err)
		}
		dead[id] = true
		if !strings.Contains(msg, "48001") && !strings.Contains(msg, "900351001") {
			t.Errorf("dead letter %s: last error %q", id, msg)
		}
	}
	rows.Close()
	if len(dead) != len(refused) {
		t.Errorf("%d dead letters, %d actions refused for good", len(dead), len(refused))
	}
	for id := range refused {
		if !dead[id] {
			t.Errorf("refused action %s is not a dead letter", id)
		}
	}
	st := r.statuses(shopApp)
	if st[conversion.StateDelivered]+st[conversion.StateDead] != orders || st[conversion.StatePending] != 0 {
		t.Fatalf("outbox %v, want every conversion delivered or dead", st)
	}
	check := func(phase string, allDelivered bool) {
		t.Helper()
		uniq := r.unique()
		for id, o := range want {
			got := uniq[id]
			switch {
			case len(got) > 1:
				t.Errorf("%s: %s reached the fake %d times", phase, id, len(got))
			case len(got) == 0 && (allDelivered || !dead[id]):
				t.Errorf("%s: %s never reached the fake", phase, id)
			case len(got) == 1:
				a := got[0]
				p := payload(t, a)
				if a.ActionTime != o.PaidTime.Unix() || p.ActionParam == nil || p.ActionParam.Value != o.PaymentFen || a.ActionType != wxads.ActionCompleteOrder {
					t.Errorf("%s: %s arrived as %s", phase, id, a.Raw)
				}
			}
		}
		if len(uniq) > len(want) {
			t.Errorf("%s: the fake holds %d distinct actions, %d orders were paid", phase, len(uniq), len(want))
		}
	}
	check("with faults", false)

	// The fault is gone: replay sends the dead letters, once.
	if err := r.fake.SetRandomFaults(0); err != nil {
		t.Fatal(err)
	}
	n, err := r.svc.Replay(ctx, shopApp, nil)
	if err != nil || n != len(dead) {
		t.Fatalf("replayed %d (%v), want %d", n, err, len(dead))
	}
	r.drain()
	if st := r.statuses(shopApp); st[conversion.StateDelivered] != orders {
		t.Fatalf("after replay: %v, want all %d delivered", st, orders)
	}
	check("after replay", true)
}

func TestRetryBudgetAndReplay(t *testing.T) { storetest.Each(t, testRetryBudgetAndReplay) }

func testRetryBudgetAndReplay(t *testing.T, so storetest.Opener) {
	a := shop()
	a.Ads.RetryBudget = time.Hour
	r := newRig(t, rigOptions{store: so, apps: []*tenant.App{a}})
	ctx := context.Background()
	if _, _, err := r.svc.EnsureDataSource(ctx, shopApp); err != nil {
		t.Fatal(err)
	}
	r.visit(shopApp, "o-alice", click1, "", t0)
	r.clock.Set(t0.Add(time.Hour))
	r.pay(shopApp, order("ord-1", "o-alice", t0.Add(time.Minute), 100))
	// WeChat is busy for good: retried with growing waits until the budget
	// of one hour is spent, then a dead letter with the last error.
	if err := r.fake.SetRandomFaults(1, wxfake.FaultSystemBusy); err != nil {
		t.Fatal(err)
	}
	res := r.drain()
	if res.Dead != 1 || res.Delivered != 0 || res.Retried < 5 {
		t.Fatalf("flush %+v, want several retries then one dead letter", res)
	}
	var msg, class string
	var attempts int
	if err := r.st.DB().QueryRow(`SELECT last_error, last_class, attempts FROM ad_conversions`).Scan(&msg, &class, &attempts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, "retry budget exhausted") || !strings.Contains(msg, "errcode -1") || class != "retry" || attempts != res.Retried+1 {
		t.Errorf("dead letter: %q class %q after %d attempts", msg, class, attempts)
	}
	if r.clock.Now().After(t0.Add(2*time.Hour + time.Minute)) {
		t.Errorf("clock at %v: retried past the budget", r.clock.Now())
	}
	// Every attempt resent the same payload, with the original time.
	var first string
	for i, x := range r.fake.Actions() {
		if i == 0 {
			first = string(x.Raw)
		}
		if string(x.Raw) != first {
			t.Errorf("attempt %d sent %s, first sent %s", i, x.Raw, first)
		}
	}
	if err := r.fake.SetRandomFaults(0); err != nil {
		t.Fatal(err)
	}
	if n, err := r.svc.Replay(ctx, shopApp, nil); err != nil || n != 1 {
		t.Fatalf("replay: %d %v", n, err)
	}
	if res := r.drain(); res.Delivered != 1 {
		t.Fatalf("after replay: %+v", res)
	}
	acts := r.actions()
	if len(acts) != 1 || acts[0].ActionTime != t0.Add(time.Minute).Unix() {
		t.Errorf("actions %+v, want one with the original action_time", acts)
	}
	if n, _ := r.svc.Replay(ctx, shopApp, nil); n != 0 {
		t.Errorf("a second replay revived %d delivered conversions", n)
	}
}

func TestBatchRefusedForOneActionIsSplit(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	if _, _, err := r.svc.EnsureDataSource(ctx, shopApp); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		r.visit(shopApp, fmt.Sprint("o-", i), clickID(i), "", t0)
	}
	r.clock.Set(t0.Add(time.Hour))
	r.pay(shopApp, order("a", "o-0", t0.Add(time.Minute), 1), order("b", "o-1", t0.Add(time.Minute), 2), order("c", "o-2", t0.Add(time.Minute), 3))
	// The batch of three is refused as a whole for one bad action; alone,
	// the first two pass and the third is refused again.
	bad := wxfake.Fault{Kind: wxfake.FaultErrcode, Code: 900351000, Msg: "actions[2]: invalid"}
	if err := r.fake.Script(wxfake.EndpointActionsAdd, bad, wxfake.Fault{}, wxfake.Fault{}, bad); err != nil {
		t.Fatal(err)
	}
	res := r.drain()
	if res.Delivered != 2 || res.Dead != 1 || len(r.actions()) != 2 {
		t.Errorf("flush %+v, %d actions; want 2 delivered, 1 dead", res, len(r.actions()))
	}
}

// TestFailingAccountDoesNotStallAnother runs the worker for real: one
// app's WeChat calls hang, the other app's conversions are delivered all
// the same.
func TestFailingAccountDoesNotStallAnother(t *testing.T) {
	storetest.Each(t, testFailingAccountDoesNotStallAnother)
}

func testFailingAccountDoesNotStallAnother(t *testing.T, so storetest.Opener) {
	stuck, free := shop(), shop()
	stuck.ID, stuck.WxAppID, stuck.SDKToken, stuck.DataAPIAppID = "stuck", "wxstuck0000000001", "stuck-sdk-token", "stuck-data"
	free.ID, free.WxAppID, free.SDKToken, free.DataAPIAppID = "free", "wxfree00000000001", "free-sdk-token", "free-data"
	release := make(chan struct{})
	delivered := make(chan string, 16)
	var stuckSet atomic.Int64
	r := newRig(t, rigOptions{store: so,
		apps: []*tenant.App{stuck, free},
		handler: func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				if req.URL.Path != "/marketing/user_actions/add" {
					next.ServeHTTP(w, req)
					return
				}
				body, _ := io.ReadAll(req.Body)
				req.Body = io.NopCloser(bytes.NewReader(body))
				var b struct {
					SetID int64 `json:"user_action_set_id"`
				}
				_ = json.Unmarshal(body, &b)
				if b.SetID == stuckSet.Load() {
					<-release
				}
				next.ServeHTTP(w, req)
				delivered <- fmt.Sprint(b.SetID)
			})
		},
	})
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	ctx := context.Background()
	id, _, err := r.svc.EnsureDataSource(ctx, "stuck")
	if err != nil {
		t.Fatal(err)
	}
	stuckSet.Store(id)
	freeSet, _, err := r.svc.EnsureDataSource(ctx, "free")
	if err != nil {
		t.Fatal(err)
	}
	r.clock.Set(t0.Add(time.Hour))
	for _, app := range []string{"stuck", "free"} {
		r.visit(app, "o-alice", click1, "", t0)
		r.pay(app, order("ord-1", "o-alice", t0.Add(time.Minute), 100))
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { r.worker.Run(runCtx); close(done) }()
	if got := <-delivered; got != fmt.Sprint(freeSet) {
		t.Fatalf("first delivery to set %s, want the free app's %d", got, freeSet)
	}
	if st := r.statuses("stuck"); st[conversion.StatePending] != 1 {
		t.Errorf("stuck app: %v", st)
	}
	close(release)
	if got := <-delivered; got != fmt.Sprint(id) {
		t.Fatalf("second delivery to set %s, want the stuck app's %d", got, id)
	}
	cancel()
	<-done // Run returns once the deliveries in flight are recorded
	for _, app := range []string{"stuck", "free"} {
		if st := r.statuses(app); st[conversion.StateDelivered] != 1 {
			t.Errorf("%s: %v, want delivered", app, st)
		}
	}
}

// TestTwoServersOnOneApp is two shuyuan instances (two stores, two token
// caches) reporting for one app. In the default stable-token mode neither
// ever invalidates the other's token; on the classic endpoint each fetch
// revokes the other's token once the overlap has passed.
func TestTwoServersOnOneApp(t *testing.T) {
	for _, classic := range []bool{false, true} {
		t.Run(fmt.Sprint("classic=", classic), func(t *testing.T) {
			a := shop()
			a.Ads.ClassicToken = classic
			r1 := newRig(t, rigOptions{apps: []*tenant.App{a}})
			// The second server talks to the same fake, with the same clock.
			r2 := &rig{t: t, clock: r1.clock, fake: r1.fake, hs: r1.hs, apps: r1.apps, st: storetest.Open(t)}
			r2.svc = conversion.NewService(r2.st, r2.apps, conversion.Options{BaseURL: r1.hs.URL, HTTPClient: r1.hs.Client(), Now: r1.clock.Now,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			r2.st.SetEventHook(r2.svc.OnEvents)
			r2.worker = conversion.NewWorker(r2.svc, conversion.WorkerOptions{Rand: func() float64 { return 0.5 }})
			ctx := context.Background()
			if _, _, err := r1.svc.EnsureDataSource(ctx, shopApp); err != nil {
				t.Fatal(err)
			}
			for round := range 3 {
				for i, r := range []*rig{r1, r2} {
					user := fmt.Sprint("o-", round, "-", i)
					r.visit(shopApp, user, clickID(round*2+i), "", r1.clock.Now())
					r.pay(shopApp, order(fmt.Sprint("ord-", round, "-", i), user, r1.clock.Now(), 100))
					r.drain()
				}
				r1.clock.Advance(301 * time.Second) // past the classic overlap
			}
			calls := r1.fake.Calls(wxfake.EndpointActionsAdd)
			if n := len(r1.unique()); n != 6 {
				t.Fatalf("%d actions delivered, want 6", n)
			}
			if !classic {
				if calls != 6 || r1.fake.Calls(wxfake.EndpointStableToken) != 2 {
					t.Errorf("stable: %d user_actions/add calls (want 6: no token rejected), %d stable_token calls (want one per server)",
						calls, r1.fake.Calls(wxfake.EndpointStableToken))
				}
				return
			}
			// Each server's fetch killed the other's token: rejected calls,
			// each retried once with a refetched token.
			if calls <= 6 || r1.fake.Calls(wxfake.EndpointToken) <= 2 {
				t.Errorf("classic: %d user_actions/add calls and %d token calls; want rejections (more than 6 and 2)",
					calls, r1.fake.Calls(wxfake.EndpointToken))
			}
		})
	}
}

func TestTokenExpiryCrossed(t *testing.T) {
	r := newRig(t, rigOptions{})
	ctx := context.Background()
	r.visit(shopApp, "o-alice", click1, "", t0)
	r.clock.Set(t0.Add(time.Minute))
	r.pay(shopApp, order("ord-1", "o-alice", t0.Add(time.Minute), 100))
	r.drain()
	tok1, exp1, err := r.svc.Token(ctx, shopApp)
	if err != nil || !exp1.Equal(r.clock.Now().Add(7200*time.Second)) {
		t.Fatalf("token %q expires %v (%v)", tok1, exp1, err)
	}
	// Two hours later the token is dead on WeChat's side: the next
	// delivery fetches a new one first, without a failed call.
	r.clock.Advance(7201 * time.Second)
	r.visit(shopApp, "o-bob", click2, "", r.clock.Now())
	r.pay(shopApp, order("ord-2", "o-bob", r.clock.Now(), 200))
	res := r.drain()
	if res.Delivered != 1 || res.Retried != 0 {
		t.Fatalf("after expiry: %+v", res)
	}
	tok2, _, _ := r.svc.Token(ctx, shopApp)
	if tok2 == tok1 || r.fake.Calls(wxfake.EndpointStableToken) != 2 {
		t.Errorf("token %q after expiry (was %q), %d stable_token calls", tok2, tok1, r.fake.Calls(wxfake.EndpointStableToken))
	}
	// A token revoked behind our back (an operator's force_refresh
	// elsewhere) costs one rejected call, retried at once with the new one.
	other, err := wxads.NewTokenSource(wxads.TokenConfig{AppID: shopWx, Secret: shopSecret, BaseURL: r.hs.URL, HTTPClient: r.hs.Client(), Now: r.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(time.Minute)
	if _, err := other.ForceRefresh(ctx); err != nil {
		t.Fatal(err)
	}
	r.visit(shopApp, "o-carol", click3, "", r.clock.Now())
	r.pay(shopApp, order("ord-3", "o-carol", r.clock.Now(), 300))
	if res := r.drain(); res.Delivered != 1 || res.Retried != 0 {
		t.Errorf("after a forced refresh elsewhere: %+v", res)
	}
	if n := len(r.unique()); n != 3 {
		t.Errorf("%d actions delivered, want 3", n)
	}
}

func TestMetrics(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.visit(shopApp, "o-alice", click1, "", t0)
	r.clock.Set(t0.Add(time.Hour))
	r.pay(shopApp, order("ord-1", "o-alice", t0.Add(time.Minute), 100), order("ord-2", "o-alice", t0.Add(2*time.Minute), 100))
	r.clock.Advance(90 * time.Second)
	gather := func() map[string]float64 {
		mfs, err := r.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
				out[mf.GetName()] += v
			}
		}
		return out
	}
	m := gather()
	if m["shuyuan_ads_conversions_pending"] != 2 || m["shuyuan_ads_oldest_pending_seconds"] != 90 {
		t.Errorf("before delivery: %v", m)
	}
	if err := r.fake.Script(wxfake.EndpointActionsAdd, wxfake.Fault{Kind: wxfake.FaultSystemBusy}); err != nil {
		t.Fatal(err)
	}
	r.drain()
	m = gather()
	if m["shuyuan_ads_conversions_pending"] != 0 || m["shuyuan_ads_conversions_delivered_total"] != 2 ||
		m["shuyuan_ads_conversions_retried_total"] != 2 || m["shuyuan_ads_conversions_dead"] != 0 {
		t.Errorf("after delivery: %v", m)
	}
}

// TestResendsCounted: a lost answer (WeChat recorded the actions, the
// connection closed) means the same actions go on the wire again with the
// same outer_action_id. Each conversion sent again after such an attempt
// counts once per re-send: in shuyuan_ads_conversions_resent_total and in
// the row's resends, which the ads analysis shows. A retry after an answer
// that refused the call (a rate limit) is no re-send of a recorded action.
func TestResendsCounted(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.visit(shopApp, "o-alice", click1, "", t0)
	r.clock.Set(t0.Add(time.Hour))
	r.pay(shopApp, order("ord-1", "o-alice", t0.Add(time.Minute), 100), order("ord-2", "o-alice", t0.Add(2*time.Minute), 100))
	if err := r.fake.Script(wxfake.EndpointActionsAdd,
		wxfake.Fault{Kind: wxfake.FaultDropAfterRecord}, // recorded, answer lost
		wxfake.Fault{Kind: wxfake.FaultMinuteQuota},     // the re-send is refused: not recorded
		wxfake.Fault{Kind: wxfake.FaultNone},            // sent again, delivered
	); err != nil {
		t.Fatal(err)
	}
	r.drain()
	if st := r.statuses(shopApp); st[conversion.StateDelivered] != 2 {
		t.Fatalf("outbox %v", st)
	}
	// On the wire: 3 calls of both actions; WeChat recorded each twice
	// (the dropped call and the delivered one), the second as a duplicate.
	if n := len(r.actions()); n != 4 {
		t.Errorf("the fake recorded %d actions, want 4 (each twice)", n)
	}
	if got := r.count(`SELECT CAST(sum(resends) AS INTEGER) FROM ad_conversions`); got != 2 {
		t.Errorf("resends of the rows: %d, want 2 (each conversion re-sent once after the lost answer)", got)
	}
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var resent float64
	for _, mf := range mfs {
		if mf.GetName() == "shuyuan_ads_conversions_resent_total" {
			for _, m := range mf.GetMetric() {
				resent += m.GetCounter().GetValue()
			}
		}
	}
	if resent != 2 {
		t.Errorf("shuyuan_ads_conversions_resent_total = %v, want 2", resent)
	}
}

// A paid order and the click of its buyer that commit at the same moment
// on two nodes still meet: here the order's transaction has read the
// buyer's touches (none) and is about to commit when another node stores
// the click. The click's flush waits for the order (Tx.LockUsers), then
// credits it; without the lock both would miss each other and the order
// stay unattributed for ever. PostgreSQL only: the embedded store has one
// writer.
func TestLateTouchRaceAcrossNodes(t *testing.T) {
	storetest.SkipWithoutPostgres(t)
	r := newRig(t, rigOptions{store: storetest.Postgres})
	nodeB := storetest.Postgres.Node(t, r.st)
	nodeB.SetEventHook(r.svc.OnEvents)
	paidAt := t0.Add(2 * time.Hour)
	r.clock.Set(paidAt.Add(time.Minute))
	inOrder, release := make(chan struct{}), make(chan struct{})
	orderDone := make(chan error, 1)
	go func() {
		_, err := r.st.AddOrders(context.Background(), []*store.OrderBatch{{
			AppID: shopApp, ReceivedAt: r.clock.Now(), Orders: []store.Order{order("ord-alice", "o-alice", paidAt, 500)},
			OnPaid: func(ctx context.Context, tx store.Tx, paid []store.PaidOrder) error {
				if err := r.svc.OnPaid(ctx, tx, paid); err != nil {
					return err
				}
				close(inOrder)
				<-release
				return nil
			},
		}})
		orderDone <- err
	}()
	<-inOrder
	clickDone := make(chan error, 1)
	go func() {
		e := r.event("o-alice", event.BrowseWxappPage, t0)
		e.GdtVid, e.AdInfo = click1, "20966864."+click1+".0.0"
		b := &store.EventBatch{AppID: shopApp, ReceivedAt: r.clock.Now(), Events: []event.Event{e}}
		attribution.Resolve(b)
		_, err := nodeB.WriteEvents(context.Background(), []*store.EventBatch{b})
		clickDone <- err
	}()
	// Give the click's flush time to finish, were it not to wait.
	select {
	case err := <-clickDone:
		clickDone <- err
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-orderDone; err != nil {
		t.Fatal(err)
	}
	if err := <-clickDone; err != nil {
		t.Fatal(err)
	}
	if got := r.statuses(shopApp); got[conversion.StatePending] != 1 || len(got) != 1 {
		t.Fatalf("outbox %v, want the order's conversion credited to the click", got)
	}
}
