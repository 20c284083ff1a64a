package relay

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// The upstream's answers sort into delivered, retry and refused; an
// encrypted upload keeps its content type and key.
func TestSendClassifies(t *testing.T) {
	var status int
	var answer, ctype, key string
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctype, key = r.Header.Get("Content-Type"), r.Header.Get("Content-Encrypting-Key")
		w.WriteHeader(status)
		w.Write([]byte(answer))
	}))
	defer up.Close()
	w := New(nil, Options{Holder: "h"})
	rl := &tenant.Relay{BaseURL: up.URL, SDKToken: "t", DataAPIAppID: "a", DataAPISecret: "s"}
	sdk := store.ClaimedRelay{Relay: store.Relay{Kind: store.RelaySDK, Body: "[]"}}
	api := store.ClaimedRelay{Relay: store.Relay{Kind: "order/add_order", Body: "{}"}}
	for _, c := range []struct {
		row    store.ClaimedRelay
		status int
		answer string
		want   string
	}{
		{sdk, 200, `{"code":0}`, Delivered},
		{sdk, 200, `{"code":1001}`, Refused},
		{sdk, 200, `{"code":"0"}`, Refused},
		{sdk, 200, `{"retcode":0}`, Refused},
		{sdk, 503, `{"code":0}`, Retry},
		{sdk, 429, ``, Retry},
		{sdk, 400, `bad`, Refused},
		{api, 200, `{"retcode":0,"errmsg":""}`, Delivered},
		{api, 200, `{"code":0}`, Refused},
		{api, 502, `gateway`, Retry},
	} {
		status, answer = c.status, c.answer
		if got, msg := w.send(context.Background(), rl, c.row); got != c.want {
			t.Errorf("%s answered HTTP %d %s: %s (%s), want %s", c.row.Kind, c.status, c.answer, got, msg, c.want)
		}
	}
	status, answer = 200, `{"code":0}`
	enc := sdk
	enc.Encrypted, enc.EncryptKey = true, "k1"
	if got, _ := w.send(context.Background(), rl, enc); got != Delivered || ctype != "application/x-sr-encrypted" || key != "k1" {
		t.Errorf("encrypted upload: %s, Content-Type %q, key %q", got, ctype, key)
	}
	up.Close()
	if got, _ := w.send(context.Background(), rl, sdk); got != Retry {
		t.Errorf("upstream down: %s, want %s", got, Retry)
	}
}
