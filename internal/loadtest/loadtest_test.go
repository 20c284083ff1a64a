package loadtest_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/collect"
	"github.com/shuyuan-dev/shuyuan/internal/demo"
	"github.com/shuyuan-dev/shuyuan/internal/loadtest"
	"github.com/shuyuan-dev/shuyuan/internal/server"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

func TestBaselineAcknowledges(t *testing.T) {
	b, err := loadtest.StartBaseline()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, encrypt := range []bool{false, true} {
		res, err := loadtest.Run(context.Background(), loadtest.Options{URL: b.URL, Token: "x", Clients: 4, Duration: 300 * time.Millisecond, Encrypt: encrypt})
		if err != nil {
			t.Fatal(err)
		}
		if res.Uploads == 0 || res.Events < res.Uploads || res.Refused != 0 || res.Errors != 0 || res.P50 <= 0 || res.P99 < res.P50 {
			t.Errorf("encrypt %v: %+v", encrypt, res)
		}
		if res.RSS != 0 {
			t.Errorf("the baseline has no /metrics, yet RSS %v", res.RSS)
		}
	}
}

// TestRateBoundsTheLoad: with a rate, no client sends before its events
// are due, so a run never offers more than the rate over its duration plus
// each client's first upload; the report says what was offered.
func TestRateBoundsTheLoad(t *testing.T) {
	b, err := loadtest.StartBaseline()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const clients, rate, dur = 4, 400.0, 500 * time.Millisecond
	res, err := loadtest.Run(context.Background(), loadtest.Options{URL: b.URL, Token: "x", Clients: clients, Duration: dur, Rate: rate})
	if err != nil {
		t.Fatal(err)
	}
	sent := res.Events + res.Refused*10 // refused uploads hold at most 10 events
	if limit := int64(rate*dur.Seconds()) + clients*10; res.Uploads == 0 || sent > limit || res.Errors != 0 {
		t.Errorf("rate %v for %v from %d clients: %d events acknowledged, %d refused, %d errors; at most %d may be sent",
			rate, dur, clients, res.Events, res.Refused, res.Errors, limit)
	}
	if res.Offered != rate {
		t.Errorf("offered %v, want %v", res.Offered, rate)
	}
	var out bytes.Buffer
	loadtest.Print(&out, "baseline", res)
	if !strings.Contains(out.String(), "offered       400 events/s") {
		t.Errorf("report without the offered rate:\n%s", out.String())
	}
}

// TestEveryAcknowledgedEventIsStored runs the load against the real
// collector on a real store: what the load generator counts as
// acknowledged must be exactly what the store holds, and the server's
// memory is read from its /metrics.
func TestEveryAcknowledgedEventIsStored(t *testing.T) {
	st := storetest.Open(t)
	w := store.NewWriter(st, store.WriterOptions{})
	app := &tenant.App{ID: demo.AppID, SDKToken: demo.SDKToken}
	tenants, err := tenant.NewRegistry([]*tenant.App{app})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Deps{
		Tenants: tenants, Store: st, Writer: w, Collector: collect.New(w, collect.NewTypeGate(collect.StoredTypes(st), collect.DefaultMaxNewTypes)),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxBody: 1 << 20, MaxBatch: 500,
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer w.Close()

	var acked int64
	for _, encrypt := range []bool{false, true} {
		res, err := loadtest.Run(context.Background(), loadtest.Options{URL: hs.URL, Token: demo.SDKToken, Clients: 4, Duration: 500 * time.Millisecond, Encrypt: encrypt})
		if err != nil {
			t.Fatal(err)
		}
		if res.Uploads == 0 || res.Refused != 0 || res.Errors != 0 {
			t.Fatalf("encrypt %v: %+v", encrypt, res)
		}
		if res.RSS <= 0 || res.PeakRSS < res.RSS {
			t.Errorf("RSS %v, peak %v", res.RSS, res.PeakRSS)
		}
		acked += res.Events
		var out bytes.Buffer
		loadtest.Print(&out, "shuyuan", res)
		if !strings.Contains(out.String(), "events/s") {
			t.Errorf("report: %s", out.String())
		}
	}
	// Seed 0 seeds each run from the clock, so the second run repeats none
	// of the first's events: every acknowledged event is a new row.
	var stored int64
	if err := st.DB().QueryRow(`SELECT count(*) FROM events WHERE app_id = ?`, demo.AppID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != acked {
		t.Errorf("acknowledged %d events, the store holds %d", acked, stored)
	}
}

func TestOnlyLoopback(t *testing.T) {
	for _, u := range []string{"http://example.com", "http://10.0.0.1:8080", "https://127.0.0.1", "127.0.0.1:8080"} {
		if _, err := loadtest.Run(context.Background(), loadtest.Options{URL: u, Duration: time.Millisecond}); err == nil {
			t.Errorf("%s: no error", u)
		}
	}
}
