package order

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// SignMethod is the only value of the sign query parameter.
const SignMethod = "sha256"

// DefaultWindow is how far a call's timestamp may be from the server's
// clock, either way; a nonce is remembered for as long.
const DefaultWindow = 300 * time.Second

// MaxNonce bounds the nonce. Public clients send 32 random characters or a
// random 64-bit number.
const MaxNonce = 64

// maxTimestamp is the largest timestamp read as Unix seconds (the year
// 5138); anything larger is milliseconds or worse.
const maxTimestamp = 99_999_999_999

// Credentials are the query parameters that authenticate a call.
type Credentials struct {
	AppID     string
	Nonce     string
	Sign      string
	Timestamp string // Unix seconds, as sent
	Signature string // lowercase hex HMAC-SHA256
}

// CredentialsFrom reads the credentials of a call's query.
func CredentialsFrom(q url.Values) Credentials {
	return Credentials{
		AppID: q.Get("app_id"), Nonce: q.Get("nonce"), Sign: q.Get("sign"),
		Timestamp: q.Get("timestamp"), Signature: q.Get("signature"),
	}
}

// SignedMessage is the exact string that is signed: fixed order, no URL
// encoding, the body not included.
func SignedMessage(appID, nonce string, timestamp int64) string {
	return "app_id=" + appID + "&nonce=" + nonce + "&sign=" + SignMethod + "&timestamp=" + strconv.FormatInt(timestamp, 10)
}

// Sign is the signature of a call: lowercase hex of HMAC-SHA256 keyed by
// the app's data-api secret over SignedMessage.
func Sign(secret, appID, nonce string, timestamp int64) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(SignedMessage(appID, nonce, timestamp)))
	return hex.EncodeToString(m.Sum(nil))
}

// NonceStore remembers the nonces of accepted calls so that a captured call
// cannot be replayed while its timestamp is still accepted. The store is
// one (store.StateStore): its nonces outlive a restart and are shared by
// every node, and the signature does not cover the body, so a nonce kept
// only in memory would let a captured URL be replayed, with another body,
// against a restarted or another node. MemoryNonces serves tests.
type NonceStore interface {
	// UseNonce records nonce for app until expires and reports whether it
	// is fresh, i.e. not recorded before or recorded with an expiry not
	// after now.
	UseNonce(ctx context.Context, appID, nonce string, now, expires time.Time) (fresh bool, err error)
}

// MemoryNonces is an in-process NonceStore, for tests: it forgets every
// nonce when the process ends.
type MemoryNonces struct {
	mu        sync.Mutex
	seen      map[string]time.Time // app + "\x00" + nonce -> expiry
	lastSweep time.Time
}

// NewMemoryNonces returns an empty in-process nonce store.
func NewMemoryNonces() *MemoryNonces {
	return &MemoryNonces{seen: map[string]time.Time{}}
}

// UseNonce implements NonceStore.
func (m *MemoryNonces) UseNonce(_ context.Context, appID, nonce string, now, expires time.Time) (bool, error) {
	k := appID + "\x00" + nonce
	m.mu.Lock()
	defer m.mu.Unlock()
	// Expired entries go at most once a second, so memory stays bounded by
	// the calls of one window.
	if now.Sub(m.lastSweep) >= time.Second {
		for key, exp := range m.seen {
			if !exp.After(now) {
				delete(m.seen, key)
			}
		}
		m.lastSweep = now
	}
	if exp, ok := m.seen[k]; ok && exp.After(now) {
		return false, nil
	}
	m.seen[k] = expires
	return true, nil
}

// Len is the number of nonces remembered.
func (m *MemoryNonces) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.seen)
}

// authenticate checks a call's credentials and returns its app. The nonce
// is recorded only once the signature is right, so unsigned calls cannot
// fill the store or burn a client's nonces.
func (s *Service) authenticate(ctx context.Context, c Credentials) (*tenant.App, error) {
	var missing []string
	for _, p := range []struct{ name, v string }{
		{"app_id", c.AppID}, {"nonce", c.Nonce}, {"sign", c.Sign}, {"timestamp", c.Timestamp}, {"signature", c.Signature},
	} {
		if p.v == "" {
			missing = append(missing, p.name)
		}
	}
	if len(missing) > 0 {
		return nil, refuse(CodeAuthMissing, nil, "query parameter %s required (app_id, nonce, sign=sha256, timestamp, signature)", strings.Join(missing, ", "))
	}
	if c.Sign != SignMethod {
		return nil, refuse(CodeBadSignMethod, nil, "sign: must be %q, got %q", SignMethod, c.Sign)
	}
	if len(c.Nonce) > MaxNonce {
		return nil, refuse(CodeAuthMissing, nil, "nonce: at most %d characters", MaxNonce)
	}
	ts, err := strconv.ParseInt(c.Timestamp, 10, 64)
	if err != nil {
		return nil, refuse(CodeBadTimestamp, nil, "timestamp: must be Unix seconds, got %q", c.Timestamp)
	}
	if ts < 0 || ts > maxTimestamp {
		// Milliseconds, most likely: refused before any arithmetic on
		// durations, which would overflow.
		return nil, refuse(CodeBadTimestamp, nil, "timestamp: must be Unix seconds (10 digits), got %q", c.Timestamp)
	}
	now := s.now()
	at := time.Unix(ts, 0)
	if d := time.Duration(now.Unix()-ts) * time.Second; d > s.window || d < -s.window {
		return nil, refuse(CodeBadTimestamp, nil, "timestamp: %d is %s from the server's clock (%d); at most %s either way",
			ts, d.Abs(), now.Unix(), s.window)
	}
	app, ok := s.tenants.ByDataAPIAppID(c.AppID)
	if !ok || app.DataAPISecret == "" {
		return nil, refuse(CodeUnknownApp, nil, "app_id: no app %q is configured for the data-api", c.AppID)
	}
	want := Sign(app.DataAPISecret, c.AppID, c.Nonce, ts)
	if !hmac.Equal([]byte(strings.ToLower(c.Signature)), []byte(want)) {
		return nil, refuse(CodeBadSignature, nil, "signature: does not match; sign %q with the app's data_api app_secret (HMAC-SHA256, lowercase hex)",
			SignedMessage(c.AppID, c.Nonce, ts))
	}
	// A second past the window: the timestamp check lets its last instant in.
	fresh, err := s.nonces.UseNonce(ctx, c.AppID, c.Nonce, now, at.Add(s.window+time.Second))
	if err != nil {
		return nil, refuse(CodeUnavailable, err, "nonce store unavailable, call again later")
	}
	if !fresh {
		return nil, refuse(CodeReplayed, nil, "nonce: %q was already used; every call needs a new nonce", c.Nonce)
	}
	return app, nil
}
