package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// sessions are the logged-in browsers, kept in the store: a restart keeps
// them, and every node behind a load balancer knows them — log in through
// one, browse through another, log out everywhere. The store holds the
// SHA-256 of each id, so reading its tables does not let one log in.
type sessions struct {
	st  store.StateStore
	ttl time.Duration
	now func() time.Time
}

func newSessions(st store.StateStore, ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{st: st, ttl: ttl, now: now}
}

func idHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// create starts a session for user and returns its id: 32 random bytes,
// so ids cannot be guessed.
func (s *sessions) create(ctx context.Context, user string) (string, error) {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather than return weak bytes)
	id := base64.RawURLEncoding.EncodeToString(b[:])
	now := s.now()
	if err := s.st.CreateSession(ctx, idHash(id), user, now.Add(s.ttl), now); err != nil {
		return "", fmt.Errorf("start a dashboard session: %w", err)
	}
	return id, nil
}

// user returns who a session id belongs to, if it exists and has not
// expired.
func (s *sessions) user(ctx context.Context, id string) (string, bool, error) {
	if id == "" {
		return "", false, nil
	}
	return s.st.SessionUser(ctx, idHash(id), s.now())
}

// end forgets a session, on every node.
func (s *sessions) end(ctx context.Context, id string) error {
	return s.st.EndSession(ctx, idHash(id))
}
