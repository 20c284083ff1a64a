package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/conversion"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

const outboxSynopsis = `Usage:
  shuyuan outbox replay [--app ID] [--server URL] [config flags]

Sends the WeChat Ads dead letters again: every dead conversion of the app
(of every app taking part, without --app) becomes pending with a fresh
retry budget. With --server it asks a running server (POST
/wx/outbox/replay); else it works on the store itself, delivering what is
due at once (a server must not own the embedded store meanwhile; on
PostgreSQL the nodes deliver what it leaves pending).
`

// outboxCmd is "shuyuan outbox replay".
func outboxCmd(args []string) error {
	if len(args) == 0 || args[0] != "replay" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Print(outboxSynopsis)
			return errHelped
		}
		fmt.Fprint(os.Stderr, outboxSynopsis)
		return fmt.Errorf("outbox: the only subcommand is replay")
	}
	var appID, server string
	cfg, err := loadCommand("outbox replay", outboxSynopsis, args[1:], func(fs *flag.FlagSet) {
		fs.StringVar(&appID, "app", "", "the app whose dead letters to send again (default: every app)")
		fs.StringVar(&server, "server", "", "ask the running server at this URL (e.g. http://127.0.0.1:8080)")
	})
	if err != nil {
		return err
	}
	tenants, err := cfg.Tenants()
	if err != nil {
		return err
	}
	var apps []*tenant.App
	if id := appID; id != "" {
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
	if srv := server; srv != "" {
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
		return busyStore(err, "ask it instead: --server http://<addr>")
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
