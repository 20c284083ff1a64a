package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Login throttling. A failed login counts against the client's address and
// against the name typed — whether or not it is a user, so that being
// slowed down tells nothing about who exists. The first loginFreeFailures
// failures of a key cost nothing (typos); each later one makes the key wait
// loginBaseWait, doubled per further failure, at most loginMaxWait, before
// its next attempt, which is answered 429 with Retry-After until then. A
// key's failures are forgotten loginForget after its last one, and a
// successful login clears the keys it was checked against.
//
// A browser that logged in before carries a device cookie naming the user
// (signed; no server state). Its attempts for that user count against the
// device alone, not against the address or the name: a stranger guessing
// at "admin" slows down himself and browsers the admin never used, never
// the admin's own, and a stolen cookie is throttled like an address. The
// wait is short either way: nobody is locked out for more than a minute.
//
// The counts live in the process: behind several nodes each node counts
// its own, which multiplies the allowed rate by the number of nodes.
const (
	loginFreeFailures = 4
	loginBaseWait     = time.Second
	loginMaxWait      = time.Minute
	loginForget       = 15 * time.Minute
	// maxThrottleKeys bounds the memory a spray of names or addresses can
	// take; past it the key failed longest ago is dropped.
	maxThrottleKeys = 10000
	deviceCookie    = "shuyuan_device"
	deviceCookieAge = 365 * 24 * time.Hour
)

type throttle struct {
	mu   sync.Mutex
	now  func() time.Time
	keys map[string]*strikes
	// deviceKey signs device cookies.
	deviceKey []byte
}

type strikes struct {
	failures int
	last     time.Time // the last failure
	until    time.Time // no attempt before
}

// newThrottle signs device cookies with a key derived from the admin key,
// so that they survive restarts and every node accepts them; without an
// admin key, with a random one.
func newThrottle(now func() time.Time, adminKey string) *throttle {
	key := make([]byte, 32)
	if adminKey != "" {
		sum := sha256.Sum256([]byte("shuyuan device cookie\x00" + adminKey))
		key = sum[:]
	} else {
		rand.Read(key) // never fails
	}
	return &throttle{now: now, keys: map[string]*strikes{}, deviceKey: key}
}

// wait is how long the keys must still wait before an attempt; 0: none.
func (t *throttle) wait(keys []string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var wait time.Duration
	for _, k := range keys {
		s, ok := t.keys[k]
		if !ok {
			continue
		}
		if now.Sub(s.last) >= loginForget {
			delete(t.keys, k)
			continue
		}
		wait = max(wait, s.until.Sub(now))
	}
	return wait
}

// fail counts a failed attempt against the keys.
func (t *throttle) fail(keys []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for _, k := range keys {
		s, ok := t.keys[k]
		if !ok || now.Sub(s.last) >= loginForget {
			if !ok && len(t.keys) >= maxThrottleKeys {
				t.evict(now)
			}
			s = &strikes{}
			t.keys[k] = s
		}
		s.failures++
		s.last = now
		if n := s.failures - loginFreeFailures; n > 0 {
			wait := loginMaxWait
			if n <= 16 {
				wait = min(loginBaseWait<<(n-1), loginMaxWait)
			}
			s.until = now.Add(wait)
		}
	}
}

// evict makes room for a key: the forgotten ones go, else the one that
// failed longest ago.
func (t *throttle) evict(now time.Time) {
	var oldest string
	for k, s := range t.keys {
		if now.Sub(s.last) >= loginForget {
			delete(t.keys, k)
		} else if oldest == "" || s.last.Before(t.keys[oldest].last) {
			oldest = k
		}
	}
	if len(t.keys) >= maxThrottleKeys {
		delete(t.keys, oldest)
	}
}

// clear forgets the keys' failures after a successful login.
func (t *throttle) clear(keys []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		delete(t.keys, k)
	}
}

// keysOf are the keys an attempt to log in as name is counted against:
// the device when the request carries a device cookie for that user, else
// the client's address and the name.
func (t *throttle) keysOf(r *http.Request, name string) []string {
	if id, ok := t.device(r, name); ok {
		return []string{"device\x00" + id}
	}
	// Names are hashed: the map holds 32 bytes whatever was typed.
	sum := sha256.Sum256([]byte(name))
	return []string{"addr\x00" + clientKey(r.RemoteAddr), "name\x00" + string(sum[:])}
}

// clientKey is the address a client is counted by: its IP, or for IPv6
// its /64, the block one subscriber usually holds.
func clientKey(remote string) string {
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

// userOfName is the user a login name stands for: the admin's name may be
// left empty.
func userOfName(name string) string {
	if name == "" {
		return "admin"
	}
	return name
}

// deviceValue is a new device cookie's value for user: a random id and the
// signature of the id and the user.
func (t *throttle) deviceValue(user string) string {
	var id [16]byte
	rand.Read(id[:]) // never fails
	ids := base64.RawURLEncoding.EncodeToString(id[:])
	return ids + "." + t.sign(ids, user)
}

// device returns the id of the request's device cookie when it was signed
// for the user name stands for.
func (t *throttle) device(r *http.Request, name string) (string, bool) {
	c, err := r.Cookie(deviceCookie)
	if err != nil {
		return "", false
	}
	id, sig, ok := strings.Cut(c.Value, ".")
	if !ok || id == "" || !hmac.Equal([]byte(sig), []byte(t.sign(id, userOfName(name)))) {
		return "", false
	}
	return id, true
}

func (t *throttle) sign(id, user string) string {
	m := hmac.New(sha256.New, t.deviceKey)
	m.Write([]byte(id + "\x00" + user))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// setDevice gives the browser a device cookie for user after a successful
// login.
func (t *throttle) setDevice(w http.ResponseWriter, r *http.Request, user string) {
	http.SetCookie(w, &http.Cookie{
		Name: deviceCookie, Value: t.deviceValue(user), Path: "/login", MaxAge: int(deviceCookieAge.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure(r),
	})
}
