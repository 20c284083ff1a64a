package server

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/collect"
	"github.com/shuyuan-dev/shuyuan/internal/intake"
)

// sdkStatus is the HTTP status of each SDK code. The SDK itself reads only
// the body's code; the status is for people and proxies.
var sdkStatus = map[int]int{
	collect.CodeOK:          http.StatusOK,
	collect.CodeBadToken:    http.StatusUnauthorized,
	collect.CodeBadBody:     http.StatusBadRequest,
	collect.CodeTooMany:     http.StatusRequestEntityTooLarge,
	collect.CodeTooLarge:    http.StatusRequestEntityTooLarge,
	collect.CodeBadMethod:   http.StatusMethodNotAllowed,
	collect.CodeTimeout:     http.StatusRequestTimeout,
	collect.CodeUnavailable: http.StatusServiceUnavailable,
}

func writeSDK(w http.ResponseWriter, code int, msg string) {
	status, ok := sdkStatus[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, map[string]any{"code": code, "msg": msg})
}

// report is POST /api/report?token=T, the Youshu SDK's upload.
func (s *Server) report(w http.ResponseWriter, r *http.Request) {
	app, ok := s.Tenants.ByToken(r.URL.Query().Get("token"))
	if !ok {
		msg := "unknown token"
		if r.URL.Query().Get("token") == "" {
			msg = "token query parameter required"
		}
		writeSDK(w, collect.CodeBadToken, msg)
		return
	}
	if s.Collector.Backlogged() {
		// Refused before the body is read: under a flood of re-sends the
		// loader, not the refusals, should get the CPU.
		setRetryAfter(w, time.Second)
		writeSDK(w, collect.ErrBacklogged.Code, collect.ErrBacklogged.Msg)
		return
	}
	body, err := readAll(r)
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			writeSDK(w, collect.CodeTooLarge, "body is larger than the limit of "+itoa(tooBig.Limit)+" bytes")
		case errors.Is(err, errBodyTimeout):
			writeSDK(w, collect.CodeTimeout, "body not received within "+s.BodyTimeout.String()+"; nothing was stored, send again")
		default:
			writeSDK(w, collect.CodeBadBody, "cannot read body: "+err.Error())
		}
		return
	}
	res, err := s.Collector.Collect(r.Context(), collect.Upload{
		App:        app,
		Body:       body,
		Encrypted:  strings.HasPrefix(r.Header.Get("Content-Type"), collect.EncryptedContentType),
		EncryptKey: r.Header.Get("Content-Encrypting-Key"),
		ReceivedAt: time.Now(),
		MaxEvents:  s.MaxBatch,
	})
	if err != nil {
		var ce *collect.Error
		if errors.As(err, &ce) {
			switch {
			case errors.Is(ce.Err, intake.ErrBacklog):
				// Backpressure, not a failure: the SDK sends it again, and
				// /metrics shows the backlog; a line per refusal would
				// flood the log exactly when the node is busiest.
			case ce.Code == collect.CodeUnavailable:
				s.Logger.Error("store write failed", "request_id", RequestID(r.Context()), "app", app.ID, "error", ce.Err)
			}
			writeSDK(w, ce.Code, ce.Msg)
			return
		}
		writeSDK(w, collect.CodeUnavailable, err.Error())
		return
	}
	s.Metrics.observeEvents(app.ID, res)
	if res.Quarantined > 0 {
		// Like GoatCounter: say why in a header so integrators can debug.
		w.Header().Set("X-Shuyuan-Quarantined", itoa(int64(res.Quarantined)))
	}
	writeSDK(w, collect.CodeOK, "ok")
}

// reportMethod answers any other method on /api/report in the SDK's
// envelope.
func (s *Server) reportMethod(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", http.MethodPost)
	writeSDK(w, collect.CodeBadMethod, r.Method+" /api/report: method must be POST")
}
