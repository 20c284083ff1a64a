package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// noStorePrefixes are the paths whose answers carry users' data or
// credentials: no cache keeps them, no browser sniffs another type.
var noStorePrefixes = []string{"/api/", "/data-api/", "/wx/", "/metrics", "/healthz", "/readyz"}

func noStore(path string) bool {
	for _, p := range noStorePrefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

func setNoStore(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
}

// metricsHandler is /metrics, behind MetricsToken when one is set.
func (s *Server) metricsHandler() http.Handler {
	prom := promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{})
	if s.MetricsToken == "" {
		return prom
	}
	want := sha256.Sum256([]byte(s.MetricsToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		got := sha256.Sum256([]byte(tok))
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="shuyuan metrics"`)
			writeAPIError(w, http.StatusUnauthorized, "unauthorized", "Authorization: Bearer <metrics_token> required")
			return
		}
		prom.ServeHTTP(w, r)
	})
}

// ServeMetrics serves /metrics, /healthz and /readyz on MetricsAddr, off
// the public address, until stop is called; it returns the address
// listened on. Without MetricsAddr it does nothing (/metrics is on the
// public address).
func (s *Server) ServeMetrics() (addr string, stop func(context.Context) error, err error) {
	if s.MetricsAddr == "" {
		return "", func(context.Context) error { return nil }, nil
	}
	ln, err := net.Listen("tcp", s.MetricsAddr)
	if err != nil {
		return "", nil, fmt.Errorf("listen metrics_addr %s: %w", s.MetricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metricsHandler())
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	hs := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			setNoStore(w.Header())
			mux.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
	}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("metrics server", "addr", ln.Addr().String(), "error", err)
		}
	}()
	return ln.Addr().String(), hs.Shutdown, nil
}
