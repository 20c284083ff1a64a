package postgres

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// eventColumns are the columns of events in table order.
var eventColumns = []string{
	"app_id", "ts", "received_at", "type", "kind", "sdk_from", "tracking_id", "log_id", "dedup_key",
	"user_key", "open_id", "union_id", "local_id", "user_id", "wx_appid", "page", "page_query", "page_title", "refer_page",
	"scene", "chan_id", "chan_refer_app_id", "guide_id", "room_id", "shop_id", "shop_name", "gdt_vid", "weixinadinfo",
	"qz_gdt", "chan_custom_id", "store_id", "sku_id", "spu_id", "sku_name", "price_fen", "sku_num", "action_type",
	"keyword", "stay_ms", "share_to", "order_id", "order_status", "order_fen", "pay_fen", "context_id", "props",
	"click_id", "ad_id", "seq",
}

// eventRows feeds a flush's new events to COPY through one row of values,
// refilled for each event with pointers into it: pgx encodes each value
// before it asks for the next row, and a pointer in an interface is no
// copy, where a row of boxed strings, numbers and times cost ~33
// allocations an event. A nil value is NULL.
type eventRows struct {
	f   *store.Flush
	idx []int // the events of f to copy
	i   int
	seq int64
	row []any
}

func newEventRows(f *store.Flush, idx []int, seq int64) *eventRows {
	return &eventRows{f: f, idx: idx, i: -1, seq: seq, row: make([]any, 0, len(eventColumns))}
}

func (r *eventRows) Next() bool { r.i++; return r.i < len(r.idx) }

func (r *eventRows) Err() error { return nil }

func (r *eventRows) Values() ([]any, error) {
	p := &r.f.Events[r.idx[r.i]]
	e := p.E
	n, z := nullable, zeroNull
	var ctxID, scene, props any
	if e.ContextID != 0 {
		ctxID = &e.ContextID
	}
	if e.Scene != 0 {
		scene = &e.Scene
	}
	if len(e.Props) > 0 {
		props = e.Props // json.RawMessage as is: through a pointer pgx would marshal it again
	}
	r.row = append(r.row[:0],
		&p.App, &p.TS, &p.Recv, &e.Type, kindValue(e.Kind), n(&e.From), n(&e.TrackingID), &e.LogID, &e.Key,
		n(&e.UserKey), n(&e.OpenID), n(&e.UnionID), n(&e.LocalID), n(&e.UserID),
		n(&e.WxAppID), n(&e.Page), n(&e.PageQry), n(&e.Title), n(&e.Refer),
		scene, n(&e.ChanID), n(&e.ReferApp), n(&e.GuideID), n(&e.RoomID),
		n(&e.ShopID), n(&e.ShopName), n(&e.GdtVid), n(&e.AdInfo), n(&e.QzGdt),
		n(&e.CustomID), n(&e.StoreID), n(&e.SKUID), n(&e.SPUID), n(&e.SKUName),
		z(&e.PriceFen), z(&e.SKUNum), n(&e.ActionType), n(&e.Keyword), z(&e.StayMS),
		n(&e.ShareTo), n(&e.OrderID), n(&e.OrderStatus), z(&e.OrderFen), z(&e.PayFen),
		ctxID, props, n(&e.ClickID), n(&e.AdID), &r.seq,
	)
	return r.row, nil
}

// nullable is store.Nullable through a pointer: NULL for "".
func nullable(s *string) any {
	if *s == "" {
		return nil
	}
	return s
}

// zeroNull is store.ZeroNull through a pointer: NULL for 0.
func zeroNull(v *int64) any {
	if *v == 0 {
		return nil
	}
	return v
}

// kindValues are the event kinds, boxed once.
var kindValues = map[event.Kind]any{
	event.KindBehaviour: string(event.KindBehaviour),
	event.KindSDK:       string(event.KindSDK),
	event.KindUnknown:   string(event.KindUnknown),
}

func kindValue(k event.Kind) any {
	if v, ok := kindValues[k]; ok {
		return v
	}
	return string(k)
}

// WriteEvents stores a flush in one transaction (store.EventStore): COPY
// of the new events into events, or, when one of them is stored already,
// through the staging table with an INSERT that skips the re-sends by the
// unique key (app, time, content key) — a flush of another node storing
// the same event at once waits for it and skips too, it never fails —
// then the contexts, quarantine rows and touches, the event hook, and
// commit (insertEvents). The flush takes the next flush number and a
// shared lock the roll-up barrier waits for (rollups.go).
func (s *Store) WriteEvents(ctx context.Context, batches []*store.EventBatch) ([]store.EventResult, error) {
	f := store.PlanFlush(batches, &s.known)
	if err := s.ensureDays(ctx, flushDays(f)); err != nil {
		return nil, fmt.Errorf("write %d batches: %w", len(batches), err)
	}
	err := s.writeFlush(ctx, f)
	if isNoPartition(err) {
		// Another node dropped a partition this one thought was there
		// (retention): look again, create it, write again.
		if err = s.loadPartitions(ctx); err == nil {
			if err = s.ensureDays(ctx, flushDays(f)); err == nil {
				f = store.PlanFlush(batches, &s.known)
				err = s.writeFlush(ctx, f)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("write %d batches: %w", len(batches), err)
	}
	s.known.Remember(f)
	return f.Finish(), nil
}

// flushDays are the UTC days of the flush's events: only those get a
// partition, not every day between an old event and today.
func flushDays(f *store.Flush) []int64 {
	if len(f.Events) == 0 || unixDay(f.MinTS) == unixDay(f.MaxTS) {
		if len(f.Events) == 0 {
			return nil
		}
		return []int64{unixDay(f.MinTS)}
	}
	seen := map[int64]bool{}
	var days []int64
	for _, e := range f.Events {
		if d := unixDay(e.TS); !seen[d] {
			seen[d] = true
			days = append(days, d)
		}
	}
	return days
}

func isNoPartition(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23514" && pe.ConstraintName == ""
}

func (s *Store) writeFlush(ctx context.Context, f *store.Flush) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if m := store.IntakeMark(f.Batches); m > 0 {
			if _, err := tx.Exec(ctx, store.SetAppStateSQL, "", store.IntakeKey, strconv.FormatUint(m, 10), time.Now().UTC()); err != nil {
				return fmt.Errorf("%w: intake position: %w", store.ErrUnavailable, err)
			}
		}
		// The relay rows first: later steps skip what an empty flush lacks.
		if rs := store.BatchRelays(f.Batches); len(rs) > 0 {
			if err := (hookTx{tx}).AddRelays(ctx, rs); err != nil {
				return err
			}
		}
		if len(f.Events) > 0 {
			seq, err := beginFlush(ctx, tx)
			if err != nil {
				return err
			}
			if err := s.findUntimed(ctx, tx, f); err != nil {
				return err
			}
			if err := insertEvents(ctx, tx, f, seq); err != nil {
				return err
			}
			if err := insertContexts(ctx, tx, f); err != nil {
				return err
			}
			if err := insertUnknownTypes(ctx, tx, f); err != nil {
				return err
			}
		}
		if err := s.writeQuarantine(ctx, tx, f); err != nil {
			return err
		}
		if len(f.Events) == 0 {
			return nil
		}
		f.PlanTouches(&s.known)
		if err := writeTouches(ctx, tx, f.Changed); err != nil {
			return err
		}
		if s.eventHook != nil {
			if err := s.eventHook(ctx, hookTx{tx}, f.Batches); err != nil {
				return fmt.Errorf("event hook: %w", err)
			}
		}
		return nil
	})
}

// beginFlush takes the flushes' shared lock, then the flush's number: in
// this order, so that once the roll-up barrier holds the lock alone, every
// number handed out belongs to a flush that has ended.
func beginFlush(ctx context.Context, tx pgx.Tx) (int64, error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock_shared($1)`, lockFlushes)
	var seq int64
	b.Queue(`SELECT nextval('event_flush_seq')`).QueryRow(func(r pgx.Row) error { return r.Scan(&seq) })
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return 0, unavailable("begin flush", err)
	}
	return seq, nil
}

// findUntimed marks the events without a client time already stored: their
// stored time is the time received, so the unique key cannot recognise a
// re-post, and they are looked up by content key inside the dedup window,
// under a lock per key so that a re-post on another node at the same moment
// waits for this flush and then finds its event.
func (s *Store) findUntimed(ctx context.Context, tx pgx.Tx, f *store.Flush) error {
	type key struct {
		app string
		key int64
	}
	byKey := map[key]int{}
	var apps []string
	var keys []int64
	for i, p := range f.Events {
		if !p.Timed {
			k := key{p.App, p.E.Key}
			byKey[k] = i
		}
	}
	if len(byKey) == 0 {
		return nil
	}
	sorted := make([]key, 0, len(byKey))
	for k := range byKey {
		sorted = append(sorted, k)
	}
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].app != sorted[j].app {
			return sorted[i].app < sorted[j].app
		}
		return sorted[i].key < sorted[j].key
	})
	for _, k := range sorted {
		apps = append(apps, k.app)
		keys = append(keys, k.key)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(a || ':' || k::text))
		FROM unnest($2::text[], $3::bigint[]) WITH ORDINALITY AS u(a, k, i) ORDER BY i`, lockUntimed, apps, keys); err != nil {
		return unavailable("lock untimed events", err)
	}
	since := f.OldestRecv.Add(-s.opt.DedupWindow)
	rows, err := tx.Query(ctx, `SELECT e.app_id, e.dedup_key FROM events e
		JOIN unnest($2::text[], $3::bigint[]) AS u(a, k) ON e.app_id = u.a AND e.dedup_key = u.k
		WHERE e.ts >= $1 AND e.received_at >= $1 AND e.ts = e.received_at`, since, apps, keys)
	if err != nil {
		return unavailable("find re-posted untimed events", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.app, &k.key); err != nil {
			return unavailable("find re-posted untimed events", err)
		}
		if i, ok := byKey[k]; ok {
			f.Events[i].Stored = true
		}
	}
	return rows.Err()
}

// insertEvents stores the flush's events not known to be stored, in key
// order (concurrent flushes then wait on each other's keys in one order:
// no deadlock). Most flushes hold no re-send: their events are copied
// straight into events, under a savepoint. When one of them is stored
// already (an SDK re-send, or the same upload stored by another node's
// flush, which this COPY waits for), the savepoint is rolled back and the
// events go through the staging table, whose INSERT skips the re-sends by
// the unique key: the events it skipped are marked stored. The straight
// COPY writes each event once where the staging table wrote it twice, and
// took about a seventh off PostgreSQL's work per event (BENCHMARKS.md).
func insertEvents(ctx context.Context, tx pgx.Tx, f *store.Flush, seq int64) error {
	idx := make([]int, 0, len(f.Events))
	for i := range f.Events {
		if !f.Events[i].Stored {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil
	}
	sort.Slice(idx, func(a, b int) bool {
		p, q := &f.Events[idx[a]], &f.Events[idx[b]]
		if p.App != q.App {
			return p.App < q.App
		}
		if pt, qt := p.TS.UnixMicro(), q.TS.UnixMicro(); pt != qt {
			return pt < qt
		}
		return p.E.Key < q.E.Key
	})
	// The savepoint is never released: the flush's commit ends it, and a
	// RELEASE would cost every flush one more round trip.
	if _, err := tx.Exec(ctx, `SAVEPOINT copy_events`); err != nil {
		return unavailable("savepoint before the events", err)
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"events"}, eventColumns, newEventRows(f, idx, seq))
	if err == nil {
		return nil
	}
	if !isStoredAlready(err) {
		return unavailable("copy events", err)
	}
	if _, err := tx.Exec(ctx, `ROLLBACK TO SAVEPOINT copy_events`); err != nil {
		return unavailable("roll back to the savepoint before the events", err)
	}
	return insertSkippingResends(ctx, tx, f, idx, seq)
}

// isStoredAlready tells the errors of a COPY that met an event stored
// already: its unique key (23505), or a deadlock (40P01) with a writer
// that does not lock in this order, which the staging table's INSERT then
// waits out.
func isStoredAlready(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "40P01")
}

// insertSkippingResends copies the events idx of f into the staging table
// and moves those not stored yet into events, in key order; it marks the
// others stored.
func insertSkippingResends(ctx context.Context, tx pgx.Tx, f *store.Flush, idx []int, seq int64) error {
	type key struct {
		app string
		ts  int64
		key int64
	}
	byKey := make(map[key]int, len(idx))
	for _, i := range idx {
		p := &f.Events[i]
		byKey[key{p.App, p.TS.UnixMicro(), p.E.Key}] = i
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"ev_stage"}, eventColumns, newEventRows(f, idx, seq)); err != nil {
		return unavailable("stage events", err)
	}
	inserted := make(map[int]bool, len(idx))
	res, err := tx.Query(ctx, `INSERT INTO events SELECT * FROM ev_stage ORDER BY app_id, ts, dedup_key
		ON CONFLICT (app_id, ts, dedup_key) DO NOTHING RETURNING app_id, ts, dedup_key`)
	if err != nil {
		return unavailable("insert events", err)
	}
	defer res.Close()
	for res.Next() {
		var k key
		var ts time.Time
		if err := res.Scan(&k.app, &ts, &k.key); err != nil {
			return unavailable("insert events", err)
		}
		k.ts = ts.UnixMicro()
		if i, ok := byKey[k]; ok {
			inserted[i] = true
		}
	}
	if err := res.Err(); err != nil {
		return unavailable("insert events", err)
	}
	for _, i := range byKey {
		if !inserted[i] {
			f.Events[i].Stored = true
		}
	}
	return nil
}

// insertUnknownTypes records the types of unknown kind the flush stored,
// with the earliest receive time, unless recorded already; in key order,
// so two nodes storing the same new types wait on each other instead of
// deadlocking.
func insertUnknownTypes(ctx context.Context, tx pgx.Tx, f *store.Flush) error {
	type key struct{ app, typ string }
	first := map[key]time.Time{}
	for _, p := range f.Events {
		if p.Stored || p.E.Kind != event.KindUnknown {
			continue
		}
		k := key{p.App, p.E.Type}
		if t, ok := first[k]; !ok || p.Recv.Before(t) {
			first[k] = p.Recv
		}
	}
	if len(first) == 0 {
		return nil
	}
	keys := make([]key, 0, len(first))
	for k := range first {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].app != keys[j].app {
			return keys[i].app < keys[j].app
		}
		return keys[i].typ < keys[j].typ
	})
	apps, types, times := make([]string, len(keys)), make([]string, len(keys)), make([]time.Time, len(keys))
	for i, k := range keys {
		apps[i], types[i], times[i] = k.app, k.typ, first[k].UTC()
	}
	if _, err := tx.Exec(ctx, `INSERT INTO unknown_event_types (app_id, type, first_received)
		SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[]) ORDER BY 1, 2
		ON CONFLICT (app_id, type) DO NOTHING`, apps, types, times); err != nil {
		return unavailable("record new event types", err)
	}
	return nil
}

// insertContexts stores the flush's contexts not known to be stored; the
// key skips those that are (a re-send's context too may be another).
func insertContexts(ctx context.Context, tx pgx.Tx, f *store.Flush) error {
	if len(f.Contexts) == 0 {
		return nil
	}
	type row struct {
		app  string
		id   int64
		body string
		at   time.Time
	}
	var rs []row
	for _, p := range f.Events {
		ck := store.ContextKey{App: p.App, ID: p.E.ContextID}
		if stored, ok := f.Contexts[ck]; ok && !stored {
			f.Contexts[ck] = true
			rs = append(rs, row{p.App, p.E.ContextID, string(p.E.Context), p.Recv})
		}
	}
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].app != rs[j].app {
			return rs[i].app < rs[j].app
		}
		return rs[i].id < rs[j].id
	})
	apps, ids, bodies, ats := make([]string, len(rs)), make([]int64, len(rs)), make([]string, len(rs)), make([]time.Time, len(rs))
	for i, r := range rs {
		apps[i], ids[i], bodies[i], ats[i] = r.app, r.id, r.body, r.at
	}
	if _, err := tx.Exec(ctx, `INSERT INTO event_contexts (app_id, context_id, context, first_seen)
		SELECT a, i, b::jsonb, t FROM unnest($1::text[], $2::bigint[], $3::text[], $4::timestamptz[]) AS u(a, i, b, t)
		ON CONFLICT DO NOTHING`, apps, ids, bodies, ats); err != nil {
		return unavailable("insert contexts", err)
	}
	return nil
}

// writeQuarantine stores the flush's quarantine rows but those stored
// within the dedup window before the oldest of them.
func (s *Store) writeQuarantine(ctx context.Context, tx pgx.Tx, f *store.Flush) error {
	if len(f.Quarantine) == 0 {
		return nil
	}
	raws := make([]string, len(f.Quarantine))
	for i, r := range f.Quarantine {
		raws[i] = r.Raw
	}
	rows, err := tx.Query(ctx, `SELECT app_id, source, raw FROM quarantine WHERE received_at >= $1 AND raw = ANY($2)`,
		f.QuarantineSince(s.opt.DedupWindow), raws)
	if err != nil {
		return unavailable("find stored quarantine rows", err)
	}
	stored := map[store.QuarantineKey]bool{}
	for rows.Next() {
		var k store.QuarantineKey
		if err := rows.Scan(&k.App, &k.Source, &k.Raw); err != nil {
			rows.Close()
			return unavailable("find stored quarantine rows", err)
		}
		stored[k] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return unavailable("find stored quarantine rows", err)
	}
	f.DropStoredQuarantine(stored)
	if len(f.Quarantine) == 0 {
		return nil
	}
	qrows := make([][]any, len(f.Quarantine))
	for i, r := range f.Quarantine {
		qrows[i] = []any{r.App, r.Recv.UTC(), r.Source, store.Nullable(r.Type), r.Reason, r.Raw}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"quarantine"}, []string{"app_id", "received_at", "source", "type", "reason", "raw"},
		pgx.CopyFromRows(qrows)); err != nil {
		return unavailable("quarantine", err)
	}
	return nil
}

// writeTouches upserts ad touches, in key order: per app, user and click
// id, the first time it was seen, and the ad and union ids once any event
// carried them.
func writeTouches(ctx context.Context, tx pgx.Tx, touches []store.Touch) error {
	if len(touches) == 0 {
		return nil
	}
	sort.Slice(touches, func(i, j int) bool {
		a, b := touches[i].Key(), touches[j].Key()
		if a.App != b.App {
			return a.App < b.App
		}
		if a.User != b.User {
			return a.User < b.User
		}
		return a.Click < b.Click
	})
	n := len(touches)
	apps, users, opens, unions, clicks, ads, firsts := make([]string, n), make([]string, n), make([]*string, n),
		make([]*string, n), make([]string, n), make([]*string, n), make([]time.Time, n)
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	for i, t := range touches {
		apps[i], users[i], opens[i], unions[i], clicks[i], ads[i], firsts[i] = t.AppID, t.UserKey, opt(t.OpenID),
			opt(t.UnionID), t.ClickID, opt(t.AdID), t.FirstSeen.UTC()
	}
	if _, err := tx.Exec(ctx, `INSERT INTO ad_touches AS t (app_id, user_key, open_id, union_id, click_id, ad_id, first_seen)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])
		ON CONFLICT (app_id, user_key, click_id) DO UPDATE SET
			first_seen = least(t.first_seen, excluded.first_seen),
			ad_id = coalesce(t.ad_id, excluded.ad_id),
			union_id = coalesce(t.union_id, excluded.union_id)
		WHERE excluded.first_seen < t.first_seen
			OR (t.ad_id IS NULL AND excluded.ad_id IS NOT NULL)
			OR (t.union_id IS NULL AND excluded.union_id IS NOT NULL)`,
		apps, users, opens, unions, clicks, ads, firsts); err != nil {
		return unavailable("write ad touches", err)
	}
	return nil
}
