package sdk_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shuyuan-dev/shuyuan/internal/collect"
	"github.com/shuyuan-dev/shuyuan/internal/server"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

const adminKey = "sdk-test-admin-key-0123456789"

// versions are the SDK releases the harness installs (package.json).
var versions = []string{"1.4.2", "1.8.2", "1.10.1", "2.1.1"}

// faultKind is what the server does to an upload after committing it, so
// that the real SDK believes it failed and sends the same events again.
type faultKind string

const (
	faultNone  faultKind = ""
	faultReset faultKind = "reset" // commit, then reset the connection
	faultText  faultKind = "text"  // commit, then answer a non-JSON body
)

// harnessRun is one run of test/sdk/run.js against its own app.
type harnessRun struct {
	name     string
	version  string
	scenario string
	encrypt  bool
	fault    faultKind
	failN    int // uploads to fail (after committing them)

	app   string
	token string

	// Filled by the run.
	exitCode int
	stdout   []byte
	stderr   []byte
	runErr   error
	summary  summary
	plan     *faultPlan
}

// summary is the JSON the harness prints on stdout.
type summary struct {
	SDK                  string         `json:"sdk"`
	ReportedVersion      string         `json:"sdk_reported_version"`
	ReportRequests       int            `json:"report_requests"`
	ReportAccepted       int            `json:"report_accepted"`
	ReportRejected       int            `json:"report_rejected"`
	ReportNetworkErrors  int            `json:"report_network_errors"`
	EventsSent           int            `json:"events_sent_including_retries"`
	EventsByType         map[string]int `json:"events_by_type"`
	EventsAccepted       int            `json:"events_accepted"`
	EventsAcceptedByType map[string]int `json:"events_accepted_by_type"`
	QueueLeft            int            `json:"queue_left"`
	Drained              bool           `json:"drained"`
	ExitCode             int            `json:"exit_code"`
	Status               string         `json:"status"`
}

// TestRealSDK runs the official SDK, every version, plain and encrypted,
// through the harness against the real server and store, and checks through
// the events analysis that every event the SDK sent is stored exactly once,
// including when the server commits an upload and then fails to answer it,
// so that the SDK sends the same events again.
func TestRealSDK(t *testing.T) {
	node := requireHarness(t)

	var runs []*harnessRun
	for _, v := range versions {
		runs = append(runs,
			&harnessRun{name: "full/" + v, version: v, scenario: "scenarios/full.json"},
			&harnessRun{name: "full/" + v + "/encrypt", version: v, scenario: "scenarios/full.json", encrypt: true})
	}
	runs = append(runs,
		// The SDK reports its own API exceptions as a single JSON object.
		&harnessRun{name: "errors/2.1.1", version: "2.1.1", scenario: "scenarios/errors.json"},
		&harnessRun{name: "errors/1.4.2", version: "1.4.2", scenario: "scenarios/errors.json"},
		// Re-sends: committed, then the answer is lost.
		&harnessRun{name: "resend-reset/2.1.1", version: "2.1.1", scenario: "scenarios/full.json", fault: faultReset, failN: 2},
		&harnessRun{name: "resend-text/1.10.1", version: "1.10.1", scenario: "scenarios/full.json", fault: faultText, failN: 2},
		&harnessRun{name: "resend-reset/1.4.2/encrypt", version: "1.4.2", scenario: "scenarios/full.json", encrypt: true, fault: faultReset, failN: 1},
	)

	apps := make([]*tenant.App, len(runs))
	plans := map[string]*faultPlan{}
	for i, r := range runs {
		r.app = fmt.Sprintf("run%02d", i)
		r.token = fmt.Sprintf("sdk-test-token-%02d", i)
		apps[i] = &tenant.App{ID: r.app, Name: r.name, SDKToken: r.token}
		if r.fault != faultNone {
			r.plan = &faultPlan{kind: r.fault, left: r.failN}
			plans[r.token] = r.plan
		}
	}
	env := startServer(t, apps, plans)

	// Every run waits on the SDK's 1 s debounce and the harness's quiet
	// period, not on the CPU: run them all at once rather than -parallel
	// at a time.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for _, r := range runs {
		dir := t.TempDir()
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.run(ctx, node, env.url, dir)
		}()
	}
	wg.Wait()

	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) { r.check(t, env) })
	}
}

// requireHarness returns the node binary, or skips the test loudly when node
// or the harness's npm packages are missing. Under CI it fails instead: the
// end-to-end test must run there.
func requireHarness(t *testing.T) string {
	t.Helper()
	missing := func(what string) {
		msg := what + `: the real-SDK test cannot run. Install Node 20 and run "npm ci --prefix test/sdk" from the repository root.`
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set, so this is a failure, not a skip)")
		}
		t.Skip("SKIPPING REAL-SDK TEST: " + msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH")
	}
	for _, v := range versions {
		if _, err := os.Stat(filepath.Join("node_modules", "sr-sdk-wxapp-"+v, "package.json")); err != nil {
			missing("test/sdk/node_modules/sr-sdk-wxapp-" + v + " is missing")
		}
	}
	return node
}

// sdkServer is the real server on a loopback port.
type sdkServer struct {
	url     string
	store   store.Store
	metrics *server.Metrics
}

func startServer(t *testing.T, apps []*tenant.App, plans map[string]*faultPlan) *sdkServer {
	t.Helper()
	tenants, err := tenant.NewRegistry(apps)
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.Open(t)
	var metrics *server.Metrics
	w := store.NewWriter(st, store.WriterOptions{OnCommit: func(n int, took time.Duration, res []store.EventResult, err error) {
		metrics.ObserveCommit(n, took, res, err)
	}})
	metrics = server.NewMetrics(prometheus.NewRegistry(), w)
	t.Cleanup(w.Close) // before the store closes: cleanups run last-in first-out
	srv := server.New(server.Deps{
		Tenants: tenants, Store: st, Writer: w, Collector: collect.New(w, collect.NewTypeGate(collect.StoredTypes(st), collect.DefaultMaxNewTypes)),
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics: metrics, AdminKey: adminKey, MaxBody: 1 << 20, MaxBatch: 500,
	})
	hs := httptest.NewServer(withFaults(srv, plans))
	t.Cleanup(hs.Close)
	return &sdkServer{url: hs.URL, store: st, metrics: metrics}
}

// faultPlan fails the first left uploads of one app that the real handler
// answered with code 0: they are committed, and the SDK sees a failure.
type faultPlan struct {
	kind     faultKind
	mu       sync.Mutex
	left     int
	injected int
}

func (p *faultPlan) injectedCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.injected
}

func withFaults(next http.Handler, plans map[string]*faultPlan) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := plans[r.URL.Query().Get("token")]
		if p == nil || r.Method != http.MethodPost || r.URL.Path != "/api/report" {
			next.ServeHTTP(w, r)
			return
		}
		// Held for the whole upload so that two concurrent uploads cannot
		// both take the last fault.
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.left == 0 {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var ans struct {
			Code *int `json:"code"`
		}
		if json.Unmarshal(rec.Body.Bytes(), &ans) != nil || ans.Code == nil || *ans.Code != 0 {
			// Not committed: pass the real answer on and keep the fault.
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes()) //nolint:errcheck // the SDK went away
			return
		}
		p.left--
		p.injected++
		switch p.kind {
		case faultReset:
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				panic(fmt.Sprintf("hijack for fault injection: %v", err))
			}
			if tc, ok := conn.(*net.TCPConn); ok {
				tc.SetLinger(0) //nolint:errcheck // best effort: a RST rather than a FIN
			}
			conn.Close()
		case faultText:
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, "OK") //nolint:errcheck
		}
	})
}

func (r *harnessRun) run(ctx context.Context, node, base, dir string) {
	args := []string{"run.js",
		"--server", base + "/api/report",
		"--token", r.token,
		"--scenario", r.scenario,
		"--sdk-version", r.version,
		"--out", filepath.Join(dir, "requests.jsonl"),
		// Re-sent batches go out with the SDK's next flush, at the latest
		// its 10 s timer; leave room for that.
		"--drain-timeout", "45000",
	}
	if r.encrypt {
		args = append(args, "--encrypt")
	}
	cmd := exec.CommandContext(ctx, node, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r.stdout, r.stderr = stdout.Bytes(), stderr.Bytes()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		r.exitCode = exit.ExitCode()
	default:
		r.runErr = err
		return
	}
	if err := json.Unmarshal(r.stdout, &r.summary); err != nil {
		r.runErr = fmt.Errorf("harness summary is not JSON: %w", err)
	}
}

func (r *harnessRun) check(t *testing.T, env *sdkServer) {
	if r.runErr != nil {
		t.Fatalf("harness: %v\nstdout:\n%s\nstderr:\n%s", r.runErr, r.stdout, r.stderr)
	}
	t.Logf("harness: %s, %d uploads, %d events sent, %d accepted, status %s",
		r.summary.SDK, r.summary.ReportRequests, r.summary.EventsSent, r.summary.EventsAccepted, r.summary.Status)
	s := r.summary
	if want := "sr-sdk-wxapp@" + r.version; s.SDK != want || s.ReportedVersion != r.version {
		t.Errorf("harness ran %s reporting %s; want %s", s.SDK, s.ReportedVersion, want)
	}
	if !s.Drained || s.QueueLeft != 0 {
		t.Errorf("SDK queue not drained (drained %v, %d left)", s.Drained, s.QueueLeft)
	}
	if s.EventsSent == 0 {
		t.Fatalf("the harness reports no events sent\nstderr:\n%s", r.stderr)
	}

	stored := env.storedByType(t, r.app)
	if r.fault == faultNone {
		if r.exitCode != 0 || s.ExitCode != 0 {
			t.Errorf("harness exit %d (summary %d, %s); want 0\nstderr:\n%s", r.exitCode, s.ExitCode, s.Status, r.stderr)
		}
		if s.ReportRejected != 0 || s.ReportNetworkErrors != 0 {
			t.Errorf("%d uploads rejected and %d failed; want none", s.ReportRejected, s.ReportNetworkErrors)
		}
		// No retries: every event the SDK sent is stored, once.
		diffCounts(t, "stored vs events_by_type", stored, s.EventsByType)
	} else {
		// Exit 3: drained, after uploads that failed and were re-sent.
		if r.exitCode != 3 || s.ExitCode != 3 {
			t.Errorf("harness exit %d (summary %d, %s); want 3 (recovered after failures)\nstderr:\n%s", r.exitCode, s.ExitCode, s.Status, r.stderr)
		}
		if got := r.plan.injectedCount(); got != r.failN {
			t.Errorf("server failed %d uploads after committing them; want %d", got, r.failN)
		}
		failed := s.ReportNetworkErrors
		if r.fault == faultText {
			failed = s.ReportRejected
		}
		if failed != r.failN || s.ReportRejected+s.ReportNetworkErrors != r.failN {
			t.Errorf("SDK saw %d rejected and %d failed uploads; want %d %s faults", s.ReportRejected, s.ReportNetworkErrors, r.failN, r.fault)
		}
		if s.EventsSent <= s.EventsAccepted {
			t.Fatalf("no event was sent twice (%d sent, %d accepted): the fault did not make the SDK re-send", s.EventsSent, s.EventsAccepted)
		}
		// Every distinct event went out in exactly one accepted upload;
		// the copies in the failed ones were committed too and must have
		// been recognised as duplicates.
		diffCounts(t, "stored vs events_accepted_by_type", stored, s.EventsAcceptedByType)
		if got, want := env.metric(t, r.app, "deduplicated"), s.EventsSent-s.EventsAccepted; got != want {
			t.Errorf("shuyuan_events_total{outcome=deduplicated} = %d; want %d (sent %d, distinct %d)", got, want, s.EventsSent, s.EventsAccepted)
		}
	}
	if n := sum(stored); n != s.EventsAccepted {
		t.Errorf("stored %d events; the SDK had %d distinct events accepted", n, s.EventsAccepted)
	}
	if got := env.metric(t, r.app, "accepted"); got != sum(stored) {
		t.Errorf("shuyuan_events_total{outcome=accepted} = %d; stored %d", got, sum(stored))
	}
	var quarantined int
	if err := env.store.DB().QueryRow(`SELECT count(*) FROM quarantine WHERE app_id = $1`, r.app).Scan(&quarantined); err != nil {
		t.Fatal(err)
	}
	if quarantined != 0 {
		t.Errorf("%d events of the real SDK were quarantined: %s", quarantined, env.quarantineReasons(t, r.app))
	}
}

// storedByType asks the events analysis, over HTTP with the admin key, how
// many events of each type the app has from yesterday to tomorrow (days in
// Asia/Shanghai, the app's zone), so a run across midnight is counted whole.
func (e *sdkServer) storedByType(t *testing.T, app string) map[string]int {
	t.Helper()
	loc, err := time.LoadLocation(tenant.DefaultTimezone)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(loc)
	from, to := now.AddDate(0, 0, -1).Format("2006-01-02"), now.AddDate(0, 0, 1).Format("2006-01-02")
	req, err := http.NewRequest(http.MethodGet, e.url+"/api/v1/apps/"+app+"/analysis/events?from="+from+"&to="+to, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("events analysis: %v", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("events analysis: HTTP %d: %s", res.StatusCode, body)
	}
	var out struct {
		Columns []struct {
			Name string `json:"name"`
		} `json:"columns"`
		Rows [][]any `json:"rows"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("events analysis: %v: %s", err, body)
	}
	col := map[string]int{}
	for i, c := range out.Columns {
		col[c.Name] = i
	}
	ti, ok1 := col["type"]
	ei, ok2 := col["events"]
	if !ok1 || !ok2 {
		t.Fatalf("events analysis has no type/events columns: %s", body)
	}
	got := map[string]int{}
	for _, row := range out.Rows {
		typ, _ := row[ti].(string)
		n, _ := row[ei].(float64)
		got[typ] += int(n)
	}
	return got
}

var metricLine = regexp.MustCompile(`^shuyuan_events_total\{app="([^"]*)",outcome="([^"]*)"\} (\S+)$`)

// metric reads shuyuan_events_total of one app and outcome from /metrics.
func (e *sdkServer) metric(t *testing.T, app, outcome string) int {
	t.Helper()
	res, err := http.Get(e.url + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		m := metricLine.FindStringSubmatch(sc.Text())
		if m != nil && m[1] == app && m[2] == outcome {
			f, err := strconv.ParseFloat(m[3], 64)
			if err != nil {
				t.Fatalf("metrics: %q: %v", sc.Text(), err)
			}
			return int(f)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return 0
}

func (e *sdkServer) quarantineReasons(t *testing.T, app string) string {
	rows, err := e.store.DB().Query(`SELECT coalesce(type, ''), reason FROM quarantine WHERE app_id = $1 LIMIT 10`, app)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var typ, reason string
		if err := rows.Scan(&typ, &reason); err != nil {
			return err.Error()
		}
		out = append(out, typ+": "+reason)
	}
	return strings.Join(out, "; ")
}

func diffCounts(t *testing.T, what string, got, want map[string]int) {
	t.Helper()
	for typ, n := range want {
		if got[typ] != n {
			t.Errorf("%s: %q stored %d times; want %d", what, typ, got[typ], n)
		}
	}
	for typ, n := range got {
		if _, ok := want[typ]; !ok {
			t.Errorf("%s: %q stored %d times; the SDK sent none", what, typ, n)
		}
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
