package duckdb

import (
	"context"
	"database/sql/driver"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync/atomic"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// orderColumns are the columns of orders (and staging_orders) in table order.
var orderColumns = []string{
	"app_id", "external_order_id", "create_time", "order_source", "order_type", "brand_id", "brand_name",
	"goods_num_total", "goods_fen", "freight_fen", "order_fen", "payable_fen", "payment_fen", "status",
	"status_change_time", "paid_time", "open_id", "union_id", "user_id", "member_id", "wx_appid", "store_id",
	"store_name", "chan_id", "chan_refer_app_id", "chan_custom_id", "chan_scene", "guide_id", "payment_type",
	"coupon_fen", "is_deleted", "goods_lines", "goods_hash", "raw", "first_received_at", "updated_at",
	"created_call", "updated_call", "goods_call", "paid_call",
}

// upsertOrders moves staging_orders into orders. A staged snapshot replaces
// the stored one when its status_change_time is not older ("applied"); the
// paid time only ever moves earlier; the call columns record which call did
// what, so RETURNING tells this call's effect on each order.
var upsertOrders = func() string {
	const applied = `excluded.status_change_time >= orders.status_change_time`
	var set []string
	for _, c := range orderColumns {
		switch c {
		case "app_id", "external_order_id", "first_received_at", "created_call":
			// Keys and the facts of creation stay.
		case "paid_time":
			set = append(set, `paid_time = least(orders.paid_time, excluded.paid_time)`)
		case "paid_call":
			set = append(set, `paid_call = CASE WHEN orders.paid_time IS NULL AND excluded.paid_time IS NOT NULL
				THEN excluded.paid_call ELSE orders.paid_call END`)
		case "goods_call":
			set = append(set, `goods_call = CASE WHEN `+applied+` AND excluded.goods_hash <> orders.goods_hash
				THEN excluded.goods_call ELSE orders.goods_call END`)
		case "updated_at":
			set = append(set, `updated_at = excluded.updated_at`)
		default:
			set = append(set, fmt.Sprintf(`%s = CASE WHEN %s THEN excluded.%s ELSE orders.%s END`, c, applied, c, c))
		}
	}
	return `INSERT INTO orders SELECT * FROM staging_orders
		ON CONFLICT (app_id, external_order_id) DO UPDATE SET ` + strings.Join(set, ",\n") + `
		RETURNING app_id, external_order_id, created_call, updated_call, goods_call, paid_call, paid_time, payment_fen, open_id, union_id`
}()

// callSeq numbers add_order batches. Starting from the clock keeps the
// numbers of this process above those of earlier runs stored in the table.
var callSeq atomic.Int64

func init() { callSeq.Store(time.Now().UnixNano()) }

// AddOrders writes the batches in one transaction; see store.OrderStore.
// Batches are written together, a handful of statements for all of them:
// on DuckDB each statement has a fixed cost far above that of its rows.
func (s *Store) AddOrders(ctx context.Context, batches []*store.OrderBatch) ([]store.OrderResult, error) {
	results, err := s.addOrders(ctx, batches)
	if errors.Is(err, errKeysStale) {
		// An order was stored behind the key filter's back: rebuild it
		// from the table and try once more.
		s.forgetKeys()
		results, err = s.addOrders(ctx, batches)
	}
	if err != nil {
		return nil, fmt.Errorf("add orders: %w", err)
	}
	return results, nil
}

// errKeysStale marks a plain insert of orders the key filter held new
// that failed on the primary key.
var errKeysStale = errors.New("order key filter out of date")

func (s *Store) addOrders(ctx context.Context, batches []*store.OrderBatch) ([]store.OrderResult, error) {
	results := make([]store.OrderResult, len(batches))
	err := s.inTx(ctx, func(tx *rawTx) error {
		keys, err := s.filterOf(tx)
		if err != nil {
			return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
		}
		for _, r := range rounds(batches) {
			if err := r.write(tx, keys, results); err != nil {
				return err
			}
		}
		// Hooks run once every order of the transaction is written, in the
		// order of the batches.
		for i, b := range batches {
			if len(results[i].Paid) > 0 && b.OnPaid != nil {
				if err := b.OnPaid(ctx, hookTx{tx}, results[i].Paid); err != nil {
					return fmt.Errorf("batch %d: paid hook: %w", i, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		// The filter may hold keys of the rolled-back orders: harmless,
		// they only take the slow path.
		return nil, err
	}
	return results, nil
}

// merged is one order of a batch: the newest snapshot the batch carries for
// it and the earliest paid time among all its items.
type merged struct {
	app  string
	recv time.Time
	call int64
	bi   int // batch index
	snap *store.Order
	paid time.Time
}

type orderKey struct{ app, id string }

type historyRow struct {
	orderKey
	status int64
	at     int64 // µs
	recv   time.Time
}

// round is a run of batches written by one set of statements. ON CONFLICT
// DO UPDATE may touch a row only once per statement, so an order appears
// once in a round: items of one batch are merged, and a batch naming an
// order of an earlier batch of the round starts the next round.
type round struct {
	orders  []*merged
	byKey   map[orderKey]*merged
	byCall  map[int64]int // call id -> batch index
	history map[historyRow]struct{}
}

func rounds(batches []*store.OrderBatch) []*round {
	var out []*round
	cur := newRound()
	for bi, b := range batches {
		call := callSeq.Add(1)
		recv := b.ReceivedAt.UTC()
		mine := map[orderKey]bool{}
		for i := range b.Orders {
			k := orderKey{b.AppID, b.Orders[i].ExternalID}
			if _, taken := cur.byKey[k]; taken && !mine[k] {
				out = append(out, cur)
				cur = newRound()
				break
			}
			mine[k] = true
		}
		cur.byCall[call] = bi
		for i := range b.Orders {
			o := &b.Orders[i]
			k := orderKey{b.AppID, o.ExternalID}
			m, ok := cur.byKey[k]
			if !ok {
				m = &merged{app: b.AppID, recv: recv, call: call, bi: bi, snap: o, paid: o.PaidTime}
				cur.byKey[k] = m
				cur.orders = append(cur.orders, m)
			} else {
				if !o.StatusTime.Before(m.snap.StatusTime) {
					m.snap = o
				}
				if !o.PaidTime.IsZero() && (m.paid.IsZero() || o.PaidTime.Before(m.paid)) {
					m.paid = o.PaidTime
				}
			}
			cur.history[historyRow{k, o.Status, o.StatusTime.UnixMicro(), recv}] = struct{}{}
		}
	}
	if len(cur.orders) > 0 {
		out = append(out, cur)
	}
	return out
}

func newRound() *round {
	return &round{byKey: map[orderKey]*merged{}, byCall: map[int64]int{}, history: map[historyRow]struct{}{}}
}

func (r *round) write(tx *rawTx, keys *keyFilter, results []store.OrderResult) error {
	// Orders the filter proves new are appended; the others are merged.
	var fresh, maybe []*merged
	for _, m := range r.orders {
		if keys.mayHave(m.app, m.snap.ExternalID) {
			maybe = append(maybe, m)
		} else {
			fresh = append(fresh, m)
		}
	}
	if len(fresh) > 0 {
		err := appendAll(tx, "orders", func(a rowAppender) error {
			for _, m := range fresh {
				if err := a.AppendRow(orderRow(m)...); err != nil {
					return fmt.Errorf("append order %s: %w", m.snap.ExternalID, err)
				}
			}
			return nil
		})
		if err != nil {
			if isConstraint(err) {
				return fmt.Errorf("%w: %v", errKeysStale, err)
			}
			return err
		}
		for _, m := range fresh {
			keys.add(m.app, m.snap.ExternalID)
			res := &results[m.bi]
			res.Created++
			if !m.paid.IsZero() {
				res.Paid = append(res.Paid, store.PaidOrder{
					AppID: m.app, ExternalID: m.snap.ExternalID, PaidTime: m.paid.UTC(),
					PaymentFen: m.snap.PaymentFen, OpenID: m.snap.OpenID, UnionID: m.snap.UnionID,
				})
			}
		}
	}
	created, regoods, err := r.merge(tx, keys, maybe, results)
	if err != nil {
		return err
	}
	created = append(created, fresh...)
	// The history of orders created here cannot be stored yet: it is
	// appended. That of the others may repeat stored rows and goes through
	// staging, skipping those (ON CONFLICT scans the table, so only when
	// needed).
	isNew := make(map[orderKey]bool, len(created))
	for _, m := range created {
		isNew[orderKey{m.app, m.snap.ExternalID}] = true
	}
	var staged []historyRow
	err = appendAll(tx, "order_status_history", func(a rowAppender) error {
		for h := range r.history {
			if !isNew[h.orderKey] {
				staged = append(staged, h)
				continue
			}
			if err := a.AppendRow(h.app, h.id, h.status, time.UnixMicro(h.at).UTC(), h.recv); err != nil {
				return fmt.Errorf("append history of %s: %w", h.id, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(staged) > 0 {
		err = appendAll(tx, "staging_order_history", func(a rowAppender) error {
			for _, h := range staged {
				if err := a.AppendRow(h.app, h.id, h.status, time.UnixMicro(h.at).UTC(), h.recv); err != nil {
					return fmt.Errorf("stage history of %s: %w", h.id, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := tx.exec(`INSERT INTO order_status_history SELECT * FROM staging_order_history ON CONFLICT DO NOTHING;
			DELETE FROM staging_order_history`); err != nil {
			return fmt.Errorf("%w: insert status history: %v", store.ErrUnavailable, err)
		}
	}

	// Goods lines follow the snapshot: written for new orders, rewritten
	// only when an applied snapshot changed them (status updates usually
	// carry the same goods, and this delete scans the table).
	if len(regoods) > 0 {
		var args []any
		var conds []string
		for _, m := range regoods {
			args = append(args, m.app, m.snap.ExternalID)
			conds = append(conds, fmt.Sprintf("(app_id = $%d AND external_order_id = $%d)", len(args)-1, len(args)))
		}
		if err := tx.exec(`DELETE FROM order_goods WHERE `+strings.Join(conds, " OR "), args...); err != nil {
			return fmt.Errorf("%w: delete replaced goods: %v", store.ErrUnavailable, err)
		}
	}
	if len(created)+len(regoods) == 0 {
		return nil
	}
	return appendAll(tx, "order_goods", func(a rowAppender) error {
		for _, m := range append(created, regoods...) {
			for line := range m.snap.Goods {
				if err := a.AppendRow(goodsRow(m.app, m.snap.ExternalID, int32(line), &m.snap.Goods[line])...); err != nil {
					return fmt.Errorf("append goods of %s: %w", m.snap.ExternalID, err)
				}
			}
		}
		return nil
	})
}

// merge stages orders that may be stored and upserts them; it returns
// those it created and those whose goods lines must be rewritten.
func (r *round) merge(tx *rawTx, keys *keyFilter, maybe []*merged, results []store.OrderResult) (created, regoods []*merged, err error) {
	if len(maybe) == 0 {
		return nil, nil, nil
	}
	err = appendAll(tx, "staging_orders", func(a rowAppender) error {
		for _, m := range maybe {
			if err := a.AppendRow(orderRow(m)...); err != nil {
				return fmt.Errorf("stage order %s: %w", m.snap.ExternalID, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	// What the upsert did to each order, from the call columns it returns.
	if err := tx.query(upsertOrders, func(v []driver.Value) error {
		app, _ := v[0].(string)
		id, _ := v[1].(string)
		m := r.byKey[orderKey{app, id}]
		if m == nil {
			return fmt.Errorf("upsert returned unknown order %s/%s", app, id)
		}
		res := &results[m.bi]
		createdBy, updatedBy, goodsBy := toInt64(v[2]), toInt64(v[3]), toInt64(v[4])
		switch {
		case createdBy == m.call:
			res.Created++
			created = append(created, m)
			keys.add(app, id)
		case updatedBy == m.call:
			res.Updated++
			if goodsBy == m.call {
				regoods = append(regoods, m)
			}
		default:
			res.Stale++
		}
		if v[5] != nil && toInt64(v[5]) == m.call {
			paidAt, _ := v[6].(time.Time)
			open, _ := v[8].(string)
			union, _ := v[9].(string)
			res.Paid = append(res.Paid, store.PaidOrder{
				AppID: app, ExternalID: id, PaidTime: paidAt.UTC(), PaymentFen: toInt64(v[7]),
				OpenID: open, UnionID: union,
			})
		}
		return nil
	}); err != nil {
		return nil, nil, fmt.Errorf("%w: upsert orders: %v", store.ErrUnavailable, err)
	}
	if err := tx.exec(`DELETE FROM staging_orders`); err != nil {
		return nil, nil, fmt.Errorf("%w: clear staged orders: %v", store.ErrUnavailable, err)
	}
	return created, regoods, nil
}

type rowAppender interface {
	AppendRow(args ...driver.Value) error
}

// appendAll fills table through an appender and flushes it.
func appendAll(tx *rawTx, table string, fill func(a rowAppender) error) error {
	a, err := tx.appender(table)
	if err != nil {
		return fmt.Errorf("%w: %s appender: %v", store.ErrUnavailable, table, err)
	}
	err = fill(a)
	if cerr := a.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("%w: flush %s: %v", store.ErrUnavailable, table, cerr)
	}
	return err
}

// orderRow is the row of an order, for orders and staging_orders.
func orderRow(m *merged) []driver.Value {
	o, app, recv, call := m.snap, m.app, m.recv, m.call
	var paid, paidCall any
	if !m.paid.IsZero() {
		paid, paidCall = m.paid.UTC(), call
	}
	return []driver.Value{
		app, o.ExternalID, o.CreateTime.UTC(), o.Source, o.Type, nullable(o.BrandID), nullable(o.BrandName),
		o.GoodsNumTotal, o.GoodsFen, o.FreightFen, o.OrderFen, o.PayableFen, o.PaymentFen, o.Status,
		o.StatusTime.UTC(), paid, nullable(o.OpenID), nullable(o.UnionID), nullable(o.UserID), nullable(o.MemberID),
		nullable(o.WxAppID), nullable(o.StoreID), nullable(o.StoreName), nullable(o.ChanID),
		nullable(o.ChanReferAppID), nullable(o.ChanCustomID), zeroNull(o.ChanScene), nullable(o.GuideID),
		nullable(o.PaymentType), o.CouponFen, o.Deleted, int64(len(o.Goods)), goodsHash(o.Goods), rawText(o.Raw),
		recv, recv, call, call, call, paidCall,
	}
}

func goodsRow(app, id string, line int32, g *store.Goods) []driver.Value {
	return []driver.Value{
		app, id, line, g.SKUID, g.SKUName, g.SPUID, g.SPUName, g.GoodsFen, g.PaymentFen, g.Num, g.Gift,
		nullable(g.CategoryID), nullable(g.CategoryName), nullable(g.StoreID), nullable(g.StoreName),
		nullable(g.ChanID), nullable(g.ChanCustomID),
	}
}

// isConstraint tells a primary-key violation from other failures.
func isConstraint(err error) bool {
	var de *duckdb.Error
	if errors.As(err, &de) && de.Type == duckdb.ErrorTypeConstraint {
		return true
	}
	return strings.Contains(err.Error(), "Constraint Error") || strings.Contains(err.Error(), "Duplicate key")
}

// rawText is the order as sent, for the raw column.
func rawText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "{}"
	}
	return string(raw)
}

// goodsHash fingerprints the typed goods lines: equal hashes mean the
// stored order_goods rows need not be rewritten.
func goodsHash(goods []store.Goods) int64 {
	h := fnv.New64a()
	var n [8]byte
	str := func(s string) {
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	num := func(v int64) {
		binary.LittleEndian.PutUint64(n[:], uint64(v))
		h.Write(n[:])
	}
	for _, g := range goods {
		for _, s := range []string{g.SKUID, g.SKUName, g.SPUID, g.SPUName, g.CategoryID, g.CategoryName,
			g.StoreID, g.StoreName, g.ChanID, g.ChanCustomID} {
			str(s)
		}
		gift := int64(0)
		if g.Gift {
			gift = 1
		}
		for _, v := range []int64{g.GoodsFen, g.PaymentFen, g.Num, gift} {
			num(v)
		}
	}
	return int64(h.Sum64())
}

// hookTx is the store.Tx handed to an OnPaid hook.
type hookTx struct{ t *rawTx }

func (h hookTx) Dialect() store.Dialect { return store.DuckDB }

func (h hookTx) Exec(query string, args ...any) error { return h.t.exec(query, args...) }

func (h hookTx) Query(query string, args []any, row func(values []any) error) error {
	var vals []any
	return h.t.query(query, func(v []driver.Value) error {
		vals = vals[:0]
		for _, x := range v {
			vals = append(vals, x)
		}
		return row(vals)
	}, args...)
}

// AddOrderSums upserts the merchant's daily totals in one transaction.
func (s *Store) AddOrderSums(ctx context.Context, appID string, sums []store.OrderSum, receivedAt time.Time) error {
	recv := receivedAt.UTC()
	err := s.inTx(ctx, func(tx *rawTx) error {
		for _, d := range sums {
			if err := tx.exec(`INSERT INTO order_sums VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (app_id, ref_date) DO UPDATE SET give_order_fen = excluded.give_order_fen,
					give_order_num = excluded.give_order_num, payment_fen = excluded.payment_fen,
					payed_num = excluded.payed_num, raw = excluded.raw, updated_at = excluded.updated_at`,
				appID, day(d.Day), d.GiveOrderFen, d.GiveOrderNum, d.PaymentFen, d.PayedNum, string(d.Raw), recv); err != nil {
				return fmt.Errorf("%w: upsert sum of %s: %v", store.ErrUnavailable, d.Day.Format(time.DateOnly), err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add %d order sums: %w", len(sums), err)
	}
	return nil
}

// AddVisitPages upserts page-visit rows in one transaction.
func (s *Store) AddVisitPages(ctx context.Context, appID string, pages []store.VisitPage, receivedAt time.Time) error {
	recv := receivedAt.UTC()
	// Last one wins when a call repeats a day and page.
	type key struct {
		day  time.Time
		path string
	}
	last := make(map[key]int, len(pages))
	for i, p := range pages {
		last[key{day(p.Day), p.PagePath}] = i
	}
	err := s.inTx(ctx, func(tx *rawTx) error {
		if len(pages) == 0 {
			return nil
		}
		a, err := tx.appender("staging_visit_pages")
		if err != nil {
			return fmt.Errorf("%w: staging appender: %v", store.ErrUnavailable, err)
		}
		appendErr := func() error {
			for i, p := range pages {
				if last[key{day(p.Day), p.PagePath}] != i {
					continue
				}
				if err := a.AppendRow(appID, day(p.Day), p.PagePath, p.Page, p.VisitPV, p.VisitUV, p.StayTimePV,
					p.EntryPV, p.ExitPV, p.SharePV, p.ShareUV, recv); err != nil {
					return fmt.Errorf("stage page %s: %w", p.PagePath, err)
				}
			}
			return nil
		}()
		if err := a.Close(); err != nil && appendErr == nil {
			appendErr = fmt.Errorf("%w: flush staged pages: %v", store.ErrUnavailable, err)
		}
		if appendErr != nil {
			return appendErr
		}
		if err := tx.exec(`INSERT INTO wxapp_visit_pages SELECT * FROM staging_visit_pages
			ON CONFLICT (app_id, ref_date, page_path) DO UPDATE SET page = excluded.page,
				page_visit_pv = excluded.page_visit_pv, page_visit_uv = excluded.page_visit_uv,
				page_staytime_pv = excluded.page_staytime_pv, entrypage_pv = excluded.entrypage_pv,
				exitpage_pv = excluded.exitpage_pv, page_share_pv = excluded.page_share_pv,
				page_share_uv = excluded.page_share_uv, updated_at = excluded.updated_at`); err != nil {
			return fmt.Errorf("%w: upsert pages: %v", store.ErrUnavailable, err)
		}
		if err := tx.exec(`DELETE FROM staging_visit_pages`); err != nil {
			return fmt.Errorf("%w: clear staging: %v", store.ErrUnavailable, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add %d visit pages: %w", len(pages), err)
	}
	return nil
}

// AddDataSource stores ds unless the app has one of its type (or its id).
func (s *Store) AddDataSource(ctx context.Context, ds store.DataSource) (store.DataSource, bool, error) {
	var out store.DataSource
	created := false
	err := s.inTx(ctx, func(tx *rawTx) error {
		found := false
		if err := tx.query(`SELECT id, type, merchant_id, created_at FROM data_sources
			WHERE app_id = $1 AND (type = $2 OR id = $3) ORDER BY type = $2 DESC LIMIT 1`,
			func(v []driver.Value) error {
				found = true
				out = scanDataSource(ds.AppID, v)
				return nil
			}, ds.AppID, ds.Type, ds.ID); err != nil {
			return fmt.Errorf("%w: find data source: %v", store.ErrUnavailable, err)
		}
		if found {
			return nil
		}
		out = ds
		out.CreatedAt = ds.CreatedAt.UTC()
		if err := tx.exec(`INSERT INTO data_sources VALUES ($1, $2, $3, $4, $5)`,
			ds.AppID, ds.ID, ds.Type, nullable(ds.MerchantID), out.CreatedAt); err != nil {
			return fmt.Errorf("%w: insert data source: %v", store.ErrUnavailable, err)
		}
		created = true
		return nil
	})
	if err != nil {
		return store.DataSource{}, false, fmt.Errorf("add data source of type %d for app %s: %w", ds.Type, ds.AppID, err)
	}
	return out, created, nil
}

// DataSources lists the app's data sources by type.
func (s *Store) DataSources(ctx context.Context, appID string) ([]store.DataSource, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, type, merchant_id, created_at FROM data_sources WHERE app_id = $1 ORDER BY type, id`, appID)
	if err != nil {
		return nil, fmt.Errorf("list data sources of %s: %w: %v", appID, store.ErrUnavailable, err)
	}
	defer rows.Close()
	var out []store.DataSource
	for rows.Next() {
		var (
			ds       = store.DataSource{AppID: appID}
			merchant *string
		)
		if err := rows.Scan(&ds.ID, &ds.Type, &merchant, &ds.CreatedAt); err != nil {
			return nil, fmt.Errorf("list data sources of %s: %w", appID, err)
		}
		if merchant != nil {
			ds.MerchantID = *merchant
		}
		ds.CreatedAt = ds.CreatedAt.UTC()
		out = append(out, ds)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list data sources of %s: %w: %v", appID, store.ErrUnavailable, err)
	}
	return out, nil
}

func scanDataSource(app string, v []driver.Value) store.DataSource {
	ds := store.DataSource{AppID: app, Type: toInt64(v[1])}
	ds.ID, _ = v[0].(string)
	ds.MerchantID, _ = v[2].(string)
	if t, ok := v[3].(time.Time); ok {
		ds.CreatedAt = t.UTC()
	}
	return ds
}

// day is the DATE value of a merchant's day given as 00:00 UTC of the date.
func day(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
