package duckdb

import (
	"bytes"
	"compress/flate"
	"context"
	"database/sql/driver"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// AddRelays implements store.Tx with the appender, which costs a fraction
// of an INSERT's planning on every group commit. The rows are numbered in
// the order of rs by a counter kept under the write lock, so seqs also
// follow the commits: a query for numbers from the sequence in every
// flush cost the SDK's acknowledgements a third of their median time at
// a steady 200 uploads/s (BENCHMARKS.md). The counter starts past every
// stored row; the number of a row pruned before a restart may be given
// again, which nothing minds: a pruned row was delivered long before.
func (h hookTx) AddRelays(ctx context.Context, rs []store.Relay) error {
	if len(rs) == 0 {
		return nil
	}
	if *h.t.relaySeq == 0 {
		if err := h.t.query(`SELECT coalesce(max(seq), 0) FROM youshu_relay`,
			func(v []driver.Value) error {
				*h.t.relaySeq = toInt64(v[0])
				return nil
			}); err != nil {
			return fmt.Errorf("%w: number relay rows: %w", store.ErrUnavailable, err)
		}
	}
	seqs := make([]int64, len(rs))
	for i := range seqs {
		*h.t.relaySeq++
		seqs[i] = *h.t.relaySeq
	}
	a, err := h.t.appender("youshu_relay")
	if err != nil {
		return fmt.Errorf("%w: relay appender: %w", store.ErrUnavailable, err)
	}
	appendErr := func() error {
		for i := range rs {
			r := &rs[i]
			// The table's columns in order: seq, the added columns
			// (store.RelayValues) with the body left empty, the delivery
			// state, unset, then the body compressed.
			z, err := deflate(r.Body)
			if err != nil {
				return fmt.Errorf("compress relay body: %w", err)
			}
			bare := *r
			bare.Body = ""
			vals := append([]driver.Value{seqs[i]}, relayValues(&bare)...)
			vals = append(vals, nil, nil, nil, nil, nil, z)
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

// relayLeases are the embedded store's leases on relay rows, kept in
// memory: one process at a time opens a DuckDB file, so no other node
// needs to see them, and a claim is then a read. Written leases made
// every claim a write transaction that the SDK's group commit queued
// behind (BENCHMARKS.md). A restart forgets them, which frees the rows at
// once, as the end of their leases would.
type relayLeases struct {
	mu sync.Mutex
	m  map[int64]relayLease // by seq
}

type relayLease struct {
	holder string
	until  time.Time
}

// ClaimRelays implements store.RelayStore: the due rows not leased to
// anyone, up to limit, leased to holder in memory, then read. Claims take
// turns, so two holders never share a row.
func (s *Store) ClaimRelays(ctx context.Context, app, holder string, now time.Time, lease time.Duration, limit int) ([]store.ClaimedRelay, error) {
	s.leases.mu.Lock()
	defer s.leases.mu.Unlock()
	if s.leases.m == nil {
		s.leases.m = map[int64]relayLease{}
	}
	busy := 0
	for seq, l := range s.leases.m {
		switch {
		case l.until.After(now):
			busy++
		case now.Sub(l.until) > time.Hour:
			// Its holder gave up on it long ago: forget it, so the map
			// stays small (a settle that late finds no lease).
			delete(s.leases.m, seq)
		}
	}
	// The due rows include leased ones (the table does not know them):
	// ask for as many more.
	var seqs []int64
	err := s.readQuery(ctx, store.DueRelaysSQL, func(v []driver.Value) error {
		seq := toInt64(v[0])
		if l, ok := s.leases.m[seq]; (!ok || !l.until.After(now)) && len(seqs) < limit {
			seqs = append(seqs, seq)
		}
		return nil
	}, app, now.UTC(), int64(limit+busy))
	if err != nil {
		return nil, fmt.Errorf("%w: claim relay rows of %s: %w", store.ErrUnavailable, app, err)
	}
	if len(seqs) == 0 {
		return nil, nil
	}
	var out []store.ClaimedRelay
	err = s.readQuery(ctx, `SELECT seq, app_id, kind, ref_id, body, encrypted, encrypt_key, received_at, attempts, body_z
		FROM youshu_relay WHERE seq BETWEEN $1 AND $2 AND seq IN (`+seqList(seqs)+`)`, func(v []driver.Value) error { // the range skips other row groups
		c := store.ClaimedRelay{Seq: toInt64(v[0]), Attempts: toInt64(v[8])}
		c.AppID, _ = v[1].(string)
		c.Kind, _ = v[2].(string)
		c.RefID, _ = v[3].(string)
		c.Body, _ = v[4].(string)
		if z, ok := v[9].([]byte); ok {
			body, err := inflate(z)
			if err != nil {
				return fmt.Errorf("relay row %d: %w", c.Seq, err)
			}
			c.Body = body
		}
		c.Encrypted, _ = v[5].(bool)
		c.EncryptKey, _ = v[6].(string)
		c.ReceivedAt = timeOf(v[7])
		out = append(out, c)
		return nil
	}, slices.Min(seqs), slices.Max(seqs))
	if err != nil {
		return nil, fmt.Errorf("%w: read claimed relay rows of %s: %w", store.ErrUnavailable, app, err)
	}
	for _, c := range out {
		s.leases.m[c.Seq] = relayLease{holder: holder, until: now.Add(lease)}
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

// SettleRelays implements store.RelayStore, fenced by the leases in
// memory: only rows whose lease holder still has (ended or not, as long
// as no one claimed them since) are settled.
func (s *Store) SettleRelays(ctx context.Context, holder string, now time.Time, ss []store.RelaySettlement) (int, error) {
	s.leases.mu.Lock()
	owned := make([][]int64, len(ss))
	for i, st := range ss {
		for _, seq := range st.Seqs {
			if l, ok := s.leases.m[seq]; ok && l.holder == holder {
				owned[i] = append(owned[i], seq)
			}
		}
	}
	s.leases.mu.Unlock()
	n := 0
	err := s.inTx(ctx, func(tx *rawTx) error {
		n = 0
		for i, st := range ss {
			if len(owned[i]) == 0 {
				continue
			}
			// The range lets the scan skip the row groups of other seqs.
			q, args, err := store.SettleRelaysSQL(now, st, func(*[]any) string {
				return fmt.Sprintf("seq BETWEEN %d AND %d AND seq IN (%s)", slices.Min(owned[i]), slices.Max(owned[i]), seqList(owned[i]))
			})
			if err != nil {
				return err
			}
			if err := tx.query(q+` RETURNING seq`, func([]driver.Value) error { n++; return nil }, args...); err != nil {
				return fmt.Errorf("%w: settle %d relay rows as %s: %w", store.ErrUnavailable, len(owned[i]), st.Status, err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	s.leases.mu.Lock()
	for _, seqs := range owned {
		for _, seq := range seqs {
			if l, ok := s.leases.m[seq]; ok && l.holder == holder {
				delete(s.leases.m, seq)
			}
		}
	}
	s.leases.mu.Unlock()
	return n, nil
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

// readQuery runs q on the read connections (not the write lock) and hands
// fn each row's values.
func (s *Store) readQuery(ctx context.Context, q string, fn func([]driver.Value) error, args ...any) error {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	row := make([]driver.Value, len(cols))
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		for i, v := range vals {
			row[i] = v
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return rows.Err()
}

// deflaters are reused: a flate writer allocates about a megabyte.
var deflaters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed) // BestSpeed is a valid level: no error
	return w
}}

// deflate compresses a relay body (an SDK upload's JSON shrinks about
// sixfold) for body_z.
func deflate(body string) ([]byte, error) {
	var b bytes.Buffer
	w := deflaters.Get().(*flate.Writer)
	defer deflaters.Put(w)
	w.Reset(&b)
	if _, err := io.WriteString(w, body); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// inflate is deflate's inverse.
func inflate(z []byte) (string, error) {
	r := flate.NewReader(bytes.NewReader(z))
	defer r.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, r); err != nil {
		return "", fmt.Errorf("decompress body: %w", err)
	}
	return b.String(), nil
}
