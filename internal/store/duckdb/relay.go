package duckdb

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// AddRelays implements store.Tx with the appender, which costs a fraction
// of an INSERT's planning on every group commit: the rows take their seqs
// from the sequence first, in the order of rs.
func (h hookTx) AddRelays(ctx context.Context, rs []store.Relay) error {
	if len(rs) == 0 {
		return nil
	}
	seqs := make([]int64, 0, len(rs))
	if err := h.t.query(`SELECT nextval('youshu_relay_seq') FROM range($1) ORDER BY 1`, func(v []driver.Value) error {
		seqs = append(seqs, toInt64(v[0]))
		return nil
	}, int64(len(rs))); err != nil {
		return fmt.Errorf("%w: number %d relay rows: %w", store.ErrUnavailable, len(rs), err)
	}
	a, err := h.t.appender("youshu_relay")
	if err != nil {
		return fmt.Errorf("%w: relay appender: %w", store.ErrUnavailable, err)
	}
	appendErr := func() error {
		for i := range rs {
			r := &rs[i]
			// The table's columns in order: seq, the added columns
			// (store.RelayValues), then the delivery state, unset.
			vals := append([]driver.Value{seqs[i]}, relayValues(r)...)
			vals = append(vals, nil, nil, nil, nil, nil)
			if err := a.AppendRow(vals...); err != nil {
				return fmt.Errorf("append relay row: %w", err)
			}
		}
		return nil
	}()
	if err := a.Close(); err != nil && appendErr == nil {
		appendErr = fmt.Errorf("%w: flush relay rows: %w", store.ErrUnavailable, err)
	}
	return appendErr
}

// relayValues are store.RelayValues as driver values.
func relayValues(r *store.Relay) []driver.Value {
	vs := store.RelayValues(r)
	out := make([]driver.Value, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

// ClaimRelays implements store.RelayStore in three statements: find the
// due rows reading narrow columns only, lease them by seq, then read
// them. DuckDB runs the one-statement claim of the shared SQL by joining
// the table with itself, bodies and all, which took the memory limit on
// a table holding a week of delivered uploads.
func (s *Store) ClaimRelays(ctx context.Context, app, holder string, now time.Time, lease time.Duration, limit int) ([]store.ClaimedRelay, error) {
	var out []store.ClaimedRelay
	err := s.inTx(ctx, func(tx *rawTx) error {
		out = nil
		var seqs []int64
		if err := tx.query(store.DueRelaysSQL, func(v []driver.Value) error {
			seqs = append(seqs, toInt64(v[0]))
			return nil
		}, app, now.UTC(), int64(limit)); err != nil {
			return err
		}
		if len(seqs) == 0 {
			return nil
		}
		in := seqList(seqs)
		if err := tx.exec(`UPDATE youshu_relay SET claimed_by = $1, claimed_until = $2 WHERE seq IN (`+in+`)`,
			holder, now.Add(lease).UTC()); err != nil {
			return err
		}
		return tx.query(`SELECT seq, app_id, kind, ref_id, body, encrypted, encrypt_key, received_at, attempts
			FROM youshu_relay WHERE seq IN (`+in+`)`, func(v []driver.Value) error {
			c := store.ClaimedRelay{Seq: toInt64(v[0]), Attempts: toInt64(v[8])}
			c.AppID, _ = v[1].(string)
			c.Kind, _ = v[2].(string)
			c.RefID, _ = v[3].(string)
			c.Body, _ = v[4].(string)
			c.Encrypted, _ = v[5].(bool)
			c.EncryptKey, _ = v[6].(string)
			c.ReceivedAt = timeOf(v[7])
			out = append(out, c)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("%w: claim relay rows of %s: %w", store.ErrUnavailable, app, err)
	}
	sortClaimed(out)
	return out, nil
}

// seqList writes seqs as a SQL list of integer literals, which DuckDB
// looks up through the primary key's index (integers only: nothing to
// quote).
func seqList(seqs []int64) string {
	s := make([]string, len(seqs))
	for i, q := range seqs {
		s[i] = strconv.FormatInt(q, 10)
	}
	return strings.Join(s, ",")
}

// sortClaimed puts claimed rows in the order they were added: RETURNING
// gives no order.
func sortClaimed(cs []store.ClaimedRelay) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].Seq < cs[j-1].Seq; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// SettleRelays implements store.RelayStore.
func (s *Store) SettleRelays(ctx context.Context, holder string, now time.Time, ss []store.RelaySettlement) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx *rawTx) error {
		n = 0
		for _, st := range ss {
			if len(st.Seqs) == 0 {
				continue
			}
			q, args, err := store.SettleRelaysSQL(holder, now, st, func(*[]any) string { return "seq IN (" + seqList(st.Seqs) + ")" })
			if err != nil {
				return err
			}
			if err := tx.query(q+` RETURNING seq`, func([]driver.Value) error { n++; return nil }, args...); err != nil {
				return fmt.Errorf("%w: settle %d relay rows as %s: %w", store.ErrUnavailable, len(st.Seqs), st.Status, err)
			}
		}
		return nil
	})
	return n, err
}

// ReplayRelays implements store.RelayStore.
func (s *Store) ReplayRelays(ctx context.Context, app string, now time.Time) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx *rawTx) error {
		return tx.query(store.ReplayRelaysSQL+` RETURNING seq`, func([]driver.Value) error { n++; return nil }, app, now.UTC())
	})
	if err != nil {
		return 0, fmt.Errorf("%w: replay dead relay rows of %s: %w", store.ErrUnavailable, app, err)
	}
	return n, nil
}

// PruneRelays implements store.RelayStore.
func (s *Store) PruneRelays(ctx context.Context, app string, before time.Time) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx *rawTx) error {
		return tx.query(store.PruneRelaysSQL+` RETURNING seq`, func([]driver.Value) error { n++; return nil }, app, before.UTC())
	})
	if err != nil {
		return 0, fmt.Errorf("%w: prune delivered relay rows of %s: %w", store.ErrUnavailable, app, err)
	}
	return n, nil
}

// RelayCounts implements store.RelayStore.
func (s *Store) RelayCounts(ctx context.Context) ([]store.RelayCount, error) {
	return store.RelayCounts(ctx, s.db)
}
