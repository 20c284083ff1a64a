package wxfake

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Endpoint names, as used by Server.Script, Server.Calls and
// Options.FaultEndpoints. They are the path after /cgi-bin/, /marketing/
// or /datacube/.
const (
	EndpointToken       = "token"
	EndpointStableToken = "stable_token"
	EndpointSetsAdd     = "user_action_sets/add"
	EndpointSetsGet     = "user_action_sets/get"
	EndpointActionsAdd  = "user_actions/add"
	EndpointReportsGet  = "user_action_set_reports/get"
)

// endpointPaths maps the URL paths the fake serves to endpoint names.
var endpointPaths = map[string]string{
	"/cgi-bin/token":                         EndpointToken,
	"/cgi-bin/stable_token":                  EndpointStableToken,
	"/marketing/user_action_sets/add":        EndpointSetsAdd,
	"/marketing/user_action_sets/get":        EndpointSetsGet,
	"/marketing/user_actions/add":            EndpointActionsAdd,
	"/marketing/user_action_set_reports/get": EndpointReportsGet,
}

// MarketingEndpoints lists the four marketing endpoints; it is the default
// of Options.FaultEndpoints.
var MarketingEndpoints = []string{EndpointSetsAdd, EndpointSetsGet, EndpointActionsAdd, EndpointReportsGet}

// gmt8 is WeChat's clock for days (quotas, report dates, created_time). A
// fixed zone avoids depending on the tzdata of the machine.
var gmt8 = time.FixedZone("GMT+8", 8*3600)

// App is one WeChat app (mini-program or official account) known to the
// fake, bound to an ad account.
type App struct {
	AppID     string
	Secret    string
	AccountID int64
	// AllowedIPs is the app's IP whitelist for the token endpoints; empty
	// allows every caller. A caller outside it gets 40164.
	AllowedIPs []string
	// Kind is a mini-program (the zero value) or an official account; the
	// datacube endpoints accept only the token of their own kind.
	Kind AppKind
	// Unverified marks an official account WeChat has not verified: its
	// datacube calls get 48001.
	Unverified bool
}

// Options configures a Server. Zero values take the defaults named on each
// field; negative limits mean "unlimited".
type Options struct {
	// Apps are registered at start; more can be added with Server.AddApp.
	Apps []App
	// Now is the fake's clock (default time.Now). Token expiry, overlap
	// windows, quotas, arrival times and report days all read it.
	Now func() time.Time

	// TokenLifetime is the expires_in of a fresh token (default 7200 s).
	TokenLifetime time.Duration
	// ClassicOverlap is how long a classic token stays valid after a newer
	// one was minted (default 300 s).
	ClassicOverlap time.Duration
	// ClassicDailyLimit is the daily number of cgi-bin/token calls per app
	// before 45009 (default 2000).
	ClassicDailyLimit int
	// WrongSecretCode is the errcode of a secret mismatch on the token
	// endpoints: 40125 (default) or 40001, both seen in the wild.
	WrongSecretCode int64

	// StableRotateBefore: stable_token hands out a new token once the
	// current one has less than this left (default 300 s).
	StableRotateBefore time.Duration
	// StableDailyLimit and StableMinuteLimit bound stable_token calls per
	// app (defaults 500000 and 10000).
	StableDailyLimit  int
	StableMinuteLimit int
	// ForceRefreshDailyLimit and ForceRefreshInterval bound
	// force_refresh=true (defaults 20 per day, 30 s apart).
	ForceRefreshDailyLimit int
	ForceRefreshInterval   time.Duration

	// MaxActions bounds the actions of one user_actions/add (default 50).
	MaxActions int
	// MaxBodyBytes bounds the body of user_actions/add (default 51200).
	// Family-B number assumed for family A.
	MaxBodyBytes int
	// ActionTypes is the accepted action_type set (default
	// FamilyBActionTypes, which contains our three).
	ActionTypes []string
	// IdentifyWellFormed makes any well-formed click id count as
	// identified, without registering it with AddClick.
	IdentifyWellFormed bool
	// MaxFutureSkew, when positive, rejects an action_time more than this
	// far after the fake's clock with 900351000 (strict mode).
	MaxFutureSkew time.Duration
	// DedupOuterActionID makes a second action with the same
	// (set, action_type, outer_action_id or external_action_id) a no-op
	// duplicate: still errcode 0, recorded with Duplicate=true, not counted
	// in reports.
	DedupOuterActionID bool

	// FaultRate is the probability in [0,1] that a call to one of
	// FaultEndpoints gets a random fault from FaultKinds, drawn from a RNG
	// seeded with FaultSeed. Scripted faults take precedence.
	FaultRate      float64
	FaultSeed      uint64
	FaultKinds     []FaultKind // default TransientFaults
	FaultEndpoints []string    // default MarketingEndpoints
	// SlowDelay is the delay of a FaultSlow without its own (default 5 s).
	SlowDelay time.Duration

	// MiniReadyHour and OAReadyHour are the GMT+8 hours before which
	// yesterday's datacube data is not ready (defaults 10 and 8; negative
	// means always ready). Before it mini-program endpoints answer 61503,
	// legacy official-account ones an empty list and the new article family
	// is_delay=true.
	MiniReadyHour int
	OAReadyHour   int
}

// FamilyBActionTypes is the action_type enum of the Tencent Ads Go SDK
// v1.7.78 (spec §4); family A is believed to pass it through.
var FamilyBActionTypes = []string{
	"CUSTOM", "REGISTER", "VIEW_CONTENT", "CONSULT", "ADD_TO_CART", "PURCHASE", "ACTIVATE_APP", "SEARCH",
	"ADD_TO_WISHLIST", "INITIATE_CHECKOUT", "COMPLETE_ORDER", "DOWNLOAD_APP", "START_APP", "RATE", "PAGE_VIEW",
	"RESERVATION", "SHARE", "APPLY", "CLAIM_OFFER", "NAVIGATE", "PRODUCT_RECOMMEND", "VISIT_STORE", "TRY_OUT",
	"DELIVER", "CONFIRM_EFFECTIVE_LEADS", "CONFIRM_POTENTIAL_CUSTOMER", "CREATE_ROLE", "AUTHORIZE",
	"TUTORIAL_FINISH", "SCANCODE", "ENTER_BACKGROUND", "ENTER_FOREGROUND", "TICKET", "LOGIN", "QUEST",
	"UPDATE_LEVEL", "CREATE", "PAUSE", "RESUME", "APP_QUIT", "BIND_ACCOUNT", "ADD_PAYMENT", "PRE_CREDIT",
	"CREDIT", "WITHDRAW_DEPOSITS", "LANDING_PAGE_CLICK", "SELECT_COURSE", "RE_FUND", "PLATFORM_VIEW",
	"ONE_DAY_LEAVE", "PRODUCT_VIEW", "PURCHASE_MEMBER_CARD", "ONLINE_CONSULT", "MAKE_PHONE_CALL", "FOLLOW",
	"ADD_DESKTOP", "RETURN", "LEAVE_INFORMATION", "PURCHASE_COUPON", "ADD_GROUP", "ADD_CUSTOMER_PAGE_VIEW",
	"ADD_CUSTOMER_PAGE_INTERACTIVE", "CUSTOMER_PROMOTION_PAGE_VIEW", "CUSTOMER_PROMOTION_PAGE_INTERACTIVE",
	"ABNORMAL_ACTION", "APP_MSDK_ADCOST", "LIVE_STREAM", "SCANCODE_WX", "STAY_PAY_7", "STAY_PAY_15",
	"STAY_PAY_30", "INSURANCE_PAY", "RESERVATION_CHECK", "PARTICIPATED", "COMPLETED", "REGULAR_PRICE_COURSE",
	"DROP_OUT", "CONFIRM_DELIVERY_ORDER", "CANCEL_DELIVERY_ORDER", "OPEN_ACCOUNT", "DEPOSIT", "TRADE",
	"SECURITY_NEGATIVE", "AD_CLICK", "AD_IMPRESSION", "SIGN_IN", "TRY_OUT_INTENTION", "INEFFECTIVE_LEADS",
	"READ_ARTICLE", "COMMENT", "CARD_CLICK", "WECOM_CONSULT", "BIND_CARD", "LOW_PRICE_COURSE", "ADD_WECHAT",
	"PRE_PAY", "QUIT_GROUP", "PHONE_CONNECTED", "RE_ACTIVE", "CLAIM_COURSE", "VIEW_ACQUISITION_CONTENT",
	"TERMINATION", "RENEWAL", "CONSULT_INTENTION",
}

// withDefaults fills the zero fields of o.
func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	setDur := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	setInt := func(n *int, def int) {
		if *n == 0 {
			*n = def
		}
	}
	setDur(&o.TokenLifetime, 7200*time.Second)
	setDur(&o.ClassicOverlap, 300*time.Second)
	setDur(&o.StableRotateBefore, 300*time.Second)
	setDur(&o.ForceRefreshInterval, 30*time.Second)
	setDur(&o.SlowDelay, 5*time.Second)
	// A rotation margin as long as the lifetime would mint a token on every
	// call; halve it so a short test lifetime still behaves like production.
	if o.StableRotateBefore >= o.TokenLifetime {
		o.StableRotateBefore = o.TokenLifetime / 2
	}
	setInt(&o.ClassicDailyLimit, 2000)
	setInt(&o.StableDailyLimit, 500000)
	setInt(&o.StableMinuteLimit, 10000)
	setInt(&o.ForceRefreshDailyLimit, 20)
	setInt(&o.MaxActions, 50)
	setInt(&o.MaxBodyBytes, 50*1024)
	setInt(&o.MiniReadyHour, 10)
	setInt(&o.OAReadyHour, 8)
	o.MiniReadyHour, o.OAReadyHour = max(o.MiniReadyHour, 0), max(o.OAReadyHour, 0)
	if o.WrongSecretCode == 0 {
		o.WrongSecretCode = 40125
	}
	if len(o.ActionTypes) == 0 {
		o.ActionTypes = FamilyBActionTypes
	}
	if len(o.FaultKinds) == 0 {
		o.FaultKinds = TransientFaults
	}
	if len(o.FaultEndpoints) == 0 {
		o.FaultEndpoints = MarketingEndpoints
	}
	return o
}

// Server is the fake. It is an http.Handler and safe for concurrent use.
type Server struct {
	opts        Options
	actionTypes map[string]bool

	rid atomic.Uint64 // request ids for errmsg suffixes

	mu        sync.Mutex
	apps      map[string]*appState
	tokens    map[string]*token
	sets      map[int64]*actionSet
	nextSetID int64
	actions   []RecordedAction
	dedup     map[dedupKey]bool
	clicks    map[string]bool
	scripts   map[string][]Fault
	calls     map[string]int
	rng       *rand.Rand
	faultRate float64
	faultKind []FaultKind
}

// New returns a fake configured by opts. It rejects duplicate or empty
// appids and unknown fault kinds.
func New(opts Options) (*Server, error) {
	opts = opts.withDefaults()
	if opts.FaultRate < 0 || opts.FaultRate > 1 {
		return nil, fmt.Errorf("wxfake: FaultRate %v outside [0,1]", opts.FaultRate)
	}
	for _, k := range opts.FaultKinds {
		if !k.valid() || k == FaultNone {
			return nil, fmt.Errorf("wxfake: unknown fault kind %q in FaultKinds", k)
		}
	}
	for _, ep := range opts.FaultEndpoints {
		if !knownEndpoint(ep) {
			return nil, fmt.Errorf("wxfake: unknown endpoint %q in FaultEndpoints", ep)
		}
	}
	s := &Server{
		opts:        opts,
		actionTypes: make(map[string]bool, len(opts.ActionTypes)),
		apps:        make(map[string]*appState),
		rng:         rand.New(rand.NewPCG(opts.FaultSeed, opts.FaultSeed^0x9e3779b97f4a7c15)),
		faultRate:   opts.FaultRate,
		faultKind:   slices.Clone(opts.FaultKinds),
	}
	for _, t := range opts.ActionTypes {
		s.actionTypes[t] = true
	}
	s.resetLocked()
	for _, a := range opts.Apps {
		if err := s.AddApp(a); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// resetLocked forgets every piece of state except the registered apps'
// identities.
func (s *Server) resetLocked() {
	s.tokens = make(map[string]*token)
	s.sets = make(map[int64]*actionSet)
	s.nextSetID = 1111015138 // the shape of ids users posted
	s.actions = nil
	s.dedup = make(map[dedupKey]bool)
	s.clicks = make(map[string]bool)
	s.scripts = make(map[string][]Fault)
	s.calls = make(map[string]int)
	for id, a := range s.apps {
		s.apps[id] = &appState{App: a.App}
	}
}

// AddApp registers an app. Its appid must be new and its secret non-empty.
func (s *Server) AddApp(a App) error {
	if a.AppID == "" || a.Secret == "" {
		return errors.New("wxfake: app needs an appid and a secret")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.apps[a.AppID]; dup {
		return fmt.Errorf("wxfake: app %q registered twice", a.AppID)
	}
	a.AllowedIPs = slices.Clone(a.AllowedIPs)
	s.apps[a.AppID] = &appState{App: a}
	return nil
}

// SetAllowedIPs replaces an app's IP whitelist; no ips allows every caller.
func (s *Server) SetAllowedIPs(appID string, ips ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[appID]
	if a == nil {
		return fmt.Errorf("wxfake: unknown app %q", appID)
	}
	a.AllowedIPs = slices.Clone(ips)
	return nil
}

// AddClick registers click ids as known to the ad platform, so actions
// carrying them count as identified (if well-formed).
func (s *Server) AddClick(clickIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range clickIDs {
		s.clicks[id] = true
	}
}

// Actions returns a copy of every action the fake accepted, in arrival order.
func (s *Server) Actions() []RecordedAction {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]RecordedAction, len(s.actions))
	for i, a := range s.actions {
		a.Raw = slices.Clone(a.Raw)
		out[i] = a
	}
	return out
}

// ActionSets returns every data source of every account, by id.
func (s *Server) ActionSets() []ActionSet {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ActionSet, 0, len(s.sets))
	for _, set := range s.sets {
		out = append(out, set.ActionSet)
	}
	slices.SortFunc(out, func(a, b ActionSet) int { return cmpInt(a.ID, b.ID) })
	return out
}

// Calls returns how many requests reached endpoint (faulted ones included)
// since the start or the last Reset.
func (s *Server) Calls(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[endpoint]
}

// ResetActions forgets the recorded actions and the dedup memory; data
// sources, their activation and tokens stay.
func (s *Server) ResetActions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.actions = nil
	s.dedup = make(map[dedupKey]bool)
}

// Reset forgets all state — tokens, quotas, data sources, actions, clicks,
// scripted faults, call counts — but keeps the registered apps.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

// reply is what an endpoint answers; ServeHTTP writes it (or drops it).
type reply struct {
	status int // 0 means 200
	body   any
}

// envelope is WeChat's answer shape.
type envelope struct {
	ErrCode   int64  `json:"errcode"`
	ErrMsg    string `json:"errmsg"`
	MessageCN string `json:"message_cn,omitempty"`
	Data      any    `json:"data,omitempty"`
}

// fail builds an error answer. Classic WeChat codes carry a request id in
// the message as the real platform does, so clients that match on the
// whole text fail here as they would in production.
func (s *Server) fail(code int64, msg string) reply {
	if code > -1000 && code < 100000 {
		n := s.rid.Add(1)
		msg = fmt.Sprintf("%s rid: %08x-%08x-%08x", msg, 0x65f0a000+n, n*2654435761&0xffffffff, n*40503&0xffffffff)
	}
	e := envelope{ErrCode: code, ErrMsg: msg}
	if code == 900310000 {
		e.MessageCN = "系统繁忙，请稍后再试"
	}
	return reply{body: e}
}

// failf is fail with a formatted message.
func (s *Server) failf(code int64, format string, args ...any) reply {
	return s.fail(code, fmt.Sprintf(format, args...))
}

// success builds a success answer; data may be nil.
func success(data any) reply { return reply{body: envelope{Data: data}} }

// maxReadBytes bounds what the fake reads of any body, whatever MaxBodyBytes
// says, so a runaway client cannot exhaust memory.
const maxReadBytes = 8 << 20

// ServeHTTP routes a request to the token, marketing or /_fake/ endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_fake/") {
		s.serveControl(w, r)
		return
	}
	ep, known := endpointPaths[r.URL.Path]
	if !known {
		writeJSON(w, http.StatusNotFound, envelope{ErrCode: 404, ErrMsg: "wxfake: no such endpoint " + r.URL.Path})
		return
	}
	// Read the body before anything else: it bounds memory, and net/http
	// only notices a client hanging up (cancelling r.Context, which the slow
	// fault waits on) once the body has been consumed.
	limit := max(s.opts.MaxBodyBytes, 1<<20)
	limit = min(limit, maxReadBytes)
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		return // the client went away mid-body; nothing to answer
	}
	truncated := len(body) > limit

	f := s.takeFault(ep)
	switch f.Kind {
	case FaultNone, FaultDropAfterRecord:
	case FaultSlow:
		d := f.Delay
		if d <= 0 {
			d = s.opts.SlowDelay
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			// The caller gave up before the fake processed anything: the
			// slow fault never records, so its outcome is unambiguous.
			t.Stop()
			return
		}
	case FaultHTTP502:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n")
		return
	default:
		code, msg := f.errcode()
		rep := s.fail(code, msg)
		writeJSON(w, http.StatusOK, rep.body)
		return
	}

	var rep reply
	switch ep {
	case EndpointToken:
		rep = s.classicToken(r)
	case EndpointStableToken:
		rep = s.stableToken(r, body)
	case EndpointVisitPage, EndpointDailySummary, EndpointDailyVisitTrend, EndpointVisitDistrib,
		EndpointUserSummary, EndpointUserCumulate, EndpointArticleRead, EndpointArticleShare,
		EndpointBizSummary, EndpointArticleTotalDet, EndpointArticleSummary, EndpointArticleTotalOld, EndpointUserRead:
		rep = s.datacube(ep, r, body)
	default:
		rep = s.marketing(ep, r, body, truncated)
	}
	if f.Kind == FaultDropAfterRecord {
		dropConnection(w)
		return
	}
	status := rep.status
	if status == 0 {
		status = http.StatusOK
	}
	writeJSON(w, status, rep.body)
}

// dropConnection closes the client's connection without an answer, after
// the work was done: the caller cannot tell whether it succeeded.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2 or a recorder: aborting the handler is the documented way
		// to reset the stream instead of answering.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// writeJSON writes v as a JSON answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"errcode":-1,"errmsg":"wxfake: cannot encode answer"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// knownEndpoint reports whether ep names an endpoint of the fake.
func knownEndpoint(ep string) bool {
	for _, e := range endpointPaths {
		if e == ep {
			return true
		}
	}
	return false
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ParseApp reads an app from "appid:secret:account_id", the form a command
// line flag of `shuyuan fakewx` can take. The secret may contain colons.
func ParseApp(s string) (App, error) {
	appid, rest, ok := strings.Cut(s, ":")
	i := strings.LastIndex(rest, ":")
	if !ok || i < 0 {
		return App{}, fmt.Errorf("wxfake: app %q: want appid:secret:account_id", s)
	}
	secret, acct := rest[:i], rest[i+1:]
	id, err := strconv.ParseInt(acct, 10, 64)
	if err != nil || id <= 0 {
		return App{}, fmt.Errorf("wxfake: app %q: account_id %q is not a positive integer", s, acct)
	}
	if appid == "" || secret == "" {
		return App{}, fmt.Errorf("wxfake: app %q: appid and secret must not be empty", s)
	}
	return App{AppID: appid, Secret: secret, AccountID: id}, nil
}
