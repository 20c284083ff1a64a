package duckdb

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// eventColumns lists the columns of events in table order after batch_no
// (staging_events = batch_no + events).
const eventColumns = `app_id, ts, received_at, type, kind, sdk_from, tracking_id, log_id, dedup_key,
	user_key, open_id, union_id, local_id, user_id, wx_appid, page, page_query, page_title, refer_page,
	scene, chan_id, chan_refer_app_id, guide_id, room_id, shop_id, shop_name, gdt_vid, weixinadinfo,
	qz_gdt, chan_custom_id, store_id, sku_id, spu_id, sku_name, price_fen, sku_num, action_type,
	keyword, stay_ms, share_to, order_id, order_status, order_fen, pay_fen, context_id, props, click_id, ad_id`

// WriteEvents appends the batches to staging, moves the rows not already
// stored into events, and records quarantined events, all in one commit.
func (s *Store) WriteEvents(ctx context.Context, batches []*store.EventBatch) ([]store.EventResult, error) {
	results := make([]store.EventResult, len(batches))
	type seenKey struct {
		app string
		key int64
		ts  int64
	}
	seen := make(map[seenKey]struct{})
	type ctxKey struct {
		app string
		id  int64
	}
	ctxSeen := make(map[ctxKey]struct{})
	var minTS, maxTS, oldestRecv time.Time
	staged := 0
	var clicks clickFinder // click ids of the events; ads.go

	err := s.inTx(ctx, func(tx *rawTx) error {
		ev, err := tx.appender("staging_events")
		if err != nil {
			return fmt.Errorf("%w: staging appender: %v", store.ErrUnavailable, err)
		}
		cx, err := tx.appender("staging_contexts")
		if err != nil {
			ev.Close()
			return fmt.Errorf("%w: context appender: %v", store.ErrUnavailable, err)
		}
		q, err := tx.appender("quarantine")
		if err != nil {
			ev.Close()
			cx.Close()
			return fmt.Errorf("%w: quarantine appender: %v", store.ErrUnavailable, err)
		}
		appendErr := func() error {
			for bi, b := range batches {
				recv := b.ReceivedAt.UTC()
				if oldestRecv.IsZero() || recv.Before(oldestRecv) {
					oldestRecv = recv
				}
				for i := range b.Events {
					e := &b.Events[i]
					ts := e.Time
					if ts.IsZero() {
						ts = recv
					}
					k := seenKey{b.AppID, e.Key, ts.UnixMilli()}
					if _, dup := seen[k]; dup {
						results[bi].Duplicates++
						continue
					}
					seen[k] = struct{}{}
					if minTS.IsZero() || ts.Before(minTS) {
						minTS = ts
					}
					if ts.After(maxTS) {
						maxTS = ts
					}
					clickID, adID, err := clicks.find(bi, b.AppID, recv, e, q)
					if err != nil {
						return err
					}
					if err := ev.AppendRow(append(eventRow(int32(bi), b.AppID, recv, ts, e), clickID, adID)...); err != nil {
						return fmt.Errorf("stage event: %w", err)
					}
					staged++
					if e.ContextID != 0 {
						ck := ctxKey{b.AppID, e.ContextID}
						if _, ok := ctxSeen[ck]; !ok {
							ctxSeen[ck] = struct{}{}
							// json.RawMessage, not string: the appender stores a
							// string in a JSON column as a JSON string value.
							if err := cx.AppendRow(b.AppID, e.ContextID, e.Context, recv); err != nil {
								return fmt.Errorf("stage context: %w", err)
							}
						}
					}
				}
				for _, qe := range b.Quarantined {
					if err := q.AppendRow(b.AppID, recv, "sdk", nullable(qe.Type), qe.Reason, string(qe.Raw)); err != nil {
						return fmt.Errorf("quarantine: %w", err)
					}
					results[bi].Quarantined++
				}
			}
			return nil
		}()
		for _, a := range []interface{ Close() error }{ev, cx, q} {
			if err := a.Close(); err != nil && appendErr == nil {
				appendErr = fmt.Errorf("%w: flush appender: %v", store.ErrUnavailable, err)
			}
		}
		if appendErr != nil {
			return appendErr
		}
		if staged == 0 {
			return nil
		}
		windowStart := oldestRecv.Add(-s.dedupWindow)
		// Count, per batch, the staged rows already stored; then move the
		// others. The ts range lets DuckDB skip row groups by their min/max.
		// SDK re-sends follow the lost answer within seconds (the SDK keeps
		// its queue in memory and retries on its next flush), so only events
		// received inside the dedup window are compared. received_at grows
		// with insertion order, so DuckDB skips older row groups by their
		// min/max instead of scanning the table, whatever the events' own
		// (client) times are.
		const dupCond = `EXISTS (SELECT 1 FROM events e WHERE e.received_at >= $1 AND e.ts BETWEEN $2 AND $3
			AND e.ts = s.ts AND e.dedup_key = s.dedup_key AND e.app_id = s.app_id)`
		stored := 0
		if err := tx.query(`SELECT batch_no, count(*) FROM staging_events s WHERE `+dupCond+` GROUP BY batch_no`,
			func(v []driver.Value) error {
				bi := int(toInt64(v[0]))
				n := int(toInt64(v[1]))
				results[bi].Duplicates += n
				stored += n
				return nil
			}, windowStart, minTS, maxTS); err != nil {
			return fmt.Errorf("%w: count duplicates: %v", store.ErrUnavailable, err)
		}
		// Staging then holds exactly the new events, which the roll-ups
		// (rollups.go) read too.
		if stored > 0 {
			if err := tx.exec(`DELETE FROM staging_events s WHERE `+dupCond, windowStart, minTS, maxTS); err != nil {
				return fmt.Errorf("%w: drop duplicates: %v", store.ErrUnavailable, err)
			}
		}
		if err := tx.exec(`INSERT INTO events SELECT ` + eventColumns + ` FROM staging_events`); err != nil {
			return fmt.Errorf("%w: insert events: %v", store.ErrUnavailable, err)
		}
		if err := rollupStaged(tx); err != nil {
			return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
		}
		if err := tx.exec(`INSERT OR IGNORE INTO event_contexts SELECT * FROM staging_contexts`); err != nil {
			return fmt.Errorf("%w: insert contexts: %v", store.ErrUnavailable, err)
		}
		if err := s.afterEvents(ctx, tx, batches); err != nil {
			return err
		}
		if err := tx.exec(`DELETE FROM staging_events`); err != nil {
			return fmt.Errorf("%w: clear staging: %v", store.ErrUnavailable, err)
		}
		if err := tx.exec(`DELETE FROM staging_contexts`); err != nil {
			return fmt.Errorf("%w: clear staging: %v", store.ErrUnavailable, err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("write %d batches: %w", len(batches), err)
	}
	for bi, b := range batches {
		results[bi].Accepted = len(b.Events) - results[bi].Duplicates
	}
	return results, nil
}

func eventRow(batchNo int32, app string, recv, ts time.Time, e *event.Event) []driver.Value {
	var ctxID any
	if e.ContextID != 0 {
		ctxID = e.ContextID
	}
	var scene any
	if e.Scene != 0 {
		scene = e.Scene
	}
	return []driver.Value{
		batchNo, app, ts, recv, e.Type, string(e.Kind), nullable(e.From), nullable(e.TrackingID), e.LogID, e.Key,
		nullable(e.UserKey), nullable(e.OpenID), nullable(e.UnionID), nullable(e.LocalID), nullable(e.UserID),
		nullable(e.WxAppID), nullable(e.Page), nullable(e.PageQry), nullable(e.Title), nullable(e.Refer),
		scene, nullable(e.ChanID), nullable(e.ReferApp), nullable(e.GuideID), nullable(e.RoomID),
		nullable(e.ShopID), nullable(e.ShopName), nullable(e.GdtVid), nullable(e.AdInfo), nullable(e.QzGdt),
		nullable(e.CustomID), nullable(e.StoreID), nullable(e.SKUID), nullable(e.SPUID), nullable(e.SKUName),
		zeroNull(e.PriceFen), zeroNull(e.SKUNum), nullable(e.ActionType), nullable(e.Keyword), zeroNull(e.StayMS),
		nullable(e.ShareTo), nullable(e.OrderID), nullable(e.OrderStatus), zeroNull(e.OrderFen), zeroNull(e.PayFen),
		ctxID, rawJSON(e.Props),
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// zeroNull stores absent numbers as NULL; a real zero (a free order, a
// zero stay) is indistinguishable from absent in the SDK's data anyway.
func zeroNull(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

func toInt64(v driver.Value) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case uint64:
		return int64(x)
	}
	return 0
}

// rawJSON is the value the appender stores as the JSON document itself (a
// string would be stored as a JSON string value).
func rawJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
