// Package conversion closes the WeChat Ads loop: rules turn the facts
// shuyuan stores — an order that became paid, a lead — into WeChat Ads
// actions credited to the user's last ad touch, written to a durable outbox
// in the same transaction as the fact; a worker delivers the outbox to
// user_actions/add in batches, retries what may succeed later and keeps
// what cannot as dead letters to replay.
//
// Every conversion has a deterministic id (app, order or lead id, action
// type): a fact reported ten times is one row, sent once (and sent as
// outer_action_id, when the app is configured to, so that the platform can
// absorb a resend whose first answer was lost). The states of a row:
//
//	unattributed  no ad touch inside the window: recorded, never sent
//	pending       to send; next_attempt_at says when
//	delivered     WeChat answered errcode 0
//	dead          refused for good, or out of retry budget; replay → pending
package conversion

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/attribution"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
	"github.com/shuyuan-dev/shuyuan/internal/wxads"
)

// What a conversion is about.
const (
	KindOrder = "order"
	KindLead  = "lead"
	KindAPI   = "api" // an action given to POST /wx/actions/add
)

// Where the fact came from.
const (
	SourceBackend = "backend" // data-api add_order: status 1150+
	SourceSDK     = "sdk"     // SDK custom_order with status payed
	SourceEvent   = "event"   // the app's lead event
	SourceAPI     = "api"     // POST /wx/actions/add
)

// The states of a conversion (the outbox's, store.Conversion*).
const (
	StateUnattributed = store.ConversionUnattributed
	StatePending      = store.ConversionPending
	StateDelivered    = store.ConversionDelivered
	StateDead         = store.ConversionDead
)

// ID is the deterministic id of a conversion: the same app, order (or
// lead, or caller's action) id and action type always give the same id,
// 32 hex characters, which is also sent as outer_action_id.
func ID(app, ref, actionType string) string {
	h := sha256.Sum256([]byte(app + "\x00" + ref + "\x00" + actionType))
	return hex.EncodeToString(h[:16])
}

// Conversion is one fact turned into an action.
type Conversion struct {
	ID         string
	AppID      string
	Kind       string
	RefID      string
	ActionType string
	Source     string
	OpenID     string
	UnionID    string
	OccurredAt time.Time
	ValueFen   int64
	// Touch is the ad click credited; a zero Touch means unattributed.
	Touch attribution.Touch
	// SetID is the data source to report to; 0 means the app's own at
	// send time.
	SetID int64
	// Action is what is sent, fixed at creation so every retry sends the
	// same payload; nil when unattributed.
	Action *wxads.Action
}

// Store is what the service needs of the store: write transactions
// (for the actions given to the WeChat routes), the outbox and the apps'
// state. Every store.Store is one.
type Store interface {
	Transact(ctx context.Context, fn func(tx store.Tx) error) error
	store.OutboxStore
	store.StateStore
}

// Options configure a Service.
type Options struct {
	// BaseURL is WeChat's API host (default wxads.DefaultBaseURL); tests and
	// --demo point it at wxfake.
	BaseURL string
	// HTTPClient is used for every WeChat call (default: 10 s timeout).
	HTTPClient *http.Client
	// Now is the clock of conversions, retries and tokens (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

// Service applies the conversion rules of every app and serves the WeChat
// side of the merchant's routes. It is safe for concurrent use.
type Service struct {
	st   Store
	apps *tenant.Registry
	opt  Options
	now  func() time.Time
	log  *slog.Logger

	mu     sync.Mutex
	wx     map[string]*wxApp
	setIDs map[string]int64
	notify func(app string)
}

// wxApp is an app's token source and marketing client.
type wxApp struct {
	tokens *wxads.TokenSource
	client *wxads.Client
}

// NewService returns the service of the apps of reg.
func NewService(st Store, reg *tenant.Registry, opt Options) *Service {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.HTTPClient == nil {
		opt.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &Service{
		st: st, apps: reg, opt: opt, now: opt.Now, log: opt.Logger,
		wx: map[string]*wxApp{}, setIDs: map[string]int64{},
	}
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// Apps is the registry the service serves.
func (s *Service) Apps() *tenant.Registry { return s.apps }

// setNotify installs the function told of apps with new pending rows.
func (s *Service) setNotify(f func(app string)) {
	s.mu.Lock()
	s.notify = f
	s.mu.Unlock()
}

func (s *Service) kick(app string) {
	s.mu.Lock()
	f := s.notify
	s.mu.Unlock()
	if f != nil {
		f(app)
	}
}

// Enabled reports whether the app takes part in the loop: it has a WeChat
// appid to report for.
func Enabled(a *tenant.App) bool { return a != nil && a.WxAppID != "" }

// app returns the app's WeChat token source and client, creating them on
// first use.
func (s *Service) app(appID string) (*tenant.App, *wxApp, error) {
	a, ok := s.apps.ByID(appID)
	if !ok {
		return nil, nil, fmt.Errorf("%w: no app %q", ErrUnknownApp, appID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if w := s.wx[appID]; w != nil {
		return a, w, nil
	}
	if a.WxAppID == "" || a.WxSecret == "" {
		return a, nil, fmt.Errorf("%w: app %s needs wx_appid and wx_secret (or %s) to call WeChat",
			ErrNotConfigured, appID, "SHUYUAN_APP_<ID>_WX_SECRET")
	}
	// The token lives in the store and one process (of all that share it)
	// is its refresher: every node answers the same token, and one fetch
	// serves them all.
	ts, err := wxads.NewTokenSource(wxads.TokenConfig{
		AppID: a.WxAppID, Secret: a.WxSecret, BaseURL: s.opt.BaseURL, HTTPClient: s.opt.HTTPClient,
		Now: s.now, Classic: a.Ads.ClassicToken, Store: tokenStore{s.st}, Elector: tokenElector{s.st},
	})
	if err != nil {
		return a, nil, fmt.Errorf("app %s: token source: %w", appID, err)
	}
	c, err := wxads.NewClient(wxads.Config{BaseURL: s.opt.BaseURL, HTTPClient: s.opt.HTTPClient, Tokens: ts})
	if err != nil {
		return a, nil, fmt.Errorf("app %s: marketing client: %w", appID, err)
	}
	w := &wxApp{tokens: ts, client: c}
	s.wx[appID] = w
	return a, w, nil
}

// Tokens is the app's mini-program token source, the one the deliveries
// use: the daily pull of the mini-program's data shares it, so one
// refresher serves both.
func (s *Service) Tokens(appID string) (*wxads.TokenSource, error) {
	_, w, err := s.app(appID)
	if err != nil {
		return nil, err
	}
	return w.tokens, nil
}

// SharedTokenSource is a token source for another WeChat app of the
// merchant (its official account), kept in st and fetched by the process
// elected in st, like the mini-program's: cfg's Store and Elector are
// set here. KeepFresh must run on it as on the others.
func SharedTokenSource(st Store, cfg wxads.TokenConfig) (*wxads.TokenSource, error) {
	cfg.Store, cfg.Elector = tokenStore{st}, tokenElector{st}
	ts, err := wxads.NewTokenSource(cfg)
	if err != nil {
		return nil, fmt.Errorf("token source of %s: %w", cfg.AppID, err)
	}
	return ts, nil
}

// tokenStore keeps the tokens in the store (wxads.Store).
type tokenStore struct{ st Store }

func (t tokenStore) Load(ctx context.Context, appID string) (wxads.Token, bool, error) {
	v, ok, err := t.st.LoadToken(ctx, appID)
	return wxads.Token(v), ok, err
}

func (t tokenStore) Save(ctx context.Context, appID string, v wxads.Token) error {
	return t.st.SaveToken(ctx, appID, store.Token(v))
}

func (t tokenStore) CompareAndDelete(ctx context.Context, appID, value string) (bool, error) {
	return t.st.DeleteTokenIf(ctx, appID, value)
}

// tokenElector elects the token refresher of an app among the processes
// that share the store (wxads.Elector): the store's role "token <appid>",
// held by the process, whichever of its sources asks.
type tokenElector struct{ st Store }

func (e tokenElector) Lead(ctx context.Context, appID, _ string) (bool, error) {
	return e.st.Lead(ctx, "token "+appID)
}

// RefreshTokens is one round of the token refreshers' upkeep (wxads
// KeepFresh) for every app that calls WeChat: the process that holds an
// app's refresher role fetches its token when it is due, so that the
// others, waiting, get it. It returns how many it fetched; errors are
// logged.
func (s *Service) RefreshTokens(ctx context.Context) int {
	n := 0
	for _, a := range s.apps.Apps() {
		if !Enabled(a) || a.WxSecret == "" {
			continue
		}
		_, wx, err := s.app(a.ID)
		if err != nil {
			continue
		}
		fetched, err := wx.tokens.KeepFresh(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("keep the WeChat token fresh", "app", a.ID, "error", err)
		}
		if fetched {
			n++
		}
	}
	return n
}

// Errors of the service, matched with errors.Is.
var (
	ErrUnknownApp    = fmt.Errorf("unknown app")
	ErrNotConfigured = fmt.Errorf("app not configured for WeChat Ads")
)

// gmt8 is WeChat's clock for days (reports are cut in GMT+8).
var gmt8 = time.FixedZone("GMT+8", 8*3600)

// transact runs fn in one write transaction of the store.
func (s *Service) transact(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.st.Transact(ctx, fn)
}
