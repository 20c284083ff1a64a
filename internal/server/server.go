// Package server is shuyuan's HTTP surface: routing, middleware (request
// ids, access log, recovery, body limits, auth, metrics) and the error
// envelope of each protocol. Handlers decode, call one domain function and
// encode.
package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shuyuan-dev/shuyuan/internal/collect"
	"github.com/shuyuan-dev/shuyuan/internal/order"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// Deps are what the server serves from.
type Deps struct {
	Tenants   *tenant.Registry
	Store     store.Store
	Writer    *store.Writer
	Collector *collect.Collector
	Logger    *slog.Logger
	Metrics   *Metrics
	AdminKey  string
	// MaxBody bounds every request body (bytes); MaxBatch the events of one
	// SDK upload.
	MaxBody  int64
	MaxBatch int
	// BodyTimeout bounds the time to receive a request body once its
	// header is in (default DefaultBodyTimeout).
	BodyTimeout time.Duration
	// MetricsToken, if set, is required on /metrics as a bearer token.
	MetricsToken string
	// MetricsAddr, if set, takes /metrics off this server: ServeMetrics
	// serves it there, with /healthz and /readyz.
	MetricsAddr string
	// Now is the clock of readiness probes (default time.Now).
	Now func() time.Time
	// Routes adds the routes of other parts (the WeChat routes, the
	// dashboard) to the table (Server.Routes).
	Routes []func(s *Server) []Route
	// Orders serves the backend data-api (/data-api/v1/...); nil leaves it out.
	Orders *order.Service
}

// Server is the HTTP handler of shuyuan.
type Server struct {
	Deps
	mux      *http.ServeMux
	adminSum [32]byte
	draining atomic.Bool
	// bearer slows down admin-key guesses per client address.
	bearer *Throttle
	// quiet are the SDK's routes, whose successful requests log at debug:
	// uploads come thousands a second under load, and an access line each
	// at info (~200 bytes) is ~400 KB of log a second at 2,000 uploads a
	// second, tens of GB a day, for what the request metrics count
	// anyway. A refused upload still logs at info.
	quiet map[string]bool
}

// Admin-key guesses: a request whose Authorization: Bearer carries a
// wrong key counts against its address; past bearerFreeFailures in
// bearerForget, each further one makes the address wait (1 s doubling to
// 1 min) and its requests with a key are answered 429 until then, the
// right key included, so that the answer tells a guesser nothing. Counted
// per node, like dashboard logins.
const (
	bearerFreeFailures = 10
	bearerForget       = 15 * time.Minute
)

// New builds the routes.
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Metrics == nil {
		d.Metrics = NewMetrics(prometheus.NewRegistry(), d.Writer)
	}
	if d.BodyTimeout <= 0 {
		d.BodyTimeout = DefaultBodyTimeout
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	d.Metrics.now = d.Now // commits and probes on one clock
	s := &Server{Deps: d, mux: http.NewServeMux(), adminSum: sha256.Sum256([]byte(d.AdminKey)),
		bearer: NewThrottle(d.Now, bearerFreeFailures, time.Second, time.Minute, bearerForget), quiet: map[string]bool{}}
	for _, r := range s.Routes() {
		s.mux.Handle(r.Pattern, r.Handler)
		if r.Envelope == EnvSDK {
			s.quiet[r.Pattern] = true
		}
	}
	return s
}

// Drain makes /readyz fail so load balancers stop sending, before shutdown.
func (s *Server) Drain() { s.draining.Store(true) }

// ServeHTTP runs the middleware chain around the routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get("X-Request-Id")
	if id == "" || len(id) > 64 {
		id = newID()
	}
	w.Header().Set("X-Request-Id", id)
	if noStore(r.URL.Path) {
		setNoStore(w.Header())
	}
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
	var body *boundedBody
	if r.Body != nil && r.Body != http.NoBody {
		body = bound(rec, r, s.MaxBody, s.BodyTimeout)
		r.Body = body
	}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.Logger.Error("panic", "request_id", id, "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if !rec.wrote {
				writeJSON(rec, http.StatusInternalServerError, map[string]any{"error": map[string]any{
					"code": "internal", "message": "internal error; request id " + id}})
			}
		}
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		took := time.Since(start)
		s.Metrics.Requests.WithLabelValues(route, fmt.Sprint(rec.status)).Inc()
		s.Metrics.Latency.WithLabelValues(route).Observe(took.Seconds())
		level := slog.LevelInfo
		if s.quiet[route] && rec.status < 400 {
			level = slog.LevelDebug
		}
		s.Logger.Log(r.Context(), level, "request", "request_id", id, "method", r.Method, "path", r.URL.Path,
			"status", rec.status, "bytes", rec.bytes, "duration_ms", float64(took.Microseconds())/1000, "remote", r.RemoteAddr)
	}()
	s.mux.ServeHTTP(rec, r)
	if body != nil {
		body.drain(r)
	}
}

type requestIDKey struct{}

// RequestID is the id of the request being served.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

func newID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status = code
		r.wrote = true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Admin lets through requests carrying "Authorization: Bearer <admin key>".
func (s *Server) Admin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, wait := s.CheckAdmin(r)
		if wait > 0 {
			setRetryAfter(w, wait)
			writeAPIError(w, http.StatusTooManyRequests, "too_many_attempts",
				fmt.Sprintf("too many wrong admin keys from this address; try again in %d s", retryAfterSeconds(wait)))
			return
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="shuyuan"`)
			writeAPIError(w, http.StatusUnauthorized, "unauthorized", "Authorization: Bearer <admin key> required")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// IsAdmin tells whether r carries the admin key (and its address is not
// waiting after wrong ones).
func (s *Server) IsAdmin(r *http.Request) bool {
	ok, _ := s.CheckAdmin(r)
	return ok
}

// CheckAdmin checks the admin key of "Authorization: Bearer", in constant
// time. A wrong key counts against the client's address; while the
// address must wait, wait says how long and no key is checked. A request
// without a bearer token is not counted.
func (s *Server) CheckAdmin(r *http.Request) (ok bool, wait time.Duration) {
	tok, bearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !bearer || s.AdminKey == "" {
		return false, 0
	}
	key := "bearer\x00" + ClientKey(r.RemoteAddr)
	if wait := s.bearer.Wait(key); wait > 0 {
		return false, wait
	}
	sum := sha256.Sum256([]byte(tok))
	if subtle.ConstantTimeCompare(sum[:], s.adminSum[:]) != 1 {
		s.bearer.Fail(key)
		s.Logger.Warn("wrong admin key", "request_id", RequestID(r.Context()), "remote", r.RemoteAddr, "path", r.URL.Path)
		return false, 0
	}
	return true, 0
}

// setRetryAfter sets Retry-After to wait, in whole seconds rounded up.
func setRetryAfter(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
}

func retryAfterSeconds(wait time.Duration) int { return int((wait + time.Second - 1) / time.Second) }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "draining"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Store.Ping(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "store unreachable", "error": err.Error()})
		return
	}
	now := s.Now()
	if err := s.Metrics.writes.writable(ctx, now, probeWrite(s.Store, now)); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "store cannot write", "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// WriteJSON encodes v with status.
func WriteJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	setNoStore(w.Header())
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v) //nolint:errcheck // the client went away; nothing to do
}

// writeAPIError is the envelope of the admin JSON API.
func writeAPIError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}
