package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/conversion"
	"github.com/shuyuan-dev/shuyuan/internal/datacube"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
	"github.com/shuyuan-dev/shuyuan/internal/wxads"
)

// pullPeriod is how often the pull looks for owed days: a day not ready
// is tried again this much later, and a round with nothing owed costs one
// query per app.
const pullPeriod = 10 * time.Minute

// pulling is the daily pull of WeChat's data in a process: the puller,
// and the official accounts' token sources, which the token refresh task
// keeps fresh beside the mini-programs'.
type pulling struct {
	puller   *datacube.Puller
	accounts []*wxads.TokenSource
}

// newPulling wires the pull of every app with wechat_pull enabled: the
// mini-program's endpoints on the token the deliveries use (svc's), the
// account's on a token source of its own appid and secret.
func newPulling(st store.Store, tenants *tenant.Registry, svc *conversion.Service, baseURL string, log *slog.Logger) (*pulling, error) {
	p := &pulling{}
	var apps []datacube.App
	hc := &http.Client{Timeout: 30 * time.Second}
	for _, a := range tenants.Apps() {
		if a.Pull == nil {
			continue
		}
		c := &datacube.Client{BaseURL: baseURL, HTTPClient: hc}
		if a.WxAppID != "" && a.WxSecret != "" {
			ts, err := svc.Tokens(a.ID)
			if err != nil {
				return nil, fmt.Errorf("app %s: pull: %w", a.ID, err)
			}
			c.Mini = ts
		}
		if a.Pull.AccountAppID != "" {
			ts, err := conversion.SharedTokenSource(st, wxads.TokenConfig{AppID: a.Pull.AccountAppID, Secret: a.Pull.AccountSecret, BaseURL: baseURL})
			if err != nil {
				return nil, fmt.Errorf("app %s: official account: %w", a.ID, err)
			}
			c.Account = ts
			p.accounts = append(p.accounts, ts)
		}
		apps = append(apps, datacube.App{ID: a.ID, Client: c,
			Schedule: datacube.Schedule{Location: a.Location, BackfillDays: a.Pull.BackfillDays, Hour: a.Pull.Hour}})
	}
	p.puller = datacube.NewPuller(st, apps, nil, log)
	return p, nil
}

// keepFresh is the token refreshers' upkeep of the accounts' tokens.
func (p *pulling) keepFresh(ctx context.Context, log *slog.Logger) {
	for _, ts := range p.accounts {
		if _, err := ts.KeepFresh(ctx); err != nil && ctx.Err() == nil {
			log.Warn("keep the official account's token fresh", "wx_appid", ts.AppID(), "error", err)
		}
	}
}

const pullSynopsis = `Usage:
  shuyuan pull --app ID --from YYYY-MM-DD --to YYYY-MM-DD [--again] [config flags]

Pulls WeChat's analysis data of the app's finished days from..to (dates in
the app's time zone) now, whatever the schedule: every family the app has
(the mini-program's with wx_appid/wx_secret, the official account's with
official_account), each day stored whole or not at all. Days complete
already are skipped unless --again (a re-pull replaces the day); failed
days are tried again. The app needs wechat_pull.enabled. It works on the
store itself (a server must not own the embedded store meanwhile).
`

// pullCmd is "shuyuan pull".
func pullCmd(args []string) error {
	var appID, fromS, toS string
	var again bool
	cfg, err := loadCommand("pull", pullSynopsis, args, func(fs *flag.FlagSet) {
		fs.StringVar(&appID, "app", "", "the app (optional when one app is configured)")
		fs.StringVar(&fromS, "from", "", "first day to pull, YYYY-MM-DD")
		fs.StringVar(&toS, "to", "", "last day to pull, YYYY-MM-DD (yesterday at the latest)")
		fs.BoolVar(&again, "again", false, "pull days complete already again, replacing them")
	})
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("bad config:\n%w", err)
	}
	app, err := pickApp(cfg, appID)
	if err != nil {
		return err
	}
	if app.Pull == nil {
		return fmt.Errorf("--app: app %q has wechat_pull.enabled false: nothing to pull", app.ID)
	}
	from, to, err := pullRange(fromS, toS, time.Now().In(app.Location))
	if err != nil {
		return err
	}
	tenants, err := cfg.Tenants()
	if err != nil {
		return err
	}
	ctx, stop := context.WithTimeout(context.Background(), 30*time.Minute)
	defer stop()
	log := newLogger(cfg.LogLevel)
	st, _, err := openStore(ctx, cfg, log)
	if err != nil {
		return busyStore(err, "stop it, or let its schedule pull")
	}
	defer st.Close()
	loop, err := newAds(st, tenants, cfg.WeChat.BaseURL, cfg.WeChat.OutboxLeaseDuration(), nil, log)
	if err != nil {
		return err
	}
	p, err := newPulling(st, tenants, loop.svc, cfg.WeChat.BaseURL, log)
	if err != nil {
		return err
	}
	res, err := p.puller.PullRange(ctx, app.ID, from, to, again)
	for _, r := range res {
		line := fmt.Sprintf("%s %s %s %s", r.App, r.Family, r.Day.Format(time.DateOnly), r.Status)
		if r.Error != "" {
			line += ": " + r.Error
		}
		fmt.Println(line)
	}
	if err != nil {
		return err
	}
	missing := 0
	for _, r := range res {
		if r.Status != store.PullComplete {
			missing++
		}
	}
	if missing > 0 {
		return fmt.Errorf("pull: %d of %d days not complete (see above)", missing, len(res))
	}
	return nil
}

// pullRange parses --from and --to: dates, from ≤ to, to a finished day
// of the app (before today in its zone, now), at most 366 days.
func pullRange(fromS, toS string, now time.Time) (from, to time.Time, err error) {
	if fromS == "" || toS == "" {
		return from, to, fmt.Errorf("--from and --to are required (dates, YYYY-MM-DD)")
	}
	if from, err = time.Parse(time.DateOnly, fromS); err != nil {
		return from, to, fmt.Errorf("--from: must be a date YYYY-MM-DD, got %q", fromS)
	}
	if to, err = time.Parse(time.DateOnly, toS); err != nil {
		return from, to, fmt.Errorf("--to: must be a date YYYY-MM-DD, got %q", toS)
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	switch {
	case to.Before(from):
		return from, to, fmt.Errorf("--to: must not be before --from (%s), got %s", fromS, toS)
	case !to.Before(today):
		return from, to, fmt.Errorf("--to: must be a finished day, %s at the latest in the app's time zone, got %s",
			today.AddDate(0, 0, -1).Format(time.DateOnly), toS)
	case to.Sub(from) > 365*24*time.Hour:
		return from, to, fmt.Errorf("--from: at most 366 days before --to, got %s..%s", fromS, toS)
	}
	return from, to, nil
}
