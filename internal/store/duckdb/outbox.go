package duckdb

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// conversionColumns are the columns of ad_conversions a new row sets, in
// the order of conversionValues.
var conversionColumns = []string{
	"id", "app_id", "kind", "ref_id", "action_type", "source", "open_id", "union_id", "occurred_at", "value_fen",
	"click_id", "ad_id", "touch_at", "user_action_set_id", "payload", "status", "attempts", "created_at",
	"deadline", "next_attempt_at",
}

func conversionValues(c *store.Conversion) []any {
	return []any{
		c.ID, c.AppID, c.Kind, c.RefID, c.ActionType, c.Source, store.Nullable(c.OpenID), store.Nullable(c.UnionID),
		c.OccurredAt.UTC(), store.ZeroNull(c.ValueFen), store.Nullable(c.ClickID), store.Nullable(c.AdID), nullTime(c.TouchAt),
		store.ZeroNull(c.SetID), store.Nullable(c.Payload), c.Status, c.Attempts, c.CreatedAt.UTC(),
		nullTime(c.Deadline), nullTime(c.NextAttemptAt),
	}
}

// insertChunk bounds the rows of one INSERT statement.
const insertChunk = 100

// AddConversions implements store.Tx.
func (h hookTx) AddConversions(ctx context.Context, cs []store.Conversion) (int, error) {
	// One row per id: a flush may carry the same order twice.
	seen := make(map[string]bool, len(cs))
	uniq := cs[:0:0]
	for _, c := range cs {
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
		args := make([]any, 0, n*len(conversionColumns))
		rows := make([]string, 0, n)
		for i := range chunk {
			vals := conversionValues(&chunk[i])
			ph := make([]string, len(vals))
			for j, v := range vals {
				args = append(args, v)
				ph[j] = "$" + strconv.Itoa(len(args))
			}
			rows = append(rows, "("+strings.Join(ph, ", ")+")")
		}
		err := h.t.query(`INSERT INTO ad_conversions (`+strings.Join(conversionColumns, ", ")+`) VALUES `+
			strings.Join(rows, ", ")+` ON CONFLICT (id) DO NOTHING RETURNING status`,
			func(v []driver.Value) error {
				if st, _ := v[0].(string); st == store.ConversionPending {
					pending++
				}
				return nil
			}, args...)
		if err != nil {
			return pending, fmt.Errorf("%w: insert %d conversions: %w", store.ErrUnavailable, n, err)
		}
	}
	return pending, nil
}

// StoredConversions implements store.Tx.
func (h hookTx) StoredConversions(ctx context.Context, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	for start := 0; start < len(ids); start += insertChunk {
		var args []any
		err := h.t.query(`SELECT id FROM ad_conversions WHERE `+idsIn(&args, ids[start:min(start+insertChunk, len(ids))]),
			func(v []driver.Value) error {
				id, _ := v[0].(string)
				out[id] = true
				return nil
			}, args...)
		if err != nil {
			return nil, fmt.Errorf("%w: look up conversion ids: %w", store.ErrUnavailable, err)
		}
	}
	return out, nil
}

// UnattributedConversions implements store.Tx.
func (h hookTx) UnattributedConversions(ctx context.Context, app string, opens, unions []string, from, to time.Time) ([]store.Conversion, error) {
	var out []store.Conversion
	for len(opens)+len(unions) > 0 {
		no := min(len(opens), maxIDsPerQuery)
		nu := min(len(unions), maxIDsPerQuery-no)
		args := []any{app, from.UTC(), to.UTC()}
		var conds []string
		if no > 0 {
			conds = append(conds, "open_id IN ("+marks(&args, opens[:no])+")")
		}
		if nu > 0 {
			conds = append(conds, "union_id IN ("+marks(&args, unions[:nu])+")")
		}
		opens, unions = opens[no:], unions[nu:]
		err := h.t.query(`SELECT `+store.UnattributedColumns+` FROM ad_conversions
			WHERE app_id = $1 AND status = 'unattributed' AND kind IN ('order', 'lead')
			  AND occurred_at >= $2 AND occurred_at <= $3 AND (`+strings.Join(conds, " OR ")+`)`,
			func(v []driver.Value) error {
				c := store.Conversion{AppID: app, Status: store.ConversionUnattributed}
				c.ID, _ = v[0].(string)
				c.Kind, _ = v[1].(string)
				c.RefID, _ = v[2].(string)
				c.ActionType, _ = v[3].(string)
				c.Source, _ = v[4].(string)
				c.OpenID, _ = v[5].(string)
				c.UnionID, _ = v[6].(string)
				at, _ := v[7].(time.Time)
				c.OccurredAt = at.UTC()
				c.ValueFen, _ = v[8].(int64)
				c.SetID, _ = v[9].(int64)
				out = append(out, c)
				return nil
			}, args...)
		if err != nil {
			return nil, fmt.Errorf("%w: unattributed conversions of %s: %w", store.ErrUnavailable, app, err)
		}
	}
	return out, nil
}

// AttributeConversions implements store.Tx.
func (h hookTx) AttributeConversions(ctx context.Context, cs []store.Conversion) (int, error) {
	pending := 0
	for i := range cs {
		c := &cs[i]
		err := h.t.query(store.AttributeSQL, func(v []driver.Value) error {
			if st, _ := v[0].(string); st == store.ConversionPending {
				pending++
			}
			return nil
		}, c.ID, store.Nullable(c.ClickID), store.Nullable(c.AdID), nullTime(c.TouchAt), store.Nullable(c.Payload), c.Status,
			nullTime(c.Deadline), nullTime(c.NextAttemptAt))
		if err != nil {
			return pending, fmt.Errorf("%w: attribute conversion %s: %w", store.ErrUnavailable, c.ID, err)
		}
	}
	return pending, nil
}

// idsIn is the condition "id is one of ids" with the ids as one parameter:
// hundreds of placeholders cost DuckDB more to plan than the update itself.
// Conversion ids are hex digests, so a comma separates them safely.
func idsIn(args *[]any, ids []string) string {
	*args = append(*args, strings.Join(ids, ","))
	return "id IN (SELECT unnest(string_split($" + strconv.Itoa(len(*args)) + ", ',')))"
}

const claimedColumns = `id, user_action_set_id, payload, attempts, deadline, created_at, last_class`

// ClaimConversions implements store.OutboxStore. One process owns the
// file, but the lease is kept all the same: the contract is one.
func (s *Store) ClaimConversions(ctx context.Context, app, holder string, now time.Time, lease time.Duration, limit int) ([]store.ClaimedConversion, error) {
	var out []store.ClaimedConversion
	err := s.inTx(ctx, func(tx *rawTx) error {
		return tx.query(`UPDATE ad_conversions SET claimed_by = $4, claimed_until = $5
			WHERE id IN (SELECT id FROM ad_conversions
				WHERE app_id = $1 AND status = 'pending' AND next_attempt_at <= $2
				  AND (claimed_until IS NULL OR claimed_until <= $2)
				ORDER BY next_attempt_at, id LIMIT $3)
			RETURNING `+claimedColumns, func(v []driver.Value) error {
			out = append(out, scanClaimed(v))
			return nil
		}, app, now.UTC(), int64(limit), holder, now.Add(lease).UTC())
	})
	if err != nil {
		return nil, fmt.Errorf("claim due conversions of %s: %w", app, err)
	}
	// RETURNING gives no order; deliveries go oldest due first.
	return out, nil
}

func scanClaimed(v []driver.Value) store.ClaimedConversion {
	c := store.ClaimedConversion{SetID: toInt64(v[1]), Attempts: toInt64(v[3])}
	c.ID, _ = v[0].(string)
	c.Payload, _ = v[2].(string)
	c.Deadline = timeOf(v[4])
	c.CreatedAt = timeOf(v[5])
	c.LastClass, _ = v[6].(string)
	return c
}

// SettleConversions implements store.OutboxStore.
func (s *Store) SettleConversions(ctx context.Context, holder string, now time.Time, ss []store.Settlement) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx *rawTx) error {
		n = 0
		for _, st := range ss {
			if len(st.IDs) == 0 {
				continue
			}
			q, args, err := store.SettleSQL(holder, now, st, func(args *[]any) string { return idsIn(args, st.IDs) })
			if err != nil {
				return err
			}
			if err := tx.query(q+` RETURNING id`, func([]driver.Value) error { n++; return nil }, args...); err != nil {
				return fmt.Errorf("%w: settle %d conversions as %s: %w", store.ErrUnavailable, len(st.IDs), st.Status, err)
			}
		}
		return nil
	})
	return n, err
}

// ReplayConversions implements store.OutboxStore.
func (s *Store) ReplayConversions(ctx context.Context, app string, ids []string, now, deadline time.Time) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx *rawTx) error {
		args := []any{app, now.UTC(), deadline.UTC()}
		cond := ""
		if len(ids) > 0 {
			cond = " AND " + idsIn(&args, ids)
		}
		return tx.query(store.ReplaySQL+cond+` RETURNING id`, func([]driver.Value) error { n++; return nil }, args...)
	})
	if err != nil {
		return 0, fmt.Errorf("%w: replay dead conversions of %s: %w", store.ErrUnavailable, app, err)
	}
	return n, nil
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

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

func timeOf(v any) time.Time {
	t, _ := v.(time.Time)
	return t.UTC()
}
