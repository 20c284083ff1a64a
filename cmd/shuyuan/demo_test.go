package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/config"
	"github.com/shuyuan-dev/shuyuan/internal/demo"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/duckdb"
)

func TestDemoConfig(t *testing.T) {
	noEnv := func(string) string { return "" }
	data := t.TempDir()
	cfg, _, err := config.Load("serve", []string{"--demo", "--data", data}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if err := demoConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the demo config does not validate: %v", err)
	}
	if len(cfg.Apps) != 1 || cfg.Apps[0].ID != demo.AppID || cfg.Apps[0].SDKToken != demo.SDKToken || cfg.AdminKey == "" {
		t.Fatalf("apps %+v, admin key %q", cfg.Apps, cfg.AdminKey)
	}
	// A restart on the same data keeps the key (token --demo reads it);
	// another data directory gets its own.
	again, _, _ := config.Load("serve", []string{"--demo", "--data", data}, noEnv)
	demoConfig(again) //nolint:errcheck // checked above
	if again.AdminKey != cfg.AdminKey {
		t.Error("a restarted demo got another admin key")
	}
	other, _, _ := config.Load("serve", []string{"--demo", "--data", t.TempDir()}, noEnv)
	demoConfig(other) //nolint:errcheck // checked above
	if other.AdminKey == cfg.AdminKey {
		t.Error("two demos got the same admin key")
	}

	// A configured app and admin key are kept as they are.
	cfg, _, err = config.Load("serve", []string{"--demo", "--admin-key", "0123456789abcdef0123", "--data", t.TempDir()}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Apps = []config.App{{ID: "shop", SDKToken: "shop-token-123"}}
	if err := demoConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Apps) != 1 || cfg.Apps[0].ID != "shop" || cfg.AdminKey != "0123456789abcdef0123" {
		t.Errorf("configured values changed: %+v %q", cfg.Apps, cfg.AdminKey)
	}
}

func TestPrintDemo(t *testing.T) {
	// Its own data directory: the demo keeps its admin key there.
	cfg, _, err := config.Load("serve", []string{"--demo", "--data", t.TempDir()}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	demoConfig(cfg) //nolint:errcheck // tested above
	tenants, err := cfg.Tenants()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	printDemo(&out, cfg, tenants, "[::]:8080")
	for _, want := range []string{
		cfg.AdminKey, demo.SDKToken, "http://127.0.0.1:8080/api/report", "http://127.0.0.1:8080/metrics",
		"http://127.0.0.1:8080/healthz", "/api/v1/apps/demo/analysis/events?from=",
		"curl -H 'Authorization: Bearer " + cfg.AdminKey + "'",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestDemoPullsWeChatData: the demo app pulls WeChat's data of both its
// mini-program and its official account from the in-process fake, two
// weeks of it at once, as serve --demo's pull task does at start.
func TestDemoPullsWeChatData(t *testing.T) {
	data := t.TempDir()
	cfg, _, err := config.Load("serve", []string{"--demo", "--data", data}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if err := demoConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	tenants, err := cfg.Tenants()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	url, closeFake, err := startFake(tenants, log)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFake()
	ctx := context.Background()
	st, err := duckdb.Open(ctx, data, duckdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	loop, err := newAds(st, tenants, url, time.Minute, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	p, err := newPulling(st, tenants, loop.svc, url, log)
	if err != nil {
		t.Fatal(err)
	}
	app, _ := tenants.ByID(demo.AppID)
	// The markers of the demo's article links, registered before the pull
	// (as runDemo does when it generates traffic), are mapped by it.
	if err := demoMarkers(ctx, st, app, 2*demo.DefaultDays, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := p.puller.Run(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(app.Location)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	days, err := st.PullDays(ctx, app.ID, today.AddDate(0, 0, -2*demo.DefaultDays), today)
	if err != nil {
		t.Fatal(err)
	}
	complete := 0
	for _, d := range days {
		if d.Status == store.PullComplete {
			complete++
		}
	}
	if complete != 2*2*demo.DefaultDays {
		t.Fatalf("%d days complete, want %d of each family: %+v", complete, 2*demo.DefaultDays, days)
	}
	// Every finished day's article is pulled, so its marker is matched by
	// its link; today's is not published in WeChat's data yet.
	markers, err := st.ArticleMarkers(ctx, app.ID)
	if err != nil {
		t.Fatal(err)
	}
	matched := 0
	for _, m := range markers {
		switch {
		case m.Marker == demo.ArticleMarker(now):
			if m.MsgID != "" {
				t.Errorf("today's marker matched: %+v", m)
			}
		case m.MatchedBy == store.MatchedByLink && m.MsgID == m.LinkMsgID:
			matched++
		default:
			t.Errorf("marker not matched by its link: %+v", m)
		}
	}
	if matched != 2*demo.DefaultDays-1 {
		t.Errorf("%d markers matched, want %d", matched, 2*demo.DefaultDays-1)
	}
}
