package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/config"
	"github.com/shuyuan-dev/shuyuan/internal/datacube"
	"github.com/shuyuan-dev/shuyuan/internal/demo"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
	"github.com/shuyuan-dev/shuyuan/internal/wxfake"
)

// demoConfig completes the configuration for --demo: the demo app when no
// app is configured, and a fresh admin key when none is set.
func demoConfig(cfg *config.Config) error {
	if len(cfg.Apps) == 0 {
		cfg.Apps = append(cfg.Apps, config.App{
			ID: demo.AppID, Name: demo.AppName, WxAppID: demo.WxAppID, SDKToken: demo.SDKToken,
			DataAPI: config.DataAPI{AppID: demo.DataAPIAppID, AppSecret: demo.DataAPISecret},
			// The in-process WeChat fake knows this secret (ads.go); the
			// demo's paid orders are the SDK's, so they are what is reported.
			WxSecret: demoWxSecret, Ads: config.Ads{OrderSource: "sdk"},
			// WeChat's own data of the demo's mini-program and official
			// account, pulled from the fake: two weeks, yesterday at once.
			OfficialAccount: config.OfficialAccount{AppID: demoOAAppID, Secret: demoOASecret},
			WechatPull:      config.WechatPull{Enabled: true, BackfillDays: 2 * demo.DefaultDays, Hour: new(0)},
		})
	}
	if cfg.AdminKey == "" {
		key, err := demoAdminKey(cfg)
		if err != nil {
			return err
		}
		cfg.AdminKey = key
	}
	return nil
}

// demoAdminKey is the demo's admin key: generated once and kept in the
// embedded store's data directory, so a restarted demo keeps it and
// "shuyuan token --demo" (which asks the running demo) finds it there.
func demoAdminKey(cfg *config.Config) (string, error) {
	file := ""
	if cfg.Store.Driver == "duckdb" {
		file = filepath.Join(cfg.Store.Path, "demo-admin-key")
		if b, err := os.ReadFile(file); err == nil && len(strings.TrimSpace(string(b))) >= 16 {
			return strings.TrimSpace(string(b)), nil
		}
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate a demo admin key: %w", err)
	}
	key := "demo-" + hex.EncodeToString(b[:])
	if file != "" {
		if err := os.MkdirAll(cfg.Store.Path, 0o755); err != nil {
			return "", fmt.Errorf("keep the demo admin key: %w", err)
		}
		if err := os.WriteFile(file, []byte(key+"\n"), 0o600); err != nil {
			return "", fmt.Errorf("keep the demo admin key: %w", err)
		}
	}
	return key, nil
}

// runDemo fills the demo app with generated traffic when the store has
// none of its events yet, then prints what to open.
func runDemo(ctx context.Context, cfg *config.Config, tenants *tenant.Registry, st store.Store, w *store.Writer, addr string, log *slog.Logger) error {
	app, ok := tenants.ByID(demo.AppID)
	if !ok {
		log.Warn("demo: no app with id " + demo.AppID + " is configured, so no data is generated")
	} else {
		has, err := st.HasEvents(ctx, app.ID)
		if err != nil {
			return fmt.Errorf("demo: look for existing events: %w", err)
		}
		if !has {
			start := time.Now()
			// Two weeks, so that the dashboard's default week has a week
			// before it to compare with.
			days := 2 * demo.DefaultDays
			log.Info("demo: generating traffic", "app", app.ID, "users", demo.DefaultUsers, "days", days)
			stats, err := demo.Fill(ctx, w, app, demo.Options{
				Days:     days,
				Location: app.Location,
				Backend:  st, // the merchant's backend: orders, daily sums, WeChat's page report
				Progress: func(n int) { log.Info("demo: storing", "events", n) },
			})
			if err != nil {
				if errors.Is(err, context.Canceled) {
					return nil
				}
				return fmt.Errorf("demo: %w", err)
			}
			if err := demoMarkers(ctx, st, app, days, time.Now()); err != nil {
				return err
			}
			log.Info("demo: stored", "events", stats.Accepted, "users", stats.Users, "sessions", stats.Sessions,
				"orders", stats.Orders, "paid_orders", stats.PaidOrders, "days", stats.Days,
				"backend_orders", stats.Backend.Orders, "order_sum_days", stats.Backend.SumDays, "visit_page_rows", stats.Backend.PageRows,
				"seconds", time.Since(start).Round(100*time.Millisecond).Seconds())
		} else {
			log.Info("demo: the store already holds events of the demo app; not generating more", "app", app.ID)
		}
	}
	printDemo(os.Stdout, cfg, tenants, addr)
	return nil
}

// demoMarkers registers the marker of each demo day's article links
// (demo.ArticleMarker) with the link of the article the fake official
// account published that day, as a merchant would after publishing: the
// pull of the day then maps the marker to the article's msgid.
func demoMarkers(ctx context.Context, st store.Store, app *tenant.App, days int, now time.Time) error {
	today := now.In(app.Location)
	for i := range days {
		day := today.AddDate(0, 0, -i)
		in := datacube.MarkerInput{Link: wxfake.ArticleLink(demoOAAppID, day, 1)}
		if _, err := datacube.PutMarker(ctx, st, app.ID, demo.ArticleMarker(day), in, now); err != nil {
			return fmt.Errorf("demo: article marker of %s: %w", day.Format(time.DateOnly), err)
		}
	}
	return nil
}

// printDemo tells the user how to look at the demo.
func printDemo(out io.Writer, cfg *config.Config, tenants *tenant.Registry, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = addr, ""
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	base := "http://" + net.JoinHostPort(host, port)
	app, ok := tenants.ByID(demo.AppID)
	if !ok && len(tenants.Apps()) > 0 {
		app, ok = tenants.Apps()[0], true
	}
	fmt.Fprintf(out, "\nshuyuan is running at %s (demo mode)\n\n", base)
	fmt.Fprintf(out, "  admin key       %s\n", cfg.AdminKey)
	if ok {
		today := time.Now().In(app.Location)
		from := today.AddDate(0, 0, -(demo.DefaultDays - 1)).Format(time.DateOnly)
		to := today.Format(time.DateOnly)
		events := fmt.Sprintf("%s/api/v1/apps/%s/analysis/events?from=%s&to=%s", base, app.ID, from, to)
		fmt.Fprintf(out, "  app             %s (%s)\n", app.ID, app.Name)
		fmt.Fprintf(out, "  SDK token       %s\n", app.SDKToken)
		fmt.Fprintf(out, "  SDK serverUrl   %s/api/report\n\n", base)
		fmt.Fprintf(out, "  events, last %d days:\n    %s\n", demo.DefaultDays, events)
		fmt.Fprintf(out, "    curl -H 'Authorization: Bearer %s' '%s'\n\n", cfg.AdminKey, events)
	}
	fmt.Fprintf(out, "  dashboard       %s/  (log in with the admin key)\n", base)
	fmt.Fprintf(out, "  metrics         %s/metrics\n", base)
	fmt.Fprintf(out, "  health          %s/healthz\n\n", base)
}
