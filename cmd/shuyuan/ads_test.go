package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// Every subcommand's -h prints its own synopsis and flags to stdout and
// succeeds (the process exits 0).
func TestEverySubcommandHelp(t *testing.T) {
	cases := []struct {
		args []string
		want []string // words its help must show: its own flags
	}{
		{[]string{"serve", "-h"}, []string{"shuyuan serve", "-addr", "-demo", "SHUYUAN_ADDR"}},
		{[]string{"migrate", "-h"}, []string{"shuyuan migrate", "-store", "-dsn"}},
		{[]string{"config", "-h"}, []string{"shuyuan config", "-config"}},
		{[]string{"token", "-h"}, []string{"shuyuan token", "-app", "-from"}},
		{[]string{"outbox", "replay", "-h"}, []string{"shuyuan outbox replay", "-app", "-server"}},
		{[]string{"outbox", "-h"}, []string{"shuyuan outbox replay"}},
		{[]string{"relay", "replay", "-h"}, []string{"shuyuan relay replay", "-app"}},
		{[]string{"relay", "-h"}, []string{"shuyuan relay replay"}},
		{[]string{"pull", "-h"}, []string{"shuyuan pull", "-app", "-from", "-to", "-again"}},
		{[]string{"store", "copy", "-h"}, []string{"shuyuan store copy", "-from", "-to", "-allow-nonempty"}},
		{[]string{"store", "-h"}, []string{"shuyuan store copy"}},
		{[]string{"fakewx", "-h"}, []string{"shuyuan fakewx", "-addr", "-fault-rate"}},
		{[]string{"bench", "ingest", "-h"}, []string{"shuyuan bench ingest", "-clients", "-baseline"}},
		{[]string{"bench", "-h"}, []string{"shuyuan bench ingest"}},
		{[]string{"version", "-h"}, []string{"shuyuan version"}},
		{[]string{"-h"}, []string{"shuyuan serve", "shuyuan store copy"}},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			out, err := captureStdout(t, func() error { return run(c.args) })
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("help lacks %q:\n%s", w, out)
				}
			}
		})
	}
	// Every command of the table is covered.
	for name := range commands {
		found := false
		for _, c := range cases {
			found = found || c.args[0] == name
		}
		if !found {
			t.Errorf("no help case for %q", name)
		}
	}
}

func captureStdout(t *testing.T, f func() error) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	ferr := f()
	w.Close()
	os.Stdout = saved
	return <-done, ferr
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
