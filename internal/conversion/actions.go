package conversion

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/attribution"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/wxads"
)

// InvalidError is input that breaks a rule: Field names it (JSON path),
// Rule says what is wanted. Malformed marks a body that is not JSON of
// the right shape at all.
type InvalidError struct {
	Field     string
	Rule      string
	Malformed bool
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Rule }

func invalidf(field, format string, args ...any) *InvalidError {
	return &InvalidError{Field: field, Rule: fmt.Sprintf(format, args...)}
}

// MaxAPIActions bounds the actions of one POST /wx/actions/add. They go
// through the outbox, which sends them 50 at a time.
const MaxAPIActions = 1000

// maxFutureSkew is how far ahead of our clock an action_time may be: the
// platform's tolerance for client clocks (spec §6).
const maxFutureSkew = 10 * time.Second

// Accepted is what became of one action given to AddActions.
type Accepted struct {
	Index int    `json:"index"`
	ID    string `json:"id"`
	// Duplicate: an action with the same id was already in the outbox
	// (the same outer_action_id, or the same content, sent before).
	Duplicate bool `json:"duplicate"`
}

// AddActions validates the actions of a POST /wx/actions/add body
// ({"user_action_set_id":…,"actions":[{"url","action_time","action_type",
// "trace":{"click_id"},...}]}) and writes them to the outbox, where they are
// deduplicated, batched and retried like the actions of our own rules. An
// action's id is (app, outer_action_id, action type) when the caller gives
// outer_action_id — so an action the caller also reports as an order of
// the same id is one conversion — else a digest of its content. Nothing is
// written unless every action is valid.
func (s *Service) AddActions(ctx context.Context, app string, body []byte) ([]Accepted, error) {
	a, ok := s.apps.ByID(app)
	if !ok {
		return nil, fmt.Errorf("%w: no app %q", ErrUnknownApp, app)
	}
	if !Enabled(a) {
		return nil, fmt.Errorf("%w: app %s has no wx_appid", ErrNotConfigured, app)
	}
	r := rulesOf(a)
	var req struct {
		SetID   json.RawMessage   `json:"user_action_set_id"`
		Actions []json.RawMessage `json:"actions"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		return nil, &InvalidError{Field: "body", Rule: "must be a JSON object with user_action_set_id and actions: " + err.Error(), Malformed: true}
	}
	if dec.More() {
		return nil, &InvalidError{Field: "body", Rule: "must hold one JSON object", Malformed: true}
	}
	var setID int64
	if len(req.SetID) > 0 && string(req.SetID) != "null" {
		id, err := strconv.ParseInt(strings.Trim(string(req.SetID), `"`), 10, 64)
		if err != nil || id <= 0 {
			return nil, invalidf("user_action_set_id", "must be a positive integer, got %s", req.SetID)
		}
		own := a.UserActionSetID
		if own == 0 {
			own, _, _ = s.storedSetID(ctx, app)
		}
		if own != 0 && own != id {
			return nil, invalidf("user_action_set_id", "%d is not app %s's data source %d", id, app, own)
		}
		setID = id
	}
	if len(req.Actions) == 0 || len(req.Actions) > MaxAPIActions {
		return nil, invalidf("actions", "must be an array of 1 to %d actions, got %d", MaxAPIActions, len(req.Actions))
	}
	now := s.now().UTC()
	convs := make([]Conversion, len(req.Actions))
	for i, raw := range req.Actions {
		c, err := parseAPIAction(fmt.Sprintf("actions[%d]", i), raw, app, setID, r, now)
		if err != nil {
			return nil, err
		}
		convs[i] = c
	}
	out := make([]Accepted, len(convs))
	err := s.transact(ctx, func(tx store.Tx) error {
		if err := fillAdIDs(ctx, tx, app, convs); err != nil {
			return err
		}
		// Which ids are new decides Duplicate; the insert ignores the rest.
		ids := make([]string, len(convs))
		for i, c := range convs {
			ids[i] = c.ID
		}
		existing, err := tx.StoredConversions(ctx, ids)
		if err != nil {
			return err
		}
		for i, c := range convs {
			out[i] = Accepted{Index: i, ID: c.ID, Duplicate: existing[c.ID]}
			existing[c.ID] = true // a repeat inside the body is a duplicate too
		}
		_, err = insert(ctx, tx, convs, now, r.budget)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("outbox of %s: %w", app, err)
	}
	s.kick(app)
	return out, nil
}

// parseAPIAction validates one action object, strictly typed as WeChat
// reads it, and builds its conversion.
func parseAPIAction(path string, raw json.RawMessage, app string, setID int64, r rules, now time.Time) (Conversion, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return Conversion{}, &InvalidError{Field: path, Rule: "must be a JSON object", Malformed: true}
	}
	str := func(key string, obj map[string]json.RawMessage, field string) (string, error) {
		v, ok := obj[key]
		if !ok || string(v) == "null" {
			return "", nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", &InvalidError{Field: field, Rule: "must be a string", Malformed: true}
		}
		return s, nil
	}
	var act wxads.Action

	v, ok := m["action_time"]
	if !ok || string(v) == "null" {
		return Conversion{}, invalidf(path+".action_time", "required: Unix seconds of the conversion (the platform attributes nothing without it)")
	}
	t, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
	if err != nil {
		return Conversion{}, &InvalidError{Field: path + ".action_time", Rule: "must be an integer (Unix seconds), got " + string(v), Malformed: true}
	}
	switch {
	case t <= 0 || t > math.MaxInt32:
		return Conversion{}, invalidf(path+".action_time", "must be Unix seconds in 1..%d, got %d", math.MaxInt32, t)
	case t > now.Add(maxFutureSkew).Unix():
		return Conversion{}, invalidf(path+".action_time", "%d is %s ahead of the server clock; never report a time in the future",
			t, time.Unix(t, 0).Sub(now).Round(time.Second))
	}
	act.ActionTime = t

	if act.ActionType, err = str("action_type", m, path+".action_type"); err != nil {
		return Conversion{}, err
	}
	switch act.ActionType {
	case wxads.ActionCompleteOrder, wxads.ActionReservation, wxads.ActionConfirmEffectiveLeads:
	default:
		return Conversion{}, invalidf(path+".action_type", "must be COMPLETE_ORDER, RESERVATION or CONFIRM_EFFECTIVE_LEADS, got %q", act.ActionType)
	}
	if act.URL, err = str("url", m, path+".url"); err != nil {
		return Conversion{}, err
	}
	if act.URL == "" {
		act.URL = r.url
	} else if len(act.URL) > 1024 {
		return Conversion{}, invalidf(path+".url", "must be at most 1024 bytes")
	}

	tr, ok := m["trace"]
	if !ok || string(tr) == "null" {
		if _, misplaced := m["click_id"]; misplaced {
			return Conversion{}, invalidf(path+".trace.click_id", "required; click_id must be inside trace, not beside it")
		}
		return Conversion{}, invalidf(path+".trace.click_id", "required: without it the conversion cannot be attributed")
	}
	var trace map[string]json.RawMessage
	if err := json.Unmarshal(tr, &trace); err != nil {
		return Conversion{}, &InvalidError{Field: path + ".trace", Rule: "must be an object", Malformed: true}
	}
	if act.Trace.ClickID, err = str("click_id", trace, path+".trace.click_id"); err != nil {
		return Conversion{}, err
	}
	if err := attribution.CheckClickID(path+".trace.click_id", act.Trace.ClickID); err != nil {
		bad := err.(*attribution.Malformed)
		return Conversion{}, invalidf(bad.Field, "%s (got %q)", bad.Rule, bad.Value)
	}

	var value int64
	if p, ok := m["action_param"]; ok && string(p) != "null" {
		var param map[string]json.RawMessage
		if err := json.Unmarshal(p, &param); err != nil {
			return Conversion{}, &InvalidError{Field: path + ".action_param", Rule: "must be an object", Malformed: true}
		}
		ap := &wxads.ActionParam{}
		if v, ok := param["value"]; ok && string(v) != "null" {
			n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			if err != nil {
				return Conversion{}, &InvalidError{Field: path + ".action_param.value", Rule: "must be an integer amount in fen, got " + string(v), Malformed: true}
			}
			if n < 0 {
				return Conversion{}, invalidf(path+".action_param.value", "must not be negative, got %d", n)
			}
			ap.Value, value = n, n
		}
		if ap.LeadsType, err = str("leads_type", param, path+".action_param.leads_type"); err != nil {
			return Conversion{}, err
		}
		if ap.Value != 0 || ap.LeadsType != "" {
			act.ActionParam = ap
		}
	}
	var user attribution.User
	if u, ok := m["user_id"]; ok && string(u) != "null" {
		var ids map[string]json.RawMessage
		if err := json.Unmarshal(u, &ids); err != nil {
			return Conversion{}, &InvalidError{Field: path + ".user_id", Rule: "must be an object", Malformed: true}
		}
		uid := &wxads.UserID{}
		if uid.WechatOpenID, err = str("wechat_openid", ids, path+".user_id.wechat_openid"); err != nil {
			return Conversion{}, err
		}
		if uid.WechatUnionID, err = str("wechat_unionid", ids, path+".user_id.wechat_unionid"); err != nil {
			return Conversion{}, err
		}
		if uid.WechatAppID, err = str("wechat_app_id", ids, path+".user_id.wechat_app_id"); err != nil {
			return Conversion{}, err
		}
		if *uid != (wxads.UserID{}) {
			act.UserID = uid
			user = attribution.User{OpenID: uid.WechatOpenID, UnionID: uid.WechatUnionID}
		}
	}
	if v, ok := m["user_action_set_id"]; ok && string(v) != "null" {
		id, err := strconv.ParseInt(strings.Trim(string(v), `"`), 10, 64)
		if err != nil || id <= 0 || (setID != 0 && id != setID) || setID == 0 {
			return Conversion{}, invalidf(path+".user_action_set_id", "give user_action_set_id once, at the top level of the body (got %s here)", v)
		}
	}
	outer, err := str("outer_action_id", m, path+".outer_action_id")
	if err != nil {
		return Conversion{}, err
	}
	if len(outer) > 64 {
		return Conversion{}, invalidf(path+".outer_action_id", "must be at most 64 bytes")
	}
	for key := range m {
		switch key {
		case "action_time", "action_type", "url", "trace", "action_param", "user_id", "outer_action_id", "user_action_set_id":
		default:
			// Unknown fields are refused: the platform has answered
			// 900351000 for extra parameters (spec §5).
			return Conversion{}, invalidf(path+"."+key, "unknown field; allowed: action_time, action_type, url, trace, action_param, user_id, outer_action_id")
		}
	}

	ref := outer
	if ref == "" {
		// Same content, same id: a caller's retry of the same action is
		// one conversion.
		h := sha256.New()
		fmt.Fprintf(h, "%d\x00%d\x00%s\x00%s\x00%s\x00%d\x00%s", setID, act.ActionTime, act.ActionType, act.Trace.ClickID, act.URL, value, user.OpenID+user.UnionID)
		ref = "api:" + hex.EncodeToString(h.Sum(nil)[:12])
	}
	c := Conversion{
		ID: ID(app, ref, act.ActionType), AppID: app, Kind: KindAPI, RefID: ref, ActionType: act.ActionType,
		Source: SourceAPI, OpenID: user.OpenID, UnionID: user.UnionID, OccurredAt: time.Unix(act.ActionTime, 0).UTC(),
		ValueFen: value, Touch: attribution.Touch{ClickID: act.Trace.ClickID}, SetID: setID,
	}
	switch {
	case outer != "":
		act.OuterActionID = outer
	case r.outer:
		act.OuterActionID = c.ID
	}
	c.Action = &act
	return c, nil
}

// fillAdIDs credits API actions to the ad of their click, when a user came
// through that click (for the ad analysis; nothing is sent).
func fillAdIDs(ctx context.Context, tx store.Tx, app string, convs []Conversion) error {
	for i := range convs {
		ad, err := tx.AdOfClick(ctx, app, convs[i].Touch.ClickID)
		if err != nil {
			return err
		}
		convs[i].Touch.AdID = ad
	}
	return nil
}
