package duckdb

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// AddOrders writes the batches in one transaction; see store.OrderStore.
// Batches are written together, a handful of statements for all of them:
// on DuckDB each statement has a fixed cost far above that of its rows.
func (s *Store) AddOrders(ctx context.Context, batches []*store.OrderBatch) ([]store.OrderResult, error) {
	results, err := s.addOrders(ctx, batches)
	if errors.Is(err, errKeysStale) {
		// An order was stored behind the key filter's back: rebuild it
		// from the table and try once more.
		s.keys = nil
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
			return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
		}
		for _, r := range store.Rounds(batches, s.nextCall) {
			if err := writeRound(tx, r, keys, results); err != nil {
				return err
			}
		}
		// Hooks run once every order of the transaction is written.
		return store.FinishOrders(ctx, hookTx{tx}, batches, results)
	})
	if err != nil {
		// The filter may hold keys of the rolled-back orders: harmless,
		// they only take the slow path.
		return nil, err
	}
	return results, nil
}

// writeRound writes one round of orders. Orders the filter proves new
// are appended; the others are merged.
func writeRound(tx *rawTx, r *store.Round, keys *keyFilter, results []store.OrderResult) error {
	var fresh, maybe []*store.MergedOrder
	for _, m := range r.Orders {
		if keys.mayHave(m.App, m.Snap.ExternalID) {
			maybe = append(maybe, m)
		} else {
			fresh = append(fresh, m)
		}
	}
	if len(fresh) > 0 {
		err := appendAll(tx, "orders", func(a rowAppender) error {
			for _, m := range fresh {
				if err := a.AppendRow(values(store.OrderRow(m))...); err != nil {
					return fmt.Errorf("append order %s: %w", m.Snap.ExternalID, err)
				}
			}
			return nil
		})
		if err != nil {
			if isConstraint(err) {
				return fmt.Errorf("%w: %w", errKeysStale, err)
			}
			return err
		}
		for _, m := range fresh {
			keys.add(m.App, m.Snap.ExternalID)
			res := &results[m.Batch]
			res.Created++
			if !m.Paid.IsZero() {
				res.Paid = append(res.Paid, store.PaidOrder{
					AppID: m.App, ExternalID: m.Snap.ExternalID, PaidTime: m.Paid.UTC(),
					PaymentFen: m.Snap.PaymentFen, OpenID: m.Snap.OpenID, UnionID: m.Snap.UnionID,
				})
			}
		}
	}
	created, regoods, err := mergeOrders(tx, r, keys, maybe, results)
	if err != nil {
		return err
	}
	created = append(created, fresh...)
	// The history of orders created here cannot be stored yet: it is
	// appended. That of the others may repeat stored rows and goes through
	// staging, skipping those (ON CONFLICT scans the table, so only when
	// needed).
	isNew := make(map[store.OrderKey]bool, len(created))
	for _, m := range created {
		isNew[store.OrderKey{App: m.App, ID: m.Snap.ExternalID}] = true
	}
	var staged []store.HistoryRow
	err = appendAll(tx, "order_status_history", func(a rowAppender) error {
		for h := range r.History {
			if !isNew[h.OrderKey] {
				staged = append(staged, h)
				continue
			}
			if err := a.AppendRow(h.App, h.ID, h.Status, time.UnixMicro(h.At).UTC(), h.Recv); err != nil {
				return fmt.Errorf("append history of %s: %w", h.ID, err)
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
				if err := a.AppendRow(h.App, h.ID, h.Status, time.UnixMicro(h.At).UTC(), h.Recv); err != nil {
					return fmt.Errorf("stage history of %s: %w", h.ID, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := tx.exec(`INSERT INTO order_status_history SELECT * FROM staging_order_history ON CONFLICT DO NOTHING;
			DELETE FROM staging_order_history`); err != nil {
			return fmt.Errorf("%w: insert status history: %w", store.ErrUnavailable, err)
		}
	}

	// Goods lines follow the snapshot: written for new orders, rewritten
	// only when an applied snapshot changed them (status updates usually
	// carry the same goods, and this delete scans the table).
	if len(regoods) > 0 {
		var args []any
		var conds []string
		for _, m := range regoods {
			args = append(args, m.App, m.Snap.ExternalID)
			conds = append(conds, fmt.Sprintf("(app_id = $%d AND external_order_id = $%d)", len(args)-1, len(args)))
		}
		if err := tx.exec(`DELETE FROM order_goods WHERE `+strings.Join(conds, " OR "), args...); err != nil {
			return fmt.Errorf("%w: delete replaced goods: %w", store.ErrUnavailable, err)
		}
	}
	if len(created)+len(regoods) == 0 {
		return nil
	}
	return appendAll(tx, "order_goods", func(a rowAppender) error {
		for _, m := range append(created, regoods...) {
			for line := range m.Snap.Goods {
				if err := a.AppendRow(values(store.GoodsRow(m.App, m.Snap.ExternalID, int32(line), &m.Snap.Goods[line]))...); err != nil {
					return fmt.Errorf("append goods of %s: %w", m.Snap.ExternalID, err)
				}
			}
		}
		return nil
	})
}

// merge stages orders that may be stored and upserts them; it returns
// those it created and those whose goods lines must be rewritten.
func mergeOrders(tx *rawTx, r *store.Round, keys *keyFilter, maybe []*store.MergedOrder, results []store.OrderResult) (created, regoods []*store.MergedOrder, err error) {
	if len(maybe) == 0 {
		return nil, nil, nil
	}
	err = appendAll(tx, "staging_orders", func(a rowAppender) error {
		for _, m := range maybe {
			if err := a.AppendRow(values(store.OrderRow(m))...); err != nil {
				return fmt.Errorf("stage order %s: %w", m.Snap.ExternalID, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	// What the upsert did to each order, from the call columns it returns.
	if err := tx.query(store.UpsertOrdersSQL("staging_orders"), func(v []driver.Value) error {
		app, _ := v[0].(string)
		id, _ := v[1].(string)
		m := r.ByKey[store.OrderKey{App: app, ID: id}]
		if m == nil {
			return fmt.Errorf("upsert returned unknown order %s/%s", app, id)
		}
		res := &results[m.Batch]
		createdBy, updatedBy, goodsBy := toInt64(v[2]), toInt64(v[3]), toInt64(v[4])
		switch {
		case createdBy == m.Call:
			res.Created++
			created = append(created, m)
			keys.add(app, id)
		case updatedBy == m.Call:
			res.Updated++
			if goodsBy == m.Call {
				regoods = append(regoods, m)
			}
		default:
			res.Stale++
		}
		if v[5] != nil && toInt64(v[5]) == m.Call {
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
		return nil, nil, fmt.Errorf("%w: upsert orders: %w", store.ErrUnavailable, err)
	}
	if err := tx.exec(`DELETE FROM staging_orders`); err != nil {
		return nil, nil, fmt.Errorf("%w: clear staged orders: %w", store.ErrUnavailable, err)
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
		return fmt.Errorf("%w: %s appender: %w", store.ErrUnavailable, table, err)
	}
	err = fill(a)
	if cerr := a.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("%w: flush %s: %w", store.ErrUnavailable, table, cerr)
	}
	return err
}

// isConstraint tells a primary-key violation from other failures.
func isConstraint(err error) bool {
	var de *duckdb.Error
	if errors.As(err, &de) && de.Type == duckdb.ErrorTypeConstraint {
		return true
	}
	return strings.Contains(err.Error(), "Constraint Error") || strings.Contains(err.Error(), "Duplicate key")
}

// AddOrderSums upserts the merchant's daily totals in one transaction.
func (s *Store) AddOrderSums(ctx context.Context, appID string, sums []store.OrderSum, receivedAt time.Time, relay ...store.Relay) error {
	recv := receivedAt.UTC()
	err := s.inTx(ctx, func(tx *rawTx) error {
		if len(relay) > 0 {
			if err := (hookTx{tx}).AddRelays(ctx, relay); err != nil {
				return err
			}
		}
		for _, d := range sums {
			if err := tx.exec(`INSERT INTO order_sums VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (app_id, ref_date) DO UPDATE SET give_order_fen = excluded.give_order_fen,
					give_order_num = excluded.give_order_num, payment_fen = excluded.payment_fen,
					payed_num = excluded.payed_num, raw = excluded.raw, updated_at = excluded.updated_at`,
				appID, day(d.Day), d.GiveOrderFen, d.GiveOrderNum, d.PaymentFen, d.PayedNum, string(d.Raw), recv); err != nil {
				return fmt.Errorf("%w: upsert sum of %s: %w", store.ErrUnavailable, d.Day.Format(time.DateOnly), err)
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
func (s *Store) AddVisitPages(ctx context.Context, appID string, pages []store.VisitPage, receivedAt time.Time, relay ...store.Relay) error {
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
		if len(relay) > 0 {
			if err := (hookTx{tx}).AddRelays(ctx, relay); err != nil {
				return err
			}
		}
		if len(pages) == 0 {
			return nil
		}
		a, err := tx.appender("staging_visit_pages")
		if err != nil {
			return fmt.Errorf("%w: staging appender: %w", store.ErrUnavailable, err)
		}
		appendErr := func() error {
			for i, p := range pages {
				if last[key{day(p.Day), p.PagePath}] != i {
					continue
				}
				if err := a.AppendRow(appID, day(p.Day), p.PagePath, p.Page, p.VisitPV, p.VisitUV, p.StayTimePV,
					p.EntryPV, p.ExitPV, p.SharePV, p.ShareUV, recv, store.SourcePushed); err != nil {
					return fmt.Errorf("stage page %s: %w", p.PagePath, err)
				}
			}
			return nil
		}()
		if err := a.Close(); err != nil && appendErr == nil {
			appendErr = fmt.Errorf("%w: flush staged pages: %w", store.ErrUnavailable, err)
		}
		if appendErr != nil {
			return appendErr
		}
		if err := tx.exec(`INSERT INTO wxapp_visit_pages SELECT * FROM staging_visit_pages
			ON CONFLICT (app_id, ref_date, page_path, source) DO UPDATE SET page = excluded.page,
				page_visit_pv = excluded.page_visit_pv, page_visit_uv = excluded.page_visit_uv,
				page_staytime_pv = excluded.page_staytime_pv, entrypage_pv = excluded.entrypage_pv,
				exitpage_pv = excluded.exitpage_pv, page_share_pv = excluded.page_share_pv,
				page_share_uv = excluded.page_share_uv, updated_at = excluded.updated_at`); err != nil {
			return fmt.Errorf("%w: upsert pages: %w", store.ErrUnavailable, err)
		}
		if err := tx.exec(`DELETE FROM staging_visit_pages`); err != nil {
			return fmt.Errorf("%w: clear staging: %w", store.ErrUnavailable, err)
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
			return fmt.Errorf("%w: find data source: %w", store.ErrUnavailable, err)
		}
		if found {
			return nil
		}
		out = ds
		out.CreatedAt = ds.CreatedAt.UTC()
		if err := tx.exec(`INSERT INTO data_sources VALUES ($1, $2, $3, $4, $5)`,
			ds.AppID, ds.ID, ds.Type, store.Nullable(ds.MerchantID), out.CreatedAt); err != nil {
			return fmt.Errorf("%w: insert data source: %w", store.ErrUnavailable, err)
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
		return nil, fmt.Errorf("list data sources of %s: %w: %w", appID, store.ErrUnavailable, err)
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
		return nil, fmt.Errorf("list data sources of %s: %w: %w", appID, store.ErrUnavailable, err)
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

// values is a row of any as the appender takes it.
func values(row []any) []driver.Value {
	out := make([]driver.Value, len(row))
	for i, v := range row {
		out[i] = v
	}
	return out
}
