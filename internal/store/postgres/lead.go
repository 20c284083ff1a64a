package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// leader holds this process's roles: session advisory locks taken on one
// dedicated connection, never one of the pool's. A session lock belongs to
// the connection that took it (one taken on pooled connection A cannot be
// released from pooled connection B), and it lasts exactly as long as
// that connection: when the process dies or its link breaks, the server
// ends the session and another process takes the role on its next try.
type leader struct {
	mu    sync.Mutex
	cfg   *pgx.ConnConfig
	conn  *pgx.Conn
	roles map[string]bool
}

// Lead implements store.StateStore: it checks that the dedicated
// connection still lives (a holder whose link died steps down at once, so
// two processes never both believe they hold a role for longer than one
// check), then tries the role's lock if it does not hold it yet.
func (s *Store) Lead(ctx context.Context, role string) (bool, error) {
	l := &s.lead
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := l.conn.Ping(pctx)
		cancel()
		if err != nil {
			l.dropLocked()
		}
	}
	if l.roles[role] {
		return true, nil
	}
	if l.conn == nil {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err := pgx.ConnectConfig(cctx, l.cfg)
		cancel()
		if err != nil {
			return false, unavailable("connect the leadership session", err)
		}
		l.conn, l.roles = conn, map[string]bool{}
	}
	var got bool
	if err := l.conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, "shuyuan role "+role).Scan(&got); err != nil {
		l.dropLocked()
		return false, unavailable(fmt.Sprintf("try the role %q", role), err)
	}
	if got {
		l.roles[role] = true
	}
	return got, nil
}

// Resign implements store.StateStore: it releases every role before
// closing the session. Closing alone would release them too, but the
// server ends the backend after the client hangs up, so another node
// trying at once could still find a role taken.
func (s *Store) Resign() {
	s.lead.mu.Lock()
	defer s.lead.mu.Unlock()
	if c := s.lead.conn; c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c.Exec(ctx, `SELECT pg_advisory_unlock_all()`) //nolint:errcheck // closing the session releases them anyway
		cancel()
	}
	s.lead.dropLocked()
}

func (l *leader) dropLocked() {
	if l.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		l.conn.Close(ctx) //nolint:errcheck // the session ends either way
		cancel()
	}
	l.conn, l.roles = nil, nil
}
