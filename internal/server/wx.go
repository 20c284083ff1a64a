package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/shuyuan-dev/shuyuan/internal/conversion"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
	"github.com/shuyuan-dev/shuyuan/internal/wxads"
)

// Errcodes of the /wx routes' own refusals. They reuse WeChat's codes of
// the same meaning, so a client written for WeChat reads them as it would
// read WeChat's.
const (
	wxCodeAuth         = 40001     // admin key missing or wrong
	wxCodeApp          = 40013     // ?app= missing or unknown
	wxCodeNotConfig    = 41002     // the app has no wx_appid / wx_secret
	wxCodeInvalid      = 900351000 // a field breaks a rule
	wxCodeMalformed    = 900351002 // the body is not JSON of the right shape
	wxCodeBusy         = -1        // our store or WeChat failed; try again
	wxCodeUnknownRoute = 404
)

// WX mounts the merchant's WeChat Ads routes (admin key; ?app=ID, optional
// when one app is configured), answering WeChat-style
// {"errcode":0,"errmsg":"ok",...}:
//
//	POST /wx/advert/add     create (or adopt) the WEB data source; store its id
//	GET  /wx/advert/get     list the account's data sources
//	POST /wx/actions/add    report actions, through the outbox
//	GET  /wx/actions/get    WeChat's report beside our delivered counts
//	GET  /wx/token          the app's current access token
//	GET  /wx/outbox         conversions by state, and the latest ones
//	POST /wx/outbox/replay  send the dead letters again
func WX(ads *conversion.Service) func(*Server) []Route {
	return func(s *Server) []Route {
		h := &wxRoutes{s: s, ads: ads}
		const docs = " ([docs/wechat-ads.md](docs/wechat-ads.md))"
		route := func(pattern, doc string, fn http.HandlerFunc) Route {
			return Route{pattern, AuthAdmin, EnvWeChat, doc, h.admin(fn)}
		}
		return []Route{
			route("POST /wx/advert/add", "create (or adopt) the app's WeChat Ads data source"+docs, h.advertAdd),
			route("GET /wx/advert/get", "the account's data sources", h.advertGet),
			route("POST /wx/actions/add", "report actions, through the outbox", h.actionsAdd),
			route("GET /wx/actions/get", "WeChat's report beside our delivered counts", h.actionsGet),
			route("GET /wx/token", "the app's current access token, the one every node uses", h.token),
			route("GET /wx/outbox", "conversions by state, and the latest ones", h.outbox),
			route("POST /wx/outbox/replay", "send the dead letters again", h.replay),
			route("/wx/", "", func(w http.ResponseWriter, r *http.Request) {
				wxError(w, http.StatusNotFound, wxCodeUnknownRoute, "no route "+r.Method+" "+r.URL.Path)
			}),
		}
	}
}

type wxRoutes struct {
	s   *Server
	ads *conversion.Service
}

// admin lets through requests with the admin key, answering WeChat-style.
func (h *wxRoutes) admin(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, wait := h.s.CheckAdmin(r)
		if wait > 0 {
			setRetryAfter(w, wait)
			wxError(w, http.StatusTooManyRequests, wxCodeBusy,
				fmt.Sprintf("too many wrong admin keys from this address; try again in %d s", retryAfterSeconds(wait)))
			return
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="shuyuan"`)
			wxError(w, http.StatusUnauthorized, wxCodeAuth, "invalid credential: Authorization: Bearer <admin key> required")
			return
		}
		next(w, r)
	})
}

// app is ?app=ID, or the only app when one is configured.
func (h *wxRoutes) app(w http.ResponseWriter, r *http.Request) (*tenant.App, bool) {
	id := r.URL.Query().Get("app")
	if id == "" {
		apps := h.s.Tenants.Apps()
		if len(apps) == 1 {
			return apps[0], true
		}
		ids := make([]string, len(apps))
		for i, a := range apps {
			ids[i] = a.ID
		}
		wxError(w, http.StatusBadRequest, wxCodeApp, fmt.Sprintf("app: required (?app=ID): %d apps are configured (%s)", len(apps), strings.Join(ids, ", ")))
		return nil, false
	}
	a, ok := h.s.Tenants.ByID(id)
	if !ok {
		wxError(w, http.StatusNotFound, wxCodeApp, fmt.Sprintf("app: no app %q", id))
		return nil, false
	}
	return a, true
}

func wxOK(w http.ResponseWriter, fields map[string]any) {
	body := map[string]any{"errcode": 0, "errmsg": "ok"}
	for k, v := range fields {
		body[k] = v
	}
	writeJSON(w, http.StatusOK, body)
}

func wxError(w http.ResponseWriter, status int, code int64, msg string) {
	writeJSON(w, status, map[string]any{"errcode": code, "errmsg": msg})
}

// fail maps a domain or WeChat error to the answer; extra fields (our own
// counts) are kept beside the error.
func (h *wxRoutes) fail(w http.ResponseWriter, r *http.Request, err error, extra map[string]any) {
	var inv *conversion.InvalidError
	var ae *wxads.APIError
	status, code, msg := http.StatusBadGateway, int64(wxCodeBusy), ""
	switch {
	case errors.As(err, &inv):
		status, code, msg = http.StatusBadRequest, wxCodeInvalid, inv.Error()
		if inv.Malformed {
			code = wxCodeMalformed
		}
	case errors.Is(err, conversion.ErrUnknownApp):
		status, code, msg = http.StatusNotFound, wxCodeApp, err.Error()
	case errors.Is(err, conversion.ErrNotConfigured):
		status, code, msg = http.StatusConflict, wxCodeNotConfig, err.Error()
	case errors.Is(err, wxads.ErrInvalidInput):
		status, code, msg = http.StatusBadRequest, wxCodeInvalid, err.Error()
	case errors.As(err, &ae):
		// WeChat's own refusal, passed on with its code.
		code, msg = ae.Code, "wechat: "+err.Error()
	default:
		var he *wxads.HTTPError
		if errors.As(err, &he) || wxads.Classify(err) == wxads.ClassRetry {
			msg = "wechat unreachable or failing, try again: " + err.Error()
		} else {
			msg = "failed, try again: " + err.Error()
		}
		h.s.Logger.Error("wx route failed", "request_id", RequestID(r.Context()), "path", r.URL.Path, "error", err)
	}
	body := map[string]any{"errcode": code, "errmsg": msg}
	for k, v := range extra {
		body[k] = v
	}
	writeJSON(w, status, body)
}

// advertAdd is POST /wx/advert/add: create the app's WEB data source, or
// adopt the account's existing one, and store its id.
func (h *wxRoutes) advertAdd(w http.ResponseWriter, r *http.Request) {
	a, ok := h.app(w, r)
	if !ok {
		return
	}
	id, created, err := h.ads.EnsureDataSource(r.Context(), a.ID)
	if err != nil {
		h.fail(w, r, err, nil)
		return
	}
	wxOK(w, map[string]any{"data": map[string]any{"user_action_set_id": id, "created": created}})
}

// advertGet is GET /wx/advert/get[?user_action_set_id=]: the account's data
// sources as WeChat lists them, and the app's own.
func (h *wxRoutes) advertGet(w http.ResponseWriter, r *http.Request) {
	a, ok := h.app(w, r)
	if !ok {
		return
	}
	var id int64
	if v := r.URL.Query().Get("user_action_set_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			wxError(w, http.StatusBadRequest, wxCodeInvalid, fmt.Sprintf("user_action_set_id: must be a positive integer, got %q", v))
			return
		}
		id = n
	}
	sets, own, err := h.ads.DataSources(r.Context(), a.ID, id)
	if err != nil {
		h.fail(w, r, err, nil)
		return
	}
	if sets == nil {
		sets = []wxads.ActionSet{}
	}
	wxOK(w, map[string]any{"data": map[string]any{"list": sets}, "user_action_set_id": own})
}

// actionsAdd is POST /wx/actions/add: validated actions go to the outbox.
func (h *wxRoutes) actionsAdd(w http.ResponseWriter, r *http.Request) {
	a, ok := h.app(w, r)
	if !ok {
		return
	}
	body, err := readAll(r)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			wxError(w, http.StatusRequestEntityTooLarge, wxCodeInvalid, fmt.Sprintf("body: larger than the limit of %d bytes", tooBig.Limit))
			return
		}
		if errors.Is(err, errBodyTimeout) {
			wxError(w, http.StatusRequestTimeout, wxCodeMalformed, fmt.Sprintf("body: not received within %s; nothing was stored", h.s.BodyTimeout))
			return
		}
		wxError(w, http.StatusBadRequest, wxCodeMalformed, "body: cannot be read: "+err.Error())
		return
	}
	acc, err := h.ads.AddActions(r.Context(), a.ID, body)
	if err != nil {
		h.fail(w, r, err, nil)
		return
	}
	dups := 0
	for _, x := range acc {
		if x.Duplicate {
			dups++
		}
	}
	wxOK(w, map[string]any{"data": map[string]any{"accepted": len(acc) - dups, "duplicates": dups, "actions": acc}})
}

// actionsGet is GET /wx/actions/get?start_date=&end_date=
// [&time_granularity=&aggregation=]: WeChat's report of the app's data
// source and, beside it, our own count of actions per day and type.
func (h *wxRoutes) actionsGet(w http.ResponseWriter, r *http.Request) {
	a, ok := h.app(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	req := wxads.ReportRequest{
		StartDate: q.Get("start_date"), EndDate: q.Get("end_date"),
		TimeGranularity: strings.ToUpper(q.Get("time_granularity")), Aggregation: strings.ToUpper(q.Get("aggregation")),
	}
	for name, v := range map[string]string{"start_date": req.StartDate, "end_date": req.EndDate} {
		if v == "" {
			wxError(w, http.StatusBadRequest, wxCodeInvalid, name+": required (YYYY-MM-DD, GMT+8)")
			return
		}
	}
	if v := q.Get("user_action_set_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			wxError(w, http.StatusBadRequest, wxCodeInvalid, fmt.Sprintf("user_action_set_id: must be a positive integer, got %q", v))
			return
		}
		req.UserActionSetID = n
	}
	rep, err := h.ads.Report(r.Context(), a.ID, req)
	if err != nil {
		var extra map[string]any
		if rep.Ours != nil {
			extra = map[string]any{"delivered": rep.Ours}
		}
		h.fail(w, r, err, extra)
		return
	}
	wxOK(w, map[string]any{"data": map[string]any{"list": rep.WeChat}, "delivered": rep.Ours, "user_action_set_id": rep.SetID})
}

// token is GET /wx/token: the app's current access token, shaped like
// WeChat's token answer, for the merchant's other services.
func (h *wxRoutes) token(w http.ResponseWriter, r *http.Request) {
	a, ok := h.app(w, r)
	if !ok {
		return
	}
	tok, exp, err := h.ads.Token(r.Context(), a.ID)
	if err != nil {
		h.fail(w, r, err, nil)
		return
	}
	left := int64(exp.Sub(h.ads.Now()).Seconds())
	w.Header().Set("Cache-Control", "no-store")
	wxOK(w, map[string]any{"access_token": tok, "expires_in": max(left, 0)})
}

// outbox is GET /wx/outbox[?state=&limit=]: the app's conversions by state
// and the latest of them.
func (h *wxRoutes) outbox(w http.ResponseWriter, r *http.Request) {
	a, ok := h.app(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	state := q.Get("state")
	switch state {
	case "", conversion.StatePending, conversion.StateDelivered, conversion.StateDead, conversion.StateUnattributed:
	default:
		wxError(w, http.StatusBadRequest, wxCodeInvalid, fmt.Sprintf("state: must be pending, delivered, dead or unattributed, got %q", state))
		return
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			wxError(w, http.StatusBadRequest, wxCodeInvalid, fmt.Sprintf("limit: must be 1 to 1000, got %q", v))
			return
		}
		limit = n
	}
	counts, err := h.ads.Counts(r.Context())
	if err != nil {
		h.fail(w, r, err, nil)
		return
	}
	mine := conversion.Counts{App: a.ID}
	for _, c := range counts {
		if c.App == a.ID {
			mine = c
		}
	}
	list, err := h.ads.Conversions(r.Context(), a.ID, state, limit)
	if err != nil {
		h.fail(w, r, err, nil)
		return
	}
	if list == nil {
		list = []conversion.Letter{}
	}
	wxOK(w, map[string]any{"data": map[string]any{"counts": mine, "list": list}})
}

// replay is POST /wx/outbox/replay[?id=...]: the app's dead letters (or
// those named) become pending again, with a fresh retry budget.
func (h *wxRoutes) replay(w http.ResponseWriter, r *http.Request) {
	a, ok := h.app(w, r)
	if !ok {
		return
	}
	n, err := h.ads.Replay(r.Context(), a.ID, r.URL.Query()["id"])
	if err != nil {
		h.fail(w, r, err, nil)
		return
	}
	wxOK(w, map[string]any{"data": map[string]any{"replayed": n}})
}
