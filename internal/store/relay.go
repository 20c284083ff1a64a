package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// The kinds of relayed data: an SDK upload, or one of the data-api's
// accepted calls, named by its path under /data-api/v1.
const (
	RelaySDK = "sdk"
)

// The states of a row of the relay outbox.
const (
	RelayPending   = "pending"
	RelayDelivered = "delivered"
	RelayDead      = "dead"
)

// Relay is one accepted piece of data to forward to the real Youshu
// (issue 13), written in the transaction that stores the data itself, so
// what was acknowledged is relayed and what was refused is not.
type Relay struct {
	AppID string
	Kind  string // RelaySDK or a data-api path such as "order/add_order"
	// RefID orders rows: rows of one app with the same non-empty RefID (an
	// order id) are delivered in the order they were added.
	RefID string
	// Body is what the client sent (an SDK upload as sent, encrypted or
	// not) or the canonical body of a data-api call.
	Body       string
	Encrypted  bool   // the SDK body is encrypted (encrypt: true)
	EncryptKey string // its Content-Encrypting-Key header
	ReceivedAt time.Time
}

// ClaimedRelay is a relay row leased for one delivery attempt.
type ClaimedRelay struct {
	Seq int64 // the order rows were added in
	Relay
	Attempts int64
}

// RelaySettlement is the outcome of one delivery attempt of some rows.
type RelaySettlement struct {
	Seqs   []int64
	Status string    // RelayDelivered, RelayPending (retry) or RelayDead
	Next   time.Time // retry: when
	Err    string    // the upstream's answer or the network error
}

// RelayCount is the number of an app's relay rows of one kind in one
// state, and the oldest one's receive time (the lag of pending rows).
type RelayCount struct {
	App, Kind, Status string
	N                 int64
	OldestReceived    time.Time
}

// RelayStore is the relay outbox outside of the transactions that add to
// it (Tx.AddRelays). Its claims, leases and fencing are those of the
// conversion outbox (OutboxStore).
type RelayStore interface {
	// ClaimRelays leases to holder, until now+lease, up to limit of app's
	// pending rows due at now that no running lease holds, in the order
	// they were added. A row whose RefID is shared by an earlier pending
	// row of app is not claimed: an order's update never overtakes its
	// creation, not even on another node.
	ClaimRelays(ctx context.Context, app, holder string, now time.Time, lease time.Duration, limit int) ([]ClaimedRelay, error)
	// SettleRelays records outcomes of holder's deliveries, fenced like
	// SettleConversions; it returns how many rows it settled.
	SettleRelays(ctx context.Context, holder string, now time.Time, ss []RelaySettlement) (int, error)
	// ReplayRelays makes app's dead rows pending again, due at now, and
	// returns how many.
	ReplayRelays(ctx context.Context, app string, now time.Time) (int, error)
	// RelayCounts counts every app's rows by kind and state.
	RelayCounts(ctx context.Context) ([]RelayCount, error)
	// PruneRelays deletes app's rows delivered before before (their
	// bodies are a copy of data the store keeps anyway) and returns how
	// many. Pending and dead rows stay whatever their age.
	PruneRelays(ctx context.Context, app string, before time.Time) (int, error)
}

// The relay outbox's statements, the same in both dialects but for the
// claim's row locks and the "seq is one of" condition.

// ClaimRelaysSQL leases due rows: $1 app, $2 now, $3 limit, $4 holder, $5
// lease end. lock is appended to the inner SELECT ("FOR UPDATE SKIP
// LOCKED" on PostgreSQL).
func ClaimRelaysSQL(lock string) string {
	return `UPDATE youshu_relay SET claimed_by = $4, claimed_until = $5
		WHERE seq IN (SELECT r.seq FROM youshu_relay r
			WHERE r.app_id = $1 AND r.status = 'pending' AND r.next_attempt_at <= $2
			  AND (r.claimed_until IS NULL OR r.claimed_until <= $2)
			  AND (r.ref_id = '' OR NOT EXISTS (SELECT 1 FROM youshu_relay e
				WHERE e.app_id = r.app_id AND e.ref_id = r.ref_id AND e.seq < r.seq AND e.status = 'pending'))
			ORDER BY r.seq LIMIT $3 ` + lock + `)
		RETURNING seq, app_id, kind, ref_id, body, encrypted, encrypt_key, received_at, attempts`
}

// DueRelaysSQL lists the seqs ClaimRelaysSQL would lease ($1 app, $2
// now, $3 limit), reading no body, for a store that leases them by seq
// in a statement of its own. The order rule is written as "the first
// pending row of its ref" rather than NOT EXISTS: DuckDB turns the
// correlated NOT EXISTS into a join of every pending row with every
// other row of the same ref_id, and the SDK's rows all share the empty
// one, so a backlog of n uploads cost n² pairs (a few thousand took the
// memory limit).
const DueRelaysSQL = `WITH firsts AS (
		SELECT min(seq) AS seq FROM youshu_relay
		WHERE app_id = $1 AND status = 'pending' AND ref_id <> ''
		GROUP BY ref_id)
	SELECT r.seq FROM youshu_relay r
	WHERE r.app_id = $1 AND r.status = 'pending' AND r.next_attempt_at <= $2
	  AND (r.claimed_until IS NULL OR r.claimed_until <= $2)
	  AND (r.ref_id = '' OR r.seq IN (SELECT seq FROM firsts))
	ORDER BY r.seq LIMIT $3`

// SettleRelaysSQL is the UPDATE recording s for pending rows; cond adds
// its arguments to args and returns the condition naming the rows (their
// seqs, and the holder's fence where leases are stored).
func SettleRelaysSQL(now time.Time, s RelaySettlement, cond func(args *[]any) string) (string, []any, error) {
	args := []any{now.UTC()}
	var set string
	switch s.Status {
	case RelayDelivered:
		set = `status = 'delivered', delivered_at = $1, last_attempt_at = $1, attempts = attempts + 1, claimed_until = NULL`
	case RelayPending:
		args = append(args, s.Next.UTC(), s.Err)
		set = `last_attempt_at = $1, attempts = attempts + 1, claimed_until = NULL, next_attempt_at = $2, last_error = $3`
	case RelayDead:
		args = append(args, s.Err)
		set = `status = 'dead', last_attempt_at = $1, attempts = attempts + 1, claimed_until = NULL, last_error = $2`
	default:
		return "", nil, fmt.Errorf("settle relay rows: unknown state %q", s.Status)
	}
	return `UPDATE youshu_relay SET ` + set + ` WHERE status = 'pending' AND ` + cond(&args), args, nil
}

// ReplayRelaysSQL revives app's ($1) dead rows, due at $2.
const ReplayRelaysSQL = `UPDATE youshu_relay SET status = 'pending', next_attempt_at = $2,
	claimed_until = NULL, claimed_by = NULL WHERE app_id = $1 AND status = 'dead'`

// PruneRelaysSQL deletes app's ($1) rows delivered before $2.
const PruneRelaysSQL = `DELETE FROM youshu_relay WHERE app_id = $1 AND status = 'delivered' AND delivered_at < $2`

// RelayCountsSQL counts rows by app, kind and state.
const RelayCountsSQL = `SELECT app_id, kind, status, count(*), min(received_at) FROM youshu_relay
	GROUP BY app_id, kind, status ORDER BY app_id, kind, status`

// RelayColumns are the columns an added row sets, in the order of
// RelayValues.
var RelayColumns = strings.Split("app_id,kind,ref_id,body,encrypted,encrypt_key,received_at,status,attempts,next_attempt_at", ",")

// RelayValues are r's values for RelayColumns: pending, due at once.
func RelayValues(r *Relay) []any {
	return []any{r.AppID, r.Kind, r.RefID, r.Body, r.Encrypted, r.EncryptKey, r.ReceivedAt.UTC(), RelayPending, int64(0), r.ReceivedAt.UTC()}
}

// RelayCounts implements RelayStore.RelayCounts over db.
func RelayCounts(ctx context.Context, db *sql.DB) ([]RelayCount, error) {
	rows, err := db.QueryContext(ctx, RelayCountsSQL)
	if err != nil {
		return nil, fmt.Errorf("%w: count relay rows: %w", ErrUnavailable, err)
	}
	defer rows.Close()
	var out []RelayCount
	for rows.Next() {
		var c RelayCount
		if err := rows.Scan(&c.App, &c.Kind, &c.Status, &c.N, &c.OldestReceived); err != nil {
			return nil, fmt.Errorf("count relay rows: %w", err)
		}
		c.OldestReceived = c.OldestReceived.UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%w: count relay rows: %w", ErrUnavailable, err)
	}
	return out, nil
}

// BatchRelays are the relay rows of the batches that carry one, in order:
// the stores add them in WriteEvents' transaction, before anything that
// skips a flush with no new events, so a re-sent or all-quarantined
// upload that was acknowledged is relayed all the same.
func BatchRelays(batches []*EventBatch) []Relay {
	var out []Relay
	for _, b := range batches {
		if b.Relay != nil {
			out = append(out, *b.Relay)
		}
	}
	return out
}
