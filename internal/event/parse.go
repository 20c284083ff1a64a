package event

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	gojson "github.com/goccy/go-json"
)

// MaxDepth is the deepest nesting of objects and arrays accepted in an event.
const MaxDepth = 32

// MaxPropsBytes bounds one event's JSON. The SDK only warns past 5000
// characters of props; 64 KiB leaves room for real apps and stops abuse.
const MaxPropsBytes = 64 << 10

// Plausible client clock: 13-digit milliseconds.
const (
	minTimeMS = 1_000_000_000_000
	maxTimeMS = 9_999_999_999_999
)

// Bounds of what an event may carry (docs/sdk.md lists them).
const (
	// MaxAhead is how far after its upload's receipt an event's time may
	// be: a client clock a little fast, not one years off.
	MaxAhead = 24 * time.Hour
	// MaxTypeLen bounds an event type, in characters.
	MaxTypeLen = 64
	// maxSafe is the largest integer JavaScript, the SDK's language,
	// counts exactly (2^53−1): log_id, stay_time and sku_num beyond it are
	// no counts, and would not fit the 64-bit columns once wrapped.
	maxSafe = 1<<53 - 1
	// maxYuan bounds a price or an amount, either way: a trillion yuan,
	// far beyond any order and well inside int64 fen.
	maxYuan = 1e12
)

// Earliest is the earliest event time accepted: the day WeChat
// mini-programs were launched (2017-01-09, China time); no app's event
// can be older.
var Earliest = time.Date(2017, 1, 9, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))

// Invalid is the reason an event is quarantined: the field and the rule.
type Invalid struct {
	Field string
	Rule  string
}

func (e *Invalid) Error() string { return e.Field + ": " + e.Rule }

func invalid(field, rule string, args ...any) *Invalid {
	return &Invalid{Field: field, Rule: fmt.Sprintf(rule, args...)}
}

// The envelope's fields, in the order goccy/go-json sorts them (see envField).
const (
	envFrom = iota
	envLogID
	envProps
	envTrackingID
	envType
	numEnv
)

var envNames = [numEnv]string{"from", "log_id", "props", "tracking_id", "type"}

// Parser parses the events of one upload. The SDK spreads the same context
// (wx_user, chan, system_info, ...) over every event of an upload, so the
// parser decodes a context once and reuses it while it repeats.
type Parser struct {
	// Received is when the upload arrived: an event time more than MaxAhead
	// after it is refused. Zero skips that check (tests, back-fills).
	Received time.Time

	// known are the context values of the upload's events so far, each
	// checked once (walkProps).
	known    [numCtx][]byte
	knownBuf []byte // holds them

	hasCtx bool
	sig    []byte // the last event's context, sorted: key, 0, value, 0, ...
	next   []byte // scratch for this event's
	ctx    Event  // its context fields
	ctxErr error

	// The last tracking id and from, which an upload repeats: reused
	// rather than allocated again.
	tracking, from lastString
}

// scratch is what parsing one event needs for a while: pooled, so that
// the parser of each upload does not grow its own.
type scratch struct {
	ms     []member // the members of props
	nested []member // the members of the props' nested objects
	own    []member // the own props, sorted
	ctxIdx []int32  // the context props, by index in ms
	ownIdx []int32  // the own props
	elems  [][]byte // the sub_orders
}

var scratchPool = sync.Pool{New: func() any {
	// Sized for the SDK's events.
	return &scratch{ms: make([]member, 0, 64), nested: make([]member, 0, 64), own: make([]member, 0, 32)}
}}

// release returns s to the pool, holding no slice of the event.
func (s *scratch) release() {
	clear(s.ms)
	clear(s.nested)
	clear(s.own)
	clear(s.elems)
	s.ms, s.nested, s.own, s.elems = s.ms[:0], s.nested[:0], s.own[:0], s.elems[:0]
	s.ctxIdx, s.ownIdx = s.ctxIdx[:0], s.ownIdx[:0]
	scratchPool.Put(s)
}

// lastString is the last string read for a field, kept to be reused.
type lastString struct{ s string }

func (l *lastString) get(v []byte) string {
	if string(v) != l.s {
		l.s = string(v)
	}
	return l.s
}

// Parse decodes and validates one event of an SDK batch. A returned error is
// an *Invalid naming the field and the rule; TypeOf still tells the type for
// the quarantine when it could be read.
func Parse(raw json.RawMessage) (Event, error) {
	var p Parser
	return p.Parse(raw)
}

// Parse is the package-level Parse with the parser's context cache.
//
// It reads the event in one pass that checks the bytes as it goes (a
// context value repeating one of the upload's is known by its bytes) and
// decodes nothing it does not read; what it accepts and refuses, the Event
// and the errors, are those of the decoder it replaced (goccy/go-json into
// maps of json.RawMessage; legacy_test.go keeps it and
// FuzzParseSameAsLegacy holds the two together).
func (p *Parser) Parse(raw json.RawMessage) (Event, error) {
	var ev Event
	if len(raw) > MaxPropsBytes {
		return ev, invalid("event", "larger than %d bytes", MaxPropsBytes)
	}
	s := scratchPool.Get().(*scratch)
	defer s.release()
	var env [numEnv][]byte // raw values; nil when absent
	isObject, ok, deep := p.walk(raw, s, &env)
	if !ok && !deep {
		// Depth is checked first, on whatever the bytes are.
		deep = depth(raw) > MaxDepth
	}
	if deep {
		return ev, invalid("event", "nested deeper than %d levels", MaxDepth)
	}
	if !ok {
		return ev, invalid("event", "must be a JSON object")
	}
	// Props are re-encoded (sorted keys): invalid UTF-8 would come back
	// as other bytes, and the dedup key with it.
	if !utf8.Valid(raw) {
		return ev, invalid("event", "must be valid UTF-8")
	}
	if !isObject && raw[skipSpace(raw, 0)] != 'n' { // null decodes as an empty envelope
		return ev, invalid("event", "must be a JSON object")
	}
	var err error
	if v := env[envType]; len(v) > 2 && v[0] == '"' && knownTypes[string(v[1:len(v)-1])] != "" {
		ev.Type = knownTypes[string(v[1:len(v)-1])] // not allocated again for each event
	} else if ev.Type, err = reqString(v, "type"); err != nil {
		return ev, err
	}
	if err := checkType(ev.Type); err != nil {
		return ev, err
	}
	ev.Kind = KindOf(ev.Type)
	if ev.From, err = p.optStringLast(env[envFrom], "from", &p.from); err != nil {
		return ev, err
	}
	if ev.TrackingID, err = p.optStringLast(env[envTrackingID], "tracking_id", &p.tracking); err != nil {
		return ev, err
	}
	if v := env[envLogID]; v != nil && !isNull(v) {
		f, err := number(v, "log_id")
		if err != nil {
			return ev, err
		}
		if f != math.Trunc(f) || math.Abs(f) > maxSafe {
			return ev, invalid("log_id", "must be an integer from %d to %d, got %v", -maxSafe, maxSafe, f)
		}
		ev.LogID = int64(f)
	}
	switch props := env[envProps]; {
	case props == nil || isNull(props):
		if ev.Kind == KindBehaviour {
			return ev, invalid("props", "required")
		}
		s.ms = s.ms[:0] // as for {}
	case props[0] != '{':
		return ev, invalid("props", "must be an object")
	}
	// s.ms holds the members of props (walkProps).
	unescapeKeys(s.ms)
	if err := p.fill(&ev, s, s.ms); err != nil {
		return ev, err
	}
	return ev, nil
}

// walk checks raw (as checkJSON(raw, MaxDepth) does) and, when it is an
// object, reads the envelope's values into env and the members of props
// into s.ms, in the same pass.
func (p *Parser) walk(raw []byte, s *scratch, env *[numEnv][]byte) (isObject, ok, tooDeep bool) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		ok, tooDeep = checkJSON(raw, MaxDepth)
		return false, ok, tooDeep
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return true, skipSpace(raw, i+1) == len(raw), false
	}
	for {
		key, esc, j, ok := checkMemberKey(raw, i)
		if !ok {
			return true, false, false
		}
		i = j
		f := envField(key, esc)
		var end int
		if f == envProps && raw[i] == '{' {
			end, ok, tooDeep = p.walkProps(raw, i, s)
		} else {
			end, ok, tooDeep = checkValue(raw, i, MaxDepth-1)
		}
		if !ok {
			return true, false, tooDeep
		}
		if f >= 0 {
			env[f] = raw[i:end] // the last of a repeated key counts
		}
		i = skipSpace(raw, end)
		switch {
		case i >= len(raw):
			return true, false, false
		case raw[i] == '}':
			return true, skipSpace(raw, i+1) == len(raw), false
		case raw[i] != ',':
			return true, false, false
		}
		i = skipSpace(raw, i+1)
	}
}

// walkProps checks the props object at raw[i] == '{' (the second level)
// and puts its members into s.ms. A context value that is byte for byte
// the one of an earlier event of the upload was checked then: it is
// recognised with one comparison, neither checked nor scanned again.
func (p *Parser) walkProps(raw []byte, i int, s *scratch) (end int, ok, tooDeep bool) {
	s.ms = s.ms[:0]
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return i + 1, true, false
	}
	for {
		key, esc, j, ok := checkMemberKey(raw, i)
		if !ok {
			return 0, false, false
		}
		i = j
		c := -1
		if !esc {
			c = ctxIndex(key)
		}
		if c >= 0 && p.known[c] != nil && bytes.HasPrefix(raw[i:], p.known[c]) {
			// An object, array or string ends where it ends: the same
			// bytes are the same value.
			end = i + len(p.known[c])
		} else {
			if end, ok, tooDeep = checkValue(raw, i, MaxDepth-2); !ok {
				return 0, false, tooDeep
			}
			if c >= 0 && (raw[i] == '{' || raw[i] == '[' || raw[i] == '"') {
				p.know(c, raw[i:end])
			}
		}
		s.ms = append(s.ms, member{key: key, val: raw[i:end], esc: esc})
		i = skipSpace(raw, end)
		switch {
		case i >= len(raw):
			return 0, false, false
		case raw[i] == '}':
			return i + 1, true, false
		case raw[i] != ',':
			return 0, false, false
		}
		i = skipSpace(raw, i+1)
	}
}

// know keeps a copy of v as the known value of context key c: the caller
// may reuse raw.
func (p *Parser) know(c int, v []byte) {
	if len(p.knownBuf)+len(v) > cap(p.knownBuf) {
		// A new buffer; the values in the old one stay as they are.
		p.knownBuf = make([]byte, 0, max(2<<10, 2*len(v))) // an SDK context is ~1 KiB
	}
	start := len(p.knownBuf)
	p.knownBuf = append(p.knownBuf, v...)
	p.known[c] = p.knownBuf[start:len(p.knownBuf):len(p.knownBuf)]
}

// checkMemberKey checks an object member's key and colon at raw[i]; it
// returns the key as sent, whether it holds escapes, and the index of the
// value, which is not at the end of raw.
func checkMemberKey(raw []byte, i int) (key []byte, esc bool, val int, ok bool) {
	if i >= len(raw) || raw[i] != '"' {
		return nil, false, 0, false
	}
	ke := checkString(raw, i)
	if ke < 0 {
		return nil, false, 0, false
	}
	key = raw[i+1 : ke-1]
	i = skipSpace(raw, ke)
	if i >= len(raw) || raw[i] != ':' {
		return nil, false, 0, false
	}
	i = skipSpace(raw, i+1)
	if i >= len(raw) {
		return nil, false, 0, false
	}
	return key, bytes.IndexByte(key, '\\') >= 0, i, true
}

// optStringLast is optString, reusing the string of the last event when
// the bytes repeat.
func (p *Parser) optStringLast(v []byte, field string, last *lastString) (string, error) {
	if v == nil || isNull(v) {
		return "", nil
	}
	if v[0] == '"' && bytes.IndexByte(v, '\\') < 0 {
		return last.get(v[1 : len(v)-1]), nil
	}
	return optString(v, field)
}

// envField is the envelope field an object key names, or -1, matched as
// goccy/go-json's struct decoder matches it (the decoder this parser
// replaced; the same key must name the same field): ASCII letters in any
// case, escapes decoded. Of the fields the decoded key is a prefix of, the
// first in sorted order is named if the key as sent is at least as long:
// so "\u0074yp" names "type", a quirk kept.
func envField(raw []byte, esc bool) int {
	if !esc {
		for f, name := range envNames {
			if asciiFold(raw, name) {
				return f
			}
		}
		return -1
	}
	var key [16]byte
	n := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '\\' {
			i++
			if raw[i] != 'u' {
				return -1 // \n, \" ...: in no field's name
			}
			r := hexRune(raw[i+1 : i+5])
			if r >= 0x80 {
				return -1
			}
			c = byte(r)
			i += 4
		}
		if n == len(key) {
			return -1
		}
		key[n] = lower(c)
		n++
	}
	for f, name := range envNames {
		if n <= len(name) && string(key[:n]) == name[:n] {
			if len(raw) >= len(name) {
				return f
			}
			return -1
		}
	}
	return -1
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// asciiFold reports whether b is s, ignoring the case of ASCII letters
// only (not Unicode folding: the Kelvin sign is no k here).
func asciiFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

func hexRune(h []byte) rune {
	var r rune
	for _, c := range h {
		switch {
		case c <= '9':
			c -= '0'
		case c <= 'F':
			c -= 'A' - 10
		default:
			c -= 'a' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// unescapeKeys decodes the keys of checked members that hold escapes.
func unescapeKeys(ms []member) {
	for i := range ms {
		if m := &ms[i]; m.esc {
			m.key, m.esc = unescape(m.key), false
		}
	}
}

// unescape decodes the contents of a checked string that holds escapes,
// with the decoder the parser replaced, whose handling of lone surrogates
// the stored keys and values depend on.
func unescape(raw []byte) []byte {
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	var s string
	if goccyUnmarshal(q, &s) != nil {
		return raw // cannot happen: the string was checked
	}
	return []byte(s)
}

// goccyUnmarshal is goccy/go-json's Unmarshal on a copy of data with
// trailing spaces (valid JSON; nothing decoded changes). On a string that
// ends in a lone high surrogate escape near the end of the input, goccy's
// look-ahead computes a pointer past its buffer, which the race
// detector's pointer checks (checkptr) abort on.
func goccyUnmarshal(data []byte, v any) error {
	const pad = "        "
	q := make([]byte, 0, len(data)+len(pad))
	return gojson.Unmarshal(append(append(q, data...), pad...), v)
}

// TypeOf reads the event type of a raw event, for the quarantine, cut to
// MaxTypeLen characters (the raw event keeps all of it).
func TypeOf(raw json.RawMessage) string {
	var env struct {
		Type any `json:"type"`
	}
	if !json.Valid(raw) || goccyUnmarshal(raw, &env) != nil {
		return ""
	}
	s, _ := env.Type.(string)
	if utf8.RuneCountInString(s) > MaxTypeLen {
		s = string([]rune(s)[:MaxTypeLen]) + "…"
	}
	return s
}

// checkType bounds an event type: anyone holding the public SDK token
// could otherwise create types of any size and alphabet. Apps name their
// own events like the SDK does (login_wxapp, "sdk api exec error") or in
// Chinese; nobody needs markup, quotes or control characters.
func checkType(typ string) *Invalid {
	switch n := utf8.RuneCountInString(typ); {
	case n == 0:
		return invalid("type", "must not be empty")
	case n > MaxTypeLen:
		return invalid("type", "must be at most %d characters, got %d", MaxTypeLen, n)
	}
	for _, c := range typ {
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) && !strings.ContainsRune(" _-.:/", c) {
			return invalid("type", "must be letters, digits, spaces and _ - . : / only, got %q", typ)
		}
	}
	if typ[0] == ' ' || typ[len(typ)-1] == ' ' {
		return invalid("type", "must not begin or end with a space, got %q", typ)
	}
	return nil
}

func (p *Parser) fill(ev *Event, s *scratch, props obj) error {
	// The context and the own props, each sorted by key, the last of equal
	// keys kept: the content of the maps the props were decoded into.
	s.ctxIdx, s.ownIdx = s.ctxIdx[:0], s.ownIdx[:0]
	for i, m := range props {
		if ctxIndex(m.key) >= 0 {
			s.ctxIdx = append(s.ctxIdx, int32(i))
		} else {
			s.ownIdx = append(s.ownIdx, int32(i))
		}
	}
	s.ctxIdx = sortKeys(props, s.ctxIdx)
	// The context's signature, to compare with the last event's.
	p.next = p.next[:0]
	for _, i := range s.ctxIdx {
		m := &props[i]
		p.next = append(append(append(append(p.next, m.key...), 0), m.val...), 0)
	}
	r := reader{s: s}
	behaviour := ev.Kind == KindBehaviour

	// Common props. Own props are read from all of props: a context key
	// is never looked up among them.
	if t, ok := r.optNumber(props.get("time"), "props.time"); ok {
		at := time.UnixMilli(int64(t)).UTC()
		switch {
		case t < minTimeMS || t > maxTimeMS:
			r.fail(invalid("props.time", "must be Unix milliseconds (13 digits), got %v", t))
		case at.Before(Earliest):
			r.fail(invalid("props.time", "must not be before 2017-01-09 (when mini-programs began), got %v (%s)", t, at.Format(time.RFC3339)))
		case !p.Received.IsZero() && at.Sub(p.Received) > MaxAhead:
			r.fail(invalid("props.time", "%v (%s) is more than a day after the upload was received (%s); is the client's clock wrong?",
				t, at.Format(time.RFC3339), p.Received.UTC().Format(time.RFC3339)))
		}
		ev.Time = at
	} else if behaviour && r.err == nil {
		r.fail(invalid("props.time", "required"))
	}
	page, hasPage := r.optString(props.get("page"), "props.page")
	if behaviour && !hasPage && r.err == nil {
		r.fail(invalid("props.page", "required"))
	}
	ev.Page, ev.PageQry, _ = strings.Cut(strings.TrimPrefix(page, "/"), "?")
	ev.Title, _ = r.optString(props.get("page_title"), "props.page_title")

	if p.hasCtx && bytes.Equal(p.next, p.sig) {
		copyContext(ev, &p.ctx)
		if p.ctxErr != nil {
			r.fail(p.ctxErr.(*Invalid))
		}
	} else {
		ctx := make(obj, len(s.ctxIdx))
		for j, i := range s.ctxIdx {
			ctx[j] = props[i]
		}
		cr := reader{s: s}
		fillContext(&cr, ev, ctx)
		p.sig, p.next = p.next, p.sig
		p.hasCtx, p.ctxErr = true, cr.err
		copyContext(&p.ctx, ev)
		if cr.err != nil {
			r.fail(cr.err.(*Invalid))
		}
	}
	if behaviour && ev.UserKey == "" && r.err == nil {
		r.fail(invalid("props.wx_user", "open_id or local_id required"))
	}

	// Per-behaviour props.
	switch ev.Type {
	case LeaveWxappPage:
		ev.StayMS, _ = r.optInt(props.get("stay_time"), "props.stay_time", -maxSafe, maxSafe)
	case PageShareAppMessage:
		ev.ShareTo, _ = r.optString(props.get("share_to"), "props.share_to")
		r.optString(props.get("from_type"), "props.from_type")
		r.optString(props.get("share_path"), "props.share_path")
	case Search:
		kw, ok := r.optString(props.get("keyword"), "props.keyword")
		if (!ok || strings.TrimSpace(kw) == "") && r.err == nil {
			r.fail(invalid("props.keyword", "required"))
		}
		ev.Keyword = kw
	case ExposeSKUComponent, TriggerSKUComponent, BrowseSKUPage, AddToCart:
		ev.fillSKU(&r, props)
	case CustomOrder:
		ev.fillOrder(&r, props)
	}
	if r.err != nil {
		return r.err
	}

	s.own = s.own[:0]
	for _, i := range sortKeys(props, s.ownIdx) {
		s.own = append(s.own, props[i])
	}
	ev.Props = appendObject(nil, s.own)
	ev.Key = dedupKey(ev.TrackingID, ev.Type, ev.Time, ev.Props)
	return nil
}

// fillContext reads the context keys: the user, the channel and the store.
func fillContext(r *reader, ev *Event, ctx obj) {
	ev.Refer, _ = r.optString(ctx.get("refer_page"), "props.refer_page")
	if u, ok := r.object(ctx.get("wx_user"), "props.wx_user"); ok {
		ev.WxAppID, _ = r.optString(u.get("app_id"), "props.wx_user.app_id")
		ev.OpenID, _ = r.optString(u.get("open_id"), "props.wx_user.open_id")
		ev.UnionID, _ = r.optString(u.get("union_id"), "props.wx_user.union_id")
		ev.LocalID, _ = r.optString(u.get("local_id"), "props.wx_user.local_id")
		ev.UserID, _ = r.optScalar(u.get("user_id"), "props.wx_user.user_id")
	}
	ev.UserKey = ev.OpenID
	if ev.UserKey == "" {
		ev.UserKey = ev.LocalID
	}
	if c, ok := r.object(ctx.get("chan"), "props.chan"); ok {
		if s, ok := r.optInt(c.get("chan_wxapp_scene"), "props.chan.chan_wxapp_scene", math.MinInt32, math.MaxInt32); ok {
			ev.Scene = int32(s)
		}
		ev.ChanID, _ = r.optScalar(c.get("chan_id"), "props.chan.chan_id")
		ev.ReferApp, _ = r.optString(c.get("chan_refer_app_id"), "props.chan.chan_refer_app_id")
		ev.GuideID, _ = r.optScalar(c.get("guide_id"), "props.chan.guide_id")
		ev.RoomID, _ = r.optScalar(c.get("room_id"), "props.chan.room_id")
		ev.ShopID, _ = r.optScalar(c.get("chan_shop_id"), "props.chan.chan_shop_id")
		ev.ShopName, _ = r.optString(c.get("chan_shop_name"), "props.chan.chan_shop_name")
		ev.GdtVid, _ = r.optString(c.get("gdt_vid"), "props.chan.gdt_vid")
		ev.AdInfo, _ = r.optString(c.get("weixinadinfo"), "props.chan.weixinadinfo")
		ev.QzGdt, _ = r.optString(c.get("qz_gdt"), "props.chan.qz_gdt")
		if cc, ok := r.object(c.get("chan_custom"), "props.chan.chan_custom"); ok {
			ev.CustomID, _ = r.optScalar(cc.get("chan_custom_id"), "props.chan.chan_custom.chan_custom_id")
		}
	}
	if si, ok := r.object(ctx.get("store_info"), "props.store_info"); ok {
		ev.StoreID, _ = r.optScalar(si.get("external_store_id"), "props.store_info.external_store_id")
	}
	if ev.ShopID == "" {
		ev.ShopID = ev.StoreID
	}
	r.optString(ctx.get("sr_sdk_version"), "props.sr_sdk_version")
	if len(ctx) > 0 && r.err == nil {
		ev.Context = appendObject(nil, ctx)
		ev.ContextID = hash64(ev.Context)
	}
}

// copyContext copies the fields fillContext sets.
func copyContext(dst, src *Event) {
	dst.Refer, dst.WxAppID, dst.OpenID, dst.UnionID, dst.LocalID, dst.UserID, dst.UserKey =
		src.Refer, src.WxAppID, src.OpenID, src.UnionID, src.LocalID, src.UserID, src.UserKey
	dst.Scene, dst.ChanID, dst.ReferApp, dst.GuideID, dst.RoomID, dst.ShopID, dst.ShopName =
		src.Scene, src.ChanID, src.ReferApp, src.GuideID, src.RoomID, src.ShopID, src.ShopName
	dst.GdtVid, dst.AdInfo, dst.QzGdt, dst.CustomID, dst.StoreID, dst.Context, dst.ContextID =
		src.GdtVid, src.AdInfo, src.QzGdt, src.CustomID, src.StoreID, src.Context, src.ContextID
}

func (ev *Event) fillSKU(r *reader, own obj) {
	sku, hasSKU := r.object(own.get("sku"), "props.sku")
	if !hasSKU && r.err == nil {
		r.fail(invalid("props.sku", "required"))
		return
	}
	if hasSKU {
		id, ok := r.optScalar(sku.get("sku_id"), "props.sku.sku_id")
		if (!ok || id == "") && r.err == nil {
			r.fail(invalid("props.sku.sku_id", "required"))
		}
		ev.SKUID = id
		ev.SKUName, _ = r.optString(sku.get("sku_name"), "props.sku.sku_name")
	}
	spu, hasSPU := r.object(own.get("spu"), "props.spu")
	if hasSPU {
		ev.SPUID, _ = r.optScalar(spu.get("spu_id"), "props.spu.spu_id")
	}
	if ev.Type == AddToCart {
		if !hasSPU && r.err == nil {
			r.fail(invalid("props.spu", "required"))
		}
		n, ok := r.optInt(own.get("sku_num"), "props.sku_num", -maxSafe, maxSafe)
		if !ok && r.err == nil {
			r.fail(invalid("props.sku_num", "required"))
		}
		ev.SKUNum = n
		ev.ActionType, _ = r.optString(own.get("action_type"), "props.action_type")
	}
	if sale, ok := r.object(own.get("sale"), "props.sale"); ok {
		ev.PriceFen, _ = r.optYuan(sale.get("current_price"), "props.sale.current_price")
		r.optYuan(sale.get("original_price"), "props.sale.original_price")
	}
	if sh, ok := r.object(own.get("shipping_shop"), "props.shipping_shop"); ok && ev.ShopID == "" {
		ev.ShopID, _ = r.optScalar(sh.get("shipping_shop_id"), "props.shipping_shop.shipping_shop_id")
	}
}

func (ev *Event) fillOrder(r *reader, own obj) {
	o, ok := r.object(own.get("order"), "props.order")
	if !ok {
		if r.err == nil {
			r.fail(invalid("props.order", "required"))
		}
		return
	}
	id, ok := r.optScalar(o.get("order_id"), "props.order.order_id")
	if (!ok || id == "") && r.err == nil {
		r.fail(invalid("props.order.order_id", "required"))
	}
	ev.OrderID = id
	if _, ok := r.optNumber(o.get("order_time"), "props.order.order_time"); !ok && r.err == nil {
		r.fail(invalid("props.order.order_time", "required"))
	}
	st, ok := r.optString(o.get("order_status"), "props.order.order_status")
	if r.err == nil {
		switch {
		case !ok:
			r.fail(invalid("props.order.order_status", "required"))
		case !orderStatuses[st]:
			r.fail(invalid("props.order.order_status", "must be one of give_order, cancel_pay, cancel_give_order, pay, payed, refund; got %q", st))
		}
	}
	ev.OrderStatus = st
	raw := own.get("sub_orders")
	if raw == nil || isNull(raw) {
		if r.err == nil {
			r.fail(invalid("props.sub_orders", "required"))
		}
		return
	}
	subs, ok := r.objects(raw)
	if !ok {
		r.fail(invalid("props.sub_orders", "must be an array of objects"))
		return
	}
	for i, s := range subs {
		f := fmt.Sprintf("props.sub_orders[%d]", i)
		// At most 64 KiB of sub-orders of at most a trillion yuan each:
		// the sums stay far inside int64.
		a, _ := r.optYuan(s.get("order_amt"), f+".order_amt")
		ev.OrderFen += a
		a, _ = r.optYuan(s.get("pay_amt"), f+".pay_amt")
		ev.PayFen += a
	}
}

// Fen converts a yuan amount as sent by the SDK into integer fen.
func Fen(yuan float64) int64 { return int64(math.Round(yuan * 100)) }
