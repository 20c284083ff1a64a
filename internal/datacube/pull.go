package datacube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// NewArticlesStart is the first day the current article endpoints
// (getarticleread, getarticleshare, getbizsummary, getarticletotaldetail)
// have data for; earlier days are pulled from the retired ones
// (getarticlesummary, getarticletotal).
var NewArticlesStart = time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)

// Store is what the puller needs of the store: the per-day status and the
// pulled data (store.PullStore).
type Store interface {
	SavePullDay(ctx context.Context, d store.PullDay) error
	PullDays(ctx context.Context, app string, from, to time.Time) ([]store.PullDay, error)
	SavePulledDay(ctx context.Context, d store.PulledDay) error
	SavePublished(ctx context.Context, d store.PublishedDay) error
	ArticleCurves(ctx context.Context, app string, from, to time.Time) ([]store.Curve, error)
}

// CurveDays is how long getarticletotaldetail tracks an article: its curve
// has at most this many statistics days, from the publish date on.
const CurveDays = 30

// curveRetry is how long a refresh of a publish date's curves waits after
// an attempt that left them short (WeChat late, or a failure) before the
// next: the pull runs every few minutes, the curves grow once a day.
const curveRetry = time.Hour

// App is one app whose WeChat data is pulled: its families are those its
// client has a token for (Mini: the mini-program; Account: the official
// account).
type App struct {
	ID       string
	Schedule Schedule
	Client   *Client
}

// Families lists the families of endpoints pulled for a.
func (a App) Families() []string {
	var out []string
	if a.Client.Mini != nil {
		out = append(out, FamilyMini)
	}
	if a.Client.Account != nil {
		out = append(out, FamilyAccount)
	}
	return out
}

// Puller fetches the owed days of each app from WeChat and stores them.
// One round (Run) is meant to run on one node at a time (a cron task
// elected across the cluster); running two at once only fetches a day
// twice, which stores the same thing.
type Puller struct {
	st   Store
	apps []App
	now  func() time.Time
	log  *slog.Logger

	mu    sync.Mutex
	tried map[string]time.Time // app and publish date → the last curve refresh
}

// NewPuller returns a puller of apps over st; now is the clock (nil:
// time.Now) and log its logger (nil: slog.Default).
func NewPuller(st Store, apps []App, now func() time.Time, log *slog.Logger) *Puller {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Puller{st: st, apps: apps, now: now, log: log, tried: map[string]time.Time{}}
}

// Apps lists the apps the puller pulls.
func (p *Puller) Apps() []App { return p.apps }

// Run is one round: for each app and family, every day Due owes, oldest
// first. A day that is not ready yet, or failed in a way a later try may
// fix, stays pending and is tried again next round; a final error marks it
// failed; a stored day is complete and never fetched again. Failures to
// fetch are recorded per day, not returned: the error is the store's, or
// the context's.
func (p *Puller) Run(ctx context.Context) error {
	var errs []error
	for _, a := range p.apps {
		if err := p.runApp(ctx, a); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, fmt.Errorf("pull %s: %w", a.ID, err))
		}
	}
	return errors.Join(errs...)
}

func (p *Puller) runApp(ctx context.Context, a App) error {
	now := p.now()
	local := now.In(a.Schedule.Location)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
	known, err := p.st.PullDays(ctx, a.ID, today.AddDate(0, 0, -a.Schedule.BackfillDays), today)
	if err != nil {
		return err
	}
	for _, fam := range a.Families() {
		if err := p.pullDays(ctx, a, fam, Due(a.Schedule, fam, known, now)); err != nil {
			return err
		}
	}
	if a.Client.Account != nil {
		return p.refreshCurves(ctx, a, now)
	}
	return nil
}

// refreshCurves fetches again getarticletotaldetail of each publish date
// of the last CurveDays whose stored curves stop short of the last due day
// and of the tracking's end: a day's pull stores the curves of its
// articles as far as WeChat has them, its publish date only, while the
// follows after reading of the following days (the articles analysis)
// need the rest. A date is tried at most once per curveRetry; an error
// not about the date (transport, token, quota) ends the round's refresh.
func (p *Puller) refreshCurves(ctx context.Context, a App, now time.Time) error {
	last := LastDue(a.Schedule, now)
	from := last.AddDate(0, 0, -(CurveDays - 1))
	if from.Before(NewArticlesStart) {
		from = NewArticlesStart
	}
	curves, err := p.st.ArticleCurves(ctx, a.ID, from, last)
	if err != nil {
		return err
	}
	p.mu.Lock()
	for k, t := range p.tried {
		if now.Sub(t) >= curveRetry {
			delete(p.tried, k) // it no longer holds anything back
		}
	}
	p.mu.Unlock()
	for _, c := range curves {
		end := c.Published.AddDate(0, 0, CurveDays-1)
		if last.Before(end) {
			end = last
		}
		if !c.Through.Before(end) {
			continue
		}
		key := a.ID + " " + c.Published.Format(time.DateOnly)
		p.mu.Lock()
		wait := now.Sub(p.tried[key]) < curveRetry
		if !wait {
			p.tried[key] = now
		}
		p.mu.Unlock()
		if wait {
			continue
		}
		arts, err := a.Client.ArticleTotals(ctx, c.Published)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil && len(arts) == 0 {
			// WeChat listed articles of that date before: an empty answer
			// is a gap on its side, not the articles gone.
			err = fmt.Errorf("datacube getarticletotaldetail %s: empty: %w", c.Published.Format(time.DateOnly), ErrNotReady)
		}
		if err != nil {
			p.log.Info("article curves not refreshed", "app", a.ID, "published", c.Published.Format(time.DateOnly), "error", err)
			if errors.Is(err, ErrNotReady) {
				continue
			}
			return nil
		}
		if err := p.st.SavePublished(ctx, store.PublishedDay{App: a.ID, Day: c.Published, At: p.now().UTC(), Articles: arts}); err != nil {
			return err
		}
		p.log.Info("article curves refreshed", "app", a.ID, "published", c.Published.Format(time.DateOnly))
	}
	return nil
}

// pullDays pulls days of one family in order. After an error that is not
// about the day (transport, token, quota) the rest wait for the next
// round: they would only fail the same way.
func (p *Puller) pullDays(ctx context.Context, a App, fam string, days []time.Time) error {
	for _, day := range days {
		res, err := p.PullDay(ctx, a, fam, day)
		if err != nil {
			return err
		}
		if res.Status == store.PullPending && !errors.Is(res.err, ErrNotReady) {
			return nil
		}
	}
	return nil
}

// Result is the outcome of pulling one day of one family.
type Result struct {
	App    string
	Family string
	Day    time.Time
	Status store.PullStatus
	Error  string // why it is pending or failed
	err    error
}

// PullDay fetches every endpoint of family for day (a date, as 00:00 UTC)
// and stores the day, or records why not. The error is the store's only.
func (p *Puller) PullDay(ctx context.Context, a App, family string, day time.Time) (Result, error) {
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	res := Result{App: a.ID, Family: family, Day: day}
	var d store.PulledDay
	var err error
	switch family {
	case FamilyMini:
		d, err = fetchMini(ctx, a.Client, day)
	case FamilyAccount:
		d, err = fetchAccount(ctx, a.Client, day)
	default:
		err = fmt.Errorf("unknown family %q", family)
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	at := p.now().UTC()
	if err == nil {
		d.App, d.Family, d.Day, d.At = a.ID, family, day, at
		if err := p.st.SavePulledDay(ctx, d); err != nil {
			return res, err
		}
		res.Status = store.PullComplete
		p.log.Info("wechat data pulled", "app", a.ID, "family", family, "day", day.Format(time.DateOnly))
		return res, nil
	}
	res.Status, res.Error, res.err = store.PullFailed, err.Error(), err
	if Retryable(err) || quota(err) {
		res.Status = store.PullPending
	}
	if serr := p.st.SavePullDay(ctx, store.PullDay{App: a.ID, Family: family, Day: day, Status: res.Status,
		LastError: res.Error, UpdatedAt: at}); serr != nil {
		return res, serr
	}
	lvl := slog.LevelWarn
	if errors.Is(err, ErrNotReady) {
		lvl = slog.LevelInfo
	}
	p.log.Log(ctx, lvl, "wechat data not pulled", "app", a.ID, "family", family, "day", day.Format(time.DateOnly),
		"status", string(res.Status), "error", err)
	return res, nil
}

// quota tells whether err is the daily quota (45009): the day is fine,
// the next day's quota will serve it.
func quota(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == 45009
}

// PullRange pulls the days from..to (dates) of every family of app now,
// whatever the schedule: the days not complete, or all of them with again
// (a re-pull replaces a day with what WeChat answers now). Failed days
// are tried again. It is `shuyuan pull`.
func (p *Puller) PullRange(ctx context.Context, appID string, from, to time.Time, again bool) ([]Result, error) {
	var a *App
	for i := range p.apps {
		if p.apps[i].ID == appID {
			a = &p.apps[i]
		}
	}
	if a == nil {
		return nil, fmt.Errorf("app %q has no WeChat data to pull (wechat_pull.enabled with wx_appid/wx_secret or official_account)", appID)
	}
	known, err := p.st.PullDays(ctx, appID, from, to)
	if err != nil {
		return nil, err
	}
	complete := map[string]bool{}
	for _, k := range known {
		if k.Status == store.PullComplete {
			complete[k.Family+k.Day.Format(time.DateOnly)] = true
		}
	}
	var out []Result
	for _, fam := range a.Families() {
		for day := from; !day.After(to); day = day.AddDate(0, 0, 1) {
			if complete[fam+day.Format(time.DateOnly)] && !again {
				out = append(out, Result{App: appID, Family: fam, Day: day, Status: store.PullComplete, Error: "complete already"})
				continue
			}
			res, err := p.PullDay(ctx, *a, fam, day)
			if err != nil {
				return out, err
			}
			out = append(out, res)
		}
	}
	return out, nil
}

// fetchMini calls the mini-program's endpoints for day. The visit trend
// goes first: an empty one means the day is not ready, and its page views
// tell an empty page list of a quiet day from one not ready yet.
func fetchMini(ctx context.Context, c *Client, day time.Time) (store.PulledDay, error) {
	trend, err := c.DailyVisitTrend(ctx, day)
	if err != nil {
		return store.PulledDay{}, err
	}
	pages, err := c.VisitPages(ctx, day)
	if err != nil {
		return store.PulledDay{}, err
	}
	if len(pages) == 0 && trend.VisitPV > 0 {
		return store.PulledDay{}, fmt.Errorf("datacube getVisitPage %s: empty on a day of %d page views: %w", miniDate(day), trend.VisitPV, ErrNotReady)
	}
	summary, err := c.DailySummary(ctx, day)
	if err != nil {
		return store.PulledDay{}, err
	}
	dist, err := c.VisitDistribution(ctx, day)
	if err != nil {
		return store.PulledDay{}, err
	}
	return store.PulledDay{Mini: &store.MiniDay{Pages: pages, Trend: trend, Summary: summary, Distribution: dist.Items()}}, nil
}

// fetchAccount calls the official account's endpoints for day: the
// followers first (an empty answer is not ready), then the current
// article endpoints from 2025-11-01 or the retired ones before.
func fetchAccount(ctx context.Context, c *Client, day time.Time) (store.PulledDay, error) {
	followers, err := c.UserCumulate(ctx, day)
	if err != nil {
		return store.PulledDay{}, err
	}
	users, err := c.UserSummary(ctx, day)
	if err != nil {
		return store.PulledDay{}, err
	}
	acct := &store.AccountDay{UserSources: users, Followers: followers}
	if day.Before(NewArticlesStart) {
		if acct.Articles, err = c.LegacyArticleDays(ctx, day); err != nil {
			return store.PulledDay{}, err
		}
		if acct.Published, err = c.LegacyArticleTotals(ctx, day); err != nil {
			return store.PulledDay{}, err
		}
		biz, err := c.LegacyUserRead(ctx, day)
		if err != nil {
			return store.PulledDay{}, err
		}
		acct.Biz = &biz
		return store.PulledDay{Account: acct}, nil
	}
	reads, err := c.ArticleReads(ctx, day)
	if err != nil {
		return store.PulledDay{}, err
	}
	shares, err := c.ArticleShares(ctx, day)
	if err != nil {
		return store.PulledDay{}, err
	}
	biz, err := c.BizSummary(ctx, day)
	if err != nil {
		return store.PulledDay{}, err
	}
	acct.Biz = &biz
	if acct.Published, err = c.ArticleTotals(ctx, day); err != nil {
		return store.PulledDay{}, err
	}
	// One row per article of the day, read or shared.
	ids := map[string]bool{}
	for _, m := range []map[string]int64{reads, shares} {
		for id := range m {
			if !ids[id] {
				ids[id] = true
				acct.Articles = append(acct.Articles, store.ArticleDay{MsgID: id, ReadUser: reads[id], ShareUser: shares[id]})
			}
		}
	}
	return store.PulledDay{Account: acct}, nil
}
