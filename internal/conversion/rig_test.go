package conversion_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shuyuan-dev/shuyuan/internal/attribution"
	"github.com/shuyuan-dev/shuyuan/internal/conversion"
	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
	"github.com/shuyuan-dev/shuyuan/internal/wxads"
	"github.com/shuyuan-dev/shuyuan/internal/wxfake"
)

// t0 is 10:00 in GMT+8 on 2025-03-10.
var t0 = time.Date(2025, 3, 10, 2, 0, 0, 0, time.UTC)

const (
	shopApp    = "shop"
	shopWx     = "wxa1b2c3d4e5f60718"
	shopSecret = "shop-secret"
	shopAcct   = int64(2001)
)

// rig is the real store, the fake over httptest with its clock, and the
// conversion service and worker wired as serve wires them.
type rig struct {
	t       testing.TB
	clock   *wxfake.Clock
	fake    *wxfake.Server
	hs      *httptest.Server
	st      store.Store
	apps    *tenant.Registry
	svc     *conversion.Service
	worker  *conversion.Worker
	metrics *conversion.Metrics
	reg     *prometheus.Registry
	seq     atomic.Int64
}

// rigOptions change the rig before it is built.
type rigOptions struct {
	fake   func(*wxfake.Options)
	apps   []*tenant.App // default: one app, shopApp, backend orders
	worker func(*conversion.WorkerOptions)
	// handler wraps the fake (to watch or break the traffic).
	handler func(http.Handler) http.Handler
	// realClock runs the fake and the service on time.Now (benchmarks).
	realClock bool
	// store opens the rig's store (default: the embedded one).
	store storetest.Opener
}

// shop is the default app: orders from the backend, outer_action_id on.
func shop() *tenant.App {
	return &tenant.App{
		ID: shopApp, Name: "Shop", SDKToken: "shop-sdk-token", WxAppID: shopWx, WxSecret: shopSecret,
		DataAPIAppID: "shop-data-api", DataAPISecret: "shop-data-secret",
		Ads: tenant.Ads{OrderSource: tenant.OrderSourceBackend, SendOuterActionID: true, URL: "https://shop.example.com/"},
	}
}

func newRig(t testing.TB, o rigOptions) *rig {
	t.Helper()
	r := &rig{t: t, clock: wxfake.NewClock(t0)}
	now := r.clock.Now
	if o.realClock {
		now = time.Now
	}
	apps := o.apps
	if apps == nil {
		apps = []*tenant.App{shop()}
	}
	fo := wxfake.Options{Now: now, DedupOuterActionID: true}
	for i, a := range apps {
		fo.Apps = append(fo.Apps, wxfake.App{AppID: a.WxAppID, Secret: a.WxSecret, AccountID: shopAcct + int64(i)})
	}
	if o.fake != nil {
		o.fake(&fo)
	}
	var err error
	if r.fake, err = wxfake.New(fo); err != nil {
		t.Fatal(err)
	}
	var h http.Handler = r.fake
	if o.handler != nil {
		h = o.handler(h)
	}
	r.hs = httptest.NewServer(h)
	t.Cleanup(r.hs.Close)
	if r.apps, err = tenant.NewRegistry(apps); err != nil {
		t.Fatal(err)
	}
	if o.store.Open == nil {
		o.store = storetest.DuckDB
	}
	r.st = o.store.Open(t)
	r.svc = conversion.NewService(r.st, r.apps, conversion.Options{
		BaseURL: r.hs.URL, HTTPClient: r.hs.Client(), Now: now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	r.st.SetEventHook(r.svc.OnEvents)
	r.reg = prometheus.NewRegistry()
	r.metrics = conversion.NewMetrics(r.reg, r.svc)
	wo := conversion.WorkerOptions{Metrics: r.metrics, Rand: func() float64 { return 0.5 }}
	if o.worker != nil {
		o.worker(&wo)
	}
	r.worker = conversion.NewWorker(r.svc, wo)
	return r
}

// visit stores one SDK event of user carrying an ad click (gdt_vid and
// weixinadinfo as the launch query puts them into chan) at at.
func (r *rig) visit(app, openID, clickID, adID string, at time.Time) {
	r.t.Helper()
	e := r.event(openID, event.BrowseWxappPage, at)
	e.GdtVid = clickID
	if adID != "" {
		e.AdInfo = adID + "." + clickID + ".0.0"
	}
	r.write(app, e)
}

// event is a bare event of user at at, with a unique dedup key.
func (r *rig) event(openID, typ string, at time.Time) event.Event {
	n := r.seq.Add(1)
	return event.Event{
		Type: typ, Kind: event.KindOf(typ), Time: at.UTC(), Key: n, TrackingID: fmt.Sprint("t", n),
		UserKey: openID, OpenID: openID, Page: "pages/index/index", Props: json.RawMessage(`{}`),
	}
}

func (r *rig) write(app string, evs ...event.Event) {
	r.t.Helper()
	b := &store.EventBatch{AppID: app, ReceivedAt: r.clock.Now(), Events: evs}
	attribution.Resolve(b)
	if _, err := r.st.WriteEvents(context.Background(), []*store.EventBatch{b}); err != nil {
		r.t.Fatal(err)
	}
}

// pay stores orders that are paid (status 1150) through the store's
// add_order path with the service's paid hook, as the data-api does.
func (r *rig) pay(app string, orders ...store.Order) []store.OrderResult {
	r.t.Helper()
	res, err := r.st.AddOrders(context.Background(), []*store.OrderBatch{{
		AppID: app, ReceivedAt: r.clock.Now(), Orders: orders, OnPaid: r.svc.OnPaid,
	}})
	if err != nil {
		r.t.Fatal(err)
	}
	return res
}

// order is a paid order of openID, paid at paidAt for fen.
func order(id, openID string, paidAt time.Time, fen int64) store.Order {
	return store.Order{
		ExternalID: id, CreateTime: paidAt.Add(-time.Minute).UTC(), Source: "wxapp", Type: 1, GoodsNumTotal: 1,
		GoodsFen: fen, OrderFen: fen, PayableFen: fen, PaymentFen: fen, Status: 1150, StatusTime: paidAt.UTC(),
		PaidTime: paidAt.UTC(), OpenID: openID, Raw: json.RawMessage(`{"external_order_id":"` + id + `"}`),
	}
}

// drain runs the worker until nothing is pending, moving the clock to the
// next due time whenever nothing is due now. It never sleeps.
func (r *rig) drain() conversion.FlushResult {
	r.t.Helper()
	ctx := context.Background()
	var total conversion.FlushResult
	for i := 0; ; i++ {
		if i > 10000 {
			r.t.Fatal("outbox does not drain")
		}
		res, err := r.worker.Flush(ctx)
		if err != nil {
			r.t.Fatal(err)
		}
		total.Delivered += res.Delivered
		total.Retried += res.Retried
		total.Dead += res.Dead
		next, ok, err := r.worker.NextDue(ctx)
		if err != nil {
			r.t.Fatal(err)
		}
		if !ok {
			return total
		}
		if next.After(r.clock.Now()) {
			r.clock.Set(next)
		}
	}
}

// actions are the actions the fake accepted (duplicates included).
func (r *rig) actions() []wxfake.RecordedAction { return r.fake.Actions() }

// unique are the fake's non-duplicate actions by outer_action_id.
func (r *rig) unique() map[string][]wxfake.RecordedAction {
	m := map[string][]wxfake.RecordedAction{}
	for _, a := range r.fake.Actions() {
		if !a.Duplicate {
			m[a.OuterActionID] = append(m[a.OuterActionID], a)
		}
	}
	return m
}

// count runs a count query.
func (r *rig) count(q string, args ...any) int {
	r.t.Helper()
	var n int
	if err := r.st.DB().QueryRow(q, args...).Scan(&n); err != nil {
		r.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// statuses counts the app's conversions by state.
func (r *rig) statuses(app string) map[string]int {
	r.t.Helper()
	rows, err := r.st.DB().Query(`SELECT status, count(*) FROM ad_conversions WHERE app_id = $1 GROUP BY 1`, app)
	if err != nil {
		r.t.Fatal(err)
	}
	defer rows.Close()
	m := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			r.t.Fatal(err)
		}
		m[s] = n
	}
	return m
}

// payload decodes a recorded action's raw JSON.
func payload(t testing.TB, a wxfake.RecordedAction) wxads.Action {
	t.Helper()
	var act wxads.Action
	if err := json.Unmarshal(a.Raw, &act); err != nil {
		t.Fatal(err)
	}
	return act
}

// tap watches the user_actions/add calls reaching the fake: which outer
// action ids each carried and what it was answered (an errcode, an HTTP
// error, or nothing: a dropped connection).
type tap struct {
	mu    sync.Mutex
	calls []tapCall
}

type tapCall struct {
	outer   []string
	setID   int64
	status  int
	code    int64
	dropped bool
}

func (t *tap) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/marketing/user_actions/add" {
			next.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &tapWriter{ResponseWriter: w}
		defer func() {
			var req struct {
				SetID   int64 `json:"user_action_set_id"`
				Actions []struct {
					Outer string `json:"outer_action_id"`
				} `json:"actions"`
			}
			_ = json.Unmarshal(body, &req)
			c := tapCall{setID: req.SetID, status: rec.status, dropped: rec.status == 0}
			for _, a := range req.Actions {
				c.outer = append(c.outer, a.Outer)
			}
			var ans struct {
				ErrCode int64 `json:"errcode"`
			}
			if json.Unmarshal(rec.buf.Bytes(), &ans) == nil {
				c.code = ans.ErrCode
			}
			t.mu.Lock()
			t.calls = append(t.calls, c)
			t.mu.Unlock()
		}()
		next.ServeHTTP(rec, r)
	})
}

func (t *tap) all() []tapCall {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]tapCall(nil), t.calls...)
}

// tapWriter records an answer while passing it on; Unwrap lets the fake
// hijack the connection through it.
type tapWriter struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (w *tapWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
	w.ResponseWriter.WriteHeader(s)
}

func (w *tapWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.buf.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *tapWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// clickID is a well-formed click id for n: "wx" and 16 base-36 characters.
func clickID(n int) string {
	s := strconv.FormatUint(uint64(n)*2654435761+1e15, 36)
	for len(s) < 16 {
		s = "0" + s
	}
	return "wx" + s[len(s)-16:]
}
