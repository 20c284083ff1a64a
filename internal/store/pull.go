package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// PullStore keeps, per app, family and day, how the daily pull of WeChat's
// own analysis data went, so the puller never fetches a complete day again
// and the dashboard can show what is missing and why.
type PullStore interface {
	// SavePullDay records the outcome of one attempt at a day and counts
	// it. A day already complete is left alone: completeness is final.
	SavePullDay(ctx context.Context, d PullDay) error
	// PullDays lists the recorded days of app in [from, to], by family
	// and day.
	PullDays(ctx context.Context, app string, from, to time.Time) ([]PullDay, error)
	// SavePulledDay stores what one family's endpoints answered for a day
	// (PulledDayStmts): in one transaction it replaces what was stored of
	// that family and day and marks the day complete, so a re-pull
	// changes nothing and a day is never half stored.
	SavePulledDay(ctx context.Context, d PulledDay) error
	// SavePublished replaces the articles published on d.Day and their
	// curves (PublishedStmts) in one transaction, leaving the rest of the
	// day and its status alone: the daily refresh of the curves.
	SavePublished(ctx context.Context, d PublishedDay) error
	// ArticleCurves tells, per publish date in [from, to] with articles
	// stored, how far their curves reach, by date.
	ArticleCurves(ctx context.Context, app string, from, to time.Time) ([]Curve, error)
}

// PullStatus is the state of one pulled day.
type PullStatus string

// The states of a pulled day: pending (not ready yet or a retryable
// failure; tried again later), complete (stored; never fetched again),
// failed (a final error; LastError says which).
const (
	PullPending  PullStatus = "pending"
	PullComplete PullStatus = "complete"
	PullFailed   PullStatus = "failed"
)

// PullDay is one app's day of one family of endpoints.
type PullDay struct {
	App       string
	Family    string    // "mini_program" or "official_account"
	Day       time.Time // the date, as 00:00 UTC
	Status    PullStatus
	Attempts  int    // how many attempts were recorded
	LastError string // the last attempt's error, "" once complete
	UpdatedAt time.Time
}

// SavePullDaySQL upserts a pulled day ($1 app, $2 family, $3 day, $4
// status, $5 error, $6 time), counting the attempt, unless the day is
// complete already.
const SavePullDaySQL = `INSERT INTO wx_pull_days (app_id, family, day, status, attempts, last_error, updated_at)
	VALUES ($1, $2, $3, $4, 1, $5, $6)
	ON CONFLICT (app_id, family, day) DO UPDATE SET status = excluded.status,
		attempts = wx_pull_days.attempts + 1, last_error = excluded.last_error, updated_at = excluded.updated_at
	WHERE wx_pull_days.status <> 'complete'`

// PullDays implements PullStore.PullDays over db.
func PullDays(ctx context.Context, db *sql.DB, app string, from, to time.Time) ([]PullDay, error) {
	rows, err := db.QueryContext(ctx, `SELECT family, day, status, attempts, last_error, updated_at FROM wx_pull_days
		WHERE app_id = $1 AND day >= $2 AND day <= $3 ORDER BY family, day`, app, dateOf(from), dateOf(to))
	if err != nil {
		return nil, fmt.Errorf("%w: pulled days of %s: %w", ErrUnavailable, app, err)
	}
	defer rows.Close()
	var out []PullDay
	for rows.Next() {
		d := PullDay{App: app}
		var status string
		var attempts int64
		if err := rows.Scan(&d.Family, &d.Day, &status, &attempts, &d.LastError, &d.UpdatedAt); err != nil {
			return nil, fmt.Errorf("pulled days of %s: %w", app, err)
		}
		d.Status, d.Attempts = PullStatus(status), int(attempts)
		d.Day = dateOf(d.Day)
		d.UpdatedAt = d.UpdatedAt.UTC()
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%w: pulled days of %s: %w", ErrUnavailable, app, err)
	}
	return out, nil
}

// PullDayArgs are the arguments of SavePullDaySQL for d.
func PullDayArgs(d PullDay) []any {
	return []any{d.App, d.Family, dateOf(d.Day), string(d.Status), d.LastError, d.UpdatedAt.UTC()}
}

// dateOf is the date of t (read in its own zone) as 00:00 UTC.
func dateOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
