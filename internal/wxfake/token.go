package wxfake

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"time"
)

// token is one access token handed out by either endpoint.
type token struct {
	value     string
	app       *appState
	stable    bool
	issuedAt  time.Time
	expiresAt time.Time
	// supersededAt is when a newer classic token was minted; the token
	// stays valid for ClassicOverlap after it.
	supersededAt time.Time
	// revoked is set by a stable force_refresh: invalid at once.
	revoked bool
}

// appState is an app with its token and quota bookkeeping.
type appState struct {
	App

	classicCurrent *token
	classicDay     string
	classicCount   int

	stableCurrent *token
	stableTokens  []*token // every live stable token, for force_refresh
	stableDay     string
	stableCount   int
	stableMinute  int64
	stableMinCnt  int
	forceDay      string
	forceCount    int
	lastForce     time.Time
}

// Messages of the token errors, as the platform words them.
const (
	msgNotLatest = "invalid credential, access_token is invalid or not latest"
	msgInvalid   = "invalid access_token"
	msgExpired   = "access_token expired"
	msgMissing   = "access_token missing"
)

// dayOf is the GMT+8 calendar day of t, the unit of WeChat's daily quotas.
func dayOf(t time.Time) string { return t.In(gmt8).Format(time.DateOnly) }

// classicToken serves GET /cgi-bin/token: every call mints a new token and
// starts the overlap window of the previous one.
func (s *Server) classicToken(r *http.Request) reply {
	if r.Method != http.MethodGet {
		return s.fail(43001, "require GET method")
	}
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	a, rep, ok := s.authApp(q.Get("grant_type"), q.Get("appid"), q.Get("secret"), r)
	if !ok {
		return rep
	}
	now := s.opts.Now()
	if d := dayOf(now); a.classicDay != d {
		a.classicDay, a.classicCount = d, 0
	}
	if s.opts.ClassicDailyLimit > 0 && a.classicCount >= s.opts.ClassicDailyLimit {
		return s.fail(45009, "reach max api daily quota limit")
	}
	a.classicCount++
	if prev := a.classicCurrent; prev != nil && prev.supersededAt.IsZero() {
		prev.supersededAt = now
	}
	t := s.mint(a, false, now)
	a.classicCurrent = t
	return reply{body: tokenAnswer{AccessToken: t.value, ExpiresIn: int64(s.opts.TokenLifetime / time.Second)}}
}

// tokenAnswer is the success body of both token endpoints (no errcode).
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// stableToken serves POST /cgi-bin/stable_token: one shared token per app
// handed out with its remaining lifetime, rotated shortly before expiry,
// and revoked only by force_refresh.
func (s *Server) stableToken(r *http.Request, body []byte) reply {
	if r.Method != http.MethodPost {
		return s.fail(43002, "require POST method")
	}
	if len(body) == 0 {
		return s.fail(44002, "empty post data")
	}
	var req map[string]json.RawMessage
	if json.Unmarshal(body, &req) != nil || req == nil {
		return s.fail(47001, "data format error")
	}
	var grant, appid, secret string
	var force bool
	for key, dst := range map[string]*string{"grant_type": &grant, "appid": &appid, "secret": &secret} {
		if raw, present := req[key]; present && !isNull(raw) {
			if json.Unmarshal(raw, dst) != nil {
				return s.fail(47001, "data format error")
			}
		}
	}
	if raw, present := req["force_refresh"]; present && !isNull(raw) {
		if json.Unmarshal(raw, &force) != nil {
			return s.fail(47001, "data format error")
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	a, rep, ok := s.authApp(grant, appid, secret, r)
	if !ok {
		return rep
	}
	now := s.opts.Now()
	if d := dayOf(now); a.stableDay != d {
		a.stableDay, a.stableCount = d, 0
	}
	if m := now.Unix() / 60; a.stableMinute != m {
		a.stableMinute, a.stableMinCnt = m, 0
	}
	if s.opts.StableDailyLimit > 0 && a.stableCount >= s.opts.StableDailyLimit {
		return s.fail(45009, "reach max api daily quota limit")
	}
	if s.opts.StableMinuteLimit > 0 && a.stableMinCnt >= s.opts.StableMinuteLimit {
		return s.fail(45011, "api minute-quota reach limit  mustslower  retry next minute")
	}
	a.stableCount++
	a.stableMinCnt++

	// Drop bookkeeping of stable tokens that can no longer be handed out.
	a.stableTokens = slices.DeleteFunc(a.stableTokens, func(t *token) bool { return !now.Before(t.expiresAt) })

	if force {
		if d := dayOf(now); a.forceDay != d {
			a.forceDay, a.forceCount = d, 0
		}
		if s.opts.ForceRefreshDailyLimit > 0 && a.forceCount >= s.opts.ForceRefreshDailyLimit {
			return s.fail(45009, "reach max api daily quota limit (force_refresh)")
		}
		if !a.lastForce.IsZero() && now.Sub(a.lastForce) < s.opts.ForceRefreshInterval {
			return s.failf(45011, "force_refresh too frequent, wait %s between calls", s.opts.ForceRefreshInterval)
		}
		a.forceCount++
		a.lastForce = now
		for _, t := range a.stableTokens {
			t.revoked = true
		}
		a.stableTokens = nil
	} else if cur := a.stableCurrent; cur != nil && !cur.revoked {
		if left := cur.expiresAt.Sub(now); left >= s.opts.StableRotateBefore {
			return reply{body: tokenAnswer{AccessToken: cur.value, ExpiresIn: int64(left / time.Second)}}
		}
	}
	// Rotation keeps the previous token valid until its own expiry: it is
	// neither revoked nor superseded, it simply stops being handed out.
	t := s.mint(a, true, now)
	a.stableCurrent = t
	a.stableTokens = append(a.stableTokens, t)
	return reply{body: tokenAnswer{AccessToken: t.value, ExpiresIn: int64(s.opts.TokenLifetime / time.Second)}}
}

// authApp runs the checks both token endpoints share, in the platform's
// order. Callers hold s.mu.
func (s *Server) authApp(grant, appid, secret string, r *http.Request) (*appState, reply, bool) {
	if grant != "client_credential" {
		return nil, s.fail(40002, "invalid grant_type"), false
	}
	if appid == "" {
		return nil, s.fail(41002, "appid missing"), false
	}
	a := s.apps[appid]
	if a == nil {
		return nil, s.fail(40013, "invalid appid"), false
	}
	if secret == "" {
		return nil, s.fail(41004, "appsecret missing"), false
	}
	if secret != a.Secret {
		if s.opts.WrongSecretCode == 40001 {
			return nil, s.fail(40001, msgNotLatest), false
		}
		return nil, s.fail(s.opts.WrongSecretCode, "invalid appsecret"), false
	}
	if len(a.AllowedIPs) > 0 {
		ip := r.RemoteAddr
		if host, _, err := net.SplitHostPort(ip); err == nil {
			ip = host
		}
		if !slices.Contains(a.AllowedIPs, ip) {
			return nil, s.failf(40164, "invalid ip %s ipv6 ::ffff:%s, not in whitelist", ip, ip), false
		}
	}
	return a, reply{}, true
}

// mint creates and registers a new token for a. Callers hold s.mu.
func (s *Server) mint(a *appState, stable bool, now time.Time) *token {
	s.pruneTokens(now)
	var b [96]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	prefix := "90_"
	if stable {
		prefix = "91_"
	}
	t := &token{
		value:     prefix + base64.RawURLEncoding.EncodeToString(b[:]),
		app:       a,
		stable:    stable,
		issuedAt:  now,
		expiresAt: now.Add(s.opts.TokenLifetime),
	}
	s.tokens[t.value] = t
	return t
}

// pruneTokens forgets tokens expired for over a day, so a long-running
// `shuyuan fakewx` does not grow without bound. A forgotten token answers
// 40014 instead of 42001, as an unknown one would.
func (s *Server) pruneTokens(now time.Time) {
	for v, t := range s.tokens {
		if now.Sub(t.expiresAt) > 24*time.Hour {
			delete(s.tokens, v)
		}
	}
}

// checkToken validates an access_token of a marketing call. Callers hold s.mu.
func (s *Server) checkToken(value string) (*appState, reply, bool) {
	if value == "" {
		return nil, s.fail(41001, msgMissing), false
	}
	t := s.tokens[value]
	if t == nil {
		return nil, s.fail(40014, msgInvalid), false
	}
	now := s.opts.Now()
	if t.revoked || (!t.supersededAt.IsZero() && !now.Before(t.supersededAt.Add(s.opts.ClassicOverlap))) {
		return nil, s.fail(40001, msgNotLatest), false
	}
	if !now.Before(t.expiresAt) {
		return nil, s.fail(42001, msgExpired), false
	}
	return t.app, reply{}, true
}

// isNull reports whether raw is the JSON literal null.
func isNull(raw json.RawMessage) bool { return string(trimSpace(raw)) == "null" }
