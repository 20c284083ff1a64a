package event_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shuyuan-dev/shuyuan/internal/event"
)

// captureEvents are the raw events of the real SDK captures, the seeds of
// the fuzz targets.
func captureEvents(t testing.TB) []json.RawMessage {
	var out []json.RawMessage
	for _, reqs := range loadCaptures(t) {
		for _, c := range reqs {
			var raws []json.RawMessage
			if err := json.Unmarshal([]byte(c.Body), &raws); err != nil {
				t.Fatal(err)
			}
			out = append(out, raws...)
		}
	}
	return out
}

// FuzzParse: whatever an event is, Parse answers without panicking, and
// an event it accepts keeps its bounds and re-encodes to itself: the
// event rebuilt from its type, tracking id, own props and context parses
// to the same props, context, time and key.
func FuzzParse(f *testing.F) {
	for _, raw := range captureEvents(f) {
		f.Add([]byte(raw))
	}
	f.Add([]byte(`{"type":"login_wxapp","log_id":1e300,"props":{"time":1795373591817}}`))
	f.Add([]byte(`{"type":"custom_order","props":{"page":"p","time":1795373591817,"wx_user":{"open_id":"o"},"order":{"order_id":"O","order_time":1,"order_status":"payed"},"sub_orders":[{"pay_amt":1e300}]}}`))
	f.Add([]byte("{\"\\00\\")) // made the fast decoder read past the end of its input (a panic)
	received := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw []byte) {
		p := event.Parser{Received: received}
		ev, err := p.Parse(raw)
		if err != nil {
			if _, ok := err.(*event.Invalid); !ok {
				t.Fatalf("error %T %v, want an *event.Invalid", err, err)
			}
			return
		}
		if n := utf8.RuneCountInString(ev.Type); n == 0 || n > event.MaxTypeLen {
			t.Errorf("accepted a type of %d characters", n)
		}
		if !ev.Time.IsZero() && (ev.Time.Before(event.Earliest) || ev.Time.After(received.Add(event.MaxAhead))) {
			t.Errorf("accepted time %v", ev.Time)
		}
		if !json.Valid(ev.Props) || (len(ev.Context) > 0 && !json.Valid(ev.Context)) {
			t.Fatalf("props %q or context %q is not JSON", ev.Props, ev.Context)
		}
		// Rebuild the event from what was kept and parse it again.
		var own, ctx map[string]json.RawMessage
		if err := json.Unmarshal(ev.Props, &own); err != nil {
			t.Fatal(err)
		}
		if len(ev.Context) > 0 {
			if err := json.Unmarshal(ev.Context, &ctx); err != nil {
				t.Fatal(err)
			}
		}
		for k, v := range ctx {
			own[k] = v
		}
		// As the SDK encodes: no HTML escaping of < > &, which would be
		// other bytes for the same props.
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(map[string]any{"type": ev.Type, "tracking_id": ev.TrackingID, "log_id": ev.LogID, "props": own}); err != nil {
			t.Fatal(err)
		}
		rebuilt := buf.Bytes()
		var q event.Parser
		again, err := q.Parse(rebuilt)
		if err != nil {
			t.Fatalf("the event re-encoded from %q is refused: %v\n%s", raw, err, rebuilt)
		}
		if !bytes.Equal(again.Props, ev.Props) || !bytes.Equal(again.Context, ev.Context) || !again.Time.Equal(ev.Time) ||
			again.Key != ev.Key || again.LogID != ev.LogID {
			t.Errorf("re-encoded event differs:\n props %s\n   was %s\n context %s\n     was %s\n key %d was %d", again.Props, ev.Props, again.Context, ev.Context, again.Key, ev.Key)
		}
		ev.Props, ev.Context, again.Props, again.Context = nil, nil, nil, nil
		ev.From = "" // not re-encoded
		if !reflect.DeepEqual(again, ev) {
			t.Errorf("re-encoded event differs:\n %+v\n was %+v", again, ev)
		}
	})
}
