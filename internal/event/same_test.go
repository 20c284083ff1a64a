package event

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The one-pass parser must give what the parser before it gave (in
// legacy_test.go) for every input: the same Event, the same *Invalid, and
// so the same stored props, context and dedup key. Stored data and the
// dedup of re-sends depend on those bytes.

// sameUpload parses raws in turn with one parser of each kind (as for one
// upload: the context cache is in play) and reports any difference.
func sameUpload(t testing.TB, name string, received time.Time, raws ...[]byte) {
	t.Helper()
	p := Parser{Received: received}
	q := legacyParser{Received: received}
	for i, raw := range raws {
		got, gerr := p.Parse(raw)
		want, werr := q.Parse(raw)
		if !sameErr(gerr, werr) {
			t.Fatalf("%s, event %d %.300q:\n error %v\n  want %v", name, i, raw, gerr, werr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s, event %d %.300q:\n got  %+v\n want %+v\n props %s\n  want %s\n context %s\n    want %s",
				name, i, raw, got, want, got.Props, want.Props, got.Context, want.Context)
		}
	}
}

func sameErr(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ia, ok1 := a.(*Invalid)
	ib, ok2 := b.(*Invalid)
	return ok1 && ok2 && *ia == *ib
}

// uploads are the raw events of the real captures, by upload.
func uploads(t testing.TB) [][][]byte { return uploadsOf(t, "testdata/captured-*.jsonl") }

func uploadsOf(t testing.TB, glob string) [][][]byte {
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures: %v", err)
	}
	var out [][][]byte
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<22)
		for sc.Scan() {
			var c struct{ Body string }
			var raws []json.RawMessage
			if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(c.Body), &raws); err != nil {
				t.Fatal(err)
			}
			var up [][]byte
			for _, r := range raws {
				up = append(up, r)
			}
			out = append(out, up)
		}
		fh.Close()
	}
	return out
}

// corpus reads the fuzz corpus of a target in testdata/fuzz.
func corpus(t testing.TB, target string) [][]byte {
	files, _ := filepath.Glob(filepath.Join("testdata/fuzz", target, "*"))
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if s, ok := strings.CutPrefix(line, "[]byte("); ok {
				v, err := strconv.Unquote(strings.TrimSuffix(s, ")"))
				if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				out = append(out, []byte(v))
			}
		}
	}
	return out
}

// edgeCases are inputs where a hand-written parser could part from the
// decoder: how keys are matched and decoded, repeats, spacing, nulls,
// numbers, nesting, and values of the wrong kind.
var edgeCases = []string{
	`null`, ` null `, `[]`, `[1,2]`, `"x"`, `1`, `true`, `{}`, ` { } `, `{"type":null}`,
	// The envelope's keys as the decoder matched them.
	`{"TYPE":"search","PROPS":{"keyword":"k","page":"p","time":1795373591817,"wx_user":{"open_id":"o"}}}`,
	`{"Type":"app_show","Tracking_ID":"T","Log_Id":3,"FROM":"f","props":{"page":"p","time":1795373591817,"wx_user":{"open_id":"o"}}}`,
	`{"\u0074ype":"login"}`, `{"\u0074yp":"login"}`, `{"\u0074":"login"}`, `{"\u0074\u0079":"login"}`,
	`{"typ":"login"}`, `{"types":"login"}`, `{"t\u0079pe":"login","fr\u006f":"x"}`, `{"\u0054YPE":"login"}`,
	`{"type":"login","\u0074racking_id":"T","tr\u0061ck":"U"}`, `{"type":"login","trac\u212Aing_id":"T"}`,
	`{"type":"login","\n":1,"ty\npe":2}`, `{"type":"login","\u00e9":1}`, `{"type":"login","\ud83d\ude00":1,"\ud800":2}`,
	`{"type":"login","type":"logout"}`, `{"type":"login","TYPE":"logout"}`, `{"type":"login","type":null}`,
	`{"type":"login","props":{"a":1},"props":null}`, `{"type":"login","log_id":null,"from":null,"tracking_id":null}`,
	// Values of the wrong kind.
	`{"type":5}`, `{"type":"login","from":5}`, `{"type":"login","tracking_id":[]}`, `{"type":"login","log_id":"1"}`,
	`{"type":"login","log_id":1e400}`, `{"type":"login","log_id":-0}`, `{"type":"login","log_id":1E2}`,
	`{"type":"login","props":[]}`, `{"type":"login","props":"x"}`, `{"type":"login","props":1}`,
	// Escapes and spacing in props, which are re-encoded.
	"{\"type\":\"login\",\"props\":{ \"b\" : [ 1 , 2 ] ,\n\t\"a\":{ \"x\" : \"y z\" }, \"c\" : \"\\u00e9\\n\\\"\" }}",
	`{"type":"login","props":{"<k>":1,"a&b":2,"\u2028":3,"\u0000":4,"\"":5,"\\":6,"\u00e9":7,"é":8,"k":"<v>&"}}`,
	`{"type":"login","props":{"b":1,"a":2,"b":3,"a":{"z":1,"z":2}}}`,
	`{"type":"login","props":{"time":1795373591817,"time":"x"}}`, `{"type":"login","props":{"time":"x","time":1795373591817}}`,
	`{"type":"login","props":{"\u0074ime":1795373591817,"wx_\u0075ser":{"open_id":"o"}}}`,
	`{"type":"login","props":{"wx_user":{"open_id":"\ud800x","local_id":"\ud83d\ude00"},"chan":{"chan_id":12.50,"guide_id":-0,"room_id":"r\u0000"}}}`,
	`{"type":"login","props":{"wx_user":{"open_id":"o"},"wx_user":null}}`, `{"type":"login","props":{"wx_user":[]}}`,
	`{"type":"login","props":{"chan":{"chan_wxapp_scene":1037.9,"chan_custom":{"chan_custom_id":true}}}}`,
	`{"type":"login","props":{"chan":{"chan_wxapp_scene":1e10}}}`, `{"type":"login","props":{"store_info":{"external_store_id":7}}}`,
	`{"type":"login","props":{"sr_sdk_version":1}}`, `{"type":"login","props":{"refer_page":null}}`,
	`{"type":"login","props":{"time":1.7953735918175e12}}`, `{"type":"login","props":{"time":17953735918170e-1}}`,
	`{"type":"login","props":{"time":1795373591817.5}}`, `{"type":"login","props":{"time":-1795373591817}}`,
	// Behaviours.
	`{"type":"app_show"}`, `{"type":"app_show","props":null}`, `{"type":"app_show","props":{}}`,
	`{"type":"custom_order","props":{"page":"p","time":1795373591817,"wx_user":{"open_id":"o"},"order":{"order_id":"O","order_time":1,"order_status":"payed"},"sub_orders":[null,{"pay_amt":1.005,"order_amt":2},{}]}}`,
	`{"type":"custom_order","props":{"page":"p","time":1795373591817,"wx_user":{"open_id":"o"},"order":{"order_id":"O","order_time":1,"order_status":"payed"},"sub_orders":[{"pay_amt":"1"},5]}}`,
	`{"type":"custom_order","props":{"page":"p","time":1795373591817,"wx_user":{"open_id":"o"},"order":{"order_id":7,"order_time":1,"order_status":"payed"},"sub_orders":[]}}`,
	`{"type":"custom_order","props":{"page":"p","time":1795373591817,"wx_user":{"open_id":"o"},"order":{"order_id":"O","order_time":1,"order_status":"payed"},"sub_orders":{}}}`,
	`{"type":"add_to_cart","props":{"page":"/p?q=1","time":1795373591817,"wx_user":{"local_id":"l"},"sku":{"sku_id":12},"spu":{},"sku_num":2.9,"sale":{"current_price":9.99},"shipping_shop":{"shipping_shop_id":"S"}}}`,
	`{"type":"add_to_cart","props":{"page":"p","time":1795373591817,"wx_user":{"open_id":"o"},"sku":{},"spu":null}}`,
	`{"type":"browse_sku_page","props":{"page":"p","time":1795373591817,"wx_user":{"open_id":"o"},"sku":{"sku_id":""},"store_info":{"external_store_id":"X"}}}`,
	`{"type":"search","props":{"page":"p","time":1795373591817,"wx_user":{"open_id":"o"},"keyword":"\u3000"}}`,
	`{"type":"leave_wxapp_page","props":{"page":"p","time":1795373591817,"wx_user":{"open_id":"o"},"stay_time":-5.5}}`,
	`{"type":"page_share_app_message","props":{"page":"p","time":1795373591817,"wx_user":{"open_id":"o"},"share_to":"x","from_type":1}}`,
	// Not JSON, too deep, not UTF-8.
	``, ` `, `{`, `{"type":"x",}`, `{"type":"x"} x`, `{"type":"x"}{}`, `{'type':'x'}`, `{"type":"x","props":{"a":01}}`,
	`{"type":"x","props":{"a":1.}}`, `{"type":"x","props":{"a":-}}`, `{"type":"x","props":{"a":.5}}`, `{"type":"x","props":{"a":1e}}`,
	`{"type":"x","props":{"a":"\x"}}`, `{"type":"x","props":{"a":"\u12"}}`, "{\"type\":\"x\",\"props\":{\"a\":\"\t\"}}",
	`{"type":"x","props":{"a":tru}}`, `{"type":"x","props":{"a":nulls}}`, `{"type":"x","props":{"a":[1,]}}`, `{"type":"x","props":{"a":[1}}`,
	"{\"type\":\"x\",\"props\":{\"a\":\"\xff\"}}", "\xef\xbb\xbf{\"type\":\"x\"}", "\v{\"type\":\"x\"}",
	`{"type":"x","props":` + strings.Repeat(`[`, 31) + strings.Repeat(`]`, 31) + `}`,
	`{"type":"x","props":` + strings.Repeat(`[`, 32) + strings.Repeat(`]`, 32) + `}`,
	`{"type":"x","props":` + strings.Repeat(`[`, 40) + `}`,
	`{"type":"x","props":"` + strings.Repeat(`[`, 40) + `"}`,
	`[` + strings.Repeat(`{"a":`, 40) + `1`,
}

func TestParseSameAsLegacy(t *testing.T) {
	received := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	ups := uploads(t)
	for i, up := range ups {
		sameUpload(t, "capture upload "+strconv.Itoa(i), time.Time{}, up...)
		sameUpload(t, "capture upload "+strconv.Itoa(i)+" with a receive time", received, up...)
	}
	// Every event after every other: a context cache hit and a miss.
	var all [][]byte
	for _, up := range ups {
		all = append(all, up...)
	}
	for i := range all {
		sameUpload(t, "capture pair", received, all[i], all[(i+7)%len(all)], all[i])
	}
	inputs := append(corpus(t, "FuzzParse"), corpus(t, "FuzzParseSameAsLegacy")...)
	for _, c := range edgeCases {
		inputs = append(inputs, []byte(c))
	}
	for i, raw := range inputs {
		name := "input " + strconv.Itoa(i)
		sameUpload(t, name, received, raw)
		sameUpload(t, name+" after a capture", received, all[0], raw, raw, all[1])
	}
}

// FuzzParseSameAsLegacy: for any input, alone and among real events, the
// two parsers agree.
func FuzzParseSameAsLegacy(f *testing.F) {
	for _, up := range uploads(f) {
		for _, raw := range up {
			f.Add(raw)
		}
	}
	for _, c := range edgeCases {
		f.Add([]byte(c))
	}
	for _, raw := range corpus(f, "FuzzParse") {
		f.Add(raw)
	}
	first := uploads(f)[0][0]
	received := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw []byte) {
		sameUpload(t, "alone", received, raw)
		sameUpload(t, "after a capture", received, first, raw, raw)
	})
}

// FuzzCheckJSON: the scanner accepts exactly what encoding/json does, and
// stops at the depth asked; the loader's split without the check splits
// what it accepts the same way, and returns on anything else.
func FuzzCheckJSON(f *testing.F) {
	for _, c := range edgeCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sameSplit(t, "fuzz", b)
		if ok, deep := checkJSON(b, maxNesting); ok != json.Valid(b) || deep {
			t.Fatalf("checkJSON(%q) = %v, %v; json.Valid %v", b, ok, deep, json.Valid(b))
		}
		ok, deep := checkJSON(b, 3)
		if deep && depth(b) <= 3 || !deep && ok != json.Valid(b) {
			t.Fatalf("checkJSON(%q, 3) = %v, %v; json.Valid %v, depth %d", b, ok, deep, json.Valid(b), depth(b))
		}
	})
}

// TestCheckJSONNesting: encoding/json's bound on nesting, in a stack that
// grows past 64 levels.
func TestCheckJSONNesting(t *testing.T) {
	for _, n := range []int{63, 64, 65, 129, maxNesting, maxNesting + 1} {
		for _, open := range []string{"[", `{"a":`} {
			close, wrong := byte(']'), byte('}')
			if open != "[" {
				close, wrong = '}', ']'
			}
			b := []byte(strings.Repeat(open, n) + "1" + strings.Repeat(string(close), n))
			if ok, _ := checkJSON(b, maxNesting); ok != json.Valid(b) {
				t.Errorf("%d levels of %s: %v, json.Valid %v", n, open, ok, json.Valid(b))
			}
			mixed := []byte(strings.Repeat(open, n) + "[1]" + strings.Repeat(string(close), n))
			mixed[len(mixed)-1] = wrong // at the outermost level
			if ok, _ := checkJSON(mixed, maxNesting); ok || json.Valid(mixed) {
				t.Errorf("%d levels of %s, closed wrong: accepted", n, open)
			}
		}
	}
}

// TestParseKnownContext: a context value seen before is recognised by its
// bytes alone; whatever follows it, and values that merely begin the same,
// are still read as the decoder read them.
func TestParseKnownContext(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 30) + `1` + strings.Repeat(`}`, 30) // props at level 2: 32 in all
	ev := func(props string) []byte { return []byte(`{"type":"login","props":{` + props + `}}`) }
	for i, up := range [][][]byte{
		{ev(`"chan":{"chan_id":"c"},"refer_page":"p"`), ev(`"chan":{"chan_id":"c"}x,"refer_page":"p"`), ev(`"chan":{"chan_id":"c"},"refer_page":"p"`)},
		{ev(`"refer_page":"p"`), ev(`"refer_page":"pq"`), ev(`"refer_page":"p"q"`), ev(`"refer_page":"p" `), ev(`"refer_page":"p"`)},
		{ev(`"sr_sdk_version":12`), ev(`"sr_sdk_version":123`), ev(`"sr_sdk_version":12.5`), ev(`"sr_sdk_version":12`)},
		{ev(`"chan":` + deep), ev(`"chan":` + deep), ev(`"chan":[` + deep + `]`), ev(`"chan":` + deep)},
		{ev(`"wx_user":{"open_id":"o"}`), ev(`"wx_user":{"open_id":"o"},"wx_user":{"open_id":"o2"}`), ev(`"wx_user":{"open_id":"o"}`)},
		{ev(`"wx_user":{"open_id":"o"}`), []byte(`{"type":"login","props":{"wx_user":{"open_id":"o"}}`), ev(`"wx_user":{"open_id":"o"}`)},
		{ev(`"component":[1,2]`), ev(`"component":[1,2],`), ev(`"component":[1,2]]`), ev(`"component":[1,2]`)},
	} {
		sameUpload(t, "sequence "+strconv.Itoa(i), time.Time{}, up...)
	}
}
