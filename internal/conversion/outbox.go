package conversion

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// insertColumns are the columns a new conversion row sets.
var insertColumns = []string{
	"id", "app_id", "kind", "ref_id", "action_type", "source", "open_id", "union_id", "occurred_at", "value_fen",
	"click_id", "ad_id", "touch_at", "user_action_set_id", "payload", "status", "attempts", "created_at",
	"deadline", "next_attempt_at",
}

// insertChunk bounds the rows of one INSERT statement.
const insertChunk = 100

// insert writes conversions not yet in the outbox (by id) and returns how
// many pending rows it added. Unattributed conversions are recorded too,
// for the ad analysis, but never sent.
func insert(tx store.Tx, convs []Conversion, now time.Time, budget time.Duration) (int, error) {
	// One row per id: a flush may carry the same order twice.
	seen := make(map[string]bool, len(convs))
	uniq := convs[:0:0]
	for _, c := range convs {
		if !seen[c.ID] {
			seen[c.ID] = true
			uniq = append(uniq, c)
		}
	}
	pending := 0
	for len(uniq) > 0 {
		n := min(len(uniq), insertChunk)
		chunk := uniq[:n]
		uniq = uniq[n:]
		args := make([]any, 0, n*len(insertColumns))
		rows := make([]string, 0, n)
		for _, c := range chunk {
			vals, err := rowValues(c, now, budget)
			if err != nil {
				return pending, err
			}
			ph := make([]string, len(vals))
			for i, v := range vals {
				args = append(args, v)
				ph[i] = "$" + strconv.Itoa(len(args))
			}
			rows = append(rows, "("+strings.Join(ph, ", ")+")")
		}
		err := tx.Query(`INSERT INTO ad_conversions (`+strings.Join(insertColumns, ", ")+`) VALUES `+
			strings.Join(rows, ", ")+` ON CONFLICT (id) DO NOTHING RETURNING status`, args,
			func(v []any) error {
				if st, _ := v[0].(string); st == StatePending {
					pending++
				}
				return nil
			})
		if err != nil {
			return pending, fmt.Errorf("insert %d conversions: %w", n, err)
		}
	}
	return pending, nil
}

// rowValues are the insertColumns values of c.
func rowValues(c Conversion, now time.Time, budget time.Duration) ([]any, error) {
	state := StateUnattributed
	var payload, click, adID, touchAt, setID, deadline, next any
	if c.Action != nil {
		b, err := json.Marshal(c.Action)
		if err != nil {
			return nil, fmt.Errorf("encode action of %s: %w", c.ID, err)
		}
		state, payload = StatePending, string(b)
		deadline, next = now.Add(budget), now
	}
	if c.Touch.ClickID != "" {
		click = c.Touch.ClickID
		if !c.Touch.At.IsZero() {
			touchAt = c.Touch.At.UTC()
		}
		if c.Touch.AdID != "" {
			adID = c.Touch.AdID
		}
	}
	if c.SetID > 0 {
		setID = c.SetID
	}
	var value any
	if c.ValueFen != 0 {
		value = c.ValueFen
	}
	return []any{
		c.ID, c.AppID, c.Kind, c.RefID, c.ActionType, c.Source, nullable(c.OpenID), nullable(c.UnionID),
		c.OccurredAt.UTC(), value, click, adID, touchAt, setID, payload, state, int64(0), now,
		deadline, next,
	}, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// claimed is an outbox row taken for one delivery attempt.
type claimed struct {
	id        string
	setID     int64 // 0: the app's data source
	payload   string
	attempts  int64
	deadline  time.Time
	createdAt time.Time
	lastClass string // the class of the previous attempt's failure, "" if none
}

// claim takes up to limit pending rows of app that are due at now and not
// claimed by another delivery. On PostgreSQL, where many nodes share the
// outbox, it leases them until now+lease with FOR UPDATE SKIP LOCKED; a row
// whose lease ran out (a node crashed mid-delivery) is due again and sent
// once more, with the same payload. The embedded store has one process, and
// the worker runs one round per app at a time, so there it only reads: a
// crash mid-delivery leaves the rows pending, due, and sent again the same
// way.
func claim(tx store.Tx, app string, now time.Time, lease time.Duration, limit int) ([]claimed, error) {
	const cols = `id, user_action_set_id, payload, attempts, deadline, created_at, last_class`
	const due = `app_id = $1 AND status = 'pending' AND next_attempt_at <= $2`
	var q string
	args := []any{app, now.UTC(), int64(limit)}
	if tx.Dialect() == store.Postgres {
		q = `UPDATE ad_conversions SET claimed_until = $4
			WHERE id IN (SELECT id FROM ad_conversions
				WHERE ` + due + ` AND (claimed_until IS NULL OR claimed_until <= $2)
				ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
			RETURNING ` + cols
		args = append(args, now.Add(lease).UTC())
	} else {
		q = `SELECT ` + cols + ` FROM ad_conversions WHERE ` + due + ` ORDER BY next_attempt_at, id LIMIT $3`
	}
	var out []claimed
	err := tx.Query(q, args, func(v []any) error {
		c := claimed{}
		c.id, _ = v[0].(string)
		c.setID = store.Int64(v[1])
		c.payload, _ = v[2].(string)
		c.attempts = store.Int64(v[3])
		c.deadline = toTime(v[4])
		c.createdAt = toTime(v[5])
		c.lastClass, _ = v[6].(string)
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim due conversions of %s: %w", app, err)
	}
	return out, nil
}

// settlement is the outcome of one attempt for some rows.
type settlement struct {
	ids   []string
	state string    // StateDelivered, StatePending (retry) or StateDead
	next  time.Time // retry: when
	err   string
	class string
}

// addResend counts an attempt made after one whose answer was lost (see
// migration 0013); SET reads the row's values from before the update.
const addResend = `resends = resends + CASE WHEN last_class = 'retry' THEN 1 ELSE 0 END, `

// settle records the outcomes of a delivery round in tx.
func settle(tx store.Tx, now time.Time, ss []settlement) error {
	for _, s := range ss {
		if len(s.ids) == 0 {
			continue
		}
		args := []any{now.UTC()}
		in := idsIn(tx, &args, s.ids)
		var q string
		switch s.state {
		case StateDelivered:
			q = `UPDATE ad_conversions SET ` + addResend + `status = 'delivered', delivered_at = $1, last_attempt_at = $1,
				attempts = attempts + 1, claimed_until = NULL, next_attempt_at = NULL WHERE ` + in
		case StatePending:
			args = append(args, s.next.UTC(), s.err, s.class)
			n := len(args)
			q = fmt.Sprintf(`UPDATE ad_conversions SET `+addResend+`last_attempt_at = $1, attempts = attempts + 1,
				claimed_until = NULL, next_attempt_at = $%d, last_error = $%d, last_class = $%d WHERE %s`, n-2, n-1, n, in)
		case StateDead:
			args = append(args, s.err, s.class)
			n := len(args)
			q = fmt.Sprintf(`UPDATE ad_conversions SET `+addResend+`status = 'dead', last_attempt_at = $1, attempts = attempts + 1,
				claimed_until = NULL, next_attempt_at = NULL, last_error = $%d, last_class = $%d WHERE %s`, n-1, n, in)
		default:
			return fmt.Errorf("settle: unknown state %q", s.state)
		}
		if err := tx.Exec(q, args...); err != nil {
			return fmt.Errorf("settle %d conversions as %s: %w", len(s.ids), s.state, err)
		}
	}
	return nil
}

// idsIn is the condition "id is one of ids" with the ids as one parameter:
// hundreds of placeholders cost DuckDB more to plan than the update itself.
// Conversion ids are hex digests, so a comma separates them safely.
func idsIn(tx store.Tx, args *[]any, ids []string) string {
	*args = append(*args, strings.Join(ids, ","))
	n := strconv.Itoa(len(*args))
	if tx.Dialect() == store.Postgres {
		return "id = ANY(string_to_array($" + n + ", ','))"
	}
	return "id IN (SELECT unnest(string_split($" + n + ", ',')))"
}

// Replay sends dead letters again: the dead conversions of app (all of
// them, or those of ids) become pending, due now, with a fresh retry
// budget. It returns how many it revived.
func (s *Service) Replay(ctx context.Context, app string, ids []string) (int, error) {
	a, ok := s.apps.ByID(app)
	if !ok {
		return 0, fmt.Errorf("%w: no app %q", ErrUnknownApp, app)
	}
	now := s.now().UTC()
	n := 0
	err := s.transact(ctx, func(tx store.Tx) error {
		args := []any{app, now, now.Add(rulesOf(a).budget)}
		cond := ""
		if len(ids) > 0 {
			cond = " AND " + idsIn(tx, &args, ids)
		}
		return tx.Query(`UPDATE ad_conversions SET status = 'pending', next_attempt_at = $2, deadline = $3,
				claimed_until = NULL, attempts = 0
			WHERE app_id = $1 AND status = 'dead'`+cond+` RETURNING id`, args,
			func([]any) error { n++; return nil })
	})
	if err != nil {
		return 0, fmt.Errorf("replay dead conversions of %s: %w", app, err)
	}
	if n > 0 {
		s.kick(app)
	}
	return n, nil
}

// Counts are an app's conversions by state.
type Counts struct {
	App          string `json:"app"`
	Unattributed int64  `json:"unattributed"`
	Pending      int64  `json:"pending"`
	Delivered    int64  `json:"delivered"`
	Dead         int64  `json:"dead"`
	// OldestPendingSeconds is the age of the oldest pending conversion.
	OldestPendingSeconds float64 `json:"oldest_pending_seconds"`
}

// Counts returns the conversions by state of every app that has some.
func (s *Service) Counts(ctx context.Context) ([]Counts, error) {
	rows, err := s.st.DB().QueryContext(ctx, `SELECT app_id, status, count(*), min(created_at)
		FROM ad_conversions GROUP BY app_id, status ORDER BY app_id`)
	if err != nil {
		return nil, fmt.Errorf("count conversions: %w", err)
	}
	defer rows.Close()
	now := s.now()
	var out []Counts
	for rows.Next() {
		var app, status string
		var n int64
		var oldest time.Time
		if err := rows.Scan(&app, &status, &n, &oldest); err != nil {
			return nil, fmt.Errorf("count conversions: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].App != app {
			out = append(out, Counts{App: app})
		}
		c := &out[len(out)-1]
		switch status {
		case StateUnattributed:
			c.Unattributed = n
		case StatePending:
			c.Pending = n
			c.OldestPendingSeconds = max(0, now.Sub(oldest).Seconds())
		case StateDelivered:
			c.Delivered = n
		case StateDead:
			c.Dead = n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count conversions: %w", err)
	}
	return out, nil
}

// nextDue returns when app's earliest pending row is due; ok is false when
// it has none.
func (s *Service) nextDue(ctx context.Context, app string) (time.Time, bool, error) {
	var next *time.Time
	if err := s.st.DB().QueryRowContext(ctx, `SELECT min(CASE WHEN claimed_until IS NOT NULL AND claimed_until > next_attempt_at
			THEN claimed_until ELSE next_attempt_at END)
		FROM ad_conversions WHERE app_id = $1 AND status = 'pending'`, app).Scan(&next); err != nil {
		return time.Time{}, false, fmt.Errorf("next due conversion of %s: %w", app, err)
	}
	if next == nil {
		return time.Time{}, false, nil
	}
	return next.UTC(), true, nil
}

// Letter is one conversion as listed by Conversions.
type Letter struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	RefID       string    `json:"ref_id"`
	ActionType  string    `json:"action_type"`
	Source      string    `json:"source"`
	Status      string    `json:"status"`
	ClickID     string    `json:"click_id,omitempty"`
	AdID        string    `json:"ad_id,omitempty"`
	OccurredAt  time.Time `json:"occurred_at"`
	ValueFen    int64     `json:"value_fen"`
	Attempts    int64     `json:"attempts"`
	LastError   string    `json:"last_error,omitempty"`
	LastClass   string    `json:"last_class,omitempty"`
	NextAttempt time.Time `json:"next_attempt_at,omitzero"`
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
	Payload     string    `json:"payload,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	SetID       int64     `json:"user_action_set_id,omitempty"`
	LastAttempt time.Time `json:"last_attempt_at,omitzero"`
	OpenID      string    `json:"open_id,omitempty"`
	UnionID     string    `json:"union_id,omitempty"`
	TouchAt     time.Time `json:"touch_at,omitzero"`
}

// Conversions lists an app's conversions in a state ("" for all), newest
// first, at most limit.
func (s *Service) Conversions(ctx context.Context, app, state string, limit int) ([]Letter, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.st.DB().QueryContext(ctx, `SELECT id, kind, ref_id, action_type, source, status, click_id, ad_id,
			occurred_at, value_fen, attempts, last_error, last_class, next_attempt_at, delivered_at, payload,
			created_at, user_action_set_id, last_attempt_at, open_id, union_id, touch_at
		FROM ad_conversions WHERE app_id = $1 AND ($2 = '' OR status = $2)
		ORDER BY created_at DESC, id LIMIT $3`, app, state, limit)
	if err != nil {
		return nil, fmt.Errorf("list conversions of %s: %w", app, err)
	}
	defer rows.Close()
	var out []Letter
	for rows.Next() {
		var l Letter
		var click, adID, lastErr, lastClass, payload, open, union *string
		var value, setID *int64
		var next, delivered, lastAttempt, touchAt *time.Time
		if err := rows.Scan(&l.ID, &l.Kind, &l.RefID, &l.ActionType, &l.Source, &l.Status, &click, &adID,
			&l.OccurredAt, &value, &l.Attempts, &lastErr, &lastClass, &next, &delivered, &payload,
			&l.CreatedAt, &setID, &lastAttempt, &open, &union, &touchAt); err != nil {
			return nil, fmt.Errorf("list conversions of %s: %w", app, err)
		}
		l.ClickID, l.AdID, l.LastError, l.LastClass, l.Payload = deref(click), deref(adID), deref(lastErr), deref(lastClass), deref(payload)
		l.OpenID, l.UnionID = deref(open), deref(union)
		if value != nil {
			l.ValueFen = *value
		}
		if setID != nil {
			l.SetID = *setID
		}
		for dst, src := range map[*time.Time]*time.Time{&l.NextAttempt: next, &l.DeliveredAt: delivered, &l.LastAttempt: lastAttempt, &l.TouchAt: touchAt} {
			if src != nil {
				*dst = src.UTC()
			}
		}
		l.OccurredAt, l.CreatedAt = l.OccurredAt.UTC(), l.CreatedAt.UTC()
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list conversions of %s: %w", app, err)
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func toTime(v any) time.Time {
	t, _ := v.(time.Time)
	return t.UTC()
}
