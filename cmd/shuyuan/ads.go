package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shuyuan-dev/shuyuan/internal/config"
	"github.com/shuyuan-dev/shuyuan/internal/conversion"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
	"github.com/shuyuan-dev/shuyuan/internal/wxads"
	"github.com/shuyuan-dev/shuyuan/internal/wxfake"
)

// ads is the WeChat Ads loop of a running server: the conversion service
// (rules, routes' backend) and the outbox worker.
type ads struct {
	svc    *conversion.Service
	worker *conversion.Worker
}

// newAds wires the loop over st: the events hook, the metrics on reg and
// the worker. The data-api's paid hook is svc.OnOrderPaid.
func newAds(st store.Store, tenants *tenant.Registry, baseURL string, lease time.Duration, reg prometheus.Registerer, log *slog.Logger) (*ads, error) {
	svc := conversion.NewService(st, tenants, conversion.Options{BaseURL: baseURL, Logger: log})
	st.SetEventHook(svc.OnEvents)
	var m *conversion.Metrics
	if reg != nil {
		m = conversion.NewMetrics(reg, svc)
	}
	return &ads{svc: svc, worker: conversion.NewWorker(svc, conversion.WorkerOptions{Metrics: m, Lease: lease})}, nil
}

// demoWxSecret is the demo app's WeChat secret, known to the in-process
// fake only; like the demo's other credentials it is public.
const demoWxSecret = "demo-wx-secret-5d7e0c3a"

// startFake runs wxfake on a loopback port with every app of tenants that
// has WeChat credentials, for serve --demo: WeChat calls then go to it. Any
// well-formed click id counts as known, so the demo's clicks are identified
// in reports.
func startFake(tenants *tenant.Registry, log *slog.Logger) (string, func(), error) {
	opts := wxfake.Options{IdentifyWellFormed: true, DedupOuterActionID: true}
	for i, a := range tenants.Apps() {
		if a.WxAppID != "" && a.WxSecret != "" {
			opts.Apps = append(opts.Apps, wxfake.App{AppID: a.WxAppID, Secret: a.WxSecret, AccountID: 9000001 + int64(i)})
		}
	}
	fake, err := wxfake.New(opts)
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen for the WeChat fake: %w", err)
	}
	hs := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("wechat fake", "error", err)
		}
	}()
	base := "http://" + ln.Addr().String()
	log.Info("demo: WeChat calls go to the in-process fake", "url", base, "inspect", base+"/_fake/actions")
	return base, func() { hs.Close() }, nil
}

// takeFlags removes the named flags (--name value, --name=value, -name
// value) from args and returns their values and the other arguments, for
// commands that add a few flags to the config's.
func takeFlags(args []string, names ...string) (map[string][]string, []string, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	got := map[string][]string{}
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || !want[name] {
			rest = append(rest, a)
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return nil, nil, fmt.Errorf("flag --%s needs a value", name)
			}
			i++
			val = args[i]
		}
		got[name] = append(got[name], val)
	}
	return got, rest, nil
}

// tokenCmd is `shuyuan token --app ID [--from URL]`: print the app's
// current access token for the merchant's other services.
func tokenCmd(args []string) error {
	fl, rest, err := takeFlags(args, "app", "from")
	if err != nil {
		return err
	}
	cfg, err := loadConfig("token", rest)
	if err != nil {
		return err
	}
	app, err := pickApp(cfg, last(fl["app"]))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if from := last(fl["from"]); from != "" {
		var ans struct {
			ErrCode     int64  `json:"errcode"`
			ErrMsg      string `json:"errmsg"`
			AccessToken string `json:"access_token"`
			ExpiresIn   int64  `json:"expires_in"`
		}
		if err := adminCall(ctx, cfg, http.MethodGet, strings.TrimRight(from, "/")+"/wx/token?app="+url.QueryEscape(app.ID), &ans); err != nil {
			return err
		}
		fmt.Println(ans.AccessToken)
		fmt.Fprintf(os.Stderr, "expires in %d s\n", ans.ExpiresIn)
		return nil
	}
	if app.Ads.ClassicToken {
		return fmt.Errorf("app %s uses the classic token endpoint: fetching a token here would revoke the running server's; ask it instead with --from http://<server>", app.ID)
	}
	if app.WxAppID == "" || app.WxSecret == "" {
		return fmt.Errorf("app %s: wx_appid and wx_secret (or %sWX_SECRET) are needed", app.ID, config.EnvName(app.ID))
	}
	// The stable endpoint hands every caller the same token (spec §7), so
	// fetching here does not disturb the server's.
	ts, err := wxads.NewTokenSource(wxads.TokenConfig{AppID: app.WxAppID, Secret: app.WxSecret, BaseURL: cfg.WeChat.BaseURL})
	if err != nil {
		return err
	}
	tok, err := ts.Token(ctx)
	if err != nil {
		return err
	}
	fmt.Println(tok)
	return nil
}

// outboxCmd is `shuyuan outbox replay [--app ID] [--server URL]`: send the
// dead letters again — through a running server's POST /wx/outbox/replay
// with --server, else directly on the store (the server must be stopped:
// one process owns the DuckDB file), delivering what is due at once.
func outboxCmd(args []string) error {
	if len(args) == 0 || args[0] != "replay" {
		return fmt.Errorf("usage: shuyuan outbox replay [--app ID] [--server URL] [config flags]")
	}
	fl, rest, err := takeFlags(args[1:], "app", "server")
	if err != nil {
		return err
	}
	cfg, err := loadConfig("outbox", rest)
	if err != nil {
		return err
	}
	tenants, err := cfg.Tenants()
	if err != nil {
		return err
	}
	var apps []*tenant.App
	if id := last(fl["app"]); id != "" {
		a, ok := tenants.ByID(id)
		if !ok {
			return fmt.Errorf("--app: no app %q in the configuration", id)
		}
		apps = []*tenant.App{a}
	} else {
		for _, a := range tenants.Apps() {
			if conversion.Enabled(a) {
				apps = append(apps, a)
			}
		}
	}
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Minute)
	defer stop()
	if srv := last(fl["server"]); srv != "" {
		for _, a := range apps {
			var ans struct {
				Data struct {
					Replayed int `json:"replayed"`
				} `json:"data"`
			}
			if err := adminCall(ctx, cfg, http.MethodPost, strings.TrimRight(srv, "/")+"/wx/outbox/replay?app="+url.QueryEscape(a.ID), &ans); err != nil {
				return fmt.Errorf("app %s: %w", a.ID, err)
			}
			fmt.Printf("%s: %d dead letters sent again\n", a.ID, ans.Data.Replayed)
		}
		return nil
	}
	log := newLogger(cfg.LogLevel)
	st, _, err := openStore(ctx, cfg, log)
	if err != nil {
		return fmt.Errorf("%w (is the server running? then use --server http://<addr>)", err)
	}
	defer st.Close()
	loop, err := newAds(st, tenants, cfg.WeChat.BaseURL, cfg.WeChat.OutboxLeaseDuration(), nil, log)
	if err != nil {
		return err
	}
	for _, a := range apps {
		n, err := loop.svc.Replay(ctx, a.ID, nil)
		if err != nil {
			return err
		}
		fmt.Printf("%s: %d dead letters back in the outbox\n", a.ID, n)
	}
	res, err := loop.worker.Flush(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("delivered %d, rescheduled %d, dead again %d (the server delivers what is rescheduled)\n", res.Delivered, res.Retried, res.Dead)
	return nil
}

// fakewxCmd is `shuyuan fakewx --addr … --app appid:secret:account …`: the
// WeChat fake on its own, for trying the loop against something local.
func fakewxCmd(args []string) error {
	fs := flag.NewFlagSet("fakewx", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9090", "address to listen on")
	var apps appFlags
	fs.Var(&apps, "app", "an app as appid:secret:account_id (repeatable)")
	identify := fs.Bool("identify-all", true, "count every well-formed click id as known (else register them with POST /_fake/clicks)")
	dedup := fs.Bool("dedup-outer-action-id", true, "treat a repeated outer_action_id as a duplicate")
	rate := fs.Float64("fault-rate", 0, "probability in [0,1] of a random fault per marketing call")
	kinds := fs.String("fault-kinds", "", "comma-separated fault kinds drawn at random (default: the transient ones)")
	seed := fs.Uint64("fault-seed", 1, "seed of the random faults")
	life := fs.Duration("token-lifetime", 7200*time.Second, "lifetime of a fresh token")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(apps) == 0 {
		return fmt.Errorf("fakewx: at least one --app appid:secret:account_id is required")
	}
	opts := wxfake.Options{Apps: apps, IdentifyWellFormed: *identify, DedupOuterActionID: *dedup,
		FaultRate: *rate, FaultSeed: *seed, TokenLifetime: *life}
	if *kinds != "" {
		for _, k := range strings.Split(*kinds, ",") {
			opts.FaultKinds = append(opts.FaultKinds, wxfake.FaultKind(strings.TrimSpace(k)))
		}
	}
	fake, err := wxfake.New(opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *addr, err)
	}
	fmt.Fprintf(os.Stderr, "wxfake listening on http://%s (%d apps); GET /_fake/actions lists what it accepted\n", ln.Addr(), len(apps))
	hs := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}
	return hs.Serve(ln)
}

// appFlags collects repeated --app flags of fakewx.
type appFlags []wxfake.App

func (a *appFlags) String() string { return fmt.Sprint(len(*a), " apps") }

func (a *appFlags) Set(s string) error {
	app, err := wxfake.ParseApp(s)
	if err != nil {
		return err
	}
	*a = append(*a, app)
	return nil
}

// pickApp is the app named id, or the only configured one.
func pickApp(cfg *config.Config, id string) (*tenant.App, error) {
	tenants, err := cfg.Tenants()
	if err != nil {
		return nil, err
	}
	if id == "" {
		if apps := tenants.Apps(); len(apps) == 1 {
			return apps[0], nil
		}
		return nil, fmt.Errorf("--app ID is required (%d apps are configured)", len(tenants.Apps()))
	}
	a, ok := tenants.ByID(id)
	if !ok {
		return nil, fmt.Errorf("--app: no app %q in the configuration", id)
	}
	return a, nil
}

// adminCall calls a running server's /wx route with the admin key and
// decodes a WeChat-style answer into out, failing on a non-zero errcode.
func adminCall(ctx context.Context, cfg *config.Config, method, u string, out any) error {
	if cfg.AdminKey == "" {
		return fmt.Errorf("the admin key is needed to call the server (--admin-key or SHUYUAN_ADMIN_KEY)")
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+cfg.AdminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	var env struct {
		ErrCode int64  `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("%s %s: HTTP %d: %.200s", method, u, resp.StatusCode, raw)
	}
	if env.ErrCode != 0 {
		return fmt.Errorf("%s %s: errcode %d: %s", method, u, env.ErrCode, env.ErrMsg)
	}
	return json.Unmarshal(raw, out)
}

func last(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}
