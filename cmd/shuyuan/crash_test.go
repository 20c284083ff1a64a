package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store/duckdb"
)

// The crash tests run `shuyuan serve` as a real process: this test binary,
// re-executed with only TestServeChild selected and the serve arguments in
// childArgsEnv. That is the same code as the built binary, without a second
// cgo build.
const childArgsEnv = "SHUYUAN_TEST_SERVE_ARGS"

const (
	crashAdminKey  = "crash-test-admin-key-0123456789"
	crashToken     = "crash-test-sdk-token-0001"
	crashApp       = "crash"
	crashClients   = 6
	crashPerBatch  = 10
	crashMaxBatch  = 2000 // per client: bounds the test if a signal never lands
	crashSignalAt  = 300  // acknowledged batches before the signal
	crashWaitReady = 2 * time.Minute
)

// TestServeChild is not a test on its own: it is the server process of the
// crash tests, and skips when run directly.
func TestServeChild(t *testing.T) {
	raw := os.Getenv(childArgsEnv)
	if raw == "" {
		t.Skip("helper process of TestCrash*: runs only when re-executed by them")
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		t.Fatalf("%s: %v", childArgsEnv, err)
	}
	if err := run(args); err != nil {
		t.Fatalf("shuyuan %s: %v", strings.Join(args, " "), err)
	}
}

// TestCrashSIGKILL kills the server with SIGKILL while clients post, starts
// it again on the same data directory, and checks that every batch that was
// answered code 0 is stored, exactly once, and no batch is half-stored. It
// kills at several points: with the intake log in small segments (so the
// kill lands inside a segment, usually while the loader has a load in
// flight), early and late, and with uploads acknowledged after the store's
// own commit.
func TestCrashSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: starts and kills server processes (skipped with -short)")
	}
	for _, c := range []struct {
		name  string
		store string // extra lines of the store section
		at    int    // acknowledged batches before the kill
	}{
		{"intake log, early", "  intake_segment_bytes: 16384\n", 120},
		{"intake log, late", "  intake_segment_bytes: 65536\n", 900},
		{"direct", "  intake: direct\n", crashSignalAt},
	} {
		t.Run(c.name, func(t *testing.T) { testCrashSIGKILL(t, c.store, c.at) })
	}
}

func testCrashSIGKILL(t *testing.T, storeExtra string, at int) {
	dir := t.TempDir()
	cfg := writeCrashConfig(t, dir, storeExtra)
	data := filepath.Join(dir, "data")

	first := startCrashServer(t, cfg, data)
	load := crashPostUntilSignalled(t, first, syscall.SIGKILL, at)
	if err := first.wait(); err == nil {
		t.Fatal("the server exited cleanly after SIGKILL")
	}
	if ws, ok := first.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("the server was not killed by SIGKILL: %v", first.cmd.ProcessState)
	}
	segs, _ := filepath.Glob(filepath.Join(data, "intake", "*.seg"))
	t.Logf("killed after %d acknowledged batches (%d refused or cut off); %d intake segments left", len(load.acked), load.failed.Load(), len(segs))

	// Restart on the same data: DuckDB replays its WAL, the loader the
	// intake log from the store's position.
	second := startCrashServer(t, cfg, data)
	stored := crashAnalysisTotal(t, second)
	if min := len(load.acked) * crashPerBatch; stored < min {
		t.Errorf("after restart the events analysis counts %d events; %d batches of %d were acknowledged", stored, len(load.acked), crashPerBatch)
	}
	// The restarted server takes new data.
	if code, err := crashPostBatch(second.url, "after-restart", 0); err != nil || code != 0 {
		t.Errorf("upload to the restarted server: code %d, %v", code, err)
	}
	if err := second.stop(); err != nil {
		t.Fatalf("stop the restarted server: %v\n%s", err, second.logTail())
	}
	for _, line := range strings.Split(second.logTail(), "\n") {
		if strings.Contains(line, "intake log opened") {
			t.Logf("restart: %s", line)
		}
	}
	byBatch := crashStoredBatches(t, data)
	if byBatch["after-restart"] != crashPerBatch {
		t.Errorf("the batch posted after the restart has %d events stored; want %d", byBatch["after-restart"], crashPerBatch)
	}
	delete(byBatch, "after-restart")
	crashCheckBatches(t, load.acked, byBatch)
	if total := crashSum(byBatch); total != stored {
		t.Errorf("the events analysis counted %d events; the store holds %d", stored, total)
	}
}

// TestCrashSIGTERM: a graceful stop while clients post answers or refuses
// every request, commits every acknowledged batch, and exits 0.
func TestCrashSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: starts and stops server processes (skipped with -short)")
	}
	dir := t.TempDir()
	cfg := writeCrashConfig(t, dir, "")
	data := filepath.Join(dir, "data")

	srv := startCrashServer(t, cfg, data)
	load := crashPostUntilSignalled(t, srv, syscall.SIGTERM, crashSignalAt)
	if err := srv.wait(); err != nil {
		t.Fatalf("after SIGTERM the server exited with %v; want 0\n%s", err, srv.logTail())
	}
	if !strings.Contains(srv.logTail(), "shutting down") {
		t.Errorf("the server did not log its shutdown:\n%s", srv.logTail())
	}
	t.Logf("stopped after %d acknowledged batches (%d refused or cut off)", len(load.acked), load.failed.Load())
	stored := crashStoredBatches(t, data)
	crashCheckBatches(t, load.acked, stored)
	// A graceful stop answers every request it took: nothing is stored
	// that the client was not told about.
	if len(stored) != len(load.acked) {
		t.Errorf("%d batches stored, %d acknowledged: a graceful stop left requests unanswered", len(stored), len(load.acked))
	}
}

// writeCrashConfig writes the crash tests' config; storeExtra adds lines
// (indented two spaces) to its store section.
func writeCrashConfig(t *testing.T, dir, storeExtra string) string {
	t.Helper()
	cfg := fmt.Sprintf(`admin_key: %q
timezone: Asia/Shanghai
store:
  driver: duckdb
  memory_limit: 512MB
  threads: 2
%sapps:
  - id: %s
    name: Crash test shop
    sdk_token: %q
`, crashAdminKey, storeExtra, crashApp, crashToken)
	path := filepath.Join(dir, "shuyuan.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// crashServer is one `shuyuan serve` process.
type crashServer struct {
	cmd    *exec.Cmd
	url    string
	exited chan struct{}
	err    error // of Wait, once exited is closed

	mu   sync.Mutex
	tail []string // the last lines of its log
}

// startCrashServer starts `shuyuan serve` on a free loopback port and waits until
// /readyz answers 200.
func startCrashServer(t *testing.T, cfg, data string) *crashServer {
	t.Helper()
	args := []string{"serve", "--config", cfg, "--addr", "127.0.0.1:0", "--data", data}
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeChild$", "-test.timeout=10m", "-test.count=1")
	// Only our settings: a SHUYUAN_* variable of the caller must not
	// change the server under test.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SHUYUAN_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, childArgsEnv+"="+string(raw))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("start shuyuan serve: %v", err)
	}
	p := &crashServer{cmd: cmd, exited: make(chan struct{})}
	addr := make(chan string, 1)
	logDone := make(chan struct{})
	go func() {
		// Read the log to the end: a full pipe would block the server.
		defer close(logDone)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			if p.tail = append(p.tail, line); len(p.tail) > 40 {
				p.tail = p.tail[1:]
			}
			p.mu.Unlock()
			var rec struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" && rec.Addr != "" {
				select {
				case addr <- rec.Addr:
				default:
				}
			}
		}
	}()
	go func() {
		<-logDone // Wait closes the pipe; read it all first
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill() //nolint:errcheck // it may have just exited
			<-p.exited
		}
	})

	select {
	case a := <-addr:
		p.url = "http://" + a
	case <-p.exited:
		t.Fatalf("shuyuan serve exited before listening: %v\n%s", p.err, p.logTail())
	case <-time.After(crashWaitReady):
		t.Fatalf("shuyuan serve did not listen within %v\n%s", crashWaitReady, p.logTail())
	}
	deadline := time.Now().Add(crashWaitReady)
	for {
		res, err := http.Get(p.url + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("shuyuan serve not ready within %v: %v\n%s", crashWaitReady, err, p.logTail())
		}
		select {
		case <-p.exited:
			t.Fatalf("shuyuan serve exited before it was ready: %v\n%s", p.err, p.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (p *crashServer) logTail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail, "\n")
}

// wait waits for the process to exit (bounded) and returns Wait's error.
func (p *crashServer) wait() error {
	select {
	case <-p.exited:
		return p.err
	case <-time.After(2 * time.Minute):
		p.cmd.Process.Kill() //nolint:errcheck
		<-p.exited
		return fmt.Errorf("did not exit within 2 minutes; killed")
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *crashServer) stop() error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	return p.wait()
}

// crashLoad is what the clients saw.
type crashLoad struct {
	acked  []string // tracking ids of the batches answered code 0
	failed atomic.Int64
}

// crashPostUntilSignalled runs crashClients clients posting distinct batches;
// after at acknowledged batches it sends sig to the server, and the clients
// stop at their first failure after that.
func crashPostUntilSignalled(t *testing.T, p *crashServer, sig syscall.Signal, at int) *crashLoad {
	t.Helper()
	var (
		res       crashLoad
		mu        sync.Mutex
		signalled atomic.Bool
		reached   = make(chan struct{})
		once      sync.Once
		wg        sync.WaitGroup
		early     = make(chan string, crashClients)
	)
	for c := 0; c < crashClients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < crashMaxBatch; i++ {
				tid := fmt.Sprintf("crash-%d-%05d", c, i)
				code, err := crashPostBatch(p.url, tid, c)
				if err == nil && code == 0 {
					mu.Lock()
					res.acked = append(res.acked, tid)
					n := len(res.acked)
					mu.Unlock()
					if n >= at {
						once.Do(func() { close(reached) })
					}
					continue
				}
				res.failed.Add(1)
				if !signalled.Load() {
					early <- fmt.Sprintf("batch %s failed before the signal: code %d, %v", tid, code, err)
				}
				return
			}
		}()
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	select {
	case <-reached:
	case <-allDone:
	}
	signalled.Store(true)
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
	<-allDone
	close(early)
	for msg := range early {
		t.Errorf("%s\n%s", msg, p.logTail())
	}
	if len(res.acked) < at {
		t.Fatalf("only %d batches were acknowledged before the clients stopped", len(res.acked))
	}
	return &res
}

var crashHTTP = &http.Client{Timeout: time.Minute}

// crashPostBatch posts crashPerBatch distinct events with tracking id tid and
// returns the answer's code.
func crashPostBatch(base, tid string, client int) (int, error) {
	now := crashBatchTime(tid)
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i := 0; i < crashPerBatch; i++ {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `{"type":"browse_wxapp_page","from":"sr-sdk-wxapp","tracking_id":%q,"log_id":%d,`+
			`"props":{"page":"pages/goods/detail?sku_id=S%d","page_title":"Product","time":%d,"is_sdk_auto_track":true,`+
			`"wx_user":{"app_id":"wx8f0c1d2e3a4b5c6d","open_id":"o-crash-%d","local_id":%q},"chan":{"chan_wxapp_scene":1001},"sr_sdk_version":"2.1.1"}}`,
			tid, i, i, now+int64(i), client, tid)
	}
	buf.WriteByte(']')
	res, err := crashHTTP.Post(base+"/api/report?token="+crashToken, "application/json", &buf)
	if err != nil {
		return -1, err
	}
	defer res.Body.Close()
	var ans struct {
		Code *int   `json:"code"`
		Msg  string `json:"msg"`
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return -1, fmt.Errorf("read answer: %w", err)
	}
	if err := json.Unmarshal(body, &ans); err != nil || ans.Code == nil {
		return -1, fmt.Errorf("answer is not {code,msg}: HTTP %d %q", res.StatusCode, body)
	}
	if *ans.Code != 0 {
		return *ans.Code, errors.New(ans.Msg)
	}
	return 0, nil
}

// crashBatchTimes keeps the client time of each upload, so that posting a
// tracking id again re-sends the same body, as the SDK re-sends: a new time
// would make new events, and an upload whose answer was lost to a kill
// would be stored twice.
var crashBatchTimes sync.Map

func crashBatchTime(tid string) int64 {
	t, _ := crashBatchTimes.LoadOrStore(tid, time.Now().UnixMilli())
	return t.(int64)
}

// crashAnalysisTotal is the number of the app's events from yesterday to
// tomorrow (Asia/Shanghai), through the events analysis.
func crashAnalysisTotal(t *testing.T, p *crashServer) int {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(loc)
	url := fmt.Sprintf("%s/api/v1/apps/%s/analysis/events?from=%s&to=%s", p.url, crashApp,
		now.AddDate(0, 0, -1).Format("2006-01-02"), now.AddDate(0, 0, 1).Format("2006-01-02"))
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+crashAdminKey)
	res, err := crashHTTP.Do(req)
	if err != nil {
		t.Fatalf("events analysis: %v", err)
	}
	defer res.Body.Close()
	var out struct {
		Rows [][]any `json:"rows"`
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || json.Unmarshal(body, &out) != nil {
		t.Fatalf("events analysis: HTTP %d %s", res.StatusCode, body)
	}
	total := 0
	for _, r := range out.Rows {
		if len(r) < 4 {
			t.Fatalf("events analysis row %v", r)
		}
		n, _ := r[3].(float64)
		total += int(n)
	}
	return total
}

// crashStoredBatches opens the stopped server's store and counts the events of
// each tracking id.
func crashStoredBatches(t *testing.T, data string) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := duckdb.Open(ctx, data, duckdb.Options{MemoryLimit: "512MB", Threads: 2})
	if err != nil {
		t.Fatalf("open the store after the server stopped: %v", err)
	}
	defer st.Close()
	rows, err := st.DB().QueryContext(ctx, `SELECT tracking_id, count(*) FROM events WHERE app_id = $1 GROUP BY tracking_id`, crashApp)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var tid string
		var n int
		if err := rows.Scan(&tid, &n); err != nil {
			t.Fatal(err)
		}
		out[tid] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// crashCheckBatches: every acknowledged batch is stored whole and once, and no
// batch at all (acknowledged or cut off) is stored in part or twice.
func crashCheckBatches(t *testing.T, acked []string, stored map[string]int) {
	t.Helper()
	lost := 0
	for _, tid := range acked {
		if n := stored[tid]; n != crashPerBatch {
			lost++
			if lost <= 10 {
				t.Errorf("acknowledged batch %s has %d events stored; want %d", tid, n, crashPerBatch)
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged batches are not stored exactly once", lost, len(acked))
	}
	for tid, n := range stored {
		if n != crashPerBatch {
			t.Errorf("batch %s has %d events stored: half-written or duplicated (want 0 or %d)", tid, n, crashPerBatch)
		}
	}
	t.Logf("%d batches acknowledged, %d stored (the rest were cut off unanswered)", len(acked), len(stored))
}

func crashSum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
