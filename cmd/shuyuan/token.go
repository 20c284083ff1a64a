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
)

const tokenSynopsis = `Usage:
  shuyuan token [--app ID] [--from URL] [config flags]

Prints the app's current WeChat access token, the one the server's
deliveries use, for the merchant's other services. It reads the token kept
in the store (on PostgreSQL, the one every node shares, fetched by the
elected refresher), or with --from asks a running server's GET /wx/token
(needed while a server owns the embedded store). With --demo it asks the
local demo server: serve --demo keeps its admin key in the data directory.
`

// tokenCmd is "shuyuan token".
func tokenCmd(args []string) error {
	var appID, from string
	cfg, err := loadCommand("token", tokenSynopsis, args, func(fs *flag.FlagSet) {
		fs.StringVar(&appID, "app", "", "the app (optional when one app is configured)")
		fs.StringVar(&from, "from", "", "ask the running server at this URL (e.g. http://127.0.0.1:8080)")
	})
	if err != nil {
		return err
	}
	if cfg.Demo {
		if err := demoConfig(cfg); err != nil {
			return err
		}
		if from == "" {
			from = "http://" + cfg.Addr
		}
	}
	app, err := pickApp(cfg, appID)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if from != "" {
		var ans struct {
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
	tenants, err := cfg.Tenants()
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel)
	st, _, err := openStore(ctx, cfg, log)
	if err != nil {
		return fmt.Errorf("%w (is a server running on it? then ask it with --from http://<addr>)", err)
	}
	defer st.Close()
	loop, err := newAds(st, tenants, cfg.WeChat.BaseURL, cfg.WeChat.OutboxLeaseDuration(), nil, log)
	if err != nil {
		return err
	}
	// The token the store keeps, or — when none is fresh and no server
	// holds the refresher's role — one this process fetches as the elected
	// refresher and stores for the others.
	tok, expires, err := loop.svc.Token(ctx, app.ID)
	if err != nil {
		return err
	}
	fmt.Println(tok)
	fmt.Fprintf(os.Stderr, "expires in %d s\n", int64(time.Until(expires).Seconds()))
	return nil
}
