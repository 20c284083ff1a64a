package datacube_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/datacube"
	"github.com/shuyuan-dev/shuyuan/internal/wxads"
	"github.com/shuyuan-dev/shuyuan/internal/wxfake"
)

const (
	miniApp, miniSecret = "wx8f0c1d2e3a4b5c6d", "mini-secret"
	oaApp, oaSecret     = "wx0000000000000abc", "oa-secret"
)

// rig is a fake WeChat at 2025-12-10 11:00 Beijing time and a client with
// both apps' token sources.
type rig struct {
	clock     *wxfake.Clock
	fake      *wxfake.Server
	mini, oa  *wxads.TokenSource
	hs        *httptest.Server
	yesterday time.Time
}

func newRig(t *testing.T) *rig {
	return newRigAt(t, time.Date(2025, 12, 10, 3, 0, 0, 0, time.UTC), wxfake.Options{})
}

// newRigAt is a rig whose clock reads now and whose fake has opts (its
// clock and apps set here).
func newRigAt(t *testing.T, now time.Time, opts wxfake.Options) *rig {
	t.Helper()
	clock := wxfake.NewClock(now)
	opts.Now = clock.Now
	opts.Apps = []wxfake.App{
		{AppID: miniApp, Secret: miniSecret, AccountID: 1},
		{AppID: oaApp, Secret: oaSecret, Kind: wxfake.KindOfficialAccount},
	}
	fake, err := wxfake.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(fake)
	t.Cleanup(hs.Close)
	src := func(app, secret string) *wxads.TokenSource {
		ts, err := wxads.NewTokenSource(wxads.TokenConfig{AppID: app, Secret: secret, BaseURL: hs.URL, HTTPClient: hs.Client(), Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	local := now.In(time.FixedZone("Asia/Shanghai", 8*3600))
	return &rig{clock: clock, fake: fake, mini: src(miniApp, miniSecret), oa: src(oaApp, oaSecret), hs: hs,
		yesterday: time.Date(local.Year(), local.Month(), local.Day()-1, 0, 0, 0, 0, time.UTC)}
}

func (r *rig) client(mini, account datacube.Tokens) *datacube.Client {
	return &datacube.Client{BaseURL: r.hs.URL, HTTPClient: r.hs.Client(), Mini: mini, Account: account}
}

func TestClientPullsBothFamilies(t *testing.T) {
	r := newRig(t)
	c := r.client(r.mini, r.oa)
	ctx := context.Background()
	pages, err := c.VisitPages(ctx, r.yesterday)
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) == 0 || !pages[0].Day.Equal(r.yesterday) || pages[0].Page == "" {
		t.Fatalf("VisitPages = %+v, want rows of %s", pages, r.yesterday)
	}
	dist, err := c.VisitDistribution(ctx, r.yesterday)
	if err != nil {
		t.Fatal(err)
	}
	trend, err := c.DailyVisitTrend(ctx, r.yesterday)
	if err != nil {
		t.Fatal(err)
	}
	// The fake splits the day's sessions over the sources: they add up.
	var sum int64
	for _, v := range dist["access_source_session_cnt"] {
		sum += v
	}
	if sum != trend.Sessions {
		t.Fatalf("sessions by source add to %d, trend says %d", sum, trend.Sessions)
	}
	arts, err := c.ArticleTotals(ctx, time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || len(arts) == 0 || arts[0].ContentURL == "" {
		t.Fatalf("ArticleTotals = %+v, %v; want articles with their links", arts, err)
	}
	if _, err := c.UserCumulate(ctx, r.yesterday); err != nil {
		t.Fatal(err)
	}
}

// TestTokensNeverMix: each family is called with its own app's token; a
// client wired the wrong way round fails instead of pulling.
func TestTokensNeverMix(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	wrong := r.client(r.oa, r.mini)
	var e *datacube.Error
	if _, err := wrong.VisitPages(ctx, r.yesterday); !errors.As(err, &e) || e.Code != 40001 {
		t.Fatalf("VisitPages with the account's token: %v, want errcode 40001", err)
	}
	if _, err := wrong.UserCumulate(ctx, r.yesterday); !errors.As(err, &e) || e.Code != 40001 {
		t.Fatalf("UserCumulate with the mini-program's token: %v, want errcode 40001", err)
	}
	noAccount := r.client(r.mini, nil)
	if _, err := noAccount.UserCumulate(ctx, r.yesterday); err == nil || datacube.Retryable(err) {
		t.Fatalf("UserCumulate without an account: %v, want a final error", err)
	}
}

func TestNotReadyAndStaleToken(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	c := r.client(r.mini, r.oa)
	r.clock.Set(time.Date(2025, 12, 10, 1, 0, 0, 0, time.UTC)) // 09:00 Beijing
	_, err := c.VisitPages(ctx, r.yesterday)
	if !errors.Is(err, datacube.ErrNotReady) || !datacube.Retryable(err) {
		t.Fatalf("VisitPages at 09:00: %v, want not ready", err)
	}
	// is_delay on the new article family is not ready either.
	if _, err := c.ArticleTotals(ctx, r.yesterday); err != nil {
		t.Fatalf("ArticleTotals at 09:00 (after the account's 08:00): %v", err)
	}
	r.clock.Set(time.Date(2025, 12, 9, 23, 30, 0, 0, time.UTC)) // 07:30 Beijing
	if _, err := c.ArticleTotals(ctx, r.yesterday); !errors.Is(err, datacube.ErrNotReady) {
		t.Fatalf("ArticleTotals at 07:30: %v, want not ready", err)
	}
	// A stale token is dropped and the call made again, once.
	r.clock.Set(time.Date(2025, 12, 10, 3, 0, 0, 0, time.UTC))
	if err := r.fake.Script(wxfake.EndpointVisitPage, wxfake.Fault{Kind: wxfake.FaultErrcode, Code: 42001}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.VisitPages(ctx, r.yesterday); err != nil {
		t.Fatalf("VisitPages after a stale token: %v", err)
	}
	if n := r.fake.Calls(wxfake.EndpointVisitPage); n != 3 {
		t.Fatalf("getVisitPage called %d times, want 3 (not ready, stale, retry)", n)
	}
	// A range error is final.
	var e *datacube.Error
	if _, err := c.VisitPages(ctx, time.Date(2025, 12, 10, 0, 0, 0, 0, time.UTC)); !errors.As(err, &e) || e.Code != 61501 || datacube.Retryable(err) {
		t.Fatalf("VisitPages of today: %v, want final 61501", err)
	}
}
