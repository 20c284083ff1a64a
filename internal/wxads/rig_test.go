package wxads_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/wxads"
	"github.com/shuyuan-dev/shuyuan/internal/wxfake"
)

// t0 is 10:00 in GMT+8 on 2025-03-10.
var t0 = time.Date(2025, 3, 10, 2, 0, 0, 0, time.UTC)

const (
	appID, secret = "wxapp0000000001", "secret-one"
	account       = int64(1001)
	click1        = "wx0ewinbalytptma00"
	click2        = "wx0vnret2znwpts4"
)

// rig is the fake on an httptest server, with its clock.
type rig struct {
	t     *testing.T
	clock *wxfake.Clock
	fake  *wxfake.Server
	hs    *httptest.Server
}

func newRig(t *testing.T, mod func(*wxfake.Options)) *rig {
	t.Helper()
	clock := wxfake.NewClock(t0)
	opts := wxfake.Options{Now: clock.Now, Apps: []wxfake.App{{AppID: appID, Secret: secret, AccountID: account}}}
	if mod != nil {
		mod(&opts)
	}
	fake, err := wxfake.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(fake)
	t.Cleanup(hs.Close)
	return &rig{t: t, clock: clock, fake: fake, hs: hs}
}

// source returns a token source on the fake, stable unless classic.
func (r *rig) source(classic bool, mod func(*wxads.TokenConfig)) *wxads.TokenSource {
	r.t.Helper()
	cfg := wxads.TokenConfig{AppID: appID, Secret: secret, BaseURL: r.hs.URL, HTTPClient: r.hs.Client(), Now: r.clock.Now, Classic: classic}
	if mod != nil {
		mod(&cfg)
	}
	ts, err := wxads.NewTokenSource(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	return ts
}

// client returns a client on the fake.
func (r *rig) client(tokens wxads.TokenProvider) *wxads.Client {
	r.t.Helper()
	c, err := wxads.NewClient(wxads.Config{BaseURL: r.hs.URL, HTTPClient: r.hs.Client(), Tokens: tokens})
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

// webSet makes sure the account's WEB data source exists.
func (r *rig) webSet(c *wxads.Client) int64 {
	r.t.Helper()
	id, _, err := c.EnsureWebActionSet(context.Background(), "shop", "")
	if err != nil {
		r.t.Fatal(err)
	}
	return id
}

// fakeActions reads GET /_fake/actions.
func (r *rig) fakeActions() []map[string]any {
	r.t.Helper()
	resp, err := r.hs.Client().Get(r.hs.URL + "/_fake/actions")
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []map[string]any
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber() // ids and times compare exactly
	if err := dec.Decode(&out); err != nil {
		r.t.Fatal(err)
	}
	return out
}

func order(at time.Time, click string, fen int64) wxads.Action {
	return wxads.Action{
		ActionTime: at.Unix(), ActionType: wxads.ActionCompleteOrder, URL: "https://shop.example.com/pay",
		Trace: wxads.Trace{ClickID: click}, ActionParam: &wxads.ActionParam{Value: fen},
	}
}

// handlerFunc adapts a function to http.Handler for wrapping the fake.
type handlerFunc = http.HandlerFunc
