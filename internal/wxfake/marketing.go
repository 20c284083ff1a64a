package wxfake

import (
	"bytes"
	"encoding/json"
	"math"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Marketing error codes and the one message whose exact text matters.
const (
	codeValidation = 900351000
	codeMalformed  = 900351002
	msgMalformed   = "JSON string is malformed."
)

// clickIDPattern is the shape of every click id observed in the wild
// (spec §8): "wx" and 14 or 16 more lowercase alphanumerics (15 tolerated).
var clickIDPattern = regexp.MustCompile(`^wx[0-9a-z]{14,16}$`)

// setTypes is the data source type enum (family B, spec §3.3).
var setTypes = map[string]bool{
	"WEB": true, "ANDROID": true, "IOS": true, "OFFLINE": true, "WECHAT": true,
	"WECHAT_MINI_PROGRAM": true, "WECHAT_MINI_GAME": true, "HARMONY": true,
}

// ActionSet is a data source (user action set) held by the fake.
type ActionSet struct {
	ID          int64     `json:"user_action_set_id"`
	AccountID   int64     `json:"account_id"`
	Type        string    `json:"type"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Activated   bool      `json:"activate_status"`
	CreatedAt   time.Time `json:"created_at"`
}

type actionSet struct{ ActionSet }

// RecordedAction is one action accepted by user_actions/add, with what the
// fake made of it and everything the caller sent.
type RecordedAction struct {
	// Seq numbers accepted actions from 1 in arrival order.
	Seq             int64  `json:"seq"`
	UserActionSetID int64  `json:"user_action_set_id"`
	AccountID       int64  `json:"account_id"`
	AppID           string `json:"appid"`
	// ArrivedAt is the fake's clock when the request was processed.
	ArrivedAt time.Time `json:"arrived_at"`
	// ActionTime is the action_time sent, or the arrival time (Unix
	// seconds) when it was missing — which is what the platform stamps.
	ActionTime        int64  `json:"action_time"`
	ActionTimeStamped bool   `json:"action_time_stamped,omitempty"`
	ActionType        string `json:"action_type"`
	// ClickID is trace.click_id when it was a string; empty otherwise.
	ClickID string `json:"click_id,omitempty"`
	// OuterActionID is outer_action_id, else external_action_id.
	OuterActionID string `json:"outer_action_id,omitempty"`
	// Identified says whether the action counts as attributed (see the
	// package doc for the rule).
	Identified bool `json:"identified"`
	// Duplicate is set when DedupOuterActionID recognised the action; such
	// actions are not counted in reports.
	Duplicate bool `json:"duplicate,omitempty"`
	// Raw is the action object exactly as sent.
	Raw json.RawMessage `json:"raw"`

	url     string
	userKey string
}

type dedupKey struct {
	set        int64
	actionType string
	outer      string
}

// marketing runs the checks every marketing call shares — method, token,
// version, JSON body — then the endpoint itself. The order follows spec
// §11.4–5: token first, body last.
func (s *Server) marketing(ep string, r *http.Request, body []byte, truncated bool) reply {
	switch ep {
	case EndpointSetsAdd, EndpointActionsAdd:
		if r.Method != http.MethodPost {
			return s.fail(43002, "require POST method")
		}
	case EndpointSetsGet:
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			return s.fail(43001, "require GET method")
		}
	case EndpointReportsGet:
		if r.Method != http.MethodGet {
			return s.fail(43001, "require GET method")
		}
	}
	q := r.URL.Query()

	s.mu.Lock()
	defer s.mu.Unlock()
	a, rep, ok := s.checkToken(q.Get("access_token"))
	if !ok {
		return rep
	}
	if v := q.Get("version"); v != "v1.0" {
		return s.failf(codeValidation, "version must be v1.0, got %q", v)
	}

	var obj map[string]json.RawMessage
	if r.Method == http.MethodPost && (ep != EndpointSetsGet || len(bytes.TrimSpace(body)) > 0) {
		if truncated {
			return s.fail(codeValidation, "request body too large")
		}
		if rep, ok := s.jsonBody(r, body, &obj); !ok {
			return rep
		}
	}

	switch ep {
	case EndpointSetsAdd:
		return s.setsAdd(a, obj)
	case EndpointSetsGet:
		return s.setsGet(a, q, obj)
	case EndpointActionsAdd:
		return s.actionsAdd(a, obj, len(body))
	default:
		return s.report(a, q)
	}
}

// jsonBody enforces Content-Type: application/json and a JSON object body,
// answering 900351002 otherwise as the platform does (WxJava #1324).
func (s *Server) jsonBody(r *http.Request, body []byte, obj *map[string]json.RawMessage) (reply, bool) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return s.fail(codeMalformed, msgMalformed), false
	}
	if !json.Valid(body) || kindOf(body) != '{' {
		return s.fail(codeMalformed, msgMalformed), false
	}
	if json.Unmarshal(body, obj) != nil {
		return s.fail(codeMalformed, msgMalformed), false
	}
	return reply{}, true
}

// setsAdd serves user_action_sets/add.
func (s *Server) setsAdd(a *appState, obj map[string]json.RawMessage) reply {
	typ, present, ok := jsonString(obj, "type")
	if !ok {
		return s.fail(codeMalformed, msgMalformed)
	}
	if !present {
		return s.fail(codeValidation, "type is required")
	}
	if !setTypes[typ] {
		return s.failf(codeValidation, "invalid type %q", typ)
	}
	name, namePresent, ok := jsonString(obj, "name")
	if !ok {
		return s.fail(codeMalformed, msgMalformed)
	}
	if typ == "WEB" && !namePresent {
		return s.fail(codeValidation, "name is required for a WEB action set")
	}
	if namePresent && (len(name) < 1 || len(name) > 32) {
		return s.failf(codeValidation, "name must be 1 to 32 bytes, got %d", len(name))
	}
	desc, descPresent, ok := jsonString(obj, "description")
	if !ok {
		return s.fail(codeMalformed, msgMalformed)
	}
	if descPresent && (len(desc) < 1 || len(desc) > 128) {
		return s.failf(codeValidation, "description must be 1 to 128 bytes, got %d", len(desc))
	}
	switch typ {
	case "ANDROID", "IOS", "HARMONY":
		if raw, present := obj["mobile_app_id"]; !present || isNull(raw) {
			return s.failf(codeValidation, "mobile_app_id is required for type %s", typ)
		} else if _, ok := jsonInt(raw); !ok {
			return s.fail(codeMalformed, msgMalformed)
		}
	case "WECHAT", "WECHAT_MINI_PROGRAM", "WECHAT_MINI_GAME":
		id, present, ok := jsonString(obj, "wechat_app_id")
		if !ok {
			return s.fail(codeMalformed, msgMalformed)
		}
		if !present || len(id) < 2 || len(id) > 64 {
			return s.failf(codeValidation, "wechat_app_id of 2 to 64 bytes is required for type %s", typ)
		}
	}
	if typ == "WEB" {
		for _, set := range s.sets {
			if set.AccountID == a.AccountID && set.Type == "WEB" {
				return s.failf(codeValidation, "could create only one web action set for %d with existed one : %d", a.AccountID, set.ID)
			}
		}
	}
	id := s.nextSetID
	s.nextSetID++
	s.sets[id] = &actionSet{ActionSet{
		ID: id, AccountID: a.AccountID, Type: typ, Name: name, Description: desc, CreatedAt: s.opts.Now(),
	}}
	return success(map[string]int64{"user_action_set_id": id})
}

// setView is one element of user_action_sets/get's data.list.
type setView struct {
	ID             int64  `json:"user_action_set_id"`
	Type           string `json:"type"`
	Name           string `json:"name"`
	Description    string `json:"description"`
	ActivateStatus bool   `json:"activate_status"`
	CreatedTime    string `json:"created_time"`
}

// setsGet serves user_action_sets/get: the account's data sources,
// optionally one of them.
func (s *Server) setsGet(a *appState, q url.Values, obj map[string]json.RawMessage) reply {
	var filter int64
	if v := q.Get("user_action_set_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return s.failf(codeValidation, "invalid user_action_set_id %q", v)
		}
		filter = id
	} else if raw, present := obj["user_action_set_id"]; present && !isNull(raw) {
		id, ok := jsonInt(raw)
		if !ok {
			return s.fail(codeMalformed, msgMalformed)
		}
		filter = id
	}
	if filter != 0 {
		if set := s.sets[filter]; set == nil || set.AccountID != a.AccountID {
			return s.failf(codeValidation, "action set %d does not belong to this account %d", filter, a.AccountID)
		}
	}
	list := []setView{}
	for _, set := range s.sets {
		if set.AccountID != a.AccountID || (filter != 0 && set.ID != filter) {
			continue
		}
		list = append(list, setView{
			ID: set.ID, Type: set.Type, Name: set.Name, Description: set.Description,
			ActivateStatus: set.Activated, CreatedTime: set.CreatedAt.In(gmt8).Format(time.DateTime),
		})
	}
	slices.SortFunc(list, func(x, y setView) int { return cmpInt(x.ID, y.ID) })
	return success(map[string]any{"list": list})
}

// actionsAdd serves user_actions/add. The batch is all-or-nothing: every
// action is validated before any is recorded.
func (s *Server) actionsAdd(a *appState, obj map[string]json.RawMessage, size int) reply {
	if size > s.opts.MaxBodyBytes {
		return s.failf(codeValidation, "request body of %d bytes exceeds %d bytes", size, s.opts.MaxBodyBytes)
	}
	var topSet int64
	hasTop := false
	if raw, present := obj["user_action_set_id"]; present && !isNull(raw) {
		id, ok := jsonInt(raw)
		if !ok {
			return s.fail(codeMalformed, msgMalformed)
		}
		topSet, hasTop = id, true
	}
	rawActions, present := obj["actions"]
	if !present || kindOf(rawActions) != '[' {
		return s.fail(codeMalformed, msgMalformed)
	}
	var actions []json.RawMessage
	if json.Unmarshal(rawActions, &actions) != nil {
		return s.fail(codeMalformed, msgMalformed)
	}
	if len(actions) < 1 || len(actions) > s.opts.MaxActions {
		return s.failf(codeValidation, "actions must hold 1 to %d items, got %d", s.opts.MaxActions, len(actions))
	}
	now := s.opts.Now()
	batch := make([]RecordedAction, 0, len(actions))
	for i, raw := range actions {
		ra, rep, ok := s.parseAction(a, raw, topSet, hasTop, now)
		if !ok {
			if env, isEnv := rep.body.(envelope); isEnv && env.ErrCode == codeValidation {
				env.ErrMsg = "actions[" + strconv.Itoa(i) + "]: " + env.ErrMsg
				rep.body = env
			}
			return rep
		}
		batch = append(batch, ra)
	}
	for _, ra := range batch {
		if s.opts.DedupOuterActionID && ra.OuterActionID != "" {
			k := dedupKey{ra.UserActionSetID, ra.ActionType, ra.OuterActionID}
			ra.Duplicate = s.dedup[k]
			s.dedup[k] = true
		}
		ra.Seq = int64(len(s.actions)) + 1
		s.actions = append(s.actions, ra)
		s.sets[ra.UserActionSetID].Activated = true
	}
	return reply{body: envelope{}}
}

// parseAction validates one action object and builds its record. Callers
// hold s.mu.
func (s *Server) parseAction(a *appState, raw json.RawMessage, topSet int64, hasTop bool, now time.Time) (RecordedAction, reply, bool) {
	malformed := func() (RecordedAction, reply, bool) {
		return RecordedAction{}, s.fail(codeMalformed, msgMalformed), false
	}
	invalid := func(format string, args ...any) (RecordedAction, reply, bool) {
		return RecordedAction{}, s.failf(codeValidation, format, args...), false
	}
	if kindOf(raw) != '{' {
		return malformed()
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return malformed()
	}
	ra := RecordedAction{AccountID: a.AccountID, AppID: a.AppID, ArrivedAt: now, Raw: slices.Clone(raw)}

	// Set id: per action (guide 456 shape) wins over the top level (457).
	if v, present := m["user_action_set_id"]; present && !isNull(v) {
		id, ok := jsonInt(v)
		if !ok {
			return malformed()
		}
		ra.UserActionSetID = id
	} else if hasTop {
		ra.UserActionSetID = topSet
	} else {
		return invalid("user_action_set_id is required")
	}
	set := s.sets[ra.UserActionSetID]
	if set == nil || set.AccountID != a.AccountID {
		return invalid("action set %d does not belong to this account %d", ra.UserActionSetID, a.AccountID)
	}

	if v, present := m["action_time"]; present && !isNull(v) {
		t, ok := jsonInt(v)
		if !ok {
			return malformed()
		}
		if t <= 0 || t > math.MaxInt32 {
			return invalid("action_time %d out of range 1..%d", t, math.MaxInt32)
		}
		ra.ActionTime = t
	} else {
		// The platform stamps its own time on an action without one.
		ra.ActionTime = now.Unix()
		ra.ActionTimeStamped = true
	}
	if skew := s.opts.MaxFutureSkew; skew > 0 && ra.ActionTime > now.Add(skew).Unix() {
		return invalid("action_time %d is more than %s ahead of server time %d", ra.ActionTime, skew, now.Unix())
	}

	typ, present, ok := jsonString(m, "action_type")
	switch {
	case !ok:
		return malformed()
	case !present || typ == "":
		return invalid("action_type is required")
	case !s.actionTypes[typ]:
		return invalid("invalid action_type %q", typ)
	}
	ra.ActionType = typ
	if typ == "CUSTOM" {
		ca, present, ok := jsonString(m, "custom_action")
		if !ok {
			return malformed()
		}
		if !present || ca == "" {
			return invalid("custom_action is required for action_type CUSTOM")
		}
	}

	u, present, ok := jsonString(m, "url")
	switch {
	case !ok:
		return malformed()
	case !present || u == "":
		return invalid("url is required")
	}
	ra.url = u

	if tr, present := m["trace"]; present && !isNull(tr) {
		if kindOf(tr) != '{' {
			return malformed()
		}
		var trace map[string]json.RawMessage
		if json.Unmarshal(tr, &trace) != nil {
			return malformed()
		}
		id, _, ok := jsonString(trace, "click_id")
		if !ok {
			return malformed()
		}
		ra.ClickID = id
	}
	if p, present := m["action_param"]; present && !isNull(p) {
		switch kindOf(p) {
		case '"':
		case '{':
			var param map[string]json.RawMessage
			if json.Unmarshal(p, &param) != nil {
				return malformed()
			}
			if v, present := param["value"]; present && !isNull(v) {
				if _, ok := jsonInt(v); !ok {
					return malformed()
				}
			}
		default:
			return malformed()
		}
	}
	openid, unionid := "", ""
	if uid, present := m["user_id"]; present && !isNull(uid) {
		if kindOf(uid) != '{' {
			return malformed()
		}
		var ids map[string]json.RawMessage
		if json.Unmarshal(uid, &ids) != nil {
			return malformed()
		}
		if openid, _, ok = jsonString(ids, "wechat_openid"); !ok {
			return malformed()
		}
		if unionid, _, ok = jsonString(ids, "wechat_unionid"); !ok {
			return malformed()
		}
	}
	// WeChat-typed sets attribute by user, not by click (family B rule).
	if strings.HasPrefix(set.Type, "WECHAT") && openid == "" && unionid == "" {
		return invalid("user_id.wechat_openid or wechat_unionid is required for a %s action set", set.Type)
	}
	for _, key := range []string{"outer_action_id", "external_action_id"} {
		id, present, ok := jsonString(m, key)
		if !ok {
			return malformed()
		}
		if present && ra.OuterActionID == "" {
			ra.OuterActionID = id
		}
	}

	// Silent success: the action is accepted either way; only a complete,
	// well-formed, known click makes it count.
	known := s.clicks[ra.ClickID] || s.opts.IdentifyWellFormed
	ra.Identified = !ra.ActionTimeStamped && clickIDPattern.MatchString(ra.ClickID) && known
	ra.userKey = openid
	if ra.userKey == "" {
		ra.userKey = ra.ClickID
	}
	return ra, reply{}, true
}

// kindOf returns the first byte of a JSON value ('{', '[', '"', 't', 'f',
// 'n', or a digit/minus for numbers), 0 for empty input.
func kindOf(raw []byte) byte {
	raw = trimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

func trimSpace(raw []byte) []byte { return bytes.TrimSpace(raw) }

// jsonInt parses raw as a JSON integer; 1.0, 1e3 and "1" are not integers
// for the platform's strict typing.
func jsonInt(raw json.RawMessage) (int64, bool) {
	n, err := strconv.ParseInt(string(trimSpace(raw)), 10, 64)
	return n, err == nil
}

// jsonString reads obj[key] as a string. present is false when the key is
// absent or null; ok is false when it is there with another type.
func jsonString(obj map[string]json.RawMessage, key string) (s string, present, ok bool) {
	raw, found := obj[key]
	if !found || isNull(raw) {
		return "", false, true
	}
	if kindOf(raw) != '"' || json.Unmarshal(raw, &s) != nil {
		return "", true, false
	}
	return s, true, true
}
