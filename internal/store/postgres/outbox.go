package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// hookTx is the store.Tx of a transaction.
type hookTx struct{ tx pgx.Tx }

// Touches implements store.Tx.
func (h hookTx) Touches(ctx context.Context, app string, opens, unions []string, from, to time.Time) ([]store.Touch, error) {
	if opens == nil {
		opens = []string{}
	}
	if unions == nil {
		unions = []string{}
	}
	rows, err := h.tx.Query(ctx, `SELECT user_key, open_id, union_id, click_id, ad_id, first_seen FROM ad_touches
		WHERE app_id = $1 AND first_seen >= $2 AND first_seen <= $3 AND (open_id = ANY($4) OR union_id = ANY($5))`,
		app, from.UTC(), to.UTC(), opens, unions)
	if err != nil {
		return nil, unavailable("ad touches of "+app, err)
	}
	defer rows.Close()
	var out []store.Touch
	for rows.Next() {
		t := store.Touch{AppID: app}
		var open, union, ad *string
		if err := rows.Scan(&t.UserKey, &open, &union, &t.ClickID, &ad, &t.FirstSeen); err != nil {
			return nil, unavailable("ad touches of "+app, err)
		}
		t.OpenID, t.UnionID, t.AdID, t.FirstSeen = deref(open), deref(union), deref(ad), t.FirstSeen.UTC()
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("ad touches of "+app, err)
	}
	return out, nil
}

// AdOfClick implements store.Tx.
func (h hookTx) AdOfClick(ctx context.Context, app, click string) (string, error) {
	var ad string
	err := h.tx.QueryRow(ctx, `SELECT coalesce(max(ad_id), '') FROM ad_touches WHERE app_id = $1 AND click_id = $2 AND ad_id IS NOT NULL`,
		app, click).Scan(&ad)
	if err != nil {
		return "", unavailable("ad of click "+click, err)
	}
	return ad, nil
}

// StoredConversions implements store.Tx.
func (h hookTx) StoredConversions(ctx context.Context, ids []string) (map[string]bool, error) {
	rows, err := h.tx.Query(ctx, `SELECT id FROM ad_conversions WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, unavailable("look up conversion ids", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, unavailable("look up conversion ids", err)
	}
	out := make(map[string]bool, len(found))
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}

// UnattributedConversions implements store.Tx.
func (h hookTx) UnattributedConversions(ctx context.Context, app string, opens, unions []string, from, to time.Time) ([]store.Conversion, error) {
	if opens == nil {
		opens = []string{}
	}
	if unions == nil {
		unions = []string{}
	}
	rows, err := h.tx.Query(ctx, `SELECT `+store.UnattributedColumns+` FROM ad_conversions
		WHERE app_id = $1 AND status = 'unattributed' AND kind IN ('order', 'lead')
		  AND occurred_at >= $2 AND occurred_at <= $3 AND (open_id = ANY($4) OR union_id = ANY($5))`,
		app, from.UTC(), to.UTC(), opens, unions)
	if err != nil {
		return nil, unavailable("unattributed conversions of "+app, err)
	}
	defer rows.Close()
	var out []store.Conversion
	for rows.Next() {
		c := store.Conversion{AppID: app, Status: store.ConversionUnattributed}
		var open, union *string
		var value, set *int64
		if err := rows.Scan(&c.ID, &c.Kind, &c.RefID, &c.ActionType, &c.Source, &open, &union, &c.OccurredAt, &value, &set); err != nil {
			return nil, unavailable("unattributed conversions of "+app, err)
		}
		c.OpenID, c.UnionID, c.OccurredAt = deref(open), deref(union), c.OccurredAt.UTC()
		if value != nil {
			c.ValueFen = *value
		}
		if set != nil {
			c.SetID = *set
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("unattributed conversions of "+app, err)
	}
	return out, nil
}

// AttributeConversions implements store.Tx, in id order so that two nodes
// crediting the same rows never deadlock.
func (h hookTx) AttributeConversions(ctx context.Context, cs []store.Conversion) (int, error) {
	cs = slices.Clone(cs)
	sort.Slice(cs, func(i, j int) bool { return cs[i].ID < cs[j].ID })
	pending := 0
	for i := range cs {
		c := &cs[i]
		var status string
		err := h.tx.QueryRow(ctx, store.AttributeSQL, c.ID, store.Nullable(c.ClickID), store.Nullable(c.AdID),
			nullTime(c.TouchAt), store.Nullable(c.Payload), c.Status, nullTime(c.Deadline), nullTime(c.NextAttemptAt)).Scan(&status)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // credited already, or no longer unattributed
		}
		if err != nil {
			return pending, unavailable("attribute conversion "+c.ID, err)
		}
		if status == store.ConversionPending {
			pending++
		}
	}
	return pending, nil
}

var conversionColumns = []string{
	"id", "app_id", "kind", "ref_id", "action_type", "source", "open_id", "union_id", "occurred_at", "value_fen",
	"click_id", "ad_id", "touch_at", "user_action_set_id", "payload", "status", "attempts", "created_at",
	"deadline", "next_attempt_at",
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// AddConversions implements store.Tx: one INSERT ... ON CONFLICT DO
// NOTHING, in id order so concurrent writers of one id never deadlock.
func (h hookTx) AddConversions(ctx context.Context, cs []store.Conversion) (int, error) {
	seen := make(map[string]bool, len(cs))
	uniq := make([]store.Conversion, 0, len(cs))
	for _, c := range cs {
		if !seen[c.ID] {
			seen[c.ID] = true
			uniq = append(uniq, c)
		}
	}
	if len(uniq) == 0 {
		return 0, nil
	}
	sort.Slice(uniq, func(i, j int) bool { return uniq[i].ID < uniq[j].ID })
	var q strings.Builder
	q.WriteString(`INSERT INTO ad_conversions (` + strings.Join(conversionColumns, ", ") + `) VALUES `)
	args := make([]any, 0, len(uniq)*len(conversionColumns))
	for i := range uniq {
		c := &uniq[i]
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteByte('(')
		vals := []any{
			c.ID, c.AppID, c.Kind, c.RefID, c.ActionType, c.Source, store.Nullable(c.OpenID), store.Nullable(c.UnionID),
			c.OccurredAt.UTC(), store.ZeroNull(c.ValueFen), store.Nullable(c.ClickID), store.Nullable(c.AdID), nullTime(c.TouchAt),
			store.ZeroNull(c.SetID), store.Nullable(c.Payload), c.Status, c.Attempts, c.CreatedAt.UTC(),
			nullTime(c.Deadline), nullTime(c.NextAttemptAt),
		}
		for j, v := range vals {
			if j > 0 {
				q.WriteString(", ")
			}
			args = append(args, v)
			q.WriteString("$" + strconv.Itoa(len(args)))
		}
		q.WriteByte(')')
	}
	q.WriteString(` ON CONFLICT (id) DO NOTHING RETURNING status`)
	rows, err := h.tx.Query(ctx, q.String(), args...)
	if err != nil {
		return 0, unavailable("insert conversions", err)
	}
	statuses, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, unavailable("insert conversions", err)
	}
	pending := 0
	for _, s := range statuses {
		if s == store.ConversionPending {
			pending++
		}
	}
	return pending, nil
}

// ClaimConversions implements store.OutboxStore: FOR UPDATE SKIP LOCKED
// makes concurrent claims on any node take disjoint rows; the lease names
// the holder, and a row whose lease ran out is due again.
func (s *Store) ClaimConversions(ctx context.Context, app, holder string, now time.Time, lease time.Duration, limit int) ([]store.ClaimedConversion, error) {
	var out []store.ClaimedConversion
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE ad_conversions SET claimed_by = $4, claimed_until = $5
			WHERE id IN (SELECT id FROM ad_conversions
				WHERE app_id = $1 AND status = 'pending' AND next_attempt_at <= $2
				  AND (claimed_until IS NULL OR claimed_until <= $2)
				ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
			RETURNING id, user_action_set_id, payload, attempts, deadline, created_at, coalesce(last_class, '')`,
			app, now.UTC(), limit, holder, now.Add(lease).UTC())
		if err != nil {
			return unavailable("claim due conversions of "+app, err)
		}
		defer rows.Close()
		for rows.Next() {
			var c store.ClaimedConversion
			var setID *int64
			var payload *string
			var deadline *time.Time
			if err := rows.Scan(&c.ID, &setID, &payload, &c.Attempts, &deadline, &c.CreatedAt, &c.LastClass); err != nil {
				return unavailable("claim due conversions of "+app, err)
			}
			if setID != nil {
				c.SetID = *setID
			}
			if deadline != nil {
				c.Deadline = deadline.UTC()
			}
			c.Payload, c.CreatedAt = deref(payload), c.CreatedAt.UTC()
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SettleConversions implements store.OutboxStore.
func (s *Store) SettleConversions(ctx context.Context, holder string, now time.Time, ss []store.Settlement) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		n = 0
		for _, st := range ss {
			if len(st.IDs) == 0 {
				continue
			}
			ids := append([]string(nil), st.IDs...)
			sort.Strings(ids)
			q, args, err := store.SettleSQL(holder, now, st, func(args *[]any) string {
				*args = append(*args, ids)
				return "id = ANY($" + strconv.Itoa(len(*args)) + ")"
			})
			if err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, q, args...)
			if err != nil {
				return unavailable("settle conversions as "+st.Status, err)
			}
			n += int(tag.RowsAffected())
		}
		return nil
	})
	return n, err
}

// ReplayConversions implements store.OutboxStore.
func (s *Store) ReplayConversions(ctx context.Context, app string, ids []string, now, deadline time.Time) (int, error) {
	args := []any{app, now.UTC(), deadline.UTC()}
	q := store.ReplaySQL
	if len(ids) > 0 {
		args = append(args, ids)
		q += ` AND id = ANY($4)`
	}
	tag, err := s.pool.Exec(ctx, q, args...)
	if err != nil {
		return 0, unavailable("replay dead conversions of "+app, err)
	}
	return int(tag.RowsAffected()), nil
}

// ConversionCounts implements store.OutboxStore.
func (s *Store) ConversionCounts(ctx context.Context) ([]store.ConversionCount, error) {
	return store.ConversionCounts(ctx, s.db)
}

// NextConversionDue implements store.OutboxStore.
func (s *Store) NextConversionDue(ctx context.Context, app string) (time.Time, bool, error) {
	return store.NextConversionDue(ctx, s.db, app)
}

// AppsWithPendingConversions implements store.OutboxStore.
func (s *Store) AppsWithPendingConversions(ctx context.Context) ([]string, error) {
	return store.AppsWithPendingConversions(ctx, s.db)
}

// ListConversions implements store.OutboxStore.
func (s *Store) ListConversions(ctx context.Context, app, status string, limit int) ([]store.Conversion, error) {
	return store.ListConversions(ctx, s.db, app, status, limit)
}

// ConversionsOccurred implements store.OutboxStore.
func (s *Store) ConversionsOccurred(ctx context.Context, app string, from, to time.Time) ([]store.Conversion, error) {
	return store.ConversionsOccurred(ctx, s.db, app, from, to)
}

// IntakePosition implements store.EventStore.
func (s *Store) IntakePosition(ctx context.Context) (uint64, error) {
	return store.ReadIntakePosition(ctx, s.db)
}

// AppState implements store.StateStore.
func (s *Store) AppState(ctx context.Context, app, key string) (string, bool, error) {
	return store.ReadAppState(ctx, s.db, app, key)
}

// SetAppState implements store.StateStore.
func (s *Store) SetAppState(ctx context.Context, app, key, value string, at time.Time) error {
	if _, err := s.pool.Exec(ctx, store.SetAppStateSQL, app, key, value, at.UTC()); err != nil {
		return unavailable("set "+key+" of app "+app, err)
	}
	return nil
}

// UseNonce implements store.StateStore. Expired nonces are swept at most
// once a minute per node.
func (s *Store) UseNonce(ctx context.Context, app, nonce string, now, expires time.Time) (bool, error) {
	s.sweepMu.Lock()
	sweep := now.Sub(s.nonceSweep) >= time.Minute
	if sweep {
		s.nonceSweep = now
	}
	s.sweepMu.Unlock()
	if sweep {
		if _, err := s.pool.Exec(ctx, `DELETE FROM data_api_nonces WHERE expires_at <= $1`, now.UTC()); err != nil {
			return false, unavailable("expire nonces", err)
		}
	}
	rows, err := s.pool.Query(ctx, store.UseNonceSQL, app, nonce, expires.UTC(), now.UTC())
	if err != nil {
		return false, unavailable("record nonce of app "+app, err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return false, unavailable("record nonce of app "+app, err)
	}
	return len(got) == 1, nil
}

// HasEvents implements store.EventStore.
func (s *Store) HasEvents(ctx context.Context, app string) (bool, error) {
	return store.HasEvents(ctx, s.db, app)
}

// LoadToken implements store.StateStore.
func (s *Store) LoadToken(ctx context.Context, wxAppID string) (store.Token, bool, error) {
	return store.LoadToken(ctx, s.db, wxAppID)
}

// SaveToken implements store.StateStore.
func (s *Store) SaveToken(ctx context.Context, wxAppID string, t store.Token) error {
	if _, err := s.pool.Exec(ctx, store.SaveTokenSQL, wxAppID, t.Value, t.FetchedAt.UTC(), t.ExpiresAt.UTC(), t.RefreshAt.UTC()); err != nil {
		return unavailable("save the token of "+wxAppID, err)
	}
	return nil
}

// DeleteTokenIf implements store.StateStore.
func (s *Store) DeleteTokenIf(ctx context.Context, wxAppID, value string) (bool, error) {
	tag, err := s.pool.Exec(ctx, store.DeleteTokenSQL, wxAppID, value)
	if err != nil {
		return false, unavailable("drop the token of "+wxAppID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// UnknownTypes implements store.EventStore from the table the flushes
// keep (a scan of events would read every partition).
func (s *Store) UnknownTypes(ctx context.Context, app string) (map[string]time.Time, error) {
	rows, err := s.pool.Query(ctx, `SELECT type, first_received FROM unknown_event_types WHERE app_id = $1`, app)
	if err != nil {
		return nil, unavailable("stored event types of "+app, err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var typ string
		var first time.Time
		if err := rows.Scan(&typ, &first); err != nil {
			return nil, unavailable("stored event types of "+app, err)
		}
		out[typ] = first.UTC()
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("stored event types of "+app, err)
	}
	return out, nil
}

// CreateSession implements store.StateStore.
func (s *Store) CreateSession(ctx context.Context, idHash, user string, expires, now time.Time) error {
	b := &pgx.Batch{}
	b.Queue(store.ExpireSessionsSQL, now.UTC())
	b.Queue(store.CreateSessionSQL, idHash, user, expires.UTC())
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return unavailable("record a dashboard login", err)
	}
	return nil
}

// SessionUser implements store.StateStore.
func (s *Store) SessionUser(ctx context.Context, idHash string, now time.Time) (string, bool, error) {
	return store.SessionUser(ctx, s.db, idHash, now)
}

// EndSession implements store.StateStore.
func (s *Store) EndSession(ctx context.Context, idHash string) error {
	if _, err := s.pool.Exec(ctx, store.EndSessionSQL, idHash); err != nil {
		return unavailable("end a dashboard login", err)
	}
	return nil
}

// SavePullDay implements store.PullStore.
func (s *Store) SavePullDay(ctx context.Context, d store.PullDay) error {
	if _, err := s.pool.Exec(ctx, store.SavePullDaySQL, store.PullDayArgs(d)...); err != nil {
		return unavailable("record a pulled day", err)
	}
	return nil
}

// SavePulledDay implements store.PullStore.
func (s *Store) SavePulledDay(ctx context.Context, d store.PulledDay) error {
	stmts, err := store.PulledDayStmts(d)
	if err != nil {
		return err
	}
	if err := s.execAll(ctx, "store the day", stmts); err != nil {
		return fmt.Errorf("save pulled %s day %s of %s: %w", d.Family, d.Day.Format(time.DateOnly), d.App, err)
	}
	return nil
}

// SavePublished implements store.PullStore.
func (s *Store) SavePublished(ctx context.Context, d store.PublishedDay) error {
	stmts, err := store.PublishedStmts(d)
	if err != nil {
		return err
	}
	if err := s.execAll(ctx, "store the articles", stmts); err != nil {
		return fmt.Errorf("save articles published %s of %s: %w", d.Day.Format(time.DateOnly), d.App, err)
	}
	return nil
}

// ArticleCurves implements store.PullStore.
func (s *Store) ArticleCurves(ctx context.Context, app string, from, to time.Time) ([]store.Curve, error) {
	return store.ArticleCurves(ctx, s.db, app, from, to)
}

// execAll runs stmts in order in one transaction, as one batch.
func (s *Store) execAll(ctx context.Context, what string, stmts []store.Stmt) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for _, st := range stmts {
			b.Queue(st.SQL, st.Args...)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return unavailable(what, err)
		}
		return nil
	})
}

// PullDays implements store.PullStore.
func (s *Store) PullDays(ctx context.Context, app string, from, to time.Time) ([]store.PullDay, error) {
	return store.PullDays(ctx, s.db, app, from, to)
}

// LockUsers implements store.Tx with transaction advisory locks, taken in
// the order of their hash so that every transaction takes the locks it
// shares with another in the same order; a lock already held is taken
// again at no cost.
func (h hookTx) LockUsers(ctx context.Context, users []store.UserKey) error {
	keys := store.UserLockKeys(users)
	if len(keys) == 0 {
		return nil
	}
	if _, err := h.tx.Exec(ctx, `SELECT pg_advisory_xact_lock(h) FROM
		(SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) k ORDER BY 1) l`, keys); err != nil {
		return unavailable("lock "+strconv.Itoa(len(keys))+" users", err)
	}
	return nil
}
