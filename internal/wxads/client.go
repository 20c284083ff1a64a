package wxads

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The action types our server reports (spec §4: emit only these).
const (
	ActionCompleteOrder         = "COMPLETE_ORDER"
	ActionReservation           = "RESERVATION"
	ActionConfirmEffectiveLeads = "CONFIRM_EFFECTIVE_LEADS"
)

// Report granularities and aggregations of GetReport.
const (
	GranularityDaily      = "DAILY"
	GranularityHourly     = "HOURLY"
	AggregationDomain     = "DOMAIN"
	AggregationActionType = "ACTION_TYPE"
)

// Limits of user_actions/add: family-B numbers assumed for family A (§6).
const (
	MaxActionsPerRequest = 50
	MaxActionsBodyBytes  = 50 * 1024
)

// TokenProvider is what the Client needs of a token source; *TokenSource
// implements it.
type TokenProvider interface {
	Token(ctx context.Context) (string, error)
	Invalidate(ctx context.Context, token string) (bool, error)
}

// Config configures a Client.
type Config struct {
	// BaseURL is the WeChat API host (default DefaultBaseURL).
	BaseURL string
	// HTTPClient defaults to a client with a 10 s timeout.
	HTTPClient *http.Client
	// Tokens supplies access tokens (required).
	Tokens TokenProvider
}

// Client calls the four marketing endpoints for one app. It is safe for
// concurrent use.
type Client struct {
	base   string
	hc     *http.Client
	tokens TokenProvider
}

// NewClient returns a Client.
func NewClient(cfg Config) (*Client, error) {
	if cfg.Tokens == nil {
		return nil, fmt.Errorf("%w: client needs a token provider", ErrInvalidInput)
	}
	base, err := normaliseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Client{base: base, hc: hc, tokens: cfg.Tokens}, nil
}

// CreateActionSetRequest is the body of user_action_sets/add.
type CreateActionSetRequest struct {
	// Type is the data source type; ours is "WEB".
	Type string `json:"type"`
	// Name is required for WEB, 1–32 bytes.
	Name string `json:"name,omitempty"`
	// Description is optional, 1–128 bytes.
	Description string `json:"description,omitempty"`
	// MobileAppID is required for ANDROID/IOS sets.
	MobileAppID int64 `json:"mobile_app_id,omitempty"`
	// WechatAppID is required for WECHAT* sets.
	WechatAppID string `json:"wechat_app_id,omitempty"`
}

// ActionSet is one element of user_action_sets/get's data.list.
type ActionSet struct {
	ID             int64  `json:"user_action_set_id"`
	Type           string `json:"type"`
	Name           string `json:"name"`
	Description    string `json:"description"`
	ActivateStatus bool   `json:"activate_status"`
	// CreatedTime is "yyyy-MM-dd HH:mm:ss" in GMT+8, as sent.
	CreatedTime string `json:"created_time"`
}

// Created parses CreatedTime.
func (s ActionSet) Created() (time.Time, error) {
	return time.ParseInLocation(time.DateTime, s.CreatedTime, beijing)
}

// Action is one conversion of user_actions/add.
type Action struct {
	// ActionTime is the Unix second the conversion happened. Keep the
	// original value on retries; never send a time in the future.
	ActionTime int64 `json:"action_time"`
	// ActionType is one of the Action* constants.
	ActionType string `json:"action_type"`
	// URL is the page of the conversion; mini-programs send a page path or
	// a placeholder.
	URL   string `json:"url"`
	Trace Trace  `json:"trace"`
	// ActionParam carries the value and lead type; nil sends none.
	ActionParam *ActionParam `json:"action_param,omitempty"`
	// UserID identifies the user (optional for WEB sets).
	UserID *UserID `json:"user_id,omitempty"`
	// OuterActionID is a dedup id; whether family A honours it is unknown
	// (spec §9), so callers send it only when configured to.
	OuterActionID string `json:"outer_action_id,omitempty"`
}

// Trace carries the click to attribute to.
type Trace struct {
	// ClickID is the whole gdt_vid value (1–64 bytes).
	ClickID string `json:"click_id"`
}

// ActionParam is the action's parameters.
type ActionParam struct {
	// Value is the order amount in fen (¥40 → 4000); 0 is not sent.
	Value int64 `json:"value,omitempty"`
	// LeadsType is the lead sub-type (e.g. "RESERVE").
	LeadsType string `json:"leads_type,omitempty"`
}

// UserID identifies the converting user.
type UserID struct {
	WechatOpenID  string `json:"wechat_openid,omitempty"`
	WechatUnionID string `json:"wechat_unionid,omitempty"`
	WechatAppID   string `json:"wechat_app_id,omitempty"`
}

// ReportRequest selects a data-source report.
type ReportRequest struct {
	UserActionSetID int64
	// StartDate and EndDate are YYYY-MM-DD in GMT+8, start ≤ end ≤ today.
	StartDate string
	EndDate   string
	// TimeGranularity is GranularityDaily or GranularityHourly; empty
	// leaves the platform default (hourly).
	TimeGranularity string
	// Aggregation is AggregationDomain, AggregationActionType or empty.
	Aggregation string
}

// ReportRow is one row of user_action_set_reports/get's data.list.
type ReportRow struct {
	Date string `json:"date"`
	// Hour is set for hourly reports.
	Hour *int `json:"hour,omitempty"`
	// Domain is set with AggregationDomain; ActionType (and CustomAction
	// for CUSTOM) with AggregationActionType.
	Domain                string `json:"domain,omitempty"`
	ActionType            string `json:"action_type,omitempty"`
	CustomAction          string `json:"custom_action,omitempty"`
	RawActionCount        int64  `json:"raw_action_count"`
	IdentifiedActionCount int64  `json:"identified_action_count"`
	IdentifiedUserCount   int64  `json:"identified_user_count"`
}

// CreateActionSet creates a data source and returns its id. For a second
// WEB set the platform answers 900351000; see EnsureWebActionSet.
func (c *Client) CreateActionSet(ctx context.Context, req CreateActionSetRequest) (int64, error) {
	const op = "user_action_sets/add"
	switch {
	case req.Type == "":
		return 0, invalid(op, "type is required")
	case req.Type == "WEB" && req.Name == "":
		return 0, invalid(op, "name is required for a WEB data source")
	case len(req.Name) > 32:
		return 0, invalid(op, "name is %d bytes, at most 32 allowed", len(req.Name))
	case len(req.Description) > 128:
		return 0, invalid(op, "description is %d bytes, at most 128 allowed", len(req.Description))
	}
	body, err := json.Marshal(req)
	if err != nil {
		return 0, fmt.Errorf("wxads: %s: encode: %w", op, err)
	}
	var data struct {
		ID int64 `json:"user_action_set_id"`
	}
	if err := c.call(ctx, op, http.MethodPost, nil, body, &data); err != nil {
		return 0, err
	}
	if data.ID <= 0 {
		return 0, fmt.Errorf("wxads: %s: %w: no data.user_action_set_id", op, ErrUnexpectedResponse)
	}
	return data.ID, nil
}

// EnsureWebActionSet returns the account's WEB data source, creating it if
// there is none: an account holds one WEB set, created once and reused
// forever (spec §3.3). created reports whether this call created it. The
// id of an existing set is read from the 900351000 message, or from
// user_action_sets/get when the message does not carry it.
func (c *Client) EnsureWebActionSet(ctx context.Context, name, description string) (id int64, created bool, err error) {
	id, err = c.CreateActionSet(ctx, CreateActionSetRequest{Type: "WEB", Name: name, Description: description})
	if err == nil {
		return id, true, nil
	}
	if id, ok := ExistingWebActionSetID(err); ok {
		return id, false, nil
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != 900351000 || !strings.Contains(strings.ToLower(ae.Msg), "only one web action set") {
		return 0, false, err
	}
	sets, gerr := c.GetActionSets(ctx, 0)
	if gerr != nil {
		// Classify must see the lookup's failure (maybe transient), not
		// the permanent 900351000 that led here.
		return 0, false, fmt.Errorf("wxads: look up existing WEB data source (after %v): %w", err, gerr)
	}
	for _, s := range sets {
		if s.Type == "WEB" {
			return s.ID, false, nil
		}
	}
	return 0, false, fmt.Errorf("wxads: platform says a WEB data source exists but user_action_sets/get lists none: %w", err)
}

// GetActionSets lists the account's data sources; id > 0 asks for one.
func (c *Client) GetActionSets(ctx context.Context, id int64) ([]ActionSet, error) {
	const op = "user_action_sets/get"
	if id < 0 {
		return nil, invalid(op, "user_action_set_id %d is negative", id)
	}
	q := url.Values{}
	if id > 0 {
		q.Set("user_action_set_id", strconv.FormatInt(id, 10))
	}
	var data struct {
		List []ActionSet `json:"list"`
	}
	if err := c.call(ctx, op, http.MethodGet, q, nil, &data); err != nil {
		return nil, err
	}
	return data.List, nil
}

// AddActions reports conversions to a data source in one request, with
// user_action_set_id at the top level (the mini-program shape). The
// platform answers errcode 0 even for actions it cannot attribute, so the
// attribution inputs are checked here: every action needs a time, a type,
// a url and a click id. A transport error or 5xx leaves the outcome
// unknown; resend the same actions (same action_time) to retry.
func (c *Client) AddActions(ctx context.Context, setID int64, actions []Action) error {
	const op = "user_actions/add"
	if setID <= 0 {
		return invalid(op, "user_action_set_id %d must be positive", setID)
	}
	if len(actions) < 1 || len(actions) > MaxActionsPerRequest {
		return invalid(op, "%d actions, want 1 to %d", len(actions), MaxActionsPerRequest)
	}
	for i, a := range actions {
		if err := checkAction(a); err != nil {
			return invalid(op, "actions[%d]: %s", i, err)
		}
	}
	body, err := json.Marshal(struct {
		UserActionSetID int64    `json:"user_action_set_id"`
		Actions         []Action `json:"actions"`
	}{setID, actions})
	if err != nil {
		return fmt.Errorf("wxads: %s: encode: %w", op, err)
	}
	if len(body) > MaxActionsBodyBytes {
		return invalid(op, "body is %d bytes, at most %d allowed; send fewer actions", len(body), MaxActionsBodyBytes)
	}
	return c.call(ctx, op, http.MethodPost, nil, body, nil)
}

// checkAction enforces the documented rules of one action.
func checkAction(a Action) error {
	switch {
	case a.ActionTime <= 0 || a.ActionTime > math.MaxInt32:
		return fmt.Errorf("action_time %d outside 1..%d", a.ActionTime, math.MaxInt32)
	case a.ActionType == "":
		return errors.New("action_type is required")
	case a.URL == "":
		return errors.New("url is required")
	case a.Trace.ClickID == "":
		return errors.New("trace.click_id is required: without it the conversion cannot be attributed")
	case len(a.Trace.ClickID) > 64:
		return fmt.Errorf("trace.click_id is %d bytes, at most 64 allowed", len(a.Trace.ClickID))
	case a.ActionParam != nil && a.ActionParam.Value < 0:
		return fmt.Errorf("action_param.value %d is negative", a.ActionParam.Value)
	}
	return nil
}

// GetReport reads a data-source report: raw and identified counts by day
// (or hour), optionally by domain or action type.
func (c *Client) GetReport(ctx context.Context, req ReportRequest) ([]ReportRow, error) {
	const op = "user_action_set_reports/get"
	if req.UserActionSetID <= 0 {
		return nil, invalid(op, "user_action_set_id %d must be positive", req.UserActionSetID)
	}
	start, err1 := time.Parse(time.DateOnly, req.StartDate)
	end, err2 := time.Parse(time.DateOnly, req.EndDate)
	switch {
	case err1 != nil:
		return nil, invalid(op, "start date %q is not YYYY-MM-DD", req.StartDate)
	case err2 != nil:
		return nil, invalid(op, "end date %q is not YYYY-MM-DD", req.EndDate)
	case end.Before(start):
		return nil, invalid(op, "start date %s is after end date %s", req.StartDate, req.EndDate)
	}
	switch req.TimeGranularity {
	case "", GranularityDaily, GranularityHourly:
	default:
		return nil, invalid(op, "time granularity %q, want %s or %s", req.TimeGranularity, GranularityDaily, GranularityHourly)
	}
	switch req.Aggregation {
	case "", AggregationDomain, AggregationActionType:
	default:
		return nil, invalid(op, "aggregation %q, want %s or %s", req.Aggregation, AggregationDomain, AggregationActionType)
	}
	dr, _ := json.Marshal(map[string]string{"start_date": req.StartDate, "end_date": req.EndDate}) // strings always encode
	q := url.Values{
		"user_action_set_id": {strconv.FormatInt(req.UserActionSetID, 10)},
		"date_range":         {string(dr)},
	}
	if req.TimeGranularity != "" {
		q.Set("time_granularity", req.TimeGranularity)
	}
	if req.Aggregation != "" {
		q.Set("aggregation", req.Aggregation)
	}
	var data struct {
		List []ReportRow `json:"list"`
	}
	if err := c.call(ctx, op, http.MethodGet, q, nil, &data); err != nil {
		return nil, err
	}
	return data.List, nil
}

// call runs one marketing call, refreshing the token and retrying exactly
// once when the token is rejected (spec §7.3). out receives data.
func (c *Client) call(ctx context.Context, op, method string, q url.Values, body []byte, out any) error {
	tok, err := c.tokens.Token(ctx)
	if err != nil {
		return fmt.Errorf("wxads: %s: get access token: %w", op, err)
	}
	data, err := c.once(ctx, op, method, tok, q, body)
	var ae *APIError
	if errors.As(err, &ae) && ae.Class == ClassRefreshToken {
		// Compare-and-drop: if another call already replaced the token,
		// this drops nothing and Token returns the replacement.
		if _, ierr := c.tokens.Invalidate(ctx, tok); ierr != nil {
			return fmt.Errorf("%w (and dropping the token failed: %v)", err, ierr)
		}
		tok, terr := c.tokens.Token(ctx)
		if terr != nil {
			return fmt.Errorf("wxads: %s: get access token after errcode %d: %w", op, ae.Code, terr)
		}
		data, err = c.once(ctx, op, method, tok, q, body)
	}
	if err != nil {
		return err
	}
	if out != nil {
		if len(data) == 0 || string(data) == "null" {
			return fmt.Errorf("wxads: %s: %w: success without data", op, ErrUnexpectedResponse)
		}
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("wxads: %s: %w: decode data: %w", op, ErrUnexpectedResponse, err)
		}
	}
	return nil
}

// maxAnswerBytes bounds what is read of an answer; reports are the largest.
const maxAnswerBytes = 8 << 20

// answer is the envelope of a marketing answer, read defensively: errcode
// and code may each be present or not (spec §2).
type answer struct {
	ErrCode   *flexInt        `json:"errcode"`
	ErrMsg    string          `json:"errmsg"`
	Code      *flexInt        `json:"code"`
	Message   string          `json:"message"`
	MessageCN string          `json:"message_cn"`
	Data      json.RawMessage `json:"data"`
}

// once sends one request with token and returns the answer's data.
func (c *Client) once(ctx context.Context, op, method, token string, q url.Values, body []byte) (json.RawMessage, error) {
	qq := url.Values{}
	for k, v := range q {
		qq[k] = v
	}
	qq.Set("version", "v1.0")
	qq.Set("access_token", token)
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/marketing/"+op+"?"+qq.Encode(), rd)
	if err != nil {
		return nil, fmt.Errorf("wxads: %s: build request: %w", op, redact(err))
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("wxads: %s: %w", op, redact(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes+1))
	if err != nil {
		return nil, fmt.Errorf("wxads: %s: read answer (HTTP %d): %w", op, resp.StatusCode, err)
	}
	if len(raw) > maxAnswerBytes {
		return nil, fmt.Errorf("wxads: %s: %w: answer larger than %d bytes", op, ErrUnexpectedResponse, maxAnswerBytes)
	}
	var ans answer
	jerr := json.Unmarshal(raw, &ans)
	if jerr == nil {
		if apiErr := ans.failure(op, resp.StatusCode); apiErr != nil {
			return nil, apiErr
		}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &HTTPError{Op: op, StatusCode: resp.StatusCode, Body: snippet(raw), Class: httpClass(resp.StatusCode)}
	}
	if jerr != nil {
		return nil, fmt.Errorf("wxads: %s: %w: %w in %q", op, ErrUnexpectedResponse, jerr, snippet(raw))
	}
	return ans.Data, nil
}

// failure returns the APIError of an answer, nil if it is a success:
// errcode (if present) and code (if present) must both be 0.
func (a answer) failure(op string, status int) *APIError {
	code, msg := int64(0), ""
	switch {
	case a.ErrCode != nil && *a.ErrCode != 0:
		code, msg = int64(*a.ErrCode), a.ErrMsg
	case a.Code != nil && *a.Code != 0:
		code, msg = int64(*a.Code), a.Message
		if msg == "" {
			msg = a.ErrMsg
		}
	default:
		return nil
	}
	class, alert := CodeClass(code)
	return &APIError{Op: op, Code: code, Msg: msg, MsgCN: a.MessageCN, HTTPStatus: status, Class: class, Alert: alert}
}

// flexInt decodes a JSON integer that may arrive as a number or a numeric
// string.
type flexInt int64

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	if s == "null" || s == "" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("errcode %s is not an integer", b)
	}
	*f = flexInt(n)
	return nil
}

// invalid builds an ErrInvalidInput error for op.
func invalid(op, format string, args ...any) error {
	return fmt.Errorf("wxads: %s: %w: %s", op, ErrInvalidInput, fmt.Sprintf(format, args...))
}
