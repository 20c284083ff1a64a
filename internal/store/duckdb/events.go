package duckdb

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// eventColumns lists the columns of events in table order, but for the
// last one, seq.
const eventColumns = `app_id, ts, received_at, type, kind, sdk_from, tracking_id, log_id, dedup_key,
	user_key, open_id, union_id, local_id, user_id, wx_appid, page, page_query, page_title, refer_page,
	scene, chan_id, chan_refer_app_id, guide_id, room_id, shop_id, shop_name, gdt_vid, weixinadinfo,
	qz_gdt, chan_custom_id, store_id, sku_id, spu_id, sku_name, price_fen, sku_num, action_type,
	keyword, stay_ms, share_to, order_id, order_status, order_fen, pay_fen, context_id, props, click_id, ad_id`

// WriteEvents stores the events of the batches not already stored, their
// contexts, the quarantined events and the ad touches, all in one commit.
// The events carry the flush's number (seq); the roll-ups are derived from
// them afterwards (RollUp), so that this transaction, which every SDK
// request waits for, stays a handful of statements: each costs DuckDB
// milliseconds of fixed work whatever its size.
func (s *Store) WriteEvents(ctx context.Context, batches []*store.EventBatch) ([]store.EventResult, error) {
	results := make([]store.EventResult, len(batches))
	// The flush's events once, without repeats inside the flush.
	type pending struct {
		bi     int
		e      *event.Event
		ts     time.Time
		recv   time.Time
		appID  string
		stored bool // a duplicate of a stored event
	}
	type seenKey struct {
		app string
		key int64
		ts  int64
	}
	seen := make(map[seenKey]struct{}) // ts in ms: repeats inside the flush
	byKey := make(map[seenKey]int)     // ts in µs, the column's: index in evs
	evs := make([]pending, 0, 64)
	var minTS, maxTS, oldestRecv time.Time
	for bi, b := range batches {
		recv := b.ReceivedAt.UTC()
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
			byKey[seenKey{b.AppID, e.Key, ts.UnixMicro()}] = len(evs)
			evs = append(evs, pending{bi: bi, e: e, ts: ts, recv: recv, appID: b.AppID})
			if oldestRecv.IsZero() || recv.Before(oldestRecv) {
				oldestRecv = recv
			}
			if minTS.IsZero() || ts.Before(minTS) {
				minTS = ts
			}
			if ts.After(maxTS) {
				maxTS = ts
			}
		}
	}
	touches := make(touchSet) // the ad touches of the events inserted
	var clicks clickFinder    // ads.go

	err := s.inTx(ctx, func(tx *rawTx) error {
		// The contexts of the flush not known to be stored (known.go, read
		// under the write lock); true once found stored or appended.
		ctxs := make(map[ctxKey]bool)
		for _, p := range evs {
			if ck := (ctxKey{p.appID, p.e.ContextID}); p.e.ContextID != 0 && !s.known.context(ck) {
				ctxs[ck] = false
			}
		}
		if len(evs) > 0 {
			// The events already stored: SDK re-sends follow the lost
			// answer within seconds (the SDK keeps its queue in memory and
			// retries on its next flush), so only events received inside
			// the dedup window are compared. received_at grows with
			// insertion order and the ts range is the flush's, so DuckDB
			// skips most row groups by their min/max whatever the events'
			// own (client) times are. One query over the flush's keys,
			// instead of staging the flush and joining, saves statements.
			var keys strings.Builder
			for i, p := range evs {
				if i > 0 {
					keys.WriteByte(',')
				}
				keys.WriteString(strconv.FormatInt(p.e.Key, 10)) // our own integers
			}
			// Constants, not parameters: DuckDB prunes row groups only by
			// a constant's min/max.
			if err := tx.query(`SELECT app_id, dedup_key, epoch_us(ts) FROM events
				WHERE received_at >= `+tsLiteral(oldestRecv.Add(-s.dedupWindow))+`
				AND ts BETWEEN `+tsLiteral(minTS)+` AND `+tsLiteral(maxTS)+` AND dedup_key IN (`+keys.String()+`)`,
				func(v []driver.Value) error {
					app, _ := v[0].(string)
					if i, ok := byKey[seenKey{app, toInt64(v[1]), toInt64(v[2])}]; ok {
						evs[i].stored = true
					}
					return nil
				}); err != nil {
				return fmt.Errorf("%w: find duplicates: %v", store.ErrUnavailable, err)
			}
		}
		if len(ctxs) > 0 {
			// The contexts already stored, so that the others can be
			// appended: one query instead of staging them and an INSERT OR
			// IGNORE (and the DELETE of the staging).
			var ids strings.Builder
			for ck := range ctxs {
				if ids.Len() > 0 {
					ids.WriteByte(',')
				}
				ids.WriteString(strconv.FormatInt(ck.id, 10)) // our own integers
			}
			if err := tx.query(`SELECT app_id, context_id FROM event_contexts WHERE context_id IN (`+ids.String()+`)`,
				func(v []driver.Value) error {
					app, _ := v[0].(string)
					if ck := (ctxKey{app, toInt64(v[1])}); !ctxs[ck] {
						if _, ok := ctxs[ck]; ok {
							ctxs[ck] = true // stored: not to append
						}
					}
					return nil
				}); err != nil {
				return fmt.Errorf("%w: find contexts: %v", store.ErrUnavailable, err)
			}
		}
		seq, err := s.nextSeq(tx)
		if err != nil {
			return err
		}
		ev := &lazyAppender{tx: tx, table: "events"}
		// Most flushes quarantine nothing, and bring no new context.
		cx := &lazyAppender{tx: tx, table: "event_contexts"}
		var q quarantineRows
		inserted := 0
		appendErr := func() error {
			for i := range evs {
				p := &evs[i]
				// Duplicates too quarantine a malformed click id and store
				// their context, as before: a re-send may carry another
				// context.
				clickID, adID := clicks.find(p.bi, p.appID, p.recv, p.e, &q)
				if ck := (ctxKey{p.appID, p.e.ContextID}); p.e.ContextID != 0 {
					if stored, ok := ctxs[ck]; ok && !stored {
						ctxs[ck] = true
						// json.RawMessage, not string: the appender stores a
						// string in a JSON column as a JSON string value.
						if err := cx.AppendRow(p.appID, p.e.ContextID, p.e.Context, p.recv); err != nil {
							return fmt.Errorf("append context: %w", err)
						}
					}
				}
				if p.stored {
					results[p.bi].Duplicates++
					continue
				}
				if clickID != nil {
					ad, _ := adID.(string)
					touches.add(p.appID, p.e, clickID.(string), ad, p.ts)
				}
				if err := ev.AppendRow(append(eventRow(p.appID, p.recv, p.ts, p.e), clickID, adID, seq)...); err != nil {
					return fmt.Errorf("append event: %w", err)
				}
				inserted++
			}
			for bi, b := range batches {
				for _, qe := range b.Quarantined {
					q.add(b.AppID, b.ReceivedAt, "sdk", nullable(qe.Type), qe.Reason, string(qe.Raw))
					results[bi].Quarantined++
				}
			}
			return nil
		}()
		if appendErr == nil {
			if _, err := q.write(tx, s.dedupWindow); err != nil {
				appendErr = err
			}
		}
		for _, a := range []*lazyAppender{ev, cx} {
			if err := a.Close(); err != nil && appendErr == nil {
				appendErr = fmt.Errorf("%w: flush appender: %v", store.ErrUnavailable, err)
			}
		}
		if appendErr != nil {
			return appendErr
		}
		if len(evs) == 0 {
			return nil
		}
		if err := s.afterEvents(ctx, tx, batches, touches, s.known.changes(touches)); err != nil {
			return err
		}
		// Once committed, still under the write lock (so that the next
		// flush, whoever writes it, takes the next number), remember what
		// is stored.
		tx.afterCommit = func() {
			if inserted > 0 {
				s.seq.Store(seq)
			}
			s.known.addContexts(ctxs)
			s.known.addTouches(touches)
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

func eventRow(app string, recv, ts time.Time, e *event.Event) []driver.Value {
	var ctxID any
	if e.ContextID != 0 {
		ctxID = e.ContextID
	}
	var scene any
	if e.Scene != 0 {
		scene = e.Scene
	}
	return []driver.Value{
		app, ts, recv, e.Type, string(e.Kind), nullable(e.From), nullable(e.TrackingID), e.LogID, e.Key,
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

// toInt64 reads an integer column (store.Int64).
func toInt64(v driver.Value) int64 { return store.Int64(v) }

// rawJSON is the value the appender stores as the JSON document itself (a
// string would be stored as a JSON string value).
func rawJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// nextSeq is the number of the flush being written: one more than the last
// committed, which is read from the events when the store opens. It runs
// on the write connection, so flush numbers grow in commit order.
func (s *Store) nextSeq(tx *rawTx) (int64, error) {
	if err := s.loadSeq(tx); err != nil {
		return 0, err
	}
	return s.seq.Load() + 1, nil
}

func (s *Store) loadSeq(tx *rawTx) error {
	if s.seqLoaded.Load() {
		return nil
	}
	var last int64
	if err := tx.query(`SELECT coalesce(max(seq), 0) FROM events`, func(v []driver.Value) error {
		last = toInt64(v[0])
		return nil
	}); err != nil {
		return fmt.Errorf("%w: last flush number: %v", store.ErrUnavailable, err)
	}
	s.seq.Store(last)
	s.seqLoaded.Store(true)
	return nil
}

// tsLiteral writes t as a TIMESTAMPTZ constant, to the microsecond (the
// column's precision; the driver truncates the same way).
func tsLiteral(t time.Time) string {
	return "TIMESTAMPTZ '" + t.UTC().Truncate(time.Microsecond).Format("2006-01-02 15:04:05.000000") + "+00'"
}
