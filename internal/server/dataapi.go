package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/order"
)

// dataAPIStatus is the HTTP status of each data-api retcode. Clients read
// the body's retcode; the status is for people, proxies and retries.
var dataAPIStatus = map[int]int{
	order.CodeOK:            http.StatusOK,
	order.CodeAuthMissing:   http.StatusUnauthorized,
	order.CodeUnknownApp:    http.StatusUnauthorized,
	order.CodeBadSignature:  http.StatusUnauthorized,
	order.CodeBadTimestamp:  http.StatusUnauthorized,
	order.CodeReplayed:      http.StatusUnauthorized,
	order.CodeBadSignMethod: http.StatusBadRequest,
	order.CodeBadBody:       http.StatusBadRequest,
	order.CodeInvalid:       http.StatusBadRequest,
	order.CodeTooMany:       http.StatusRequestEntityTooLarge,
	order.CodeUnknownSource: http.StatusBadRequest,
	order.CodeSourceTaken:   http.StatusConflict,
	order.CodeTimeout:       http.StatusRequestTimeout,
	order.CodeTooLarge:      http.StatusRequestEntityTooLarge,
	order.CodeNoEndpoint:    http.StatusNotFound,
	order.CodeBadMethod:     http.StatusMethodNotAllowed,
	order.CodeUnavailable:   http.StatusServiceUnavailable,
}

// dataAPIPaths are the data-api endpoints shuyuan serves, under /data-api/v1.
var dataAPIPaths = []string{
	"/order/add_order", "/order/add_order_sum", "/analysis/add_wxapp_visit_page",
	"/data_source/add", "/data_source/get",
}

// dataAPI wraps one endpoint: read the credentials and the body, call the
// domain, answer {"retcode","errmsg","data"}.
func (s *Server) dataAPI(call func(ctx context.Context, c order.Call) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := readAll(r)
		if err != nil {
			var tooBig *http.MaxBytesError
			switch {
			case errors.As(err, &tooBig):
				writeDataAPI(w, order.CodeTooLarge, fmt.Sprintf("body is larger than the limit of %d bytes", tooBig.Limit), nil)
			case errors.Is(err, errBodyTimeout):
				writeDataAPI(w, order.CodeTimeout, fmt.Sprintf("body not received within %s; nothing was stored, call again", s.BodyTimeout), nil)
			default:
				writeDataAPI(w, order.CodeBadBody, "cannot read body: "+err.Error(), nil)
			}
			return
		}
		data, err := call(r.Context(), order.Call{
			Auth: order.CredentialsFrom(r.URL.Query()), Body: body, Query: r.URL.Query(), ReceivedAt: time.Now(),
		})
		if err != nil {
			var oe *order.Error
			if !errors.As(err, &oe) {
				oe = &order.Error{Code: order.CodeUnavailable, Msg: "internal error", Err: err}
			}
			if oe.Code == order.CodeUnavailable {
				// The query holds no secret, but it is not logged either:
				// only the path and the cause.
				s.Logger.Error("data-api call failed", "request_id", RequestID(r.Context()), "path", r.URL.Path, "error", oe.Err)
				oe.Msg += "; request id " + RequestID(r.Context())
			}
			var errData any
			if len(oe.Problems) > 0 {
				errData = map[string]any{"errors": oe.Problems}
			}
			writeDataAPI(w, oe.Code, oe.Msg, errData)
			return
		}
		writeDataAPI(w, order.CodeOK, "", data)
	}
}

func (s *Server) dataAPIUnknown(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/data-api/v1")
	for _, p := range dataAPIPaths {
		if p == path {
			want := "POST"
			if p == "/data_source/get" {
				want = "GET or POST"
			}
			writeDataAPI(w, order.CodeBadMethod, fmt.Sprintf("%s %s: method must be %s", r.Method, r.URL.Path, want), nil)
			return
		}
	}
	writeDataAPI(w, order.CodeNoEndpoint, fmt.Sprintf("%s is not served by shuyuan; the data-api endpoints are /data-api/v1{%s}",
		r.URL.Path, strings.Join(dataAPIPaths, ",")), nil)
}

func writeDataAPI(w http.ResponseWriter, code int, msg string, data any) {
	status, ok := dataAPIStatus[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if data == nil {
		data = struct{}{}
	}
	writeJSON(w, status, map[string]any{"retcode": code, "errmsg": msg, "data": data})
}
