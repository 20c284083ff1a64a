package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"testing"

	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

func TestTakeFlags(t *testing.T) {
	got, rest, err := takeFlags([]string{"--app", "shop", "--data", "/tmp/x", "-from=http://h:1", "--app=two", "--demo"}, "app", "from")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string][]string{"app": {"shop", "two"}, "from": {"http://h:1"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("flags %v, want %v", got, want)
	}
	if want := []string{"--data", "/tmp/x", "--demo"}; !reflect.DeepEqual(rest, want) {
		t.Errorf("rest %v, want %v", rest, want)
	}
	if _, _, err := takeFlags([]string{"--app"}, "app"); err == nil {
		t.Error("a flag without its value was accepted")
	}
}

// TestDemoFake checks the in-process fake of serve --demo: the apps with
// WeChat credentials are registered, and it answers the token endpoint.
func TestDemoFake(t *testing.T) {
	reg, err := tenant.NewRegistry([]*tenant.App{
		{ID: "demo", SDKToken: "demo-token-1", WxAppID: "wxd3m0a11f9e8c7b6a", WxSecret: demoWxSecret},
		{ID: "plain", SDKToken: "plain-token-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	base, stop, err := startFake(reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	res, err := http.Get(base + "/cgi-bin/token?grant_type=client_credential&appid=wxd3m0a11f9e8c7b6a&secret=" + demoWxSecret)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var ans struct {
		AccessToken string `json:"access_token"`
		ErrCode     int64  `json:"errcode"`
	}
	if err := json.NewDecoder(res.Body).Decode(&ans); err != nil || ans.AccessToken == "" {
		t.Errorf("token answer %+v (%v)", ans, err)
	}
}
