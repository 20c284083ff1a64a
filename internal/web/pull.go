package web

import (
	"context"
	"fmt"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/datacube"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// pullNotes describe app's daily pull of WeChat's data, one line per
// family over the backfill window: how many days are complete, how many
// are still owed (not ready yet, or a retryable failure), and the days
// that failed for good with the last error and the command that tries
// them again. Nil when the app does not pull.
func (d *dashboard) pullNotes(ctx context.Context, app *tenant.App, lang string) []statusNote {
	if app.Pull == nil {
		return nil
	}
	now := d.now()
	sched := datacube.Schedule{Location: app.Location, BackfillDays: app.Pull.BackfillDays, Hour: app.Pull.Hour}
	local := now.In(app.Location)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
	from := today.AddDate(0, 0, -sched.BackfillDays)
	known, err := d.srv.Store.PullDays(ctx, app.ID, from, today)
	if err != nil {
		d.log.Warn("read the pull's days for the dashboard", "app", app.ID, "err", err)
		return []statusNote{{ID: "pull", Text: t(lang, "pull_unknown"), Warn: true}}
	}
	families := []string{datacube.FamilyMini}
	if app.Pull.AccountAppID != "" {
		families = append(families, datacube.FamilyAccount)
	}
	var out []statusNote
	for _, fam := range families {
		owed := len(datacube.Due(sched, fam, known, now))
		var complete int
		var failed []store.PullDay
		for _, k := range known {
			if k.Family != fam {
				continue
			}
			switch k.Status {
			case store.PullComplete:
				complete++
			case store.PullFailed:
				failed = append(failed, k)
			}
		}
		n := statusNote{ID: "pull-" + fam}
		if owed == 0 && len(failed) == 0 {
			n.Text = fmt.Sprintf(t(lang, "pull_all"), t(lang, "family_"+fam), complete)
		} else {
			n.Text = fmt.Sprintf(t(lang, "pull_days"), t(lang, "family_"+fam), complete, owed)
		}
		if len(failed) > 0 {
			first, last := failed[0], failed[0]
			for _, f := range failed {
				if f.Day.Before(first.Day) {
					first = f
				}
				if !f.Day.Before(last.Day) {
					last = f
				}
			}
			n.Text += " " + fmt.Sprintf(t(lang, "pull_failed"), len(failed), last.LastError,
				app.ID, first.Day.Format(time.DateOnly), last.Day.Format(time.DateOnly))
			n.Warn = true
		}
		out = append(out, n)
	}
	return out
}
