package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shuyuan-dev/shuyuan/internal/collect"
	"github.com/shuyuan-dev/shuyuan/internal/server"
	"github.com/shuyuan-dev/shuyuan/internal/server/servertest"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

const (
	sdkTestAdminKey = "server-test-admin-key-0123456789"
	sdkTestToken    = "server-test-sdk-token-0001"
	sdkTestApp      = "shop"
	sdkTestMaxBody  = 1 << 20 // the default limits.max_body_bytes
	sdkTestMaxBatch = 500     // the default limits.max_batch_events
)

// sdkEnv is the real server over a real DuckDB store, on a loopback port.
type sdkEnv struct {
	server  *server.Server
	st      store.Store
	writer  *store.Writer
	metrics *server.Metrics
	url     string
	seq     atomic.Int64 // makes every good event distinct
}

// newSDKEnv serves the app sdkTestApp (token sdkTestToken) plus extra apps.
func newSDKEnv(t *testing.T, extra ...*tenant.App) *sdkEnv {
	t.Helper()
	return newSDKEnvWith(t, nil, extra...)
}

// newSDKEnvOn is newSDKEnv on a store of o.
func newSDKEnvOn(t *testing.T, o storetest.Opener, extra ...*tenant.App) *sdkEnv {
	t.Helper()
	return newSDKEnvFull(t, o, nil, extra...)
}

// newSDKEnvWith is newSDKEnv with the server's Deps changed by tweak.
func newSDKEnvWith(t *testing.T, tweak func(*server.Deps), extra ...*tenant.App) *sdkEnv {
	t.Helper()
	return newSDKEnvFull(t, storetest.DuckDB, tweak, extra...)
}

func newSDKEnvFull(t *testing.T, o storetest.Opener, tweak func(*server.Deps), extra ...*tenant.App) *sdkEnv {
	t.Helper()
	apps := append([]*tenant.App{{ID: sdkTestApp, Name: "Shop", SDKToken: sdkTestToken}}, extra...)
	tenants, err := tenant.NewRegistry(apps)
	if err != nil {
		t.Fatal(err)
	}
	e := &sdkEnv{st: o.Open(t)}
	e.writer = store.NewWriter(e.st, store.WriterOptions{OnCommit: func(n int, took time.Duration, res []store.EventResult, err error) {
		e.metrics.ObserveCommit(n, took, res, err)
	}})
	e.metrics = server.NewMetrics(prometheus.NewRegistry(), e.writer)
	t.Cleanup(e.writer.Close) // before the store's own cleanup closes it
	deps := server.Deps{
		Tenants: tenants, Store: e.st, Writer: e.writer, Collector: collect.New(e.writer, collect.NewTypeGate(collect.StoredTypes(e.st), collect.DefaultMaxNewTypes)),
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics: e.metrics, AdminKey: sdkTestAdminKey, MaxBody: sdkTestMaxBody, MaxBatch: sdkTestMaxBatch,
	}
	if tweak != nil {
		tweak(&deps)
	}
	srv := server.New(deps)
	e.server = srv
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	e.url = hs.URL
	return e
}

// sdkAnswer is what the server answered an upload.
type sdkAnswer struct {
	status int
	header http.Header
	Code   *int   `json:"code"`
	Msg    string `json:"msg"`
	raw    string
}

func (a sdkAnswer) String() string { return fmt.Sprintf("HTTP %d %s", a.status, a.raw) }

// post uploads body to /api/report with the given query and headers.
func (e *sdkEnv) post(t *testing.T, query string, body []byte, header map[string]string) sdkAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url+"/api/report"+query, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /api/report%s: %v", query, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := sdkAnswer{status: res.StatusCode, header: res.Header, raw: strings.TrimSpace(string(raw))}
	if err := json.Unmarshal(raw, &a); err != nil || a.Code == nil {
		t.Fatalf("POST /api/report%s: answer is not {code,msg}: HTTP %d %q", query, res.StatusCode, raw)
	}
	return a
}

func (e *sdkEnv) upload(t *testing.T, body []byte) sdkAnswer {
	t.Helper()
	return e.post(t, "?token="+sdkTestToken, body, nil)
}

// counts are the rows of events and quarantine.
func (e *sdkEnv) counts(t *testing.T) (events, quarantined int) {
	t.Helper()
	if err := e.st.DB().QueryRow(`SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM quarantine)`).Scan(&events, &quarantined); err != nil {
		t.Fatalf("count rows: %v", err)
	}
	return events, quarantined
}

// goodEvent is a valid browse_wxapp_page event, distinct from every other
// goodEvent of this env.
func (e *sdkEnv) goodEvent() map[string]any {
	at := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC).Add(time.Duration(e.seq.Add(1)) * time.Second)
	return sdkEvent("browse_wxapp_page", at, "oGood", "", nil)
}

// sdkEvent builds an event the way the SDK sends one.
func sdkEvent(typ string, at time.Time, openID, localID string, props map[string]any) map[string]any {
	user := map[string]any{"app_id": "wx8f0c1d2e3a4b5c6d"}
	if openID != "" {
		user["open_id"] = openID
	}
	if localID != "" {
		user["local_id"] = localID
	}
	p := map[string]any{
		"page": "pages/index/index", "page_title": "Home", "time": at.UnixMilli(),
		"wx_user": user, "sr_sdk_version": "2.1.1",
		"chan": map[string]any{"chan_wxapp_scene": 1001},
	}
	for k, v := range props {
		p[k] = v
	}
	return map[string]any{"type": typ, "props": p, "from": "sr-sdk-wxapp",
		"tracking_id": "1717214400000-11111111-2222-4333-8444-555555555555", "log_id": 1}
}

func sdkJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sdkEncrypt(t *testing.T, plain []byte, key string) []byte {
	t.Helper()
	b, err := collect.Encrypt(plain, key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSDKBadInput sends every kind of bad upload to the real handler and
// store: each gets its documented code, HTTP status and a message naming
// the problem, leaves nothing half-written, and the server goes on serving.
func TestSDKBadInput(t *testing.T) {
	e := newSDKEnv(t)

	good := e.goodEvent()
	goodJSON := sdkJSON(t, []any{good})
	const encKey = "1717214400000-8f1e2d3c-4b5a-4697-8877-665544332211"

	// Sizes around the limits.
	overLimit := append([]byte("["), bytes.Repeat([]byte(" "), sdkTestMaxBody)...)
	overLimit = append(overLimit, ']')
	const tiny = `{"type":"x"}`
	events := func(n int) []byte {
		return []byte("[" + strings.Repeat(tiny+",", n-1) + tiny + "]")
	}
	nested := strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100)
	deep := fmt.Sprintf(`[%s,{"type":"search","props":{"keyword":"x","time":1717214400000,"page":"p","wx_user":{"open_id":"o"},"deep":%s}}]`,
		sdkJSON(t, e.goodEvent()), nested)
	badUTF8 := []byte("[{\"type\":\"search\",\"props\":{\"keyword\":\"\xff\xfe\"}}]")

	// withBad is an upload of one good event and one bad one.
	withBad := func(bad map[string]any) []byte { return sdkJSON(t, []any{e.goodEvent(), bad}) }
	at := time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC)
	badProps := func(typ string, props map[string]any) map[string]any {
		return sdkEvent(typ, at, "oBad", "", props)
	}

	type want struct {
		status, code int
		msg          string // substring of msg
		at           string // another substring of msg, if set
		events       int    // new rows in events
		quarantined  int    // new rows in quarantine
		reason       string // substring of every new quarantine reason
	}
	refused := func(status, code int, msg string) want { return want{status: status, code: code, msg: msg} }
	accepted := func(events, quarantined int, reason string) want {
		return want{status: 200, code: 0, msg: "ok", events: events, quarantined: quarantined, reason: reason}
	}
	type sdkCase struct {
		name   string
		query  string // default ?token=sdkTestToken
		body   []byte
		header map[string]string
		want   want
	}
	// Bodies that are not JSON somewhere inside an event: refused whole
	// before any event is read, naming the byte (1-based) of the body at
	// marker+skip in the bad event, which follows a good one.
	var invalidJSON []sdkCase
	for _, c := range []struct {
		name, bad, marker string
		skip              int
	}{
		{"literal tru", `{"type":"search","props":{"x":tru}}`, "tru}", 3},
		{"trailing comma in an object", `{"type":"search","props":{"x":1,}}`, ",}", 1},
		{"trailing comma in an array", `{"type":"search","props":{"x":[1,2,]}}`, ",]", 1},
		{"trailing comma after the last event", `{"type":"search"},`, "},", 2},
		{"single quotes", `{'type':'search'}`, "'", 0},
		{"NaN", `{"type":"search","props":{"x":NaN}}`, "NaN", 0},
		{"Infinity", `{"type":"search","props":{"x":-Infinity}}`, "Inf", 0},
		{"a comment", `{"type":"search"/* a comment */}`, "/*", 0},
		{"a line comment", "{\"type\":\"search\"// c\n}", "//", 0},
		{"a bad escape", `{"type":"se\qarch"}`, `\q`, 1},
		{"a raw line break in a string", "{\"type\":\"se\narch\"}", "\n", 0},
		{"a leading zero", `{"type":"search","log_id":012}`, "012", 1},
		{"a hex number", `{"type":"search","log_id":0x1F}`, "0x", 1},
	} {
		prefix, rest := "["+string(sdkJSON(t, e.goodEvent()))+",", c.bad+"]"
		i := strings.Index(rest, c.marker) + c.skip
		body := []byte(prefix + rest)
		w := refused(400, collect.CodeBadBody, fmt.Sprintf("not a valid JSON array: invalid character %q", rest[i]))
		w.at = fmt.Sprintf("(at byte %d)", len(prefix)+i+1)
		invalidJSON = append(invalidJSON, sdkCase{name: "invalid JSON in an event: " + c.name, body: body, want: w})
		if c.name == "literal tru" {
			invalidJSON = append(invalidJSON, sdkCase{name: "invalid JSON in an encrypted event", body: sdkEncrypt(t, body, encKey),
				header: map[string]string{"Content-Type": collect.EncryptedContentType, "Content-Encrypting-Key": encKey}, want: w})
		}
	}
	cases := []sdkCase{
		{name: "wrong token", query: "?token=not-a-token", body: goodJSON, want: refused(401, collect.CodeBadToken, "unknown token")},
		{name: "missing token", query: "?", body: goodJSON, want: refused(401, collect.CodeBadToken, "token query parameter required")},
		{name: "empty token", query: "?token=", body: goodJSON, want: refused(401, collect.CodeBadToken, "token query parameter required")},
		{name: "token of a different case", query: "?token=" + strings.ToUpper(sdkTestToken), body: goodJSON, want: refused(401, collect.CodeBadToken, "unknown token")},
		{name: "empty body", body: nil, want: refused(400, collect.CodeBadBody, "body is empty")},
		{name: "blank body", body: []byte(" \r\n\t "), want: refused(400, collect.CodeBadBody, "body is empty")},
		{name: "not JSON", body: []byte("hello"), want: refused(400, collect.CodeBadBody, "must be a JSON array of events or one event object")},
		{name: "JSON string", body: []byte(`"[]"`), want: refused(400, collect.CodeBadBody, "must be a JSON array of events or one event object")},
		{name: "form encoded", body: []byte("type=search&keyword=x"), want: refused(400, collect.CodeBadBody, "must be a JSON array")},
		{name: "truncated array", body: goodJSON[:len(goodJSON)/2], want: refused(400, collect.CodeBadBody, "not a valid JSON array")},
		{name: "truncated object", body: sdkJSON(t, good)[:40], want: refused(400, collect.CodeBadBody, "not a valid JSON object")},
		{name: "array with trailing garbage", body: append(append([]byte{}, goodJSON...), []byte("]]")...), want: refused(400, collect.CodeBadBody, "not a valid JSON array")},
		{name: "invalid UTF-8", body: badUTF8, want: refused(400, collect.CodeBadBody, fmt.Sprintf("not valid UTF-8 (at byte %d)", bytes.IndexByte(badUTF8, 0xff)))},
		{name: "body over the limit", body: overLimit, want: refused(413, collect.CodeTooLarge, "larger than the limit of 1048576 bytes")},
		{name: "501 events", body: events(501), want: refused(413, collect.CodeTooMany, "batch has 501 events; at most 500")},
		{name: "10,000 events", body: events(10000), want: refused(413, collect.CodeTooMany, "batch has 10000 events; at most 500")},
		{name: "bad encryption key", body: sdkEncrypt(t, goodJSON, encKey),
			header: map[string]string{"Content-Type": collect.EncryptedContentType, "Content-Encrypting-Key": encKey + "x"},
			want:   refused(400, collect.CodeBadBody, "does not decrypt to JSON with the given Content-Encrypting-Key")},
		{name: "garbage base64", body: []byte("this is not base64!"),
			header: map[string]string{"Content-Type": collect.EncryptedContentType, "Content-Encrypting-Key": encKey},
			want:   refused(400, collect.CodeBadBody, "encrypted body is not base64")},
		{name: "missing Content-Encrypting-Key", body: sdkEncrypt(t, goodJSON, encKey),
			header: map[string]string{"Content-Type": collect.EncryptedContentType},
			want:   refused(400, collect.CodeBadBody, "without a Content-Encrypting-Key header")},
		{name: "plain JSON sent as encrypted", body: goodJSON,
			header: map[string]string{"Content-Type": collect.EncryptedContentType, "Content-Encrypting-Key": encKey},
			want:   refused(400, collect.CodeBadBody, "encrypted body is not base64")},

		// Per-event problems: the upload is accepted, the bad event kept in
		// quarantine with the field and the rule, the good one stored.
		{name: "type is a number", body: withBad(map[string]any{"type": 7, "props": map[string]any{}}), want: accepted(1, 1, "event 1: type: must be a string")},
		{name: "type missing", body: withBad(map[string]any{"props": map[string]any{"time": 1717214400000}}), want: accepted(1, 1, "event 1: type: required")},
		{name: "props is a string", body: withBad(map[string]any{"type": "search", "props": "keyword=x"}), want: accepted(1, 1, "props: must be an object")},
		{name: "event is a number", body: []byte(`[` + string(sdkJSON(t, e.goodEvent())) + `,42]`), want: accepted(1, 1, "event 1: event: must be a JSON object")},
		{name: "time is a string", body: withBad(badProps("search", map[string]any{"keyword": "x", "time": "yesterday"})), want: accepted(1, 1, "props.time: must be a number")},
		{name: "time in seconds", body: withBad(badProps("search", map[string]any{"keyword": "x", "time": 1717214400})), want: accepted(1, 1, "props.time: must be Unix milliseconds")},
		{name: "keyword is a number", body: withBad(badProps("search", map[string]any{"keyword": 42})), want: accepted(1, 1, "props.keyword: must be a string")},
		{name: "wx_user is a string", body: withBad(badProps("app_show", map[string]any{"wx_user": "oBad"})), want: accepted(1, 1, "props.wx_user: must be an object")},
		{name: "sku is a string", body: withBad(badProps("browse_sku_page", map[string]any{"sku": "AKDFie8-1"})), want: accepted(1, 1, "props.sku: must be an object")},
		{name: "price is a string", body: withBad(badProps("expose_sku_component", map[string]any{
			"sku": map[string]any{"sku_id": "A1"}, "sale": map[string]any{"current_price": "30.00"}})), want: accepted(1, 1, "props.sale.current_price: must be a number")},
		{name: "sku_num is a string", body: withBad(badProps("add_to_cart", map[string]any{
			"sku": map[string]any{"sku_id": "A1"}, "spu": map[string]any{"spu_id": "A"}, "sku_num": "2"})), want: accepted(1, 1, "props.sku_num: must be a number")},
		{name: "sub_orders is an object", body: withBad(badProps("custom_order", map[string]any{
			"order":      map[string]any{"order_id": "SO1", "order_time": 1717214400000, "order_status": "pay"},
			"sub_orders": map[string]any{"sub_order_id": "SO1"}})), want: accepted(1, 1, "props.sub_orders: must be an array of objects")},
		{name: "unknown order status", body: withBad(badProps("custom_order", map[string]any{
			"order":      map[string]any{"order_id": "SO1", "order_time": 1717214400000, "order_status": "shipped"},
			"sub_orders": []any{}})), want: accepted(1, 1, `props.order.order_status: must be one of`)},
		{name: "log_id out of range", body: withBad(func() map[string]any { ev := e.goodEvent(); ev["log_id"] = json.Number("1e300"); return ev }()),
			want: accepted(1, 1, "event 1: log_id: must be an integer from -9007199254740991 to 9007199254740991")},
		{name: "time a year ahead", body: withBad(sdkEvent("app_show", time.Now().AddDate(1, 0, 0), "oBad", "", nil)), want: accepted(1, 1, "props.time: ")},
		{name: "type of 64 KiB", body: withBad(map[string]any{"type": strings.Repeat("x", 60<<10), "props": map[string]any{}}), want: accepted(1, 1, "type: must be at most 64 characters")},
		{name: "deeply nested props", body: []byte(deep), want: accepted(1, 1, "nested deeper than 32 levels")},
		{name: "event over 64 KiB", body: withBad(badProps("search", map[string]any{"keyword": strings.Repeat("x", 70<<10)})), want: accepted(1, 1, "larger than 65536 bytes")},
		{name: "only bad events", body: sdkJSON(t, []any{badProps("search", nil), badProps("search", map[string]any{"keyword": false})}), want: accepted(0, 2, "props.keyword")},
		{name: "empty array", body: []byte("[]"), want: accepted(0, 0, "")},
	}
	cases = append(cases, invalidJSON...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evBefore, qBefore := e.counts(t)
			query := c.query
			if query == "" {
				query = "?token=" + sdkTestToken
			}
			a := e.post(t, query, c.body, c.header)
			if a.status != c.want.status || *a.Code != c.want.code {
				t.Errorf("answer %v; want HTTP %d code %d", a, c.want.status, c.want.code)
			}
			if !strings.Contains(a.Msg, c.want.msg) || !strings.Contains(a.Msg, c.want.at) {
				t.Errorf("msg %q; want it to say %q and %q", a.Msg, c.want.msg, c.want.at)
			}
			evAfter, qAfter := e.counts(t)
			if evAfter-evBefore != c.want.events || qAfter-qBefore != c.want.quarantined {
				t.Errorf("wrote %d events and %d quarantined; want %d and %d", evAfter-evBefore, qAfter-qBefore, c.want.events, c.want.quarantined)
			}
			if c.want.quarantined > 0 {
				if got := a.header.Get("X-Shuyuan-Quarantined"); got != fmt.Sprint(c.want.quarantined) {
					t.Errorf("X-Shuyuan-Quarantined %q; want %d", got, c.want.quarantined)
				}
				rows, err := e.st.DB().Query(`SELECT reason, raw FROM quarantine ORDER BY received_at DESC, reason LIMIT $1`, c.want.quarantined)
				if err != nil {
					t.Fatal(err)
				}
				for rows.Next() {
					var reason, raw string
					if err := rows.Scan(&reason, &raw); err != nil {
						t.Fatal(err)
					}
					if !strings.Contains(reason, c.want.reason) {
						t.Errorf("quarantine reason %q; want it to name %q", reason, c.want.reason)
					}
					if !json.Valid([]byte(raw)) {
						t.Errorf("quarantined raw event is not the JSON that was sent: %.200q", raw)
					}
				}
				rows.Close()
			}

			// The server goes on serving: a good upload is stored.
			evBefore, _ = e.counts(t)
			if a := e.upload(t, sdkJSON(t, []any{e.goodEvent()})); a.status != 200 || *a.Code != 0 {
				t.Fatalf("good upload after %q: %v", c.name, a)
			}
			if evAfter, _ := e.counts(t); evAfter != evBefore+1 {
				t.Errorf("good upload after %q stored %d events; want 1", c.name, evAfter-evBefore)
			}
		})
	}
}

// TestSDKSingleObject: the SDK posts its own API exceptions as one JSON
// object, not an array.
func TestSDKSingleObject(t *testing.T) {
	e := newSDKEnv(t)
	body := []byte(`{"type":"sdk api exec error","props":{"sr_sdk_version":"2.1.1","message":"Cannot read properties of null (reading 'chan_id')","stack":"TypeError"}}`)
	for _, name := range []string{"plain", "encrypted"} {
		t.Run(name, func(t *testing.T) {
			before, _ := e.counts(t)
			var a sdkAnswer
			if name == "plain" {
				a = e.upload(t, body)
			} else {
				key := "1717214400001-0e1d2c3b-4a59-4867-9564-738291a0b1c2"
				// A different event: the plain one is already stored.
				other := bytes.Replace(body, []byte("chan_id"), []byte("room_id"), 1)
				a = e.post(t, "?token="+sdkTestToken, sdkEncrypt(t, other, key),
					map[string]string{"Content-Type": collect.EncryptedContentType, "Content-Encrypting-Key": key})
			}
			if a.status != 200 || *a.Code != 0 || a.Msg != "ok" {
				t.Fatalf("answer %v; want HTTP 200 {code 0, msg ok}", a)
			}
			after, q := e.counts(t)
			if after != before+1 || q != 0 {
				t.Errorf("stored %d events, %d quarantined; want 1 event stored", after-before, q)
			}
			var kind string
			if err := e.st.DB().QueryRow(`SELECT DISTINCT kind FROM events WHERE type = 'sdk api exec error'`).Scan(&kind); err != nil || kind != "sdk" {
				t.Errorf("kind of the SDK's error event = %q (%v); want sdk", kind, err)
			}
		})
	}
}

// sdkCapturedUploads reads the uploads of the real SDK 2.1.1 recorded by the
// harness's capture server (test/sdk), kept in the event package's testdata.
func sdkCapturedUploads(t *testing.T) (bodies [][]byte, events int) {
	t.Helper()
	f, err := os.Open("../event/testdata/captured-2.1.1.jsonl")
	if err != nil {
		t.Fatalf("captures of the real SDK: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		var rec struct {
			Method string            `json:"method"`
			Path   string            `json:"path"`
			Body   string            `json:"body"`
			JSON   []json.RawMessage `json:"json"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Method == http.MethodPost && rec.Path == "/api/report" {
			bodies = append(bodies, []byte(rec.Body))
			events += len(rec.JSON)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(bodies) == 0 || events == 0 {
		t.Fatal("no uploads in the capture")
	}
	return bodies, events
}

// TestSDKEncryptedCaptureStoredOnce: the real SDK's uploads, encrypted the
// way encrypt:true does, are stored; the same uploads again (new keys, as
// the SDK would use) are recognised as re-sends and stored once.
func TestSDKEncryptedCaptureStoredOnce(t *testing.T) {
	storetest.Each(t, testSDKEncryptedCaptureStoredOnce)
}

func testSDKEncryptedCaptureStoredOnce(t *testing.T, o storetest.Opener) {
	e := newSDKEnvOn(t, o)
	bodies, want := sdkCapturedUploads(t)
	send := func(round int) {
		for i, b := range bodies {
			key := fmt.Sprintf("17953735%05d-5f4e3d2c-1b0a-4988-8776-%012d", round*100+i, i)
			a := e.post(t, "?token="+sdkTestToken, sdkEncrypt(t, b, key),
				map[string]string{"Content-Type": collect.EncryptedContentType, "Content-Encrypting-Key": key})
			if a.status != 200 || *a.Code != 0 {
				t.Fatalf("round %d upload %d: %v", round, i, a)
			}
		}
	}
	send(1)
	stored, quarantined := e.counts(t)
	if stored != want || quarantined != 0 {
		t.Fatalf("stored %d events and quarantined %d; the capture has %d events", stored, quarantined, want)
	}
	send(2)
	if again, q := e.counts(t); again != stored || q != 0 {
		t.Errorf("after sending the same uploads again: %d events, %d quarantined; want %d, 0", again, q, stored)
	}
	m := sdkScrape(t, e.url)
	if got := m[`shuyuan_events_total{app="shop",outcome="accepted"}`]; got != float64(want) {
		t.Errorf("accepted metric %v; want %d", got, want)
	}
	if got := m[`shuyuan_events_total{app="shop",outcome="deduplicated"}`]; got != float64(want) {
		t.Errorf("deduplicated metric %v; want %d", got, want)
	}
}

// TestSDKSameUploadTwice: a re-send of the exact same body, and a re-send
// with new log_ids and a newer context (what the SDK really does), are
// stored once.
func TestSDKSameUploadTwice(t *testing.T) { storetest.Each(t, testSDKSameUploadTwice) }

func testSDKSameUploadTwice(t *testing.T, o storetest.Opener) {
	e := newSDKEnvOn(t, o)
	evs := []any{e.goodEvent(), e.goodEvent(), e.goodEvent()}
	body := sdkJSON(t, evs)
	for i := 0; i < 2; i++ {
		if a := e.upload(t, body); *a.Code != 0 {
			t.Fatalf("upload %d: %v", i, a)
		}
	}
	if n, _ := e.counts(t); n != 3 {
		t.Fatalf("the same upload twice stored %d events; want 3", n)
	}
	for i, ev := range evs {
		m := ev.(map[string]any)
		m["log_id"] = 10 + i
		m["props"].(map[string]any)["chan"] = map[string]any{"chan_wxapp_scene": 1089, "room_id": "LIVE_1"}
	}
	if a := e.upload(t, sdkJSON(t, evs)); *a.Code != 0 {
		t.Fatalf("re-send: %v", a)
	}
	if n, _ := e.counts(t); n != 3 {
		t.Errorf("a re-send with new log_ids and context stored %d events; want 3", n)
	}
	// Two copies of one event within one upload are one event too.
	one := e.goodEvent()
	if a := e.upload(t, sdkJSON(t, []any{one, one})); *a.Code != 0 {
		t.Fatalf("upload: %v", a)
	}
	if n, _ := e.counts(t); n != 4 {
		t.Errorf("an upload carrying one event twice stored %d new events; want 1", n-3)
	}
}

// TestSDKStoreUnavailable: with the store gone, uploads are refused with
// 5003 so the SDK keeps them, and /readyz fails while /healthz still
// answers.
func TestSDKStoreUnavailable(t *testing.T) {
	e := newSDKEnv(t)
	if a := e.upload(t, sdkJSON(t, []any{e.goodEvent()})); *a.Code != 0 {
		t.Fatalf("upload before closing the store: %v", a)
	}
	if res := sdkGet(t, e.url+"/readyz", ""); res.status != 200 {
		t.Fatalf("/readyz before closing the store: %v", res)
	}
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	a := e.upload(t, sdkJSON(t, []any{e.goodEvent()}))
	if a.status != 503 || *a.Code != collect.CodeUnavailable {
		t.Errorf("upload with the store closed: %v; want HTTP 503 code %d", a, collect.CodeUnavailable)
	}
	if !strings.Contains(a.Msg, "store unavailable") || !strings.Contains(a.Msg, "send again") {
		t.Errorf("msg %q; want it to say the store is unavailable and to send again", a.Msg)
	}
	if res := sdkGet(t, e.url+"/readyz", ""); res.status != 503 || !strings.Contains(res.body, "store unreachable") {
		t.Errorf("/readyz with the store closed: %v; want 503 store unreachable", res)
	}
	if res := sdkGet(t, e.url+"/healthz", ""); res.status != 200 {
		t.Errorf("/healthz with the store closed: %v; want 200 (the process is alive)", res)
	}
	m := sdkScrape(t, e.url)
	if m["shuyuan_batch_commit_failures_total"] < 1 {
		t.Errorf("shuyuan_batch_commit_failures_total = %v; want the failed commit counted", m["shuyuan_batch_commit_failures_total"])
	}
}

// TestHealthReadyMetrics: /healthz, /readyz and /metrics with the metrics the
// issue names.
func TestHealthReadyMetrics(t *testing.T) {
	e := newSDKEnv(t)
	if res := sdkGet(t, e.url+"/healthz", ""); res.status != 200 || !strings.Contains(res.body, `"ok"`) {
		t.Errorf("/healthz: %v", res)
	}
	if res := sdkGet(t, e.url+"/readyz", ""); res.status != 200 || !strings.Contains(res.body, `"ready"`) {
		t.Errorf("/readyz: %v", res)
	}
	ev := e.goodEvent()
	bad := sdkEvent("search", time.Now(), "oBad", "", map[string]any{"keyword": 1})
	for i := 0; i < 2; i++ { // the second is a re-send
		if a := e.upload(t, sdkJSON(t, []any{ev, bad})); *a.Code != 0 {
			t.Fatalf("upload: %v", a)
		}
	}
	res := sdkGet(t, e.url+"/metrics", "")
	if res.status != 200 {
		t.Fatalf("/metrics: %v", res)
	}
	m := sdkParseMetrics(res.body)
	for name, want := range map[string]float64{
		`shuyuan_events_total{app="shop",outcome="accepted"}`:     1,
		`shuyuan_events_total{app="shop",outcome="deduplicated"}`: 1,
		// Quarantined events are not de-duplicated: both copies are kept.
		`shuyuan_events_total{app="shop",outcome="quarantined"}`:                2,
		`shuyuan_writer_queue_events`:                                           0,
		`shuyuan_batch_commit_seconds_count`:                                    2,
		`shuyuan_http_requests_total{route="POST /api/report",status="200"}`:    2,
		`shuyuan_http_requests_total{route="GET /readyz",status="200"}`:         1,
		`shuyuan_http_request_duration_seconds_count{route="POST /api/report"}`: 2,
	} {
		got, ok := m[name]
		if !ok {
			t.Errorf("/metrics has no %s", name)
		} else if got != want {
			t.Errorf("%s = %v; want %v", name, got, want)
		}
	}
	if !strings.Contains(res.body, "shuyuan_batch_commit_seconds_bucket{") {
		t.Error("/metrics has no shuyuan_batch_commit_seconds histogram")
	}
}

// TestAdminAuthAndEventsAnalysis: the bearer key, and the events analysis's days cut at
// midnight in the app's zone with users counted once per day.
func TestAdminAuthAndEventsAnalysis(t *testing.T) {
	utc := &tenant.App{ID: "utc", Name: "UTC shop", SDKToken: "server-test-sdk-token-utc", Location: time.UTC}
	e := newSDKEnv(t, utc)
	events := "/api/v1/apps/shop/analysis/events?from=2024-06-01&to=2024-06-02"

	for _, c := range []struct{ name, auth string }{
		{"missing bearer", ""},
		{"wrong bearer", "Bearer not-the-admin-key-at-all"},
		{"key without Bearer", sdkTestAdminKey},
		{"basic auth", "Basic " + sdkTestAdminKey},
	} {
		for _, path := range []string{events, "/api/v1/apps"} {
			res := sdkGet(t, e.url+path, c.auth)
			if _, msg := sdkAPIError(t, res); res.status != 401 || !strings.Contains(msg, "Authorization: Bearer <admin key> required") {
				t.Errorf("%s on %s: %v; want 401 naming the Authorization header", c.name, path, res)
			}
			if !strings.HasPrefix(res.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s on %s: WWW-Authenticate %q", c.name, path, res.header.Get("WWW-Authenticate"))
			}
		}
	}

	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	local := func(d, hms string, ms int) time.Time {
		tt, err := time.ParseInLocation("2006-01-02 15:04:05", d+" "+hms, sh)
		if err != nil {
			t.Fatal(err)
		}
		return tt.Add(time.Duration(ms) * time.Millisecond)
	}
	page := "browse_wxapp_page"
	batch := []any{
		// 2024-05-31, the last millisecond: outside from=2024-06-01.
		sdkEvent("search", local("2024-05-31", "23:59:59", 999), "oA", "", map[string]any{"keyword": "early"}),
		// 2024-06-01: user A three times (two local_ids: open_id wins), B once.
		sdkEvent("search", local("2024-06-01", "00:00:00", 0), "oA", "L1", map[string]any{"keyword": "midnight"}),
		sdkEvent(page, local("2024-06-01", "12:00:00", 0), "oA", "L1", nil),
		sdkEvent(page, local("2024-06-01", "23:59:59", 0), "oA", "L2", nil),
		sdkEvent(page, local("2024-06-01", "23:59:59", 500), "", "L9", nil),
		// 2024-06-02, two seconds later: the next day.
		sdkEvent(page, local("2024-06-02", "00:00:01", 0), "oA", "L2", nil),
		sdkEvent(page, local("2024-06-02", "00:00:01", 1), "oA", "L3", nil),
		// 2024-06-03: outside to=2024-06-02.
		sdkEvent(page, local("2024-06-03", "00:00:00", 0), "oA", "", nil),
	}
	body := sdkJSON(t, batch)
	for _, token := range []string{sdkTestToken, utc.SDKToken} {
		if a := e.post(t, "?token="+token, body, nil); *a.Code != 0 || a.header.Get("X-Shuyuan-Quarantined") != "" {
			t.Fatalf("upload: %v", a)
		}
	}

	type row struct {
		Day, Type, Kind string
		Events, Users   int
	}
	analysis := func(t *testing.T, path string) []row {
		t.Helper()
		res := sdkGet(t, e.url+path, "Bearer "+sdkTestAdminKey)
		if res.status != 200 {
			t.Fatalf("GET %s: %v", path, res)
		}
		var out struct {
			Timezone string  `json:"timezone"`
			Rows     [][]any `json:"rows"`
		}
		if err := json.Unmarshal([]byte(res.body), &out); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, res.body)
		}
		var rows []row
		for _, r := range out.Rows {
			if len(r) != 5 {
				t.Fatalf("row %v: want day, type, kind, events, users", r)
			}
			rows = append(rows, row{r[0].(string), r[1].(string), r[2].(string), int(r[3].(float64)), int(r[4].(float64))})
		}
		return rows
	}
	check := func(t *testing.T, path string, want []row) {
		t.Helper()
		got := analysis(t, path)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("GET %s:\n got %v\nwant %v", path, got, want)
		}
	}
	t.Run("days in Asia/Shanghai", func(t *testing.T) {
		check(t, events, []row{
			{"2024-06-01", page, "behaviour", 3, 2},
			{"2024-06-01", "search", "behaviour", 1, 1},
			{"2024-06-02", page, "behaviour", 2, 1},
		})
		check(t, "/api/v1/apps/shop/analysis/events?from=2024-05-31&to=2024-05-31", []row{
			{"2024-05-31", "search", "behaviour", 1, 1},
		})
	})
	t.Run("days in the app's own zone", func(t *testing.T) {
		// The same instants in UTC: Shanghai's midnight is 16:00 the day before.
		check(t, "/api/v1/apps/utc/analysis/events?from=2024-05-31&to=2024-06-02", []row{
			{"2024-05-31", "search", "behaviour", 2, 1},
			{"2024-06-01", page, "behaviour", 5, 2},
			{"2024-06-02", page, "behaviour", 1, 1},
		})
	})

	for _, c := range []struct{ name, query, field string }{
		{"from missing", "to=2024-06-02", "from: required"},
		{"to missing", "from=2024-06-01", "to: required"},
		{"from not a date", "from=yesterday&to=2024-06-02", `from: must be a date YYYY-MM-DD, got "yesterday"`},
		{"month 13", "from=2024-13-01&to=2024-06-02", "from: must be a date"},
		{"to with a time", "from=2024-06-01&to=2024-06-02T00:00:00", "to: must be a date"},
		{"to before from", "from=2024-06-02&to=2024-06-01", "to: must not be before from"},
		{"range too long", "from=2023-01-01&to=2024-06-01", "to: range is 518 days; at most 366"},
	} {
		t.Run("bad range/"+c.name, func(t *testing.T) {
			res := sdkGet(t, e.url+"/api/v1/apps/shop/analysis/events?"+c.query, "Bearer "+sdkTestAdminKey)
			code, msg := sdkAPIError(t, res)
			if res.status != 400 || code != "bad_request" || !strings.Contains(msg, c.field) {
				t.Errorf("%v; want 400 bad_request naming %q", res, c.field)
			}
		})
	}
	for path, want := range map[string]string{
		"/api/v1/apps/nope/analysis/events?from=2024-06-01&to=2024-06-01": `no app "nope"`,
		"/api/v1/apps/shop/analysis/nope?from=2024-06-01&to=2024-06-01":   `no analysis "nope"`,
	} {
		res := sdkGet(t, e.url+path, "Bearer "+sdkTestAdminKey)
		if _, msg := sdkAPIError(t, res); res.status != 404 || !strings.Contains(msg, want) {
			t.Errorf("GET %s: %v; want 404 saying %s", path, res, want)
		}
	}
}

type sdkHTTPResult struct {
	status int
	header http.Header
	body   string
}

func (r sdkHTTPResult) String() string {
	return fmt.Sprintf("HTTP %d %s", r.status, strings.TrimSpace(r.body))
}

func sdkGet(t *testing.T, url, auth string) sdkHTTPResult {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return sdkHTTPResult{res.StatusCode, res.Header, string(b)}
}

// sdkAPIError reads the admin API's error envelope.
func sdkAPIError(t *testing.T, res sdkHTTPResult) (code, msg string) {
	t.Helper()
	var env struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(res.body), &env); err != nil {
		t.Fatalf("error answer is not {\"error\":{code,message}}: %v", res)
	}
	return env.Error.Code, env.Error.Message
}

func sdkScrape(t *testing.T, base string) map[string]float64 {
	t.Helper()
	res := sdkGet(t, base+"/metrics", "")
	if res.status != 200 {
		t.Fatalf("/metrics: %v", res)
	}
	return sdkParseMetrics(res.body)
}

// sdkParseMetrics reads Prometheus text lines "name{labels} value".
func sdkParseMetrics(text string) map[string]float64 {
	m := map[string]float64{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[i+1:], &v); err == nil {
			m[line[:i]] = v
		}
	}
	return m
}

// An accepted SDK upload's access line is at debug, so that uploads at
// thousands a second do not fill the log; a refused upload's, and every
// other route's, stay at info.
func TestAccessLogLevels(t *testing.T) {
	var logs servertest.Log
	e := newSDKEnvWith(t, func(d *server.Deps) {
		d.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	good, err := json.Marshal([]any{e.goodEvent()})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		send   func() int // the HTTP status
		status int
		level  string
	}{
		{"accepted upload", func() int { return e.upload(t, good).status }, http.StatusOK, "DEBUG"},
		{"upload that is not JSON", func() int { return e.upload(t, []byte(`[{"type":`)).status }, http.StatusBadRequest, "INFO"},
		{"upload with a wrong token", func() int { return e.post(t, "?token=wrong-token", good, nil).status }, http.StatusUnauthorized, "INFO"},
		{"GET /readyz", func() int {
			res, err := http.Get(e.url + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			return res.StatusCode
		}, http.StatusOK, "INFO"},
	} {
		logs.Reset()
		if status := c.send(); status != c.status {
			t.Fatalf("%s: HTTP %d, want %d", c.name, status, c.status)
		}
		// The access line is written after the answer: wait for it.
		var line struct{ Level, Msg string }
		for deadline := time.Now().Add(5 * time.Second); line.Msg != "request" && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			for _, l := range strings.Split(logs.String(), "\n") {
				if json.Unmarshal([]byte(l), &line) == nil && line.Msg == "request" {
					break
				}
			}
		}
		if line.Msg != "request" || line.Level != c.level {
			t.Errorf("%s: access line %+v, want level %s; log:\n%s", c.name, line, c.level, logs.String())
		}
	}
}
