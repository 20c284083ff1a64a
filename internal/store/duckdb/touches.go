package duckdb

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// SetEventHook installs the hook WriteEvents runs before it commits; see
// store.EventStore.
func (s *Store) SetEventHook(h store.EventHook) { s.eventHook = h }

// Transact runs fn in one transaction on the write connection; see
// store.Store.
func (s *Store) Transact(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.inTx(ctx, func(tx *rawTx) error { return fn(hookTx{tx}) })
}

// writeTouches upserts ad touches: per app, user and click id, the first
// time it was seen, and the ad and union ids once any event carried them.
func writeTouches(tx *rawTx, touches []store.Touch) error {
	if len(touches) == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString(`INSERT INTO ad_touches VALUES `)
	args := make([]any, 0, 7*len(touches))
	for i, t := range touches {
		if i > 0 {
			q.WriteByte(',')
		}
		n := len(args)
		fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7)
		args = append(args, t.AppID, t.UserKey, store.Nullable(t.OpenID), store.Nullable(t.UnionID), t.ClickID, store.Nullable(t.AdID), t.FirstSeen.UTC())
	}
	q.WriteString(`
		ON CONFLICT (app_id, user_key, click_id) DO UPDATE SET
			first_seen = least(ad_touches.first_seen, excluded.first_seen),
			ad_id = coalesce(ad_touches.ad_id, excluded.ad_id),
			union_id = coalesce(ad_touches.union_id, excluded.union_id)
		WHERE excluded.first_seen < ad_touches.first_seen
			OR (ad_touches.ad_id IS NULL AND excluded.ad_id IS NOT NULL)
			OR (ad_touches.union_id IS NULL AND excluded.union_id IS NOT NULL)`)
	if err := tx.exec(q.String(), args...); err != nil {
		return fmt.Errorf("%w: write ad touches: %w", store.ErrUnavailable, err)
	}
	return nil
}

// hookTx is the store.Tx of the write transaction.
type hookTx struct{ t *rawTx }

// maxIDsPerQuery bounds the ids of one lookup query.
const maxIDsPerQuery = 400

// Touches implements store.Tx.
func (h hookTx) Touches(ctx context.Context, app string, opens, unions []string, from, to time.Time) ([]store.Touch, error) {
	var out []store.Touch
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
		err := h.t.query(`SELECT user_key, open_id, union_id, click_id, ad_id, first_seen FROM ad_touches
			WHERE app_id = $1 AND first_seen >= $2 AND first_seen <= $3 AND (`+strings.Join(conds, " OR ")+`)`,
			func(v []driver.Value) error {
				t := store.Touch{AppID: app}
				t.UserKey, _ = v[0].(string)
				t.OpenID, _ = v[1].(string)
				t.UnionID, _ = v[2].(string)
				t.ClickID, _ = v[3].(string)
				t.AdID, _ = v[4].(string)
				at, _ := v[5].(time.Time)
				t.FirstSeen = at.UTC()
				out = append(out, t)
				return nil
			}, args...)
		if err != nil {
			return nil, fmt.Errorf("%w: ad touches of %s: %w", store.ErrUnavailable, app, err)
		}
	}
	return out, nil
}

// AdOfClick implements store.Tx.
func (h hookTx) AdOfClick(ctx context.Context, app, click string) (string, error) {
	var ad string
	err := h.t.query(`SELECT ad_id FROM ad_touches WHERE app_id = $1 AND click_id = $2 AND ad_id IS NOT NULL LIMIT 1`,
		func(v []driver.Value) error {
			ad, _ = v[0].(string)
			return nil
		}, app, click)
	if err != nil {
		return "", fmt.Errorf("%w: ad of click %s: %w", store.ErrUnavailable, click, err)
	}
	return ad, nil
}

// marks appends vals to args and returns their placeholders.
func marks(args *[]any, vals []string) string {
	var b strings.Builder
	for i, v := range vals {
		if i > 0 {
			b.WriteString(", ")
		}
		*args = append(*args, v)
		fmt.Fprintf(&b, "$%d", len(*args))
	}
	return b.String()
}

// LockUsers implements store.Tx: the embedded store has one writer at a
// time, so a hook never races another node's.
func (h hookTx) LockUsers(context.Context, []store.UserKey) error { return nil }
