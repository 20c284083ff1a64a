package web

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
	"time"
)

// sessions are the logged-in browsers, kept in memory: a restart logs
// everyone out, which is acceptable for a dashboard and keeps session ids
// out of the store. Behind several nodes, route a user to one node or log
// in on each.
type sessions struct {
	mu   sync.Mutex
	byID map[string]session
	ttl  time.Duration
	now  func() time.Time
}

type session struct {
	user    string
	expires time.Time
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{byID: map[string]session{}, ttl: ttl, now: now}
}

// create starts a session for user and returns its id: 32 random bytes,
// so ids cannot be guessed.
func (s *sessions) create(user string) string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather than return weak bytes)
	id := base64.RawURLEncoding.EncodeToString(b[:])
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	// Logins are rare: sweeping here bounds the map without a goroutine.
	for k, v := range s.byID {
		if !now.Before(v.expires) {
			delete(s.byID, k)
		}
	}
	s.byID[id] = session{user: user, expires: now.Add(s.ttl)}
	return id
}

// user returns who a session id belongs to, if it exists and has not
// expired.
func (s *sessions) user(id string) (string, bool) {
	if id == "" {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.byID[id]
	if !ok {
		return "", false
	}
	if !s.now().Before(v.expires) {
		delete(s.byID, id)
		return "", false
	}
	return v.user, true
}

// end forgets a session.
func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}
