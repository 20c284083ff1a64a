// Package collect is the Youshu-compatible SDK endpoint's domain: it turns
// the body of one SDK upload into stored and quarantined events. It knows
// nothing of HTTP; the server reads the body and maps the codes.
package collect

import (
	"bytes"
	"context"
	"crypto/rc4"
	"encoding/base64"
	"encoding/json"

	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/shuyuan-dev/shuyuan/internal/attribution"
	"github.com/shuyuan-dev/shuyuan/internal/event"
	"github.com/shuyuan-dev/shuyuan/internal/intake"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// Codes answered to the SDK in {"code":N,"msg":...}. The SDK only checks
// code == 0; anything else makes it keep the batch and send it again.
const (
	CodeOK          = 0
	CodeBadToken    = 4001 // token missing or unknown
	CodeBadBody     = 4002 // empty, not JSON, truncated, invalid UTF-8, undecryptable
	CodeTooMany     = 4003 // more events than the batch limit
	CodeBadMethod   = 4005 // not a POST
	CodeTimeout     = 4008 // the body did not arrive in time
	CodeTooLarge    = 4013 // body over the size limit
	CodeUnavailable = 5003 // the store could not commit; try again
)

// EncryptedContentType marks the SDK's RC4+base64 body (init option encrypt).
const EncryptedContentType = "application/x-sr-encrypted"

// Error is a refusal of the whole upload, with the code the SDK gets.
type Error struct {
	Code int
	Msg  string
	Err  error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

func refuse(code int, err error, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...), Err: err}
}

// Upload is one SDK request as the server read it.
type Upload struct {
	App        *tenant.App
	Body       []byte
	Encrypted  bool   // Content-Type application/x-sr-encrypted
	EncryptKey string // Content-Encrypting-Key
	ReceivedAt time.Time
	MaxEvents  int
}

// Writer is where accepted batches go: store.Writer in production.
type Writer interface {
	Write(ctx context.Context, b *store.EventBatch) (store.EventResult, error)
}

// Collector validates uploads and hands them to the writer, or to the
// intake log when it has one.
type Collector struct {
	w     Writer
	types *TypeGate
	log   *intake.Log
}

// New returns a Collector writing through w; types caps the new event
// types of unknown kind per app and day (nil: no cap).
func New(w Writer, types *TypeGate) *Collector { return &Collector{w: w, types: types} }

// WithLog makes Collect acknowledge on the intake log: an upload is
// checked for what would refuse it whole, appended and fsynced; a Loader
// stores its events later.
func (c *Collector) WithLog(l *intake.Log) *Collector { c.log = l; return c }

// Backlogged tells whether uploads are refused for now because the intake
// log holds too much not yet loaded: the server answers at once, before
// it reads the body, so that refusing costs next to nothing.
func (c *Collector) Backlogged() bool { return c.log != nil && c.log.Full() }

// ErrBacklogged is the refusal of Backlogged uploads.
var ErrBacklogged = refuse(CodeUnavailable, intake.ErrBacklog, "too many uploads waiting to be stored; send again later")

// Collect decodes, validates and stores one upload. It returns only after
// the batch is committed (to the intake log, when the collector has one).
// Events that fail validation are quarantined and do not fail the upload;
// an *Error refuses the whole upload. With the intake log the result
// counts nothing: the loader counts the events as it stores them.
func (c *Collector) Collect(ctx context.Context, up Upload) (store.EventResult, error) {
	raws, err := Decode(up)
	if err != nil {
		return store.EventResult{}, err
	}
	if up.MaxEvents > 0 && len(raws) > up.MaxEvents {
		return store.EventResult{}, refuse(CodeTooMany, nil, "batch has %d events; at most %d are accepted per upload", len(raws), up.MaxEvents)
	}
	if c.log != nil {
		_, err := c.log.Append(&intake.Record{App: up.App.ID, ReceivedAt: up.ReceivedAt,
			Encrypted: up.Encrypted, EncryptKey: up.EncryptKey, Body: up.Body})
		switch {
		case errors.Is(err, intake.ErrBacklog):
			return store.EventResult{}, ErrBacklogged
		case err != nil:
			return store.EventResult{}, refuse(CodeUnavailable, err, "intake log unavailable, send again later: %v", err)
		}
		return store.EventResult{}, nil
	}
	return c.store(ctx, up, raws)
}

// store parses an upload's raw events and commits them through the writer.
func (c *Collector) store(ctx context.Context, up Upload, raws []json.RawMessage) (store.EventResult, error) {
	b, err := c.batch(ctx, up, raws)
	if err != nil {
		return store.EventResult{}, err
	}
	if len(b.Events) == 0 && len(b.Quarantined) == 0 {
		return store.EventResult{}, nil
	}
	res, err := c.w.Write(ctx, b)
	if err != nil {
		return store.EventResult{}, refuse(CodeUnavailable, err, "store unavailable, send again later: %v", err)
	}
	return res, nil
}

// batch is the store's batch of an upload: its valid events with their
// ad clicks resolved, its quarantined ones, and the relay row.
func (c *Collector) batch(ctx context.Context, up Upload, raws []json.RawMessage) (*store.EventBatch, error) {
	b := &store.EventBatch{AppID: up.App.ID, ReceivedAt: up.ReceivedAt}
	if r := up.App.Relay; r != nil && r.SDKToken != "" {
		// Relayed as sent, committed with the events (issue 13).
		b.Relay = &store.Relay{AppID: up.App.ID, Kind: store.RelaySDK, Body: string(up.Body),
			Encrypted: up.Encrypted, EncryptKey: up.EncryptKey, ReceivedAt: up.ReceivedAt}
	}
	var admit func(ev *event.Event) (*event.Invalid, error)
	if c.types != nil {
		admit = func(ev *event.Event) (*event.Invalid, error) {
			if ev.Kind != event.KindUnknown {
				return nil, nil
			}
			return c.types.admit(ctx, up.App, ev.Type, up.ReceivedAt)
		}
	}
	var err error
	b.Events, b.Quarantined, err = parseEvents(raws, up.ReceivedAt, admit)
	if err != nil {
		return nil, refuse(CodeUnavailable, err, "store unavailable, send again later: %v", err)
	}
	attribution.Resolve(b)
	return b, nil
}

// NewBatch is the batch of one upload's raw events for the store: the
// valid events with their ad clicks resolved, and the quarantined ones.
func NewBatch(appID string, receivedAt time.Time, raws []json.RawMessage) *store.EventBatch {
	b := &store.EventBatch{AppID: appID, ReceivedAt: receivedAt}
	b.Events, b.Quarantined, _ = parseEvents(raws, receivedAt, nil) // without admit, no error
	attribution.Resolve(b)
	return b
}

// ParseEvents validates the raw events of one upload: the valid ones, and
// the others as quarantined with the reason. It checks no time against a
// receipt (Collect does).
func ParseEvents(raws []json.RawMessage) ([]event.Event, []event.Quarantined) {
	events, bad, _ := parseEvents(raws, time.Time{}, nil)
	return events, bad
}

// parseEvents is ParseEvents for an upload received at received; admit,
// if set, may refuse a valid event (a reason) or fail the upload.
func parseEvents(raws []json.RawMessage, received time.Time, admit func(*event.Event) (*event.Invalid, error)) ([]event.Event, []event.Quarantined, error) {
	events := make([]event.Event, 0, len(raws))
	var bad []event.Quarantined
	p := event.Parser{Received: received} // one per upload: its events share the SDK context
	for i, raw := range raws {
		ev, err := p.Parse(raw)
		if err == nil && admit != nil {
			var inv *event.Invalid
			if inv, err = admit(&ev); err != nil {
				return nil, nil, err
			}
			if inv != nil {
				err = inv
			}
		}
		if err != nil {
			bad = append(bad, event.Quarantined{
				Type: event.TypeOf(raw), Reason: fmt.Sprintf("event %d: %v", i, err), Raw: raw,
			})
			continue
		}
		events = append(events, ev)
	}
	return events, bad, nil
}

// Decode turns an upload's body into its raw events: a JSON array, a
// single JSON object (the SDK posts its own API errors that way) or the
// encrypted form of either. The raw events are slices of the body as sent
// or as decrypted, which the caller must not change while they are used.
func Decode(up Upload) ([]json.RawMessage, error) {
	body, err := plainBody(up)
	if err != nil {
		return nil, err
	}
	return decodeBody(body)
}

// plainBody is the upload's body as sent, or decrypted.
func plainBody(up Upload) ([]byte, error) {
	if !up.Encrypted {
		return up.Body, nil
	}
	return decrypt(up.Body, up.EncryptKey)
}

// decodeBody is Decode of a body in plain text.
func decodeBody(body []byte) ([]json.RawMessage, error) {
	if !utf8.Valid(body) {
		return nil, refuse(CodeBadBody, nil, "body is not valid UTF-8 (at byte %d)", invalidAt(body))
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, refuse(CodeBadBody, nil, "body is empty; expected a JSON array of events")
	}
	what := "array"
	switch trimmed[0] {
	case '[':
	case '{':
		what = "object"
	default:
		return nil, refuse(CodeBadBody, nil, "body must be a JSON array of events or one event object")
	}
	// The whole body is checked strictly (RFC 8259: no comments, trailing
	// commas, single quotes, NaN, bad escapes) before any event is read:
	// the events' own parsers are lenient, and a body that is not JSON is
	// refused whole, not stored in part. Offsets count from the body as
	// sent (or as decrypted).
	// The raw events are slices of the body: one pass checks and splits it,
	// where json.Valid and decoding into copies took two and more time
	// than parsing the events.
	raws, ok := event.SplitBatch(body)
	if !ok {
		err := json.Unmarshal(body, new(json.RawMessage))
		return nil, refuse(CodeBadBody, err, "body is not a valid JSON %s: %s", what, jsonErr(err))
	}
	if what == "object" {
		return []json.RawMessage{trimmed}, nil
	}
	return raws, nil
}

// decodeLogged is Decode for an upload read back from the intake log,
// which Collect logged only once Decode had accepted it: it splits the
// body without the strict check again (~7 % of the loader's CPU in a
// profile). A body that is no array (a single object: the SDK's own error
// reports, rare) or does not split as a checked one would (never, unless
// something else wrote the log) is decoded in full.
func decodeLogged(up Upload) ([]json.RawMessage, error) {
	body, err := plainBody(up)
	if err != nil {
		return nil, err
	}
	if raws, ok := event.SplitChecked(body); ok {
		return raws, nil
	}
	return decodeBody(body)
}

// decrypt undoes the SDK's encrypt mode: base64 of RC4 keyed by the UTF-8
// bytes of the Content-Encrypting-Key header.
func decrypt(body []byte, key string) ([]byte, error) {
	if key == "" {
		return nil, refuse(CodeBadBody, nil, "encrypted body without a Content-Encrypting-Key header")
	}
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(body)))
	n, err := base64.StdEncoding.Decode(raw, bytes.TrimSpace(body))
	if err != nil {
		return nil, refuse(CodeBadBody, err, "encrypted body is not base64: %v", err)
	}
	c, err := rc4.NewCipher([]byte(key))
	if err != nil {
		return nil, refuse(CodeBadBody, err, "Content-Encrypting-Key: %v", err)
	}
	plain := raw[:n]
	c.XORKeyStream(plain, plain)
	if t := bytes.TrimSpace(plain); len(t) == 0 || (t[0] != '[' && t[0] != '{') || !utf8.Valid(t) {
		return nil, refuse(CodeBadBody, nil, "encrypted body does not decrypt to JSON with the given Content-Encrypting-Key")
	}
	return plain, nil
}

// Encrypt is the SDK's encrypt mode, for tests and the load generator.
func Encrypt(plain []byte, key string) ([]byte, error) {
	c, err := rc4.NewCipher([]byte(key))
	if err != nil {
		return nil, fmt.Errorf("rc4 key: %w", err)
	}
	out := make([]byte, len(plain))
	c.XORKeyStream(out, plain)
	enc := make([]byte, base64.StdEncoding.EncodedLen(len(out)))
	base64.StdEncoding.Encode(enc, out)
	return enc, nil
}

func invalidAt(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

func jsonErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%v (at byte %d)", te, te.Offset)
	}
	return err.Error()
}
