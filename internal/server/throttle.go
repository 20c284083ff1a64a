package server

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// Throttle slows down repeated failures per key (a client's address, a
// login name, a device): the first Free failures of a key cost nothing
// (typos); each later one makes the key wait Base, doubled per further
// failure, at most Max, before its next attempt. A key's failures are
// forgotten Forget after its last one. The counts live in the process:
// behind several nodes each counts its own, which multiplies the allowed
// rate by the number of nodes.
type Throttle struct {
	Free              int
	Base, Max, Forget time.Duration

	mu   sync.Mutex
	now  func() time.Time
	keys map[string]*strikes
}

// maxThrottleKeys bounds the memory a spray of keys can take; past it the
// key that failed longest ago is dropped.
const maxThrottleKeys = 10000

type strikes struct {
	failures int
	last     time.Time // the last failure
	until    time.Time // no attempt before
}

// NewThrottle returns a throttle on the clock now (nil: time.Now).
func NewThrottle(now func() time.Time, free int, base, maxWait, forget time.Duration) *Throttle {
	if now == nil {
		now = time.Now
	}
	return &Throttle{Free: free, Base: base, Max: maxWait, Forget: forget, now: now, keys: map[string]*strikes{}}
}

// Wait is how long the keys must still wait before an attempt; 0: none.
func (t *Throttle) Wait(keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var wait time.Duration
	for _, k := range keys {
		s, ok := t.keys[k]
		if !ok {
			continue
		}
		if now.Sub(s.last) >= t.Forget {
			delete(t.keys, k)
			continue
		}
		wait = max(wait, s.until.Sub(now))
	}
	return wait
}

// Fail counts a failed attempt against the keys.
func (t *Throttle) Fail(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for _, k := range keys {
		s, ok := t.keys[k]
		if !ok || now.Sub(s.last) >= t.Forget {
			if !ok && len(t.keys) >= maxThrottleKeys {
				t.evict(now)
			}
			s = &strikes{}
			t.keys[k] = s
		}
		s.failures++
		s.last = now
		if n := s.failures - t.Free; n > 0 {
			wait := t.Max
			if n <= 16 {
				wait = min(t.Base<<(n-1), t.Max)
			}
			s.until = now.Add(wait)
		}
	}
}

// evict makes room for a key: the forgotten ones go, else the one that
// failed longest ago.
func (t *Throttle) evict(now time.Time) {
	var oldest string
	for k, s := range t.keys {
		if now.Sub(s.last) >= t.Forget {
			delete(t.keys, k)
		} else if oldest == "" || s.last.Before(t.keys[oldest].last) {
			oldest = k
		}
	}
	if len(t.keys) >= maxThrottleKeys {
		delete(t.keys, oldest)
	}
}

// Clear forgets the keys' failures (after a success).
func (t *Throttle) Clear(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		delete(t.keys, k)
	}
}

// ClientKey is the address a client is counted by: its IP, or for IPv6
// its /64, the block one subscriber usually holds.
func ClientKey(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
