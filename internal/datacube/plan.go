package datacube

import (
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// The families of endpoints, as recorded in the per-day status.
const (
	FamilyMini    = "mini_program"
	FamilyAccount = "official_account"
)

// Schedule is when an app's days are pulled.
type Schedule struct {
	Location     *time.Location // the app's days
	BackfillDays int            // finished days looked at, yesterday included
	Hour         int            // local hour from which yesterday is due
}

// Due lists the days of family to pull at now, oldest first: the finished
// days of the backfill window that are neither complete nor failed, with
// yesterday only from the schedule's hour. Pending days come back until
// they complete, which is how not-ready mornings are retried; complete
// days never do. known is the recorded status of the window (any
// family; others are ignored).
func Due(s Schedule, family string, known []store.PullDay, now time.Time) []time.Time {
	local := now.In(s.Location)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
	done := map[time.Time]bool{}
	for _, d := range known {
		if d.Family == family && (d.Status == store.PullComplete || d.Status == store.PullFailed) {
			done[d.Day] = true
		}
	}
	last := LastDue(s, now)
	var out []time.Time
	for day := today.AddDate(0, 0, -s.BackfillDays); !day.After(last); day = day.AddDate(0, 0, 1) {
		if !done[day] {
			out = append(out, day)
		}
	}
	return out
}

// LastDue is the last day due at now: yesterday from the schedule's hour,
// the day before until then.
func LastDue(s Schedule, now time.Time) time.Time {
	local := now.In(s.Location)
	last := time.Date(local.Year(), local.Month(), local.Day()-1, 0, 0, 0, 0, time.UTC)
	if local.Hour() < s.Hour {
		last = last.AddDate(0, 0, -1)
	}
	return last
}
