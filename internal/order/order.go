// Package order is the backend data-api of Youshu as shuyuan serves it: the
// signature of every call, add_order (upsert by external_order_id with the
// status history), add_order_sum, add_wxapp_visit_page and the data
// sources the calls name. It knows nothing of HTTP; the server reads the
// request and maps the retcodes to statuses.
package order

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// Retcodes answered in {"retcode":N,"errmsg":...}. docs/data-api.md lists
// them with their HTTP statuses.
const (
	CodeOK            = 0
	CodeAuthMissing   = 4101 // an auth query parameter is missing or too long
	CodeUnknownApp    = 4102 // app_id names no app with a data-api secret
	CodeBadSignature  = 4103 // signature does not match
	CodeBadTimestamp  = 4104 // timestamp unreadable or more than the window away
	CodeReplayed      = 4105 // nonce already used inside the window
	CodeBadSignMethod = 4106 // sign is not sha256
	CodeBadBody       = 4201 // body empty, not JSON, not an object, not UTF-8
	CodeInvalid       = 4202 // a field breaks a rule; errmsg names index, field and rule
	CodeTooMany       = 4203 // more items than MaxItems
	CodeUnknownSource = 4204 // dataSourceId is not a data source of the app
	CodeSourceTaken   = 4205 // data_source/add: the type already has another id
	CodeTimeout       = 4208 // the body did not arrive in time (set by the server)
	CodeTooLarge      = 4213 // body over the server's limit (set by the server)
	CodeNoEndpoint    = 4404 // no such data-api path (set by the server)
	CodeBadMethod     = 4405 // wrong HTTP method (set by the server)
	CodeUnavailable   = 5003 // the store could not commit; nothing was stored
)

// MaxItems is the most orders, daily sums or rawMsg reports of one call.
const MaxItems = 50

// MaxProblems is how many broken rules one answer lists.
const MaxProblems = 10

// Problem is one broken rule: the field with its path from the body's root
// (orders[3].goods_info[0].goods_num) and the rule.
type Problem struct {
	Field string `json:"field"`
	Rule  string `json:"rule"`
}

func (p Problem) String() string { return p.Field + ": " + p.Rule }

// Error refuses a whole call, with the retcode the client gets.
type Error struct {
	Code     int
	Msg      string
	Problems []Problem // for CodeInvalid
	Err      error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

func refuse(code int, err error, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...), Err: err}
}

func invalid(problems []Problem) *Error {
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = p.String()
	}
	return &Error{Code: CodeInvalid, Msg: strings.Join(msgs, "; "), Problems: problems}
}

func unavailable(err error) *Error {
	return refuse(CodeUnavailable, err, "store unavailable, nothing was stored; call again later with a new nonce")
}

// Call is one data-api request as the server read it.
type Call struct {
	Auth       Credentials
	Body       []byte
	Query      url.Values // data_source/get reads its parameters from here too
	ReceivedAt time.Time
}

// Options tune a Service.
type Options struct {
	// Nonces remembers used nonces (default: the store).
	Nonces NonceStore
	// Window is the accepted clock difference (default DefaultWindow).
	Window time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// OnPaid, if set, runs inside the transaction of an add_order call with
	// the orders the call made paid for the first time; see
	// store.OrderBatch.OnPaid. The conversion outbox plugs in here.
	OnPaid func(ctx context.Context, tx store.Tx, app *tenant.App, paid []store.PaidOrder) error
	// MaxFlushOrders bounds the orders of concurrent calls committed
	// together (default 2000).
	MaxFlushOrders int
}

// Service is the data-api.
type Service struct {
	st      store.OrderStore
	tenants *tenant.Registry
	nonces  NonceStore
	window  time.Duration
	now     func() time.Time
	onPaid  func(ctx context.Context, tx store.Tx, app *tenant.App, paid []store.PaidOrder) error
	commits *committer

	srcMu   sync.Mutex
	sources map[string]map[string]bool // app -> data source ids known
}

// Store is what the data-api needs of the store: the orders and the used
// nonces. Every store.Store is one.
type Store interface {
	store.OrderStore
	NonceStore
}

// NewService returns the data-api over st for the apps of tenants.
func NewService(st Store, tenants *tenant.Registry, opt Options) *Service {
	if opt.Nonces == nil {
		opt.Nonces = st
	}
	if opt.Window <= 0 {
		opt.Window = DefaultWindow
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.MaxFlushOrders <= 0 {
		opt.MaxFlushOrders = 2000
	}
	return &Service{
		st: st, tenants: tenants, nonces: opt.Nonces, window: opt.Window, now: opt.Now, onPaid: opt.OnPaid,
		commits: &committer{st: st, maxOrders: opt.MaxFlushOrders},
		sources: map[string]map[string]bool{},
	}
}

// OrdersAdded is the data of an add_order answer.
type OrdersAdded struct {
	Received int `json:"received"` // orders in the call
	Created  int `json:"created"`  // orders not stored before
	Updated  int `json:"updated"`  // stored orders whose snapshot was replaced
	Stale    int `json:"stale"`    // stored orders kept: the call's status_change_time was older
	Paid     int `json:"paid"`     // orders the call made paid for the first time
}

// AddOrders is /order/add_order: it returns once every order of the call
// is committed, or refuses the whole call.
func (s *Service) AddOrders(ctx context.Context, c Call) (*OrdersAdded, error) {
	app, err := s.authenticate(ctx, c.Auth)
	if err != nil {
		return nil, err
	}
	src, orders, perr := parseOrders(c.Body)
	if perr != nil {
		return nil, perr
	}
	if err := s.checkSource(ctx, app, src); err != nil {
		return nil, err
	}
	b := &store.OrderBatch{AppID: app.ID, ReceivedAt: c.ReceivedAt, Orders: orders}
	if s.onPaid != nil {
		b.OnPaid = func(ctx context.Context, tx store.Tx, paid []store.PaidOrder) error {
			return s.onPaid(ctx, tx, app, paid)
		}
	}
	if r := app.Relay; r != nil && r.DataAPIAppID != "" {
		if b.Relay, err = relayOrders(app.ID, src, orders, c.ReceivedAt); err != nil {
			return nil, unavailable(err)
		}
	}
	res, err := s.commits.add(b)
	if err != nil {
		return nil, unavailable(err)
	}
	return &OrdersAdded{Received: len(orders), Created: res.Created, Updated: res.Updated, Stale: res.Stale, Paid: len(res.Paid)}, nil
}

// SumsAdded is the data of an add_order_sum answer.
type SumsAdded struct {
	Received int `json:"received"`
}

// AddOrderSums is /order/add_order_sum.
func (s *Service) AddOrderSums(ctx context.Context, c Call) (*SumsAdded, error) {
	app, err := s.authenticate(ctx, c.Auth)
	if err != nil {
		return nil, err
	}
	src, sums, perr := parseSums(c.Body, app.Location)
	if perr != nil {
		return nil, perr
	}
	if err := s.checkSource(ctx, app, src); err != nil {
		return nil, err
	}
	var relay []store.Relay
	if r := app.Relay; r != nil && r.DataAPIAppID != "" {
		relay = append(relay, relaySums(app.ID, c.Body, c.ReceivedAt))
	}
	if err := s.st.AddOrderSums(ctx, app.ID, sums, c.ReceivedAt, relay...); err != nil {
		return nil, unavailable(err)
	}
	return &SumsAdded{Received: len(sums)}, nil
}

// PagesAdded is the data of an add_wxapp_visit_page answer.
type PagesAdded struct {
	Received int `json:"received"` // reports (days) in rawMsg
	Pages    int `json:"pages"`    // page rows in their lists
}

// AddVisitPages is /analysis/add_wxapp_visit_page.
func (s *Service) AddVisitPages(ctx context.Context, c Call) (*PagesAdded, error) {
	app, err := s.authenticate(ctx, c.Auth)
	if err != nil {
		return nil, err
	}
	src, days, pages, perr := parsePages(c.Body, app.Location)
	if perr != nil {
		return nil, perr
	}
	if err := s.checkSource(ctx, app, src); err != nil {
		return nil, err
	}
	var relay []store.Relay
	if r := app.Relay; r != nil && r.DataAPIAppID != "" {
		relay = append(relay, relayPages(app.ID, c.Body, c.ReceivedAt))
	}
	if err := s.st.AddVisitPages(ctx, app.ID, pages, c.ReceivedAt, relay...); err != nil {
		return nil, unavailable(err)
	}
	return &PagesAdded{Received: days, Pages: len(pages)}, nil
}

// DataSource is a data source as the API shows it.
type DataSource struct {
	ID         string `json:"id"`
	Type       int64  `json:"type"`
	MerchantID string `json:"merchantId"`
}

// SourceAdded is the data of a data_source/add answer.
type SourceAdded struct {
	DataSource DataSource `json:"dataSource"`
	Created    bool       `json:"created"`
}

// AddDataSource is /data_source/add: {merchantId, dataSourceType} and,
// as a shuyuan extension, dataSourceId to keep an id Youshu issued. An app
// has one data source per type; adding a type again returns the one there.
func (s *Service) AddDataSource(ctx context.Context, c Call) (*SourceAdded, error) {
	app, err := s.authenticate(ctx, c.Auth)
	if err != nil {
		return nil, err
	}
	req, perr := parseSourceAdd(c.Body)
	if perr != nil {
		return nil, perr
	}
	want := store.DataSource{AppID: app.ID, ID: req.id, Type: req.typ, MerchantID: req.merchant, CreatedAt: c.ReceivedAt}
	if want.ID == "" {
		want.ID = newSourceID()
	}
	got, created, err := s.st.AddDataSource(ctx, want)
	if err != nil {
		return nil, unavailable(err)
	}
	switch {
	case created:
	case got.Type != req.typ:
		return nil, refuse(CodeSourceTaken, nil, "dataSourceId: %q is already the app's data source of type %d", req.id, got.Type)
	case req.id != "" && got.ID != req.id:
		return nil, refuse(CodeSourceTaken, nil, "dataSourceType: the app already has data source %q of type %d (one per type)", got.ID, got.Type)
	}
	s.remember(app.ID, got.ID)
	return &SourceAdded{DataSource: DataSource{ID: got.ID, Type: got.Type, MerchantID: got.MerchantID}, Created: created}, nil
}

// SourcesFound is the data of a data_source/get answer: the first match
// (as older clients read it) and all of them.
type SourcesFound struct {
	DataSource  *DataSource  `json:"dataSource"`
	DataSources []DataSource `json:"dataSources"`
}

// GetDataSources is /data_source/get: the app's data sources, narrowed by
// merchantId and dataSourceType when given (query or JSON body).
func (s *Service) GetDataSources(ctx context.Context, c Call) (*SourcesFound, error) {
	app, err := s.authenticate(ctx, c.Auth)
	if err != nil {
		return nil, err
	}
	f, perr := parseSourceGet(c.Body, c.Query)
	if perr != nil {
		return nil, perr
	}
	all, err := s.st.DataSources(ctx, app.ID)
	if err != nil {
		return nil, unavailable(err)
	}
	out := &SourcesFound{DataSources: []DataSource{}}
	for _, ds := range all {
		if (f.merchant != "" && ds.MerchantID != f.merchant) || (f.hasType && ds.Type != f.typ) {
			continue
		}
		out.DataSources = append(out.DataSources, DataSource{ID: ds.ID, Type: ds.Type, MerchantID: ds.MerchantID})
	}
	if len(out.DataSources) > 0 {
		out.DataSource = &out.DataSources[0]
	}
	return out, nil
}

// checkSource refuses a dataSourceId the app has not added. Known ids are
// cached; an unknown one is looked up again, since another node may have
// added it.
func (s *Service) checkSource(ctx context.Context, app *tenant.App, id string) error {
	s.srcMu.Lock()
	ok := s.sources[app.ID][id]
	s.srcMu.Unlock()
	if ok {
		return nil
	}
	all, err := s.st.DataSources(ctx, app.ID)
	if err != nil {
		return unavailable(err)
	}
	for _, ds := range all {
		s.remember(app.ID, ds.ID)
		if ds.ID == id {
			ok = true
		}
	}
	if !ok {
		return &Error{Code: CodeUnknownSource, Msg: fmt.Sprintf("dataSourceId: %q is not a data source of this app; create one with /data-api/v1/data_source/add", id),
			Problems: []Problem{{"dataSourceId", "unknown"}}}
	}
	return nil
}

func (s *Service) remember(app, id string) {
	s.srcMu.Lock()
	defer s.srcMu.Unlock()
	if s.sources[app] == nil {
		s.sources[app] = map[string]bool{}
	}
	s.sources[app][id] = true
}

// newSourceID is a random decimal id like Youshu's.
func newSourceID() string {
	var b [8]byte
	rand.Read(b[:])
	return fmt.Sprint(binary.BigEndian.Uint64(b[:])>>1 | 1<<61)
}

// committer commits the add_order calls that arrive while a commit runs
// together in the next one (group commit): on DuckDB a transaction's fixed
// cost is far above that of its rows. Nothing waits on a timer: the first
// call commits at once, and whoever waits first when a commit ends commits
// everything that queued meanwhile.
type committer struct {
	st        store.OrderStore
	maxOrders int

	mu    sync.Mutex
	queue []*pending
	busy  bool
}

type pending struct {
	batch *store.OrderBatch
	res   store.OrderResult
	err   error
	done  chan struct{}
	lead  chan struct{}
}

func (g *committer) add(b *store.OrderBatch) (store.OrderResult, error) {
	p := &pending{batch: b, done: make(chan struct{}), lead: make(chan struct{}, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, p)
	if !g.busy {
		g.busy = true
		g.mu.Unlock()
		g.commitAs()
	} else {
		g.mu.Unlock()
	}
	for {
		select {
		case <-p.done:
			return p.res, p.err
		case <-p.lead:
			g.commitAs()
		}
	}
}

// commitAs commits the head of the queue (which includes the caller) and
// hands the lead to the next waiting call, if any.
func (g *committer) commitAs() {
	g.mu.Lock()
	n, orders := 0, 0
	for n < len(g.queue) && (n == 0 || orders+len(g.queue[n].batch.Orders) <= g.maxOrders) {
		orders += len(g.queue[n].batch.Orders)
		n++
	}
	take := append([]*pending(nil), g.queue[:n]...)
	g.queue = g.queue[n:]
	g.mu.Unlock()

	g.commit(take)

	g.mu.Lock()
	if len(g.queue) > 0 {
		g.queue[0].lead <- struct{}{}
	} else {
		g.busy = false
	}
	g.mu.Unlock()
}

func (g *committer) commit(take []*pending) {
	batches := make([]*store.OrderBatch, len(take))
	for i, p := range take {
		batches[i] = p.batch
	}
	// The commit is shared: one client going away must not cancel it.
	res, err := g.st.AddOrders(context.Background(), batches)
	if err == nil && len(res) != len(take) {
		err = fmt.Errorf("store returned %d results for %d batches", len(res), len(take))
	}
	if err != nil && len(take) > 1 {
		// One call's failure (its hook, its data) must not fail the calls
		// it happened to share a commit with: each is tried on its own.
		for _, p := range take {
			r, err := g.st.AddOrders(context.Background(), []*store.OrderBatch{p.batch})
			if err == nil && len(r) != 1 {
				err = errors.New("store returned no result")
			}
			if err == nil {
				p.res = r[0]
			}
			p.err = err
			close(p.done)
		}
		return
	}
	for i, p := range take {
		if err != nil {
			p.err = err
		} else {
			p.res = res[i]
		}
		close(p.done)
	}
}
