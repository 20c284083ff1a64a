package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/server"
)

// Login throttling (server.Throttle). A failed login counts against the
// client's address and against the name typed — whether or not it is a
// user, so that being slowed down tells nothing about who exists. The
// first loginFreeFailures failures of a key cost nothing (typos); each
// later one makes the key wait loginBaseWait, doubled per further failure,
// at most loginMaxWait, before its next attempt, which is answered 429
// with Retry-After until then. A key's failures are forgotten loginForget
// after its last one, and a successful login clears the keys it was
// checked against.
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
	deviceCookie      = "shuyuan_device"
	deviceCookieAge   = 365 * 24 * time.Hour
)

type throttle struct {
	*server.Throttle
	// deviceKey signs device cookies.
	deviceKey []byte
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
	return &throttle{Throttle: server.NewThrottle(now, loginFreeFailures, loginBaseWait, loginMaxWait, loginForget), deviceKey: key}
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
	return []string{"addr\x00" + server.ClientKey(r.RemoteAddr), "name\x00" + string(sum[:])}
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
