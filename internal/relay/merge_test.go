package relay

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/shuyuan-dev/shuyuan/internal/order"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

func orderRow(seq int64, src, id string) store.ClaimedRelay {
	return store.ClaimedRelay{Seq: seq, Relay: store.Relay{AppID: "a", Kind: order.RelayAddOrder, RefID: id,
		Body: fmt.Sprintf(`{"dataSourceId":%q,"orders":[{"external_order_id":%q}]}`, src, id)}}
}

// add_order rows of one data source share a call, up to 50 orders; other
// rows and other sources go apart, in the order of their first row.
func TestUnits(t *testing.T) {
	sdk := store.ClaimedRelay{Seq: 2, Relay: store.Relay{AppID: "a", Kind: store.RelaySDK, Body: "[]"}}
	rows := []store.ClaimedRelay{orderRow(1, "s1", "o1"), sdk, orderRow(3, "s2", "o3"), orderRow(4, "s1", "o4")}
	for i := range 55 {
		rows = append(rows, orderRow(int64(10+i), "s3", fmt.Sprint("p", i)))
	}
	var got [][]int64
	for _, u := range units(rows) {
		var seqs []int64
		for _, r := range u {
			seqs = append(seqs, r.Seq)
		}
		got = append(got, seqs)
	}
	if len(got) != 5 || !reflect.DeepEqual(got[:3], [][]int64{{1, 4}, {2}, {3}}) || len(got[3]) != 50 || len(got[4]) != 5 {
		t.Fatalf("units %v", got)
	}
}

// A merged call Youshu refuses is sent again row by row: only the order
// it refuses goes dead.
func TestSendUnitIsolatesRefusal(t *testing.T) {
	var mu sync.Mutex
	var calls []int
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var c orderCall
		json.Unmarshal(body, &c)
		mu.Lock()
		calls = append(calls, len(c.Orders))
		mu.Unlock()
		if c.DataSourceID != "ys-1" {
			t.Errorf("dataSourceId %q, want the mapped ys-1", c.DataSourceID)
		}
		if strings.Contains(string(body), `"bad"`) {
			w.Write([]byte(`{"retcode":1001,"errmsg":"orders[1]: bad order"}`))
			return
		}
		w.Write([]byte(`{"retcode":0,"errmsg":"","data":{}}`))
	}))
	defer up.Close()
	w := New(nil, Options{Holder: "t"})
	rl := &tenant.Relay{BaseURL: up.URL, DataAPIAppID: "ys", DataAPISecret: "s", DataSources: map[string]string{"s1": "ys-1"}}
	res := w.sendUnit(context.Background(), rl, []store.ClaimedRelay{orderRow(1, "s1", "o1"), orderRow(2, "s1", "bad"), orderRow(3, "s1", "o3")})
	var outcomes []string
	for _, r := range res {
		outcomes = append(outcomes, r.outcome)
	}
	if !reflect.DeepEqual(outcomes, []string{Delivered, Refused, Delivered}) || !reflect.DeepEqual(calls, []int{3, 1, 1, 1}) {
		t.Fatalf("outcomes %v after calls of %v orders", outcomes, calls)
	}
	if !strings.Contains(res[1].answer, "bad order") {
		t.Errorf("the refused row keeps Youshu's answer: %q", res[1].answer)
	}
}
