package postgres

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// AddOrders writes the batches in one transaction; see store.OrderStore.
// Each round (store.Rounds) is a COPY into the session's staging table and
// one upsert whose RETURNING tells, by the call columns, what it did to
// each order; the call ids come from a sequence, so they are unique across
// nodes. Rows are written in key order, so that concurrent calls naming
// the same orders wait for each other instead of deadlocking.
func (s *Store) AddOrders(ctx context.Context, batches []*store.OrderBatch) ([]store.OrderResult, error) {
	results := make([]store.OrderResult, len(batches))
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT nextval('order_call_seq') FROM generate_series(1, $1)`, len(batches))
		if err != nil {
			return unavailable("number add_order calls", err)
		}
		calls, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return unavailable("number add_order calls", err)
		}
		next := func() int64 {
			c := calls[0]
			calls = calls[1:]
			return c
		}
		for _, r := range store.Rounds(batches, next) {
			if err := writeRound(ctx, tx, r, results); err != nil {
				return err
			}
		}
		// The paid hooks lock their users (Tx.LockUsers) one batch at a
		// time; taking every batch's users here first, in one sorted
		// go, keeps two transactions from taking them in crossed order.
		var users []store.UserKey
		for i, b := range batches {
			if b.OnPaid != nil {
				for _, p := range results[i].Paid {
					users = append(users, store.UserKey{App: p.AppID, OpenID: p.OpenID, UnionID: p.UnionID})
				}
			}
		}
		if err := (hookTx{tx}).LockUsers(ctx, users); err != nil {
			return err
		}
		return store.FinishOrders(ctx, hookTx{tx}, batches, results)
	})
	if err != nil {
		return nil, fmt.Errorf("add orders: %w", err)
	}
	return results, nil
}

func writeRound(ctx context.Context, tx pgx.Tx, r *store.Round, results []store.OrderResult) error {
	staged := make([][]any, len(r.Orders))
	for i, m := range r.Orders {
		staged[i] = store.OrderRow(m)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"ord_stage"}, store.OrderColumns, pgx.CopyFromRows(staged)); err != nil {
		return unavailable("stage orders", err)
	}
	rows, err := tx.Query(ctx, store.UpsertOrdersSQL("ord_stage"))
	if err != nil {
		return unavailable("upsert orders", err)
	}
	var created, regoods []*store.MergedOrder
	for rows.Next() {
		var (
			app, id                               string
			createdBy, updatedBy, goodsBy, paidBy *int64
			paidAt                                *time.Time
			payment                               int64
			open, union                           *string
		)
		if err := rows.Scan(&app, &id, &createdBy, &updatedBy, &goodsBy, &paidBy, &paidAt, &payment, &open, &union); err != nil {
			rows.Close()
			return unavailable("upsert orders", err)
		}
		m := r.ByKey[store.OrderKey{App: app, ID: id}]
		if m == nil {
			rows.Close()
			return fmt.Errorf("upsert returned unknown order %s/%s", app, id)
		}
		res := &results[m.Batch]
		switch {
		case *createdBy == m.Call:
			res.Created++
			created = append(created, m)
		case *updatedBy == m.Call:
			res.Updated++
			if *goodsBy == m.Call {
				regoods = append(regoods, m)
			}
		default:
			res.Stale++
		}
		if paidBy != nil && *paidBy == m.Call && paidAt != nil {
			res.Paid = append(res.Paid, m.PaidOrder(*paidAt, payment, deref(open), deref(union)))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return unavailable("upsert orders", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM ord_stage`); err != nil {
		return unavailable("clear staged orders", err)
	}
	// Every status reported, once each.
	hist := make([]store.HistoryRow, 0, len(r.History))
	for h := range r.History {
		hist = append(hist, h)
	}
	sort.Slice(hist, func(i, j int) bool {
		a, b := hist[i], hist[j]
		if a.App != b.App {
			return a.App < b.App
		}
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		if a.Status != b.Status {
			return a.Status < b.Status
		}
		return a.At < b.At
	})
	apps, ids, statuses, ats, recvs := make([]string, len(hist)), make([]string, len(hist)), make([]int64, len(hist)),
		make([]time.Time, len(hist)), make([]time.Time, len(hist))
	for i, h := range hist {
		apps[i], ids[i], statuses[i], ats[i], recvs[i] = h.App, h.ID, h.Status, time.UnixMicro(h.At).UTC(), h.Recv
	}
	if _, err := tx.Exec(ctx, `INSERT INTO order_status_history
		SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[], $5::timestamptz[])
		ON CONFLICT DO NOTHING`, apps, ids, statuses, ats, recvs); err != nil {
		return unavailable("insert status history", err)
	}
	// Goods lines follow the snapshot: written for new orders, rewritten
	// when an applied snapshot changed them.
	if len(regoods) > 0 {
		apps, ids := make([]string, len(regoods)), make([]string, len(regoods))
		for i, m := range regoods {
			apps[i], ids[i] = m.App, m.Snap.ExternalID
		}
		if _, err := tx.Exec(ctx, `DELETE FROM order_goods g USING unnest($1::text[], $2::text[]) AS u(a, i)
			WHERE g.app_id = u.a AND g.external_order_id = u.i`, apps, ids); err != nil {
			return unavailable("delete replaced goods", err)
		}
	}
	var goods [][]any
	for _, m := range append(created, regoods...) {
		for line := range m.Snap.Goods {
			goods = append(goods, store.GoodsRow(m.App, m.Snap.ExternalID, int32(line), &m.Snap.Goods[line]))
		}
	}
	if len(goods) > 0 {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"order_goods"}, store.GoodsColumns, pgx.CopyFromRows(goods)); err != nil {
			return unavailable("insert goods", err)
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// AddOrderSums upserts the merchant's daily totals in one transaction.
func (s *Store) AddOrderSums(ctx context.Context, appID string, sums []store.OrderSum, receivedAt time.Time, relay ...store.Relay) error {
	recv := receivedAt.UTC()
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if len(relay) > 0 {
			if err := (hookTx{tx}).AddRelays(ctx, relay); err != nil {
				return err
			}
		}
		for _, d := range sums {
			if _, err := tx.Exec(ctx, `INSERT INTO order_sums VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (app_id, ref_date) DO UPDATE SET give_order_fen = excluded.give_order_fen,
					give_order_num = excluded.give_order_num, payment_fen = excluded.payment_fen,
					payed_num = excluded.payed_num, raw = excluded.raw, updated_at = excluded.updated_at`,
				appID, pgDate(d.Day), d.GiveOrderFen, d.GiveOrderNum, d.PaymentFen, d.PayedNum, string(d.Raw), recv); err != nil {
				return unavailable("upsert sum of "+d.Day.Format(time.DateOnly), err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add %d order sums: %w", len(sums), err)
	}
	return nil
}

// AddVisitPages upserts page-visit rows in one transaction; the last row
// of a day and page wins.
func (s *Store) AddVisitPages(ctx context.Context, appID string, pages []store.VisitPage, receivedAt time.Time, relay ...store.Relay) error {
	type key struct {
		day  string
		path string
	}
	last := make(map[key]int, len(pages))
	var order []key
	for i, p := range pages {
		k := key{p.Day.Format(time.DateOnly), p.PagePath}
		if _, ok := last[k]; !ok {
			order = append(order, k)
		}
		last[k] = i
	}
	sort.Slice(order, func(i, j int) bool {
		if order[i].day != order[j].day {
			return order[i].day < order[j].day
		}
		return order[i].path < order[j].path
	})
	recv := receivedAt.UTC()
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if len(relay) > 0 {
			if err := (hookTx{tx}).AddRelays(ctx, relay); err != nil {
				return err
			}
		}
		b := &pgx.Batch{}
		for _, k := range order {
			p := pages[last[k]]
			b.Queue(`INSERT INTO wxapp_visit_pages VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
				ON CONFLICT (app_id, ref_date, page_path, source) DO UPDATE SET page = excluded.page,
					page_visit_pv = excluded.page_visit_pv, page_visit_uv = excluded.page_visit_uv,
					page_staytime_pv = excluded.page_staytime_pv, entrypage_pv = excluded.entrypage_pv,
					exitpage_pv = excluded.exitpage_pv, page_share_pv = excluded.page_share_pv,
					page_share_uv = excluded.page_share_uv, updated_at = excluded.updated_at`,
				appID, pgDate(p.Day), p.PagePath, p.Page, p.VisitPV, p.VisitUV, p.StayTimePV,
				p.EntryPV, p.ExitPV, p.SharePV, p.ShareUV, recv, store.SourcePushed)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return unavailable("upsert pages", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add %d visit pages: %w", len(pages), err)
	}
	return nil
}

// AddDataSource stores ds unless the app has one of its type (or its id).
// Nodes adding the same type at once: the unique key keeps the first, and
// the others read it.
func (s *Store) AddDataSource(ctx context.Context, ds store.DataSource) (store.DataSource, bool, error) {
	var out store.DataSource
	created := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO data_sources VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
			ds.AppID, ds.ID, ds.Type, store.Nullable(ds.MerchantID), ds.CreatedAt.UTC())
		if err != nil {
			return unavailable("insert data source", err)
		}
		if created = tag.RowsAffected() == 1; created {
			out = ds
			out.CreatedAt = ds.CreatedAt.UTC()
			return nil
		}
		var merchant *string
		out = store.DataSource{AppID: ds.AppID}
		if err := tx.QueryRow(ctx, `SELECT id, type, merchant_id, created_at FROM data_sources
			WHERE app_id = $1 AND (type = $2 OR id = $3) ORDER BY type = $2 DESC LIMIT 1`, ds.AppID, ds.Type, ds.ID).
			Scan(&out.ID, &out.Type, &merchant, &out.CreatedAt); err != nil {
			return unavailable("find data source", err)
		}
		out.MerchantID, out.CreatedAt = deref(merchant), out.CreatedAt.UTC()
		return nil
	})
	if err != nil {
		return store.DataSource{}, false, fmt.Errorf("add data source of type %d for app %s: %w", ds.Type, ds.AppID, err)
	}
	return out, created, nil
}

// DataSources lists the app's data sources by type.
func (s *Store) DataSources(ctx context.Context, appID string) ([]store.DataSource, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, type, merchant_id, created_at FROM data_sources WHERE app_id = $1 ORDER BY type, id`, appID)
	if err != nil {
		return nil, fmt.Errorf("list data sources of %s: %w", appID, unavailable("query", err))
	}
	defer rows.Close()
	var out []store.DataSource
	for rows.Next() {
		ds := store.DataSource{AppID: appID}
		var merchant *string
		if err := rows.Scan(&ds.ID, &ds.Type, &merchant, &ds.CreatedAt); err != nil {
			return nil, fmt.Errorf("list data sources of %s: %w", appID, err)
		}
		ds.MerchantID, ds.CreatedAt = deref(merchant), ds.CreatedAt.UTC()
		out = append(out, ds)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list data sources of %s: %w", appID, unavailable("query", err))
	}
	return out, nil
}

// pgDate is the merchant's day (00:00 UTC of the date) as a date value.
func pgDate(t time.Time) string { return t.UTC().Format(time.DateOnly) }
