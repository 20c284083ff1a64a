package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/conversion"
	"github.com/shuyuan-dev/shuyuan/internal/order/ordertest"
	"github.com/shuyuan-dev/shuyuan/internal/store/postgres"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/wxads"
	"github.com/shuyuan-dev/shuyuan/internal/wxfake"
)

// The cluster test: three `shuyuan serve` processes on one fresh
// PostgreSQL database behind a round-robin balancer, the WeChat fake
// failing 30 % of the marketing calls, the real Youshu SDK (the Node
// harness) and synthetic SDK uploads through the balancer, signed
// add_order calls straight to a node other than the one that took the
// click, and `kill -9` of one node in the middle of the load, then its
// restart. It wants: every acknowledged event stored once, every paid and
// attributed order delivered to the fake exactly once with its click id,
// value and time, one token fetch at a time, and every analysis answering
// the same JSON from every node.
const (
	clusterApp       = "shop"
	clusterWxAppID   = "wx8f0c1d2e3a4b5c6d" // the harness scenarios' appid
	clusterWxSecret  = "cluster-wx-secret-0123"
	clusterDataApp   = "ys-cluster-app"
	clusterDataKey   = "ys-cluster-secret-0123"
	clusterUsers     = 20 // real-SDK users, each with an ad click and a paid order
	clusterClients   = 3  // synthetic uploaders
	clusterBatches   = 60 // synthetic uploads per client
	clusterNodeCount = 3
)

func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test: starts, kills and restarts server processes (skipped with -short)")
	}
	storetest.SkipWithoutPostgres(t)
	node, harness := clusterHarness(t)
	dsn := storetest.NewPostgresDatabase(t)

	// The WeChat fake: 30 % of marketing calls fail transiently (one kind
	// records the action and drops the answer, so a re-send must be
	// absorbed by outer_action_id); token calls are watched for overlap.
	fake, err := wxfake.New(wxfake.Options{
		Apps:               []wxfake.App{{AppID: clusterWxAppID, Secret: clusterWxSecret, AccountID: 9100001}},
		IdentifyWellFormed: true, DedupOuterActionID: true,
		FaultRate: 0.3, FaultSeed: 42,
		FaultKinds: []wxfake.FaultKind{wxfake.FaultSystemBusy, wxfake.FaultUnavailable, wxfake.FaultHTTP502, wxfake.FaultDropAfterRecord},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Besides the random faults, the first deliveries surely meet a lost
	// answer (recorded, then the connection dropped) and a refusal.
	if err := fake.Script(wxfake.EndpointActionsAdd, wxfake.Fault{Kind: wxfake.FaultDropAfterRecord},
		wxfake.Fault{Kind: wxfake.FaultSystemBusy}); err != nil {
		t.Fatal(err)
	}
	var tokenInFlight, tokenMaxInFlight atomic.Int32
	wx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "token") {
			n := tokenInFlight.Add(1)
			defer tokenInFlight.Add(-1)
			for m := tokenMaxInFlight.Load(); n > m && !tokenMaxInFlight.CompareAndSwap(m, n); m = tokenMaxInFlight.Load() {
			}
			time.Sleep(20 * time.Millisecond) // widen the window two fetches would overlap in
		}
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(wx.Close)

	dir := t.TempDir()
	cfg := filepath.Join(dir, "shuyuan.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`admin_key: %q
timezone: Asia/Shanghai
store: {driver: postgres, dsn: %q, max_conns: 6}
wechat: {base_url: %q, outbox_lease: 5s}
apps:
  - id: %s
    name: Cluster shop
    sdk_token: %q
    wx_appid: %s
    wx_secret: %q
    data_api: {app_id: %s, app_secret: %q}
    ads: {order_source: backend, send_outer_action_id: true}
`, crashAdminKey, dsn, wx.URL, clusterApp, crashToken, clusterWxAppID, clusterWxSecret, clusterDataApp, clusterDataKey)), 0o600); err != nil {
		t.Fatal(err)
	}
	nodes := make([]*crashServer, clusterNodeCount)
	for i := range nodes {
		nodes[i] = startCrashServer(t, cfg, filepath.Join(dir, fmt.Sprint("unused-", i)))
	}
	lb := newBalancer(t, nodes)

	// The data source the orders name, created through one node.
	orders := &ordertest.Client{BaseURL: nodes[0].url, AppID: clusterDataApp, Secret: clusterDataKey, HTTP: http.DefaultClient}
	res, err := orders.Post(context.Background(), "/data_source/add", map[string]any{"merchantId": "m-1", "dataSourceType": 0})
	if err != nil || res.Retcode != 0 {
		t.Fatalf("data_source/add: %+v %v", res, err)
	}
	var ds struct{ DataSource struct{ ID string } }
	if err := json.Unmarshal(res.Data, &ds); err != nil || ds.DataSource.ID == "" {
		t.Fatalf("data source: %s %v", res.Data, err)
	}

	// The load. Synthetic uploads and real-SDK users run together; the
	// first node is killed once a third of the synthetic uploads are in,
	// and started again a few seconds later.
	var (
		mu       sync.Mutex
		acked    []string // tracking ids of synthetic uploads answered code 0
		paid     = map[string]paidOrder{}
		sdkRuns  []sdkUser
		killed   = make(chan struct{})
		progress atomic.Int32
		wg       sync.WaitGroup
	)
	for c := range clusterClients {
		wg.Go(func() {
			for b := range clusterBatches {
				tid := fmt.Sprintf("cl%d-%04d", c, b)
				for try := 0; try < 20; try++ { // an upload refused (a node died) is sent again, as the SDK would
					if code, err := crashPostBatch(lb.URL, tid, c); err == nil && code == 0 {
						mu.Lock()
						acked = append(acked, tid)
						mu.Unlock()
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				if progress.Add(1) == clusterClients*clusterBatches/3 {
					close(killed)
				}
			}
		})
	}
	users := make(chan int)
	for range 4 {
		wg.Go(func() {
			for u := range users {
				run := runSDKUser(t, node, harness, lb.URL, dir, u)
				mu.Lock()
				sdkRuns = append(sdkRuns, run)
				mu.Unlock()
				if run.err != nil {
					continue
				}
				// The order reaches another node than the balancer's next.
				mu.Lock()
				target := nodes[(u+1)%len(nodes)]
				mu.Unlock()
				p := postPaidOrder(t, target, lb, ds.DataSource.ID, run.openID, u)
				mu.Lock()
				paid[p.id] = paidOrder{openID: run.openID, click: run.click, at: p.at}
				mu.Unlock()
			}
		})
	}
	wg.Go(func() {
		<-killed
		t.Logf("kill -9 node 0 (%s)", nodes[0].url)
		lb.down(0)
		nodes[0].cmd.Process.Kill() //nolint:errcheck
		<-nodes[0].exited
		time.Sleep(3 * time.Second)
		restarted := startCrashServer(t, cfg, filepath.Join(dir, "unused-0"))
		mu.Lock()
		nodes[0] = restarted
		mu.Unlock()
		lb.up(0, restarted)
		t.Logf("node 0 restarted at %s", restarted.url)
	})
	for u := range clusterUsers {
		users <- u
	}
	close(users)
	wg.Wait()

	// Every real-SDK run drained: its events were acknowledged.
	for _, r := range sdkRuns {
		if r.err != nil {
			t.Errorf("SDK user %s: %v", r.openID, r.err)
		}
	}
	if len(paid) != clusterUsers {
		t.Fatalf("%d paid orders posted, want %d", len(paid), clusterUsers)
	}

	// Delivered to WeChat: each paid order once (the fake's duplicates are
	// re-sends it absorbed by outer_action_id), with its click, value and
	// pay time. The outbox drains through the faults and the killed node's
	// leases.
	deadline := time.Now().Add(90 * time.Second)
	var delivered map[string]wxfake.RecordedAction
	for {
		delivered = map[string]wxfake.RecordedAction{}
		dups := 0
		for _, a := range fake.Actions() {
			if a.Duplicate {
				dups++
				continue
			}
			if prev, twice := delivered[a.OuterActionID]; twice {
				t.Fatalf("action %s recorded twice as new: %+v and %+v", a.OuterActionID, prev, a)
			}
			delivered[a.OuterActionID] = a
		}
		if len(delivered) >= clusterUsers || time.Now().After(deadline) {
			t.Logf("%d actions delivered in %d calls, %d re-sends absorbed by the fake", len(delivered),
				fake.Calls(wxfake.EndpointActionsAdd), dups)
			if dups == 0 {
				t.Error("no re-send reached the fake: the lost answer was not exercised")
			}
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	for id, p := range paid {
		a, ok := delivered[conversion.ID(clusterApp, id, wxads.ActionCompleteOrder)]
		switch {
		case !ok:
			t.Errorf("order %s (user %s) never delivered", id, p.openID)
		case a.ClickID != p.click || a.ActionTime != p.at.Unix() || a.ActionType != wxads.ActionCompleteOrder:
			t.Errorf("order %s delivered as %+v; want click %s at %d", id, a, p.click, p.at.Unix())
		}
	}
	if len(delivered) != clusterUsers {
		t.Errorf("%d distinct actions delivered, want %d", len(delivered), clusterUsers)
	}

	// One refresher at a time: never two token fetches at once, and the
	// token in the store served every node (the killed node's restart and
	// the role's move did not need a new one).
	if m := tokenMaxInFlight.Load(); m > 1 {
		t.Errorf("%d token fetches were in flight at once", m)
	}
	if n := fake.Calls(wxfake.EndpointStableToken); n < 1 || n > 2 {
		t.Errorf("%d stable_token fetches for one app over the run; want 1 (2 if the role moved at a bad moment)", n)
	}

	// Every acknowledged event is stored exactly once.
	st, err := postgres.Open(context.Background(), dsn, postgres.Options{NoMigrate: true, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	byTracking := map[string]int{}
	rows, err := st.DB().Query(`SELECT tracking_id, count(*) FROM events WHERE app_id = $1 AND tracking_id LIKE 'cl%' GROUP BY 1`, clusterApp)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tid string
		var n int
		if err := rows.Scan(&tid, &n); err != nil {
			t.Fatal(err)
		}
		byTracking[tid] = n
	}
	rows.Close()
	for _, tid := range acked {
		if byTracking[tid] != crashPerBatch {
			t.Errorf("acknowledged upload %s: %d events stored, want %d", tid, byTracking[tid], crashPerBatch)
		}
	}
	for tid, n := range byTracking {
		if n != crashPerBatch {
			t.Errorf("upload %s half-stored or doubled: %d events", tid, n)
		}
	}
	for _, r := range sdkRuns {
		var n int
		if err := st.DB().QueryRow(`SELECT count(*) FROM events WHERE app_id = $1 AND open_id = $2`, clusterApp, r.openID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != r.accepted {
			t.Errorf("SDK user %s: %d events stored, the SDK had %d distinct events acknowledged", r.openID, n, r.accepted)
		}
	}
	t.Logf("%d synthetic uploads acknowledged of %d; %d SDK users", len(acked), clusterClients*clusterBatches, len(sdkRuns))

	// Every analysis answers the same JSON from every node.
	loc, _ := time.LoadLocation("Asia/Shanghai")
	now := time.Now().In(loc)
	from, to := now.AddDate(0, 0, -1).Format(time.DateOnly), now.AddDate(0, 0, 1).Format(time.DateOnly)
	names := clusterAnalyses(t, nodes[1].url)
	for _, name := range names {
		var first string
		for i, n := range nodes {
			body := adminGet(t, fmt.Sprintf("%s/api/v1/apps/%s/analysis/%s?from=%s&to=%s", n.url, clusterApp, name, from, to))
			if i == 0 {
				first = body
			} else if body != first {
				t.Errorf("analysis %s: node %d answers\n%s\nnode 0 answers\n%s", name, i, body, first)
			}
		}
	}
	if len(names) < 10 {
		t.Errorf("only %d analyses listed", len(names))
	}
}

type paidOrder struct {
	openID, click string
	at            time.Time
}

type posted struct {
	id string
	at time.Time
}

// postPaidOrder sends a signed add_order of a paid order of the user
// straight to node (falling back to the balancer while that node is the
// one restarting).
func postPaidOrder(t *testing.T, node *crashServer, lb *balancer, source, openID string, u int) posted {
	t.Helper()
	id := fmt.Sprintf("order-%02d", u)
	at := time.Now().Truncate(time.Second)
	body := map[string]any{"dataSourceId": source, "orders": []any{ordertest.Order(id, at.Add(-time.Minute), 1150, at, openID)}}
	for try := 0; try < 30; try++ {
		base := node.url
		if try > 0 {
			base = lb.URL
		}
		c := &ordertest.Client{BaseURL: base, AppID: clusterDataApp, Secret: clusterDataKey, HTTP: http.DefaultClient}
		res, err := c.Post(context.Background(), "/order/add_order", body)
		if err == nil && res.Retcode == 0 {
			return posted{id: id, at: at}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("add_order %s never accepted", id)
	return posted{id: id, at: at}
}

// sdkUser is one run of the real SDK: a user launching from an ad.
type sdkUser struct {
	openID, click string
	accepted      int // distinct events the SDK had acknowledged
	err           error
}

// clusterHarness finds Node and the harness (test/sdk), failing in CI and
// skipping elsewhere when they are missing.
func clusterHarness(t *testing.T) (node, dir string) {
	t.Helper()
	dir, _ = filepath.Abs(filepath.Join("..", "..", "test", "sdk"))
	missing := func(what string) {
		msg := what + `: the cluster test runs the real SDK; install Node 20 and run "npm ci --prefix test/sdk"`
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set, so this is a failure)")
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "sr-sdk-wxapp-2.1.1", "package.json")); err != nil {
		missing("test/sdk/node_modules is missing")
	}
	return node, dir
}

// runSDKUser plays the minimal scenario (launch from an ad, a search,
// background) as user u through the balancer, with the SDK 2.1.1.
func runSDKUser(t *testing.T, node, harness, base, dir string, u int) sdkUser {
	click := fmt.Sprintf("wx0clusterclick%02d", u)
	run := sdkUser{openID: fmt.Sprintf("oCluster_User_%02d", u), click: click}
	scenario := map[string]any{
		"name": "cluster", "appid": clusterWxAppID,
		"login": map[string]any{"open_id": run.openID, "union_id": "uCluster_" + run.openID},
		"pages": []any{map[string]any{"route": "pages/index/index", "title": "Home"}},
		"steps": []any{
			map[string]any{"do": "launch", "path": "pages/index/index", "scene": 1045,
				"query": map[string]any{"gdt_vid": click, "weixinadinfo": "20966864." + click + ".0.1"}},
			map[string]any{"do": "track", "type": "search", "props": map[string]any{"keyword": "lychee"}},
			map[string]any{"do": "hide"},
		},
	}
	raw, _ := json.Marshal(scenario)
	file := filepath.Join(dir, fmt.Sprintf("scenario-%02d.json", u))
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		run.err = err
		return run
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "run.js", "--server", base+"/api/report", "--token", crashToken,
		"--scenario", file, "--sdk-version", "2.1.1", "--out", filepath.Join(dir, fmt.Sprintf("requests-%02d.jsonl", u)),
		"--drain-timeout", "60000")
	cmd.Dir = harness
	out, err := cmd.Output()
	var sum struct {
		EventsAccepted int  `json:"events_accepted"`
		Drained        bool `json:"drained"`
	}
	if jerr := json.Unmarshal(out, &sum); jerr != nil {
		run.err = fmt.Errorf("harness: %v, %v: %s", err, jerr, out)
		return run
	}
	if !sum.Drained {
		run.err = fmt.Errorf("the SDK's queue did not drain: %s", out)
	}
	run.accepted = sum.EventsAccepted
	return run
}

// balancer is the load balancer in front of the nodes: round-robin over
// those it believes up.
type balancer struct {
	*httptest.Server
	mu    sync.Mutex
	nodes []*crashServer
	alive []bool
	next  int
}

func newBalancer(t *testing.T, nodes []*crashServer) *balancer {
	b := &balancer{nodes: append([]*crashServer(nil), nodes...), alive: make([]bool, len(nodes))}
	for i := range b.alive {
		b.alive[i] = true
	}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		var target string
		for range b.nodes {
			i := b.next % len(b.nodes)
			b.next++
			if b.alive[i] {
				target = b.nodes[i].url
				break
			}
		}
		b.mu.Unlock()
		u, _ := url.Parse(target)
		p := httputil.NewSingleHostReverseProxy(u)
		p.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			w.WriteHeader(http.StatusBadGateway) // the SDK keeps the batch and sends it again
		}
		p.ServeHTTP(w, r)
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *balancer) down(i int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.alive[i] = false
}

func (b *balancer) up(i int, n *crashServer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.nodes[i], b.alive[i] = n, true
}

func adminGet(t *testing.T, u string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+crashAdminKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d %s", u, res.StatusCode, body)
	}
	return string(body)
}

func clusterAnalyses(t *testing.T, base string) []string {
	t.Helper()
	var index struct {
		Analyses []struct {
			Name string `json:"name"`
		} `json:"analyses"`
	}
	if err := json.Unmarshal([]byte(adminGet(t, base+"/api/v1/apps/"+clusterApp+"/analysis")), &index); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range index.Analyses {
		names = append(names, a.Name)
	}
	sort.Strings(names)
	return names
}
