package wxads

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Class says what a caller should do about a failed call.
type Class int

// The classes of failure, from spec §5.
const (
	// ClassNone: no error.
	ClassNone Class = iota
	// ClassRetry: transient (system busy, transport failure, HTTP 5xx,
	// unreadable answer). Retry with bounded backoff and the SAME payload:
	// the platform may have recorded the call (spec §9).
	ClassRetry
	// ClassRateLimited: per-minute quota (45011 and family-B rate limits).
	// Retry after the start of the next minute (RetryNotBefore).
	ClassRateLimited
	// ClassRefreshToken: the token was rejected (40001/40014/42001). The
	// Client already dropped it and retried once; seeing this class means
	// the retry was rejected too (token churn, e.g. a service elsewhere on
	// the classic endpoint). Retry later like ClassRetry.
	ClassRefreshToken
	// ClassQuota: the daily quota of the API is spent (45009). Stop calling
	// it until the next GMT+8 day (RetryNotBefore) and alert; an operator
	// can reset it with clear_quota.
	ClassQuota
	// ClassPermanent: retrying cannot help (bad request, configuration,
	// permissions, unknown code). Dead-letter; APIError.Alert says whether
	// an operator must act.
	ClassPermanent
)

// String names the class for logs and metrics.
func (c Class) String() string {
	switch c {
	case ClassNone:
		return "none"
	case ClassRetry:
		return "retry"
	case ClassRateLimited:
		return "rate_limited"
	case ClassRefreshToken:
		return "refresh_token"
	case ClassQuota:
		return "quota"
	case ClassPermanent:
		return "permanent"
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// Sentinel errors, matched with errors.Is.
var (
	// ErrInvalidInput marks a request the client refused to send because it
	// breaks a documented rule; it is permanent.
	ErrInvalidInput = errors.New("wxads: invalid input")
	// ErrUnexpectedResponse marks an answer the client could not make sense
	// of (not JSON, missing fields); it is classified as retry because a
	// proxy or a half-written answer is the usual cause.
	ErrUnexpectedResponse = errors.New("wxads: unexpected response")
)

// APIError is a non-zero errcode (or code) in a WeChat answer.
type APIError struct {
	// Op is the call: "stable_token", "token", or the marketing path such
	// as "user_actions/add".
	Op string
	// Code is errcode, or code when the answer used the family-B envelope.
	Code int64
	// Msg is errmsg (or message); MsgCN is message_cn when present.
	Msg   string
	MsgCN string
	// HTTPStatus is the HTTP status of the answer (normally 200).
	HTTPStatus int
	// Class is what to do about it; Alert says an operator must act
	// (whitelist, frozen secret, permissions, quota).
	Class Class
	Alert bool
}

// Error reports the call, the code and the platform's message.
func (e *APIError) Error() string {
	msg := e.Msg
	if e.MsgCN != "" {
		msg += " (" + e.MsgCN + ")"
	}
	return fmt.Sprintf("wxads: %s: errcode %d: %s", e.Op, e.Code, msg)
}

// HTTPError is an answer with a non-200 status and no WeChat error body
// (a gateway page, typically).
type HTTPError struct {
	Op         string
	StatusCode int
	// Body is the start of the answer, for the log.
	Body  string
	Class Class
}

// Error reports the call and the status.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("wxads: %s: HTTP %d: %.200q", e.Op, e.StatusCode, e.Body)
}

// httpClass classifies a bare HTTP status: server-side and throttling
// statuses are transient, other client errors are our bug.
func httpClass(status int) Class {
	switch {
	case status == 429:
		return ClassRateLimited
	case status >= 500, status == 408:
		return ClassRetry
	}
	return ClassPermanent
}

// codeRule is the classification of one error code.
type codeRule struct {
	class Class
	alert bool
}

// codeRules is the table of spec §5 (plus the family-B codes listed there,
// in case answers use the `code` envelope).
var codeRules = map[int64]codeRule{
	-1:        {ClassRetry, false},        // system busy
	40001:     {ClassRefreshToken, false}, // not latest / invalid credential
	40014:     {ClassRefreshToken, false}, // invalid access_token
	42001:     {ClassRefreshToken, false}, // access_token expired
	41001:     {ClassPermanent, false},    // access_token missing: our bug
	40002:     {ClassPermanent, false},    // invalid grant_type
	40013:     {ClassPermanent, true},     // invalid appid: configuration
	40125:     {ClassPermanent, true},     // invalid appsecret: configuration
	40164:     {ClassPermanent, true},     // caller IP not whitelisted
	40243:     {ClassPermanent, true},     // AppSecret frozen
	89503:     {ClassPermanent, true},     // IP needs admin confirmation; a refusal blocks ~1 h
	41002:     {ClassPermanent, false},    // appid missing
	41004:     {ClassPermanent, false},    // secret missing
	43001:     {ClassPermanent, false},    // GET required
	43002:     {ClassPermanent, false},    // POST required
	44002:     {ClassPermanent, false},    // empty POST body
	47001:     {ClassPermanent, false},    // data format error
	45009:     {ClassQuota, true},         // daily quota reached
	45011:     {ClassRateLimited, false},  // per-minute quota reached
	48001:     {ClassPermanent, true},     // api unauthorized: no ads permission
	900310000: {ClassRetry, false},        // unable to process at this time (family-B 10000)
	900351002: {ClassPermanent, false},    // JSON string is malformed
	900351000: {ClassPermanent, false},    // business validation
	900351001: {ClassPermanent, true},     // cross-entity authorization missing
	900318001: {ClassPermanent, false},    // actions sent as an object
	// Family B (api.e.qq.com), should an answer come in that envelope.
	10000: {ClassRetry, false},
	10001: {ClassRetry, false}, // maintenance
	11000: {ClassRefreshToken, false},
	11002: {ClassRefreshToken, false},
	11004: {ClassPermanent, false},
	11005: {ClassPermanent, false},
	11008: {ClassRateLimited, false},
	11016: {ClassRateLimited, false},
	11017: {ClassRateLimited, false},
	11018: {ClassQuota, true},
	11019: {ClassRateLimited, false},
}

// CodeClass classifies an error code answered by a marketing call, and
// says whether it needs an operator. Unknown codes are permanent: a human
// should look before anything is resent.
func CodeClass(code int64) (Class, bool) {
	if code == 0 {
		return ClassNone, false
	}
	if r, ok := codeRules[code]; ok {
		return r.class, r.alert
	}
	return ClassPermanent, false
}

// tokenCodeClass classifies a code answered by a token endpoint, where
// 40001 means a wrong AppSecret rather than a stale token.
func tokenCodeClass(code int64) (Class, bool) {
	switch code {
	case 40001, 40014, 42001:
		return ClassPermanent, true
	}
	return CodeClass(code)
}

// Classify returns the class of any error returned by this package; errors
// it does not recognise (transport failures, timeouts, resets, a store or
// locker failure) are transient and classified ClassRetry. A cancelled
// context is also ClassRetry: the outcome of the call is unknown.
func Classify(err error) Class {
	if err == nil {
		return ClassNone
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Class
	}
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Class
	}
	if errors.Is(err, ErrInvalidInput) {
		return ClassPermanent
	}
	return ClassRetry
}

// NeedsAlert reports whether err calls for an operator (whitelist, frozen
// secret, permissions, spent daily quota, wrong credentials).
func NeedsAlert(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Alert
}

// beijing is the clock of WeChat's daily quotas. A fixed zone avoids
// depending on the machine's tzdata.
var beijing = time.FixedZone("GMT+8", 8*3600)

// RetryNotBefore returns the earliest time err's call may be retried:
// now for transient classes (apply backoff on top), the start of the next
// minute for ClassRateLimited, the next GMT+8 midnight for ClassQuota, and
// the zero time for ClassPermanent and nil errors (never).
func RetryNotBefore(err error, now time.Time) time.Time {
	switch Classify(err) {
	case ClassRetry, ClassRefreshToken:
		return now
	case ClassRateLimited:
		return now.Truncate(time.Minute).Add(time.Minute)
	case ClassQuota:
		y, m, d := now.In(beijing).Date()
		return time.Date(y, m, d+1, 0, 0, 0, 0, beijing)
	}
	return time.Time{}
}

// existingWebSet matches the 900351000 message of a second WEB data source:
// "could create only one web action set for <account> with existed one : <id>".
var existingWebSet = regexp.MustCompile(`(?i)could create only one web action set for\s*\S*\s*with existed one\s*:\s*(\d+)`)

// ExistingWebActionSetID recognises the error of creating a second WEB data
// source and returns the id of the existing one, which callers adopt
// (create is idempotent that way, spec §3.3).
func ExistingWebActionSetID(err error) (int64, bool) {
	var ae *APIError
	if !errors.As(err, &ae) {
		return 0, false
	}
	return ParseExistingWebActionSetID(ae.Msg)
}

// ParseExistingWebActionSetID extracts <id> from an errmsg of the form
// "could create only one web action set for <account> with existed one : <id>".
func ParseExistingWebActionSetID(msg string) (int64, bool) {
	m := existingWebSet.FindStringSubmatch(msg)
	if m == nil {
		return 0, false
	}
	id, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || id <= 0 {
		return 0, false
	}
	return id, true
}
