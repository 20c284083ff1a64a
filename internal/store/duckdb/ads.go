package duckdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/attribution"
	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// SetEventHook installs the hook WriteEvents runs before it commits; see
// store.EventHooker.
func (s *Store) SetEventHook(h store.EventHook) { s.eventHook = h }

// Transact runs fn in one transaction on the write connection; see
// store.Transactor.
func (s *Store) Transact(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.inTx(ctx, func(tx *rawTx) error { return fn(hookTx{tx}) })
}

var (
	_ store.EventHooker = (*Store)(nil)
	_ store.Transactor  = (*Store)(nil)
)

// clickFinder finds the ad click of each event of a flush (attribution.Find)
// and quarantines the malformed ones once per batch and distinct value: the
// event itself is stored, without a click id.
type clickFinder struct {
	batch int
	seen  map[string]bool
}

// find returns the click_id and ad_id column values of e, adding a
// quarantine row to q the first time batch bi shows a malformed value.
func (c *clickFinder) find(bi int, app string, recv time.Time, e *event.Event, q *quarantineRows) (clickID, adID any) {
	if e.GdtVid == "" && e.AdInfo == "" && e.QzGdt == "" && e.PageQry == "" {
		return nil, nil // the common case: no ad at all
	}
	click, ok, ferr := attribution.Find(attribution.Sources{GdtVid: e.GdtVid, AdInfo: e.AdInfo, QzGdt: e.QzGdt, PageQuery: e.PageQry})
	if ferr != nil {
		var bad *attribution.Malformed
		if !errors.As(ferr, &bad) {
			bad = &attribution.Malformed{Field: "click id", Value: e.GdtVid, Rule: ferr.Error()}
		}
		if c.seen == nil || c.batch != bi {
			c.batch, c.seen = bi, map[string]bool{}
		}
		key := bad.Field + "\x00" + bad.Value
		if !c.seen[key] {
			c.seen[key] = true
			raw, _ := json.Marshal(map[string]string{ // strings always encode
				"field": bad.Field, "value": bad.Value, "rule": bad.Rule,
				"type": e.Type, "page": e.Page, "open_id": e.OpenID, "tracking_id": e.TrackingID,
			})
			q.add(app, recv, "attribution", nullable(e.Type), "malformed click id: "+bad.Error(), string(raw))
		}
		return nil, nil
	}
	if !ok {
		return nil, nil
	}
	return click.ClickID, nullable(click.AdID)
}

// writeTouches upserts the ad touches of the keys of ts: per app, user
// (open_id, else union_id) and click id, the first time it was seen, and
// the ad and union ids once any event carried them.
func writeTouches(tx *rawTx, ts touchSet, keys []touchKey) error {
	var q strings.Builder
	q.WriteString(`INSERT INTO ad_touches VALUES `)
	args := make([]any, 0, 7*len(keys))
	for i, k := range keys {
		if i > 0 {
			q.WriteByte(',')
		}
		n := len(args)
		fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7)
		r := ts[k]
		args = append(args, k.app, k.user, nullable(r.openID), nullable(r.unionID), k.click, nullable(r.adID), r.first)
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
		return fmt.Errorf("%w: write ad touches: %v", store.ErrUnavailable, err)
	}
	return nil
}

// afterEvents is what WriteEvents does once the events are in: the ad
// touches of the keys that could change something (known.go: most flushes
// bring few or none), then the event hook, which reads them.
func (s *Store) afterEvents(ctx context.Context, tx *rawTx, batches []*store.EventBatch, ts touchSet, changes []touchKey) error {
	if len(changes) > 0 {
		if err := writeTouches(tx, ts, changes); err != nil {
			return err
		}
	}
	if s.eventHook != nil {
		if err := s.eventHook(ctx, hookTx{tx}, batches); err != nil {
			return fmt.Errorf("event hook: %w", err)
		}
	}
	return nil
}
