package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestRelayCrashSIGKILL kills the server with SIGKILL while it relays to a
// stand-in for Youshu, starts it again, and checks that every acknowledged
// upload reaches the stand-in; the only duplicates may be the rows of the
// claim the killed process was sending (answered, not yet settled): at
// most relay.Options.Batch, 50.
func TestRelayCrashSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: starts and kills server processes (skipped with -short)")
	}
	var mu sync.Mutex
	got := map[string]int{} // tracking id -> uploads received
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var evs []struct {
			TrackingID string `json:"tracking_id"`
		}
		body, _ := io.ReadAll(r.Body)
		if r.URL.Query().Get("token") != "real-youshu-token" || json.Unmarshal(body, &evs) != nil || len(evs) == 0 {
			t.Errorf("stand-in got %s %s", r.URL, body)
			w.Write([]byte(`{"code":1001}`))
			return
		}
		time.Sleep(20 * time.Millisecond) // an upstream slower than the intake
		mu.Lock()
		got[evs[0].TrackingID]++
		mu.Unlock()
		w.Write([]byte(`{"code":0}`))
	}))
	defer up.Close()

	dir := t.TempDir()
	cfg := filepath.Join(dir, "shuyuan.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`admin_key: %q
timezone: Asia/Shanghai
store: {driver: duckdb, memory_limit: 512MB, threads: 2}
wechat: {outbox_lease: 3s}
apps:
  - id: %s
    sdk_token: %q
    youshu_relay: {enabled: true, sdk_token: real-youshu-token, base_url: %q}
`, crashAdminKey, crashApp, crashToken, up.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	first := startCrashServer(t, cfg, data)
	// Uploads first, until the relay is under way, so that the kill lands
	// while it sends.
	var acked []string
	for i := 0; i < 200; i++ {
		tid := fmt.Sprintf("pre-%03d", i)
		if code, err := crashPostBatch(first.url, tid, 0); err != nil || code != 0 {
			t.Fatalf("upload %s: %d %v", tid, code, err)
		}
		acked = append(acked, tid)
	}
	for relayed := 0; relayed < 20; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		relayed = len(got)
		mu.Unlock()
	}
	load := crashPostUntilSignalled(t, first, syscall.SIGKILL, crashSignalAt)
	acked = append(acked, load.acked...)
	_ = first.wait()
	mu.Lock()
	before := len(got)
	mu.Unlock()
	t.Logf("killed after %d acknowledged uploads, %d relayed", len(acked), before)
	if before >= len(acked) {
		t.Fatalf("the relay was done before the kill: nothing tested")
	}

	second := startCrashServer(t, cfg, data)
	defer second.stop()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		mu.Lock()
		missing := 0
		for _, tid := range acked {
			if got[tid] == 0 {
				missing++
			}
		}
		mu.Unlock()
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged uploads never reached the stand-in\n%s", missing, len(acked), second.logTail())
		}
		time.Sleep(200 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	dups := 0
	for _, n := range got {
		dups += n - 1
	}
	// Each claim is settled once its calls are answered: only the rows of
	// the one the killed process was sending can go twice.
	if dups > 50 {
		t.Errorf("%d uploads relayed twice; at most the claim in flight at the kill (50 rows) may be", dups)
	}
	t.Logf("%d uploads relayed, %d twice", len(got), dups)
}
