package duckdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

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

// find returns the click_id and ad_id column values of e, appending a
// quarantine row to q the first time batch bi shows a malformed value.
func (c *clickFinder) find(bi int, app string, recv time.Time, e *event.Event, q *duckdb.Appender) (clickID, adID any, err error) {
	if e.GdtVid == "" && e.AdInfo == "" && e.QzGdt == "" && e.PageQry == "" {
		return nil, nil, nil // the common case: no ad at all
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
			if err := q.AppendRow(app, recv, "attribution", nullable(e.Type), "malformed click id: "+bad.Error(), string(raw)); err != nil {
				return nil, nil, fmt.Errorf("quarantine click id: %w", err)
			}
		}
		return nil, nil, nil
	}
	if !ok {
		return nil, nil, nil
	}
	return click.ClickID, nullable(click.AdID), nil
}

// writeTouches records the ad touches of the staged events: per app, user
// (open_id, else union_id) and click id, the first time it was seen. Staged
// duplicates of stored events change nothing, so it runs on the whole
// staging table.
func writeTouches(tx *rawTx) error {
	if err := tx.exec(`INSERT INTO ad_touches
		SELECT app_id, coalesce(open_id, union_id), max(open_id), max(union_id), click_id, max(ad_id), min(ts)
		FROM staging_events
		WHERE click_id IS NOT NULL AND coalesce(open_id, union_id) IS NOT NULL
		GROUP BY app_id, coalesce(open_id, union_id), click_id
		ON CONFLICT (app_id, user_key, click_id) DO UPDATE SET
			first_seen = least(ad_touches.first_seen, excluded.first_seen),
			ad_id = coalesce(ad_touches.ad_id, excluded.ad_id),
			union_id = coalesce(ad_touches.union_id, excluded.union_id)
		WHERE excluded.first_seen < ad_touches.first_seen
			OR (ad_touches.ad_id IS NULL AND excluded.ad_id IS NOT NULL)
			OR (ad_touches.union_id IS NULL AND excluded.union_id IS NOT NULL)`); err != nil {
		return fmt.Errorf("%w: write ad touches: %v", store.ErrUnavailable, err)
	}
	return nil
}

// afterEvents is what WriteEvents does once the events are in, before the
// staging table is cleared: the ad touches, then the event hook.
func (s *Store) afterEvents(ctx context.Context, tx *rawTx, batches []*store.EventBatch) error {
	if err := writeTouches(tx); err != nil {
		return err
	}
	if s.eventHook != nil {
		if err := s.eventHook(ctx, hookTx{tx}, batches); err != nil {
			return fmt.Errorf("event hook: %w", err)
		}
	}
	return nil
}
