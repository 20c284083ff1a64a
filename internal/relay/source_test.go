package relay

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// youshu_relay.data_sources maps an id without asking Youshu (the worker
// has no store here: touching it would fail the test), leaves the rest of
// the body as it was, and a body naming no source goes as it is.
func TestSourceBodyMapsConfiguredIDs(t *testing.T) {
	w := New(nil, Options{Holder: "t"})
	rl := &tenant.Relay{DataAPIAppID: "ys", DataSources: map[string]string{"17000": "8237461"}}
	row := func(body string) store.ClaimedRelay {
		return store.ClaimedRelay{Relay: store.Relay{AppID: "a", Kind: "order/add_order", Body: body}}
	}
	body, outcome, answer := w.sourceBody(context.Background(), rl, row(`{"dataSourceId":"17000","orders":[{"external_order_id":"o1","x":1.50}]}`))
	if outcome != "" {
		t.Fatalf("outcome %s: %s", outcome, answer)
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"dataSourceId": "8237461", "orders": []any{map[string]any{"external_order_id": "o1", "x": 1.5}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("body %s, want %v", body, want)
	}
	for _, b := range []string{`{"orders":[]}`, `{"dataSourceId":"","orders":[]}`} {
		if body, outcome, _ := w.sourceBody(context.Background(), rl, row(b)); outcome != "" || string(body) != b {
			t.Errorf("%s became %s (%s)", b, body, outcome)
		}
	}
	if _, outcome, _ := w.sourceBody(context.Background(), rl, row(`[1]`)); outcome != Refused {
		t.Errorf("a body that is no object: %s, want refused", outcome)
	}
}
