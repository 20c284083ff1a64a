package postgres

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// AddRelays implements store.Tx: one COPY, in order, so seq follows rs
// (a multi-row INSERT of the same rows cost more to plan than to write).
func (h hookTx) AddRelays(ctx context.Context, rs []store.Relay) error {
	if len(rs) == 0 {
		return nil
	}
	rows := make([][]any, len(rs))
	for i := range rs {
		rows[i] = store.RelayValues(&rs[i])
	}
	if _, err := h.tx.CopyFrom(ctx, pgx.Identifier{"youshu_relay"}, store.RelayColumns, pgx.CopyFromRows(rows)); err != nil {
		return unavailable("copy relay rows", err)
	}
	return nil
}

// ClaimRelays implements store.RelayStore: FOR UPDATE SKIP LOCKED makes
// concurrent claims on any node take disjoint rows, as ClaimConversions.
func (s *Store) ClaimRelays(ctx context.Context, app, holder string, now time.Time, lease time.Duration, limit int) ([]store.ClaimedRelay, error) {
	var out []store.ClaimedRelay
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		out = out[:0]
		rows, err := tx.Query(ctx, store.ClaimRelaysSQL("FOR UPDATE OF r SKIP LOCKED"),
			app, now.UTC(), limit, holder, now.Add(lease).UTC())
		if err != nil {
			return unavailable("claim relay rows of "+app, err)
		}
		defer rows.Close()
		for rows.Next() {
			var c store.ClaimedRelay
			if err := rows.Scan(&c.Seq, &c.AppID, &c.Kind, &c.RefID, &c.Body, &c.Encrypted, &c.EncryptKey, &c.ReceivedAt, &c.Attempts); err != nil {
				return unavailable("claim relay rows of "+app, err)
			}
			c.ReceivedAt = c.ReceivedAt.UTC()
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	// RETURNING gives no order; deliveries go in the order rows were added.
	slices.SortFunc(out, func(a, b store.ClaimedRelay) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

// SettleRelays implements store.RelayStore.
func (s *Store) SettleRelays(ctx context.Context, holder string, now time.Time, ss []store.RelaySettlement) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		n = 0
		for _, st := range ss {
			if len(st.Seqs) == 0 {
				continue
			}
			seqs := slices.Clone(st.Seqs)
			slices.Sort(seqs)
			q, args, err := store.SettleRelaysSQL(now, st, func(args *[]any) string {
				*args = append(*args, holder, seqs)
				return "claimed_by = $" + strconv.Itoa(len(*args)-1) + " AND seq = ANY($" + strconv.Itoa(len(*args)) + ")"
			})
			if err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, q, args...)
			if err != nil {
				return unavailable("settle relay rows as "+st.Status, err)
			}
			n += int(tag.RowsAffected())
		}
		return nil
	})
	return n, err
}

// ReplayRelays implements store.RelayStore.
func (s *Store) ReplayRelays(ctx context.Context, app string, now time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, store.ReplayRelaysSQL, app, now.UTC())
	if err != nil {
		return 0, unavailable("replay dead relay rows of "+app, err)
	}
	return int(tag.RowsAffected()), nil
}

// PruneRelays implements store.RelayStore.
func (s *Store) PruneRelays(ctx context.Context, app string, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, store.PruneRelaysSQL, app, before.UTC())
	if err != nil {
		return 0, unavailable("prune delivered relay rows of "+app, err)
	}
	return int(tag.RowsAffected()), nil
}

// RelayCounts implements store.RelayStore.
func (s *Store) RelayCounts(ctx context.Context) ([]store.RelayCount, error) {
	return store.RelayCounts(ctx, s.db)
}
