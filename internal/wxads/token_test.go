package wxads_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/wxads"
	"github.com/shuyuan-dev/shuyuan/internal/wxfake"
)

func TestTokenSingleFlight(t *testing.T) {
	r := newRig(t, nil)
	// Hold the first stable_token request until every caller is in flight,
	// so they overlap for real.
	const callers = 50
	var started atomic.Int32
	release := make(chan struct{})
	gate := httptest.NewServer(handlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/cgi-bin/stable_token" {
			<-release
		}
		r.fake.ServeHTTP(w, req)
	}))
	t.Cleanup(gate.Close)
	ts, err := wxads.NewTokenSource(wxads.TokenConfig{AppID: appID, Secret: secret, BaseURL: gate.URL, HTTPClient: gate.Client(), Now: r.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	tokens := make([]string, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() {
			started.Add(1)
			tokens[i], errs[i] = ts.Token(context.Background())
		})
	}
	for started.Load() < callers {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || tokens[i] != tokens[0] || tokens[0] == "" {
			t.Fatalf("caller %d: %q %v (first %q)", i, tokens[i], errs[i], tokens[0])
		}
	}
	if n := r.fake.Calls(wxfake.EndpointStableToken); n != 1 {
		t.Errorf("%d stable_token calls, want 1", n)
	}
}

func TestTokenCacheCrossesExpiry(t *testing.T) {
	r := newRig(t, nil)
	ts := r.source(false, nil)
	ctx := context.Background()
	tok, err := ts.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(6899 * time.Second) // cached until expires_in − 300 s
	if got, _ := ts.Token(ctx); got != tok || r.fake.Calls(wxfake.EndpointStableToken) != 1 {
		t.Fatalf("before the margin: %q, %d calls", got, r.fake.Calls(wxfake.EndpointStableToken))
	}
	r.clock.Advance(2 * time.Second) // 299 s left: the platform has rotated
	got, err := ts.Token(ctx)
	if err != nil || got == tok || r.fake.Calls(wxfake.EndpointStableToken) != 2 {
		t.Fatalf("after the margin: %q %v, %d calls; want a new token from one more call", got, err, r.fake.Calls(wxfake.EndpointStableToken))
	}
}

func TestExpiredTokenRefreshedAndRetried(t *testing.T) {
	r := newRig(t, nil)
	// This process's clock stood still (a suspended VM) while WeChat's ran
	// on, so it keeps using a token the platform has expired: 42001, then
	// recovery.
	ts := r.source(false, func(c *wxads.TokenConfig) {
		c.Now = func() time.Time { return t0 }
	})
	c := r.client(ts)
	ctx := context.Background()
	if _, err := c.GetActionSets(ctx, 0); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(7200 * time.Second)
	if _, err := c.GetActionSets(ctx, 0); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if got := r.fake.Calls(wxfake.EndpointSetsGet); got != 3 {
		t.Errorf("%d user_action_sets/get calls, want 3 (ok, 42001, retry)", got)
	}
	if got := r.fake.Calls(wxfake.EndpointStableToken); got != 2 {
		t.Errorf("%d stable_token calls, want 2", got)
	}
}

func TestTokenRejectedRetriesOnce(t *testing.T) {
	for _, code := range []int64{40001, 40014, 42001} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			r := newRig(t, nil)
			ts := r.source(false, nil)
			c := r.client(ts)
			set := r.webSet(c)
			ctx := context.Background()
			fault := wxfake.Fault{Kind: wxfake.FaultErrcode, Code: code, Msg: "rejected"}

			// Rejected once: drop, refetch, retry, success.
			if err := r.fake.Script(wxfake.EndpointActionsAdd, fault); err != nil {
				t.Fatal(err)
			}
			if err := c.AddActions(ctx, set, []wxads.Action{order(t0, click1, 4000)}); err != nil {
				t.Fatalf("one rejection: %v", err)
			}
			if n := r.fake.Calls(wxfake.EndpointActionsAdd); n != 2 {
				t.Errorf("%d calls after one rejection, want 2", n)
			}
			if n := r.fake.Calls(wxfake.EndpointStableToken); n != 2 {
				t.Errorf("%d token fetches after one rejection, want 2", n)
			}

			// Rejected twice: one retry only, then the error.
			if err := r.fake.Script(wxfake.EndpointActionsAdd, fault, fault, fault); err != nil {
				t.Fatal(err)
			}
			err := c.AddActions(ctx, set, []wxads.Action{order(t0, click1, 4000)})
			var ae *wxads.APIError
			if !errors.As(err, &ae) || ae.Code != code || wxads.Classify(err) != wxads.ClassRefreshToken {
				t.Fatalf("err %v, want APIError %d of class refresh_token", err, code)
			}
			if n := r.fake.Calls(wxfake.EndpointActionsAdd); n != 4 {
				t.Errorf("%d calls, want 4: a rejected retry must not loop", n)
			}
			if n := r.fake.Pending(wxfake.EndpointActionsAdd); n != 1 {
				t.Errorf("%d scripted faults left, want 1", n)
			}
		})
	}
}

func TestForceRefreshByAnotherHolder(t *testing.T) {
	r := newRig(t, nil)
	ts1, ts2 := r.source(false, nil), r.source(false, nil)
	c1 := r.client(ts1)
	ctx := context.Background()
	tok1, _ := ts1.Token(ctx)
	tok2, _ := ts2.Token(ctx)
	if tok1 != tok2 || tok1 == "" {
		t.Fatalf("stable holders got %q and %q, want the same token", tok1, tok2)
	}
	r.clock.Advance(time.Minute)
	forced, err := ts2.ForceRefresh(ctx)
	if err != nil || forced == tok1 {
		t.Fatalf("ForceRefresh: %q %v", forced, err)
	}
	// ts1 still holds the revoked token: one 40001, then the forced token.
	if _, err := c1.GetActionSets(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if got, _ := ts1.Token(ctx); got != forced {
		t.Errorf("ts1 holds %q, want the forced token", got)
	}
	if n := r.fake.Calls(wxfake.EndpointSetsGet); n != 2 {
		t.Errorf("%d calls, want 2", n)
	}
	// The platform's limit on force refresh reaches the operator as an error.
	_, err = ts2.ForceRefresh(ctx)
	if wxads.Classify(err) != wxads.ClassRateLimited {
		t.Errorf("second force within 30 s: %v (%v)", err, wxads.Classify(err))
	}
}

// holders runs the two-services scenario: two token sources of one app,
// each behind its own client, calling in three rounds 301 s apart (just
// past the classic overlap). It returns how many marketing calls the fake
// saw.
func holders(t *testing.T, classic bool, shared bool) (r *rig, calls int) {
	r = newRig(t, nil)
	var store wxads.Store
	var elector wxads.Elector
	if shared {
		store, elector = wxads.NewMemoryStore(), wxads.NewMemoryElector()
	}
	mod := func(c *wxads.TokenConfig) { c.Store, c.Elector = store, elector }
	a, b := r.client(r.source(classic, mod)), r.client(r.source(classic, mod))
	ctx := context.Background()
	for _, c := range []*wxads.Client{a, b} {
		if _, err := c.GetActionSets(ctx, 0); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		r.clock.Advance(301 * time.Second)
		for _, c := range []*wxads.Client{a, b} {
			if _, err := c.GetActionSets(ctx, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	return r, r.fake.Calls(wxfake.EndpointSetsGet)
}

func TestTwoStableHoldersDoNotInvalidateEachOther(t *testing.T) {
	r, calls := holders(t, false, false)
	if calls != 6 {
		t.Errorf("%d marketing calls, want 6 (no token rejected)", calls)
	}
	if n := r.fake.Calls(wxfake.EndpointStableToken); n != 2 {
		t.Errorf("%d stable_token calls, want one per holder", n)
	}
}

func TestTwoClassicHoldersInvalidateEachOther(t *testing.T) {
	r, calls := holders(t, true, false)
	// a's token died when b fetched (round 2: a rejected, refetches); a's
	// refetch kills b's in turn (round 3: b rejected, refetches) — the
	// ping-pong of spec §7 that the stable endpoint avoids.
	if calls != 8 {
		t.Errorf("%d marketing calls, want 8 (two rejected and retried)", calls)
	}
	if n := r.fake.Calls(wxfake.EndpointToken); n != 4 {
		t.Errorf("%d classic token calls, want 4", n)
	}
}

func TestClassicHoldersSharingAStore(t *testing.T) {
	// One shared store and locker — the central-token pattern — and the
	// classic endpoint is safe again.
	r, calls := holders(t, true, true)
	if calls != 6 {
		t.Errorf("%d marketing calls, want 6 (no token rejected)", calls)
	}
	if n := r.fake.Calls(wxfake.EndpointToken); n != 1 {
		t.Errorf("%d classic token calls, want 1", n)
	}
}

func TestClassicAndStableIsolated(t *testing.T) {
	r := newRig(t, nil)
	stable := r.client(r.source(false, nil))
	classic := r.source(true, nil)
	ctx := context.Background()
	if _, err := stable.GetActionSets(ctx, 0); err != nil {
		t.Fatal(err)
	}
	// Another service hammering the classic endpoint...
	for range 3 {
		if _, err := classic.ForceRefresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	r.clock.Advance(301 * time.Second)
	// ...does not touch the stable token.
	if _, err := stable.GetActionSets(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if n := r.fake.Calls(wxfake.EndpointSetsGet); n != 2 {
		t.Errorf("%d calls, want 2 (no rejection)", n)
	}
}

func TestInvalidateComparesBeforeDropping(t *testing.T) {
	r := newRig(t, nil)
	ts := r.source(false, nil)
	ctx := context.Background()
	tok, _ := ts.Token(ctx)
	if dropped, err := ts.Invalidate(ctx, "someone-elses-old-token"); dropped || err != nil {
		t.Errorf("dropped a token that is not cached: %v %v", dropped, err)
	}
	if got, _ := ts.Token(ctx); got != tok || r.fake.Calls(wxfake.EndpointStableToken) != 1 {
		t.Error("a stale Invalidate caused a fetch")
	}
	if dropped, _ := ts.Invalidate(ctx, tok); !dropped {
		t.Error("Invalidate of the cached token dropped nothing")
	}
	got, err := ts.Token(ctx)
	if err != nil || got != tok { // stable normal mode hands back the same valid token
		t.Errorf("after Invalidate: %q %v", got, err)
	}
	if n := r.fake.Calls(wxfake.EndpointStableToken); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
}

func TestTokenFetchErrors(t *testing.T) {
	cases := []struct {
		name      string
		mod       func(*wxfake.Options)
		setup     func(*rig)
		classic   bool
		secret    string
		wantCode  int64
		wantClass wxads.Class
		wantAlert bool
	}{
		{"wrong secret", nil, nil, false, "nope", 40125, wxads.ClassPermanent, true},
		{"wrong secret as 40001 is not a token refresh", func(o *wxfake.Options) { o.WrongSecretCode = 40001 }, nil, true, "nope", 40001, wxads.ClassPermanent, true},
		{"whitelist", nil, func(r *rig) { _ = r.fake.SetAllowedIPs(appID, "10.9.9.9") }, false, secret, 40164, wxads.ClassPermanent, true},
		{"classic daily quota", func(o *wxfake.Options) { o.ClassicDailyLimit = 1 }, func(r *rig) {
			_, _ = r.source(true, nil).Token(context.Background()) // spends the quota
		}, true, secret, 45009, wxads.ClassQuota, true},
		{"busy", nil, func(r *rig) {
			_ = r.fake.Script(wxfake.EndpointStableToken, wxfake.Fault{Kind: wxfake.FaultSystemBusy})
		}, false, secret, -1, wxads.ClassRetry, false},
		{"502", nil, func(r *rig) { _ = r.fake.Script(wxfake.EndpointToken, wxfake.Fault{Kind: wxfake.FaultHTTP502}) }, true, secret, 0, wxads.ClassRetry, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, c.mod)
			if c.setup != nil {
				c.setup(r)
			}
			ts := r.source(c.classic, func(cfg *wxads.TokenConfig) { cfg.Secret = c.secret })
			_, err := ts.Token(context.Background())
			if got := wxads.Classify(err); got != c.wantClass {
				t.Errorf("class %v, want %v (err %v)", got, c.wantClass, err)
			}
			if c.wantCode != 0 {
				var ae *wxads.APIError
				if !errors.As(err, &ae) || ae.Code != c.wantCode {
					t.Errorf("err %v, want errcode %d", err, c.wantCode)
				}
			}
			if wxads.NeedsAlert(err) != c.wantAlert {
				t.Errorf("alert %v, want %v", wxads.NeedsAlert(err), c.wantAlert)
			}
			if err != nil && strings.Contains(err.Error(), c.secret) {
				t.Errorf("error %q leaks the secret", err)
			}
		})
	}
}

func TestTransportErrorsDoNotLeakSecrets(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	for _, classic := range []bool{true, false} {
		ts, err := wxads.NewTokenSource(wxads.TokenConfig{AppID: appID, Secret: "s3cr3t-value", BaseURL: dead.URL, Classic: classic})
		if err != nil {
			t.Fatal(err)
		}
		_, err = ts.Token(context.Background())
		if err == nil || strings.Contains(err.Error(), "s3cr3t-value") || wxads.Classify(err) != wxads.ClassRetry {
			t.Errorf("classic=%v: %v", classic, err)
		}
		c, _ := wxads.NewClient(wxads.Config{BaseURL: dead.URL, Tokens: staticTokens("tok-s3cr3t")})
		_, err = c.GetActionSets(context.Background(), 0)
		if err == nil || strings.Contains(err.Error(), "tok-s3cr3t") || wxads.Classify(err) != wxads.ClassRetry {
			t.Errorf("marketing call: %v", err)
		}
	}
}

// staticTokens is a TokenProvider that always answers one token.
type staticTokens string

func (s staticTokens) Token(context.Context) (string, error) { return string(s), nil }
func (s staticTokens) Invalidate(context.Context, string) (bool, error) {
	return false, nil
}

// Sources sharing a store elect one refresher: it alone fetches, the
// others take its token from the store, wait for it when it is due, and
// may not force a refresh.
func TestElectorPicksTheRefresher(t *testing.T) {
	r := newRig(t, nil)
	store, elector := wxads.NewMemoryStore(), wxads.NewMemoryElector()
	mod := func(c *wxads.TokenConfig) { c.Store, c.Elector, c.Poll = store, elector, time.Millisecond }
	a, b := r.source(false, mod), r.source(false, mod)
	ctx := context.Background()
	ta, _ := a.Token(ctx)
	tb, _ := b.Token(ctx) // served from the shared store
	if ta != tb || r.fake.Calls(wxfake.EndpointStableToken) != 1 {
		t.Fatalf("tokens %q %q, %d fetches", ta, tb, r.fake.Calls(wxfake.EndpointStableToken))
	}
	if _, err := b.ForceRefresh(ctx); !errors.Is(err, wxads.ErrNotRefresher) {
		t.Fatalf("b forced a refresh: %v", err)
	}
	if _, err := a.ForceRefresh(ctx); err != nil {
		t.Fatalf("the refresher's forced refresh: %v", err)
	}
	// The token falls due: b waits for the refresher instead of fetching,
	// and gets what a's upkeep stores.
	r.clock.Advance(2 * time.Hour)
	got := make(chan string, 1)
	go func() {
		tok, err := b.Token(ctx)
		if err != nil {
			t.Error(err)
		}
		got <- tok
	}()
	time.Sleep(20 * time.Millisecond)
	before := r.fake.Calls(wxfake.EndpointStableToken)
	if fetched, err := a.KeepFresh(ctx); !fetched || err != nil {
		t.Fatalf("a's upkeep: %v %v", fetched, err)
	}
	if tok := <-got; tok == "" || r.fake.Calls(wxfake.EndpointStableToken) != before+1 {
		t.Fatalf("b got %q after %d fetches, want a's one", tok, r.fake.Calls(wxfake.EndpointStableToken)-before)
	}
	if fetched, _ := b.KeepFresh(ctx); fetched {
		t.Fatal("b's upkeep fetched")
	}
	if fetched, _ := a.KeepFresh(ctx); fetched {
		t.Fatal("a's upkeep fetched a token that is still fresh")
	}
	// A waiting source gives up with its context, as a retryable error.
	r.clock.Advance(2 * time.Hour)
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := b.Token(short); err == nil || wxads.Classify(err) != wxads.ClassRetry {
		t.Fatalf("b without a refresher: %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	for name, cfg := range map[string]wxads.TokenConfig{
		"no appid":   {Secret: "s"},
		"no secret":  {AppID: "a"},
		"bad url":    {AppID: "a", Secret: "s", BaseURL: "ftp://x"},
		"bad margin": {AppID: "a", Secret: "s", RefreshMargin: -time.Second},
	} {
		if _, err := wxads.NewTokenSource(cfg); !errors.Is(err, wxads.ErrInvalidInput) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := wxads.NewClient(wxads.Config{}); !errors.Is(err, wxads.ErrInvalidInput) {
		t.Errorf("client without tokens: %v", err)
	}
	if _, err := wxads.NewClient(wxads.Config{Tokens: staticTokens("t"), BaseURL: "not a url"}); !errors.Is(err, wxads.ErrInvalidInput) {
		t.Errorf("client with a bad URL: %v", err)
	}
}
