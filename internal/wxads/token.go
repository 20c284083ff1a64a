package wxads

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DefaultBaseURL is WeChat's API host; tests and `--demo` point the
// configuration at wxfake instead.
const DefaultBaseURL = "https://api.weixin.qq.com"

// Token is a cached access token.
type Token struct {
	Value string
	// FetchedAt is when the token endpoint answered.
	FetchedAt time.Time
	// ExpiresAt is FetchedAt + expires_in: the platform's deadline.
	ExpiresAt time.Time
	// RefreshAt is when the cache stops handing the token out and fetches
	// the current one (expires_in − RefreshMargin).
	RefreshAt time.Time
}

// Store holds the current token of each app. The in-process MemoryStore is
// the default; a store shared by several processes (a PostgreSQL row per
// app) lets one elected refresher serve them all. Implementations must be
// safe for concurrent use.
type Store interface {
	// Load returns the app's token, ok=false when there is none.
	Load(ctx context.Context, appID string) (t Token, ok bool, err error)
	// Save replaces the app's token.
	Save(ctx context.Context, appID string, t Token) error
	// CompareAndDelete removes the app's token only if its value is still
	// value, so a caller reporting a stale token cannot drop a fresh one
	// another caller just stored.
	CompareAndDelete(ctx context.Context, appID, value string) (deleted bool, err error)
}

// Elector elects the one refresher of an app's token among the sources
// that share a Store. Lead reports whether holder holds the role now,
// taking it if it is free; it never blocks. A holder keeps the role until
// its process or its link to the shared store dies (the PostgreSQL store
// holds a session advisory lock on a dedicated connection); then another
// takes it. Only the holder fetches: the others wait for the token it
// stores. The default MemoryElector elects among sources that share it.
type Elector interface {
	Lead(ctx context.Context, appID, holder string) (bool, error)
}

// MemoryStore is an in-process Store; its zero value is ready to use.
type MemoryStore struct {
	mu sync.Mutex
	m  map[string]Token
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

// Load implements Store.
func (s *MemoryStore) Load(_ context.Context, appID string) (Token, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.m[appID]
	return t, ok, nil
}

// Save implements Store.
func (s *MemoryStore) Save(_ context.Context, appID string, t Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = make(map[string]Token)
	}
	s.m[appID] = t
	return nil
}

// CompareAndDelete implements Store.
func (s *MemoryStore) CompareAndDelete(_ context.Context, appID, value string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.m[appID]; ok && t.Value == value {
		delete(s.m, appID)
		return true, nil
	}
	return false, nil
}

// MemoryElector is an in-process Elector: the first holder to ask for an
// app's role keeps it. Its zero value is ready to use.
type MemoryElector struct {
	mu      sync.Mutex
	holders map[string]string
}

// NewMemoryElector returns a MemoryElector.
func NewMemoryElector() *MemoryElector { return &MemoryElector{} }

// Lead implements Elector.
func (e *MemoryElector) Lead(_ context.Context, appID, holder string) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.holders == nil {
		e.holders = make(map[string]string)
	}
	if h, ok := e.holders[appID]; ok {
		return h == holder, nil
	}
	e.holders[appID] = holder
	return true, nil
}

// TokenConfig configures a TokenSource.
type TokenConfig struct {
	AppID  string
	Secret string
	// BaseURL is the WeChat API host (default DefaultBaseURL).
	BaseURL string
	// HTTPClient defaults to a client with a 10 s timeout.
	HTTPClient *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Classic uses GET /cgi-bin/token instead of stable_token. Each fetch
	// then revokes every other holder's token after a 5-minute overlap, so
	// all processes of the app must share one Store and Elector.
	Classic bool
	// RefreshMargin is subtracted from expires_in to decide when to fetch
	// again (default 300 s, the stable endpoint's rotation window).
	RefreshMargin time.Duration
	// Store and Elector default to fresh in-process instances, which make
	// this source the refresher.
	Store   Store
	Elector Elector
	// Poll is how often a source that is not the refresher looks for the
	// refresher's new token while it waits (default 200 ms).
	Poll time.Duration
	// FetchTimeout bounds one shared fetch, which runs detached from the
	// caller that started it so its cancellation does not fail the others
	// (default 30 s).
	FetchTimeout time.Duration
}

// TokenSource hands out an app's access token. It is safe for concurrent
// use; concurrent misses cause one fetch.
type TokenSource struct {
	cfg     TokenConfig
	hc      *http.Client
	now     func() time.Time
	store   Store
	elector Elector
	// id names this source to the elector.
	id string

	mu     sync.Mutex
	flight *flight
}

// flight is one fetch that concurrent callers wait on.
type flight struct {
	done  chan struct{}
	token string
	err   error
}

// NewTokenSource returns a TokenSource for one app.
func NewTokenSource(cfg TokenConfig) (*TokenSource, error) {
	if cfg.AppID == "" || cfg.Secret == "" {
		return nil, fmt.Errorf("%w: token source needs an appid and a secret", ErrInvalidInput)
	}
	base, err := normaliseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	cfg.BaseURL = base
	if cfg.RefreshMargin < 0 {
		return nil, fmt.Errorf("%w: negative RefreshMargin %s", ErrInvalidInput, cfg.RefreshMargin)
	}
	if cfg.RefreshMargin == 0 {
		cfg.RefreshMargin = 300 * time.Second
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = 30 * time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 200 * time.Millisecond
	}
	ts := &TokenSource{cfg: cfg, hc: cfg.HTTPClient, now: cfg.Now, store: cfg.Store, elector: cfg.Elector}
	ts.id = fmt.Sprintf("%p", ts)
	if ts.hc == nil {
		ts.hc = &http.Client{Timeout: 10 * time.Second}
	}
	if ts.now == nil {
		ts.now = time.Now
	}
	if ts.store == nil {
		ts.store = NewMemoryStore()
	}
	if ts.elector == nil {
		ts.elector = NewMemoryElector()
	}
	return ts, nil
}

// AppID returns the app the source serves.
func (ts *TokenSource) AppID() string { return ts.cfg.AppID }

// Token returns a token with at least RefreshMargin left (as far as the
// source can tell), fetching one if needed.
func (ts *TokenSource) Token(ctx context.Context) (string, error) {
	t, ok, err := ts.store.Load(ctx, ts.cfg.AppID)
	if err != nil {
		return "", fmt.Errorf("wxads: load token of %s: %w", ts.cfg.AppID, err)
	}
	if ok && ts.now().Before(t.RefreshAt) {
		return t.Value, nil
	}
	return ts.join(ctx)
}

// join waits for the running fetch, starting one if none runs.
func (ts *TokenSource) join(ctx context.Context) (string, error) {
	ts.mu.Lock()
	f := ts.flight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		ts.flight = f
		// Detach from the caller: if it gives up, the others still get the
		// token, and the fetch is bounded by FetchTimeout.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ts.cfg.FetchTimeout)
		go func() {
			defer cancel()
			f.token, f.err = ts.refresh(fctx)
			ts.mu.Lock()
			ts.flight = nil
			ts.mu.Unlock()
			close(f.done)
		}()
	}
	ts.mu.Unlock()
	select {
	case <-f.done:
		return f.token, f.err
	case <-ctx.Done():
		return "", fmt.Errorf("wxads: waiting for token of %s: %w", ts.cfg.AppID, ctx.Err())
	}
}

// refresh returns a fresh token: the one another refresher stored while
// this one waited, or, when this source is the elected refresher, one it
// fetches and stores. A source that is not the refresher never fetches: it
// waits for the refresher's token (bounded by the caller's context and
// FetchTimeout), so an app's token is fetched by one source at a time
// across every process that shares the Store.
func (ts *TokenSource) refresh(ctx context.Context) (string, error) {
	for {
		if t, ok, err := ts.store.Load(ctx, ts.cfg.AppID); err == nil && ok && ts.now().Before(t.RefreshAt) {
			return t.Value, nil
		}
		lead, err := ts.elector.Lead(ctx, ts.cfg.AppID, ts.id)
		if err != nil {
			return "", fmt.Errorf("wxads: elect the token refresher of %s: %w", ts.cfg.AppID, err)
		}
		if lead {
			t, err := ts.fetch(ctx, false)
			if err != nil {
				return "", err
			}
			// A failed save only means the other holders fetch on their
			// own; the token itself is good, so hand it out rather than
			// fail the call.
			_ = ts.store.Save(ctx, ts.cfg.AppID, t)
			return t.Value, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("wxads: waiting for the refresher's token of %s: %w", ts.cfg.AppID, ctx.Err())
		case <-time.After(ts.cfg.Poll):
		}
	}
}

// KeepFresh is one round of the refresher's upkeep: when this source is
// the elected refresher and the stored token is missing or due, it fetches
// and stores a new one, so that the sources waiting for it, here or in
// other processes, get it without asking. It reports whether it fetched.
// The server runs it every second for every app.
func (ts *TokenSource) KeepFresh(ctx context.Context) (bool, error) {
	lead, err := ts.elector.Lead(ctx, ts.cfg.AppID, ts.id)
	if err != nil || !lead {
		return false, err
	}
	if t, ok, err := ts.store.Load(ctx, ts.cfg.AppID); err != nil || (ok && ts.now().Before(t.RefreshAt)) {
		return false, err
	}
	if _, err := ts.join(ctx); err != nil {
		return false, err
	}
	return true, nil
}

// Invalidate drops the cached token if it is still token — the one a call
// just had rejected — so the next Token fetches the current one. It
// reports whether it dropped anything; a token already replaced by another
// caller is left alone, which keeps a burst of failures to one fetch.
func (ts *TokenSource) Invalidate(ctx context.Context, token string) (bool, error) {
	ok, err := ts.store.CompareAndDelete(ctx, ts.cfg.AppID, token)
	if err != nil {
		return false, fmt.Errorf("wxads: drop token of %s: %w", ts.cfg.AppID, err)
	}
	return ok, nil
}

// ForceRefresh obtains a brand-new token and stores it. On the stable
// endpoint it sends force_refresh=true, which revokes the current token
// for every service at once and is limited to 20 a day, 30 s apart: it is
// an operator action for a leaked token, never called by this package.
// In classic mode it is an ordinary fetch.
//
// Only the elected refresher may force a refresh: a forced token revokes
// the one every other process holds, so two forcing at once would revoke
// each other's.
func (ts *TokenSource) ForceRefresh(ctx context.Context) (string, error) {
	lead, err := ts.elector.Lead(ctx, ts.cfg.AppID, ts.id)
	if err != nil {
		return "", fmt.Errorf("wxads: elect the token refresher of %s: %w", ts.cfg.AppID, err)
	}
	if !lead {
		return "", fmt.Errorf("%w: another process is the token refresher of %s; force the refresh there", ErrNotRefresher, ts.cfg.AppID)
	}
	t, err := ts.fetch(ctx, true)
	if err != nil {
		return "", err
	}
	if err := ts.store.Save(ctx, ts.cfg.AppID, t); err != nil {
		return t.Value, fmt.Errorf("wxads: store forced token of %s: %w", ts.cfg.AppID, err)
	}
	return t.Value, nil
}

// ErrNotRefresher refuses a forced refresh by a source that is not the
// elected refresher.
var ErrNotRefresher = errors.New("not the token refresher")

// tokenAnswer is the body of both token endpoints.
type tokenAnswer struct {
	AccessToken string  `json:"access_token"`
	ExpiresIn   int64   `json:"expires_in"`
	ErrCode     flexInt `json:"errcode"`
	ErrMsg      string  `json:"errmsg"`
}

// fetch calls the token endpoint once.
func (ts *TokenSource) fetch(ctx context.Context, force bool) (Token, error) {
	op := "stable_token"
	var req *http.Request
	var err error
	if ts.cfg.Classic {
		op = "token"
		q := url.Values{"grant_type": {"client_credential"}, "appid": {ts.cfg.AppID}, "secret": {ts.cfg.Secret}}
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, ts.cfg.BaseURL+"/cgi-bin/token?"+q.Encode(), nil)
	} else {
		body, _ := json.Marshal(map[string]any{ // a map of strings and a bool always encodes
			"grant_type": "client_credential", "appid": ts.cfg.AppID, "secret": ts.cfg.Secret, "force_refresh": force,
		})
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, ts.cfg.BaseURL+"/cgi-bin/stable_token", bytes.NewReader(body))
		if req != nil {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	if err != nil {
		return Token{}, fmt.Errorf("wxads: %s for %s: build request: %w", op, ts.cfg.AppID, err)
	}
	resp, err := ts.hc.Do(req)
	if err != nil {
		return Token{}, fmt.Errorf("wxads: %s for %s: %w", op, ts.cfg.AppID, redact(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return Token{}, fmt.Errorf("wxads: %s for %s: read answer: %w", op, ts.cfg.AppID, err)
	}
	var ans tokenAnswer
	jerr := json.Unmarshal(raw, &ans)
	if jerr == nil && ans.ErrCode != 0 {
		class, alert := tokenCodeClass(int64(ans.ErrCode))
		return Token{}, &APIError{Op: op, Code: int64(ans.ErrCode), Msg: ans.ErrMsg, HTTPStatus: resp.StatusCode, Class: class, Alert: alert}
	}
	if resp.StatusCode != http.StatusOK {
		return Token{}, &HTTPError{Op: op, StatusCode: resp.StatusCode, Body: snippet(raw), Class: httpClass(resp.StatusCode)}
	}
	if jerr != nil || ans.AccessToken == "" || ans.ExpiresIn <= 0 {
		return Token{}, fmt.Errorf("wxads: %s for %s: %w: no access_token/expires_in in %q", op, ts.cfg.AppID, ErrUnexpectedResponse, snippet(raw))
	}
	now := ts.now()
	life := time.Duration(ans.ExpiresIn) * time.Second
	ttl := life - ts.cfg.RefreshMargin
	if ttl <= 0 {
		// A token shorter-lived than the margin (a test lifetime, or the
		// stable endpoint's last 300 s): use half of what is left rather
		// than fetching on every call.
		ttl = life / 2
	}
	return Token{Value: ans.AccessToken, FetchedAt: now, ExpiresAt: now.Add(life), RefreshAt: now.Add(ttl)}, nil
}

// normaliseBaseURL checks a configured base URL and strips a trailing slash.
func normaliseBaseURL(base string) (string, error) {
	if base == "" {
		return DefaultBaseURL, nil
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%w: base URL %q is not an http(s) URL", ErrInvalidInput, base)
	}
	return strings.TrimRight(base, "/"), nil
}

// redact removes secrets (secret, access_token) from the URL that net/http
// puts in its errors, so they never reach a log.
func redact(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	u, perr := url.Parse(ue.URL)
	if perr != nil {
		return &url.Error{Op: ue.Op, URL: "(unparsable URL)", Err: ue.Err}
	}
	q := u.Query()
	for _, k := range []string{"secret", "access_token"} {
		if q.Has(k) {
			q.Set(k, "REDACTED")
		}
	}
	u.RawQuery = q.Encode()
	return &url.Error{Op: ue.Op, URL: u.String(), Err: ue.Err}
}

// snippet is the start of a body, for error messages.
func snippet(b []byte) string {
	const n = 300
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
