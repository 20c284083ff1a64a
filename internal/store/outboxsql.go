package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// The outbox's statements that read the same in both dialects. The
// stores run them; only the "id is one of" condition differs (idsIn).

// SettleSQL is the fenced UPDATE that records s for holder's rows; idsIn
// adds the ids to args and returns the condition that names them.
func SettleSQL(holder string, now time.Time, s Settlement, idsIn func(args *[]any) string) (string, []any, error) {
	args := []any{now.UTC(), holder}
	// An attempt after one whose answer may have been lost is a re-send;
	// SET reads the row as it was before the update.
	const resend = `resends = resends + CASE WHEN last_class = 'retry' THEN 1 ELSE 0 END, `
	// Fencing: only rows still pending and last claimed by holder.
	where := func() string { return ` WHERE claimed_by = $2 AND status = 'pending' AND ` + idsIn(&args) }
	switch s.Status {
	case ConversionDelivered:
		return `UPDATE ad_conversions SET ` + resend + `status = 'delivered', delivered_at = $1, last_attempt_at = $1,
			attempts = attempts + 1, claimed_until = NULL, next_attempt_at = NULL` + where(), args, nil
	case ConversionPending:
		args = append(args, s.Next.UTC(), s.Err, s.Class)
		return `UPDATE ad_conversions SET ` + resend + `last_attempt_at = $1, attempts = attempts + 1,
			claimed_until = NULL, next_attempt_at = $3, last_error = $4, last_class = $5` + where(), args, nil
	case ConversionDead:
		args = append(args, s.Err, s.Class)
		return `UPDATE ad_conversions SET ` + resend + `status = 'dead', last_attempt_at = $1, attempts = attempts + 1,
			claimed_until = NULL, next_attempt_at = NULL, last_error = $3, last_class = $4` + where(), args, nil
	}
	return "", nil, fmt.Errorf("settle: unknown state %q", s.Status)
}

// AttributeSQL credits one unattributed conversion ($1) to a touch found
// later: $2 click, $3 ad, $4 touch time, $5 payload, $6 status, $7
// deadline, $8 next attempt. The status condition makes it happen once.
const AttributeSQL = `UPDATE ad_conversions SET click_id = $2, ad_id = $3, touch_at = $4, payload = $5,
	status = $6, deadline = $7, next_attempt_at = $8
	WHERE id = $1 AND status = 'unattributed' RETURNING status`

// UnattributedColumns are the columns Tx.UnattributedConversions reads.
const UnattributedColumns = `id, kind, ref_id, action_type, source, open_id, union_id, occurred_at,
	value_fen, user_action_set_id`

// ReplaySQL revives dead conversions: $1 the app, $2 now, $3 the deadline;
// the caller appends the ids condition, if any.
const ReplaySQL = `UPDATE ad_conversions SET status = 'pending', next_attempt_at = $2, deadline = $3,
	claimed_until = NULL, claimed_by = NULL, attempts = 0
	WHERE app_id = $1 AND status = 'dead'`

// ConversionCounts implements OutboxStore.ConversionCounts over db.
func ConversionCounts(ctx context.Context, db *sql.DB) ([]ConversionCount, error) {
	rows, err := db.QueryContext(ctx, `SELECT app_id, status, count(*), min(created_at)
		FROM ad_conversions GROUP BY app_id, status ORDER BY app_id, status`)
	if err != nil {
		return nil, fmt.Errorf("%w: count conversions: %w", ErrUnavailable, err)
	}
	defer rows.Close()
	var out []ConversionCount
	for rows.Next() {
		var c ConversionCount
		if err := rows.Scan(&c.App, &c.Status, &c.N, &c.OldestCreated); err != nil {
			return nil, fmt.Errorf("count conversions: %w", err)
		}
		c.OldestCreated = c.OldestCreated.UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%w: count conversions: %w", ErrUnavailable, err)
	}
	return out, nil
}

// NextConversionDue implements OutboxStore.NextConversionDue over db.
func NextConversionDue(ctx context.Context, db *sql.DB, app string) (time.Time, bool, error) {
	var next sql.NullTime
	if err := db.QueryRowContext(ctx, `SELECT min(CASE WHEN claimed_until IS NOT NULL AND claimed_until > next_attempt_at
			THEN claimed_until ELSE next_attempt_at END)
		FROM ad_conversions WHERE app_id = $1 AND status = 'pending'`, app).Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("%w: next due conversion of %s: %w", ErrUnavailable, app, err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return next.Time.UTC(), true, nil
}

// AppsWithPendingConversions implements the OutboxStore method over db.
func AppsWithPendingConversions(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT DISTINCT app_id FROM ad_conversions WHERE status = 'pending' ORDER BY app_id`)
	if err != nil {
		return nil, fmt.Errorf("%w: apps with pending conversions: %w", ErrUnavailable, err)
	}
	defer rows.Close()
	var apps []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, fmt.Errorf("apps with pending conversions: %w", err)
		}
		apps = append(apps, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%w: apps with pending conversions: %w", ErrUnavailable, err)
	}
	return apps, nil
}

const conversionSelect = `SELECT id, app_id, kind, ref_id, action_type, source, open_id, union_id, occurred_at,
	value_fen, click_id, ad_id, touch_at, user_action_set_id, payload, status, attempts, coalesce(resends, 0), created_at, deadline,
	next_attempt_at, last_attempt_at, delivered_at, last_error, last_class FROM ad_conversions`

// ListConversions implements OutboxStore.ListConversions over db.
func ListConversions(ctx context.Context, db *sql.DB, app, status string, limit int) ([]Conversion, error) {
	if limit <= 0 {
		limit = 100
	}
	return scanConversions(db.QueryContext(ctx, conversionSelect+` WHERE app_id = $1 AND ($2 = '' OR status = $2)
		ORDER BY created_at DESC, id LIMIT $3`, app, status, limit))
}

// ConversionsOccurred implements OutboxStore.ConversionsOccurred over db.
func ConversionsOccurred(ctx context.Context, db *sql.DB, app string, from, to time.Time) ([]Conversion, error) {
	return scanConversions(db.QueryContext(ctx, conversionSelect+` WHERE app_id = $1 AND occurred_at >= $2
		AND occurred_at < $3 AND status <> 'unattributed' ORDER BY occurred_at, id`, app, from.UTC(), to.UTC()))
}

func scanConversions(rows *sql.Rows, err error) ([]Conversion, error) {
	if err != nil {
		return nil, fmt.Errorf("%w: list conversions: %w", ErrUnavailable, err)
	}
	defer rows.Close()
	var out []Conversion
	for rows.Next() {
		var c Conversion
		var open, union, click, ad, payload, lastErr, lastClass sql.NullString
		var value, setID sql.NullInt64
		var touch, deadline, next, last, delivered sql.NullTime
		if err := rows.Scan(&c.ID, &c.AppID, &c.Kind, &c.RefID, &c.ActionType, &c.Source, &open, &union, &c.OccurredAt,
			&value, &click, &ad, &touch, &setID, &payload, &c.Status, &c.Attempts, &c.Resends, &c.CreatedAt, &deadline,
			&next, &last, &delivered, &lastErr, &lastClass); err != nil {
			return nil, fmt.Errorf("list conversions: %w", err)
		}
		c.OpenID, c.UnionID, c.ClickID, c.AdID = open.String, union.String, click.String, ad.String
		c.Payload, c.LastError, c.LastClass = payload.String, lastErr.String, lastClass.String
		c.ValueFen, c.SetID = value.Int64, setID.Int64
		for dst, src := range map[*time.Time]sql.NullTime{&c.TouchAt: touch, &c.Deadline: deadline,
			&c.NextAttemptAt: next, &c.LastAttemptAt: last, &c.DeliveredAt: delivered} {
			if src.Valid {
				*dst = src.Time.UTC()
			}
		}
		c.OccurredAt, c.CreatedAt = c.OccurredAt.UTC(), c.CreatedAt.UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%w: list conversions: %w", ErrUnavailable, err)
	}
	return out, nil
}
