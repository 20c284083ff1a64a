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
// contexts, the quarantined events and the ad touches, all in one commit
// (store.EventStore). The events carry the flush's number (seq); the
// roll-ups are derived from them afterwards (RollUp), so that this
// transaction, which every SDK request waits for, stays a handful of
// statements: each costs DuckDB milliseconds of fixed work whatever its
// size.
func (s *Store) WriteEvents(ctx context.Context, batches []*store.EventBatch) ([]store.EventResult, error) {
	f := store.PlanFlush(batches, &s.known)
	err := s.inTx(ctx, func(tx *rawTx) error {
		if m := store.IntakeMark(batches); m > 0 {
			if err := tx.exec(store.SetAppStateSQL, "", store.IntakeKey, strconv.FormatUint(m, 10), time.Now().UTC()); err != nil {
				return fmt.Errorf("%w: intake position: %w", store.ErrUnavailable, err)
			}
		}
		// The relay rows first: later steps return early on a flush with
		// no new events, and an acknowledged re-send is relayed too.
		if rs := store.BatchRelays(batches); len(rs) > 0 {
			if err := (hookTx{tx}).AddRelays(ctx, rs); err != nil {
				return err
			}
		}
		if err := s.findStored(tx, f); err != nil {
			return err
		}
		f.PlanTouches(&s.known)
		if err := findContexts(tx, f); err != nil {
			return err
		}
		seq, err := s.nextSeq(tx)
		if err != nil {
			return err
		}
		ev := &lazyAppender{tx: tx, table: "events"}
		// One row refilled for each event (made by the first): the
		// appender copies the values into its chunk before AppendRow
		// returns.
		var row []driver.Value
		// Most flushes bring no new context.
		cx := &lazyAppender{tx: tx, table: "event_contexts"}
		appendErr := func() error {
			for i := range f.Events {
				p := &f.Events[i]
				// A re-send's context is stored too: it may carry another.
				if ck := (store.ContextKey{App: p.App, ID: p.E.ContextID}); p.E.ContextID != 0 {
					if stored, ok := f.Contexts[ck]; ok && !stored {
						f.Contexts[ck] = true
						// json.RawMessage, not string: the appender stores a
						// string in a JSON column as a JSON string value.
						if err := cx.AppendRow(p.App, p.E.ContextID, p.E.Context, p.Recv); err != nil {
							return fmt.Errorf("append context: %w", err)
						}
					}
				}
				if p.Stored {
					continue
				}
				row = eventRow(row[:0], p.App, p.Recv, p.TS, p.E, seq)
				if err := ev.AppendRow(row...); err != nil {
					return fmt.Errorf("append event: %w", err)
				}
			}
			return nil
		}()
		if appendErr == nil {
			appendErr = s.writeQuarantine(tx, f)
		}
		for _, a := range []*lazyAppender{ev, cx} {
			if err := a.Close(); err != nil && appendErr == nil {
				appendErr = fmt.Errorf("%w: flush appender: %w", store.ErrUnavailable, err)
			}
		}
		if appendErr != nil {
			return appendErr
		}
		if len(f.Events) == 0 {
			return nil
		}
		if err := writeTouches(tx, f.Changed); err != nil {
			return err
		}
		if s.eventHook != nil {
			if err := s.eventHook(ctx, hookTx{tx}, batches); err != nil {
				return fmt.Errorf("event hook: %w", err)
			}
		}
		inserted := f.Inserted()
		// Once committed, still under the write lock (so that the next
		// flush, whoever writes it, takes the next number), remember what
		// is stored.
		tx.afterCommit = func() {
			if inserted > 0 {
				s.seq.Store(seq)
			}
			s.known.Remember(f)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("write %d batches: %w", len(batches), err)
	}
	return f.Finish(), nil
}

// findStored marks the flush's events already stored. SDK re-sends follow
// the lost answer within seconds (the SDK keeps its queue in memory and
// retries on its next flush), so only events received inside the dedup
// window are compared. received_at grows with insertion order and the ts
// range is the flush's, so DuckDB skips most row groups by their min/max
// whatever the events' own (client) times are. One query over the flush's
// keys, instead of staging the flush and joining, saves statements; events
// without a client time (stored with ts = received_at) are looked up by
// key alone.
func (s *Store) findStored(tx *rawTx, f *store.Flush) error {
	type key struct {
		app string
		key int64
		ts  int64 // µs, 0 for untimed events
	}
	byKey := make(map[key]int, len(f.Events))
	var timed, untimed strings.Builder
	for i, p := range f.Events {
		k := key{p.App, p.E.Key, 0}
		b := &untimed
		if p.Timed {
			k.ts, b = p.TS.UnixMicro(), &timed
		}
		byKey[k] = i
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(p.E.Key, 10)) // our own integers
	}
	mark := func(untimed bool) func(v []driver.Value) error {
		return func(v []driver.Value) error {
			app, _ := v[0].(string)
			k := key{app, toInt64(v[1]), 0}
			if !untimed {
				k.ts = toInt64(v[2])
			}
			if i, ok := byKey[k]; ok {
				f.Events[i].Stored = true
			}
			return nil
		}
	}
	// The times are constants, not parameters: DuckDB prunes row groups
	// only by a constant's min/max. The keys are one string parameter
	// split by the query: as an IN list of constants, parsing and binding
	// 20,000 of them (a loader's transaction) cost more than the lookup.
	since := tsLiteral(f.OldestRecv.Add(-s.dedupWindow))
	if timed.Len() > 0 {
		if err := tx.query(`SELECT app_id, dedup_key, epoch_us(ts) FROM events
			WHERE received_at >= `+since+` AND ts BETWEEN `+tsLiteral(f.MinTS)+` AND `+tsLiteral(f.MaxTS)+`
			AND dedup_key IN (`+keysSQL+`)`, mark(false), timed.String()); err != nil {
			return fmt.Errorf("%w: find duplicates: %w", store.ErrUnavailable, err)
		}
	}
	if untimed.Len() > 0 {
		if err := tx.query(`SELECT app_id, dedup_key FROM events
			WHERE received_at >= `+since+` AND ts = received_at AND dedup_key IN (`+keysSQL+`)`, mark(true), untimed.String()); err != nil {
			return fmt.Errorf("%w: find duplicates of untimed events: %w", store.ErrUnavailable, err)
		}
	}
	return nil
}

// keysSQL is the integers of the comma-separated list in parameter $1.
const keysSQL = `SELECT unnest(string_split($1, ','))::BIGINT`

// findContexts marks the flush's contexts already stored, so that the
// others can be appended: one query instead of staging them and an INSERT
// OR IGNORE (and the DELETE of the staging).
func findContexts(tx *rawTx, f *store.Flush) error {
	if len(f.Contexts) == 0 {
		return nil
	}
	var ids strings.Builder
	for ck := range f.Contexts {
		if ids.Len() > 0 {
			ids.WriteByte(',')
		}
		ids.WriteString(strconv.FormatInt(ck.ID, 10)) // our own integers
	}
	err := tx.query(`SELECT app_id, context_id FROM event_contexts WHERE context_id IN (`+keysSQL+`)`,
		func(v []driver.Value) error {
			app, _ := v[0].(string)
			if ck := (store.ContextKey{App: app, ID: toInt64(v[1])}); !f.Contexts[ck] {
				if _, ok := f.Contexts[ck]; ok {
					f.Contexts[ck] = true // stored: not to append
				}
			}
			return nil
		}, ids.String())
	if err != nil {
		return fmt.Errorf("%w: find contexts: %w", store.ErrUnavailable, err)
	}
	return nil
}

// eventRow appends to row the values of an event's columns in table
// order (eventColumns, then seq).
func eventRow(row []driver.Value, app string, recv, ts time.Time, e *event.Event, seq int64) []driver.Value {
	n, z := store.Nullable, store.ZeroNull
	var ctxID any
	if e.ContextID != 0 {
		ctxID = e.ContextID
	}
	var scene any
	if e.Scene != 0 {
		scene = e.Scene
	}
	return append(row,
		app, ts, recv, e.Type, string(e.Kind), n(e.From), n(e.TrackingID), e.LogID, e.Key,
		n(e.UserKey), n(e.OpenID), n(e.UnionID), n(e.LocalID), n(e.UserID),
		n(e.WxAppID), n(e.Page), n(e.PageQry), n(e.Title), n(e.Refer),
		scene, n(e.ChanID), n(e.ReferApp), n(e.GuideID), n(e.RoomID),
		n(e.ShopID), n(e.ShopName), n(e.GdtVid), n(e.AdInfo), n(e.QzGdt),
		n(e.CustomID), n(e.StoreID), n(e.SKUID), n(e.SPUID), n(e.SKUName),
		z(e.PriceFen), z(e.SKUNum), n(e.ActionType), n(e.Keyword), z(e.StayMS),
		n(e.ShareTo), n(e.OrderID), n(e.OrderStatus), z(e.OrderFen), z(e.PayFen),
		ctxID, propsText(e.Props), n(e.ClickID), n(e.AdID), seq,
	)
}

// toInt64 reads an integer column (store.Int64).
func toInt64(v driver.Value) int64 { return store.Int64(v) }

// propsText is the value the appender stores as the props' JSON text in
// their VARCHAR column (migration 0023): the bytes as they are.
func propsText(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return []byte(b)
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
		return fmt.Errorf("%w: last flush number: %w", store.ErrUnavailable, err)
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
