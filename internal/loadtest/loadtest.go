// Package loadtest measures the SDK endpoint: N concurrent clients post
// SDK-shaped uploads (the demo generator's, 10 events and ~15 KB each, like
// the real SDK's) to a server on this machine for a fixed time, and count
// what was acknowledged with code 0, at what latency. A bare net/http +
// encoding/json handler that decodes and discards serves as the baseline
// of what the machine can do at all.
package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/collect"
	"github.com/shuyuan-dev/shuyuan/internal/demo"
)

// Options describe one run.
type Options struct {
	// URL is the server's base URL; uploads go to URL/api/report and the
	// memory is read from URL/metrics. Several nodes are given as a comma-
	// separated list: client i posts to node i mod n, as a round-robin
	// balancer would spread connections. Only loopback addresses are
	// allowed: this is a tool to measure this machine, not to load someone
	// else's.
	URL   string
	Token string
	// Clients is the number of concurrent connections (default 16).
	Clients int
	// Duration is how long clients keep sending (default 30 s); requests
	// in flight when it ends are waited for.
	Duration time.Duration
	// Encrypt sends the SDK's encrypted form (RC4 + base64, a fresh key
	// per request), as with the SDK's init option encrypt: true.
	Encrypt bool
	// Seed seeds the demo generator; 0 takes one from the clock, so that
	// runs against the same store never repeat each other's events (the
	// repeats would only be recognised as SDK re-sends and not stored).
	Seed int64
	// Events per upload (default 10, the SDK's flush size).
	Events int
	// Rate, when above 0, is the events per second offered in all: each
	// client sends on its own schedule of Rate/Clients events per second
	// (catching up when an answer kept it late) instead of as soon as its
	// last answer came. A closed loop at full speed measures the most the
	// server acknowledges; a fixed rate asks whether it keeps up with that
	// load, without the refused uploads being re-sent at once, which real
	// SDKs do not do (they send again with their next flush).
	Rate float64
}

// Result is what one run measured.
type Result struct {
	Target  string
	Clients int
	Elapsed time.Duration
	// Uploads, Events and Bytes count what was acknowledged with code 0.
	Uploads, Events, Bytes int64
	// Refused counts answers with another code (by code in Codes); Errors
	// counts transport failures and answers that are not the SDK's JSON.
	Refused, Errors int64
	Codes           map[int]int64
	FirstError      string
	// Offered is the events per second asked for (Options.Rate); 0 for a
	// closed loop.
	Offered float64
	// Latency of acknowledged requests.
	P50, P99, Max time.Duration
	// RSS and PeakRSS are the server's process_resident_memory_bytes at the
	// end and the highest sampled (once a second); 0 when unknown. With
	// several nodes, the first node's.
	RSS, PeakRSS float64
	// CPUSeconds is the CPU the servers used during the run, summed over
	// the nodes (process_cpu_seconds_total); 0 when unknown.
	CPUSeconds float64
	// Nodes is how many servers the load was spread over.
	Nodes int
}

// EventsPerSecond is the acknowledged event rate.
func (r *Result) EventsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Events) / r.Elapsed.Seconds()
}

// queued is how many uploads the feeder keeps ready: the generator runs
// ahead of the clients so that it is never what they wait for.
const queued = 4096

// Run sends uploads from opt.Clients clients for opt.Duration and returns
// what was acknowledged.
func Run(ctx context.Context, opt Options) (*Result, error) {
	if opt.Clients <= 0 {
		opt.Clients = 16
	}
	if opt.Duration <= 0 {
		opt.Duration = 30 * time.Second
	}
	if opt.Events <= 0 {
		opt.Events = 10
	}
	var bases, reports []string
	for _, raw := range strings.Split(opt.URL, ",") {
		base, err := loopbackURL(strings.TrimSpace(raw))
		if err != nil {
			return nil, err
		}
		bases = append(bases, base)
		reports = append(reports, base+"/api/report?token="+url.QueryEscape(opt.Token))
	}
	base := bases[0]

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// A month of a big shop's traffic: far more than any run can send.
	seed := opt.Seed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	gen := demo.New(demo.Options{Seed: seed, Users: 200_000, Days: 30, BatchEvents: opt.Events})
	feed := make(chan demo.Upload, queued)
	go func() {
		defer close(feed)
		for {
			up, ok := gen.Next()
			if !ok {
				return
			}
			select {
			case feed <- up:
			case <-ctx.Done():
				return
			}
		}
	}()
	for len(feed) < cap(feed) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}

	tr := &http.Transport{
		MaxIdleConns: opt.Clients, MaxIdleConnsPerHost: opt.Clients, MaxConnsPerHost: opt.Clients,
		DisableCompression: true, IdleConnTimeout: time.Minute,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	res := &Result{Target: strings.Join(bases, ","), Clients: opt.Clients, Codes: map[int]int64{}, Nodes: len(bases), Offered: max(opt.Rate, 0)}
	cpuBefore := cpuOf(client, bases)
	var mem memory
	memDone := make(chan struct{})
	memCtx, memStop := context.WithCancel(ctx)
	go func() {
		defer close(memDone)
		mem.sample(memCtx, client, base+"/metrics")
	}()

	var (
		mu        sync.Mutex
		latencies []time.Duration
		uploads   atomic.Int64
		events    atomic.Int64
		bytesSent atomic.Int64
		refused   atomic.Int64
		errs      atomic.Int64
		wg        sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(opt.Duration)
	// A client's share of the offered rate, in events per second.
	share := res.Offered / float64(opt.Clients)
	for c := range opt.Clients {
		wg.Go(func() {
			var lat []time.Duration
			// With a rate, the client sends its upload when the events it
			// sent before are due; clients start spread over the first
			// upload's interval so that they do not send in step.
			var sent float64
			offset := time.Duration(0)
			if share > 0 {
				offset = time.Duration(float64(c) / float64(opt.Clients) * float64(opt.Events) / share * float64(time.Second))
			}
			for n := 0; time.Now().Before(deadline) && ctx.Err() == nil; n++ {
				up, ok := <-feed
				if !ok {
					break
				}
				if share > 0 {
					// An upload due after the deadline is not sent, nor
					// waited for: the run would last longer than asked.
					due := start.Add(offset + time.Duration(sent/share*float64(time.Second)))
					if !due.Before(deadline) || !sleepUntil(ctx, due) {
						break
					}
					sent += float64(up.Events)
				}
				req, err := newRequest(ctx, reports[c%len(reports)], up.Body, opt.Encrypt, c, n)
				if err != nil {
					errs.Add(1)
					mu.Lock()
					res.FirstError = cmpOr(res.FirstError, err.Error())
					mu.Unlock()
					continue
				}
				t0 := time.Now()
				code, err := post(client, req)
				took := time.Since(t0)
				switch {
				case err != nil:
					errs.Add(1)
					mu.Lock()
					res.FirstError = cmpOr(res.FirstError, err.Error())
					mu.Unlock()
				case code != collect.CodeOK:
					refused.Add(1)
					mu.Lock()
					res.Codes[code]++
					mu.Unlock()
				default:
					uploads.Add(1)
					events.Add(int64(up.Events))
					bytesSent.Add(int64(len(up.Body)))
					lat = append(lat, took)
				}
			}
			mu.Lock()
			latencies = append(latencies, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	memStop()
	<-memDone
	// One more reading after the load, now that the server is idle.
	if v, err := readRSS(client, base+"/metrics"); err == nil {
		mem.observe(v)
	}
	if before, after := cpuBefore, cpuOf(client, bases); before >= 0 && after >= 0 {
		res.CPUSeconds = after - before
	}
	res.Uploads, res.Events, res.Bytes = uploads.Load(), events.Load(), bytesSent.Load()
	res.Refused, res.Errors = refused.Load(), errs.Load()
	res.RSS, res.PeakRSS = mem.last, mem.peak
	slices.Sort(latencies)
	if n := len(latencies); n > 0 {
		res.P50 = latencies[n/2]
		res.P99 = latencies[min(n-1, n*99/100)]
		res.Max = latencies[n-1]
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	return res, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// loopbackURL checks that raw points at this machine and returns it
// without a trailing slash.
func loopbackURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return "", fmt.Errorf("url %q: must be http://127.0.0.1:<port>", raw)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); (ip == nil || !ip.IsLoopback()) && host != "localhost" {
		return "", fmt.Errorf("url %q: only loopback addresses (127.0.0.1, ::1, localhost) may be load-tested", raw)
	}
	return strings.TrimSuffix(u.Scheme+"://"+u.Host+u.Path, "/"), nil
}

// newRequest builds one upload as the SDK sends it: a JSON array, or its
// encrypted form with a fresh <ms>-<id> key.
func newRequest(ctx context.Context, target string, body []byte, encrypt bool, client, n int) (*http.Request, error) {
	ctype := "application/json"
	var key string
	if encrypt {
		key = strconv.FormatInt(time.Now().UnixMilli(), 10) + "-" + strconv.Itoa(client) + "-" + strconv.Itoa(n)
		var err error
		if body, err = collect.Encrypt(body, key); err != nil {
			return nil, fmt.Errorf("encrypt: %w", err)
		}
		ctype = collect.EncryptedContentType
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("request: %w", err)
	}
	req.Header.Set("Content-Type", ctype)
	if key != "" {
		req.Header.Set("Content-Encrypting-Key", key)
	}
	return req, nil
}

// post sends req and reads the SDK's verdict: the number in "code".
func post(client *http.Client, req *http.Request) (int, error) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return 0, fmt.Errorf("read answer: %w", err)
	}
	var ans struct {
		Code *json.Number `json:"code"`
	}
	if err := json.Unmarshal(b, &ans); err != nil || ans.Code == nil {
		return 0, fmt.Errorf("HTTP %d, answer is not {\"code\":N}: %.100q", resp.StatusCode, b)
	}
	code, err := strconv.Atoi(ans.Code.String())
	if err != nil {
		return 0, fmt.Errorf("code %q is not an integer", ans.Code.String())
	}
	return code, nil
}

// memory tracks the server's resident memory from its /metrics.
type memory struct {
	mu         sync.Mutex
	last, peak float64
}

func (m *memory) observe(v float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last = v
	m.peak = max(m.peak, v)
}

func (m *memory) sample(ctx context.Context, client *http.Client, metrics string) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if v, err := readRSS(client, metrics); err == nil {
			m.observe(v)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// readRSS reads process_resident_memory_bytes from a Prometheus text page.
func readRSS(client *http.Client, metrics string) (float64, error) {
	return readMetric(client, metrics, "process_resident_memory_bytes")
}

// cpuOf sums the CPU seconds the servers have used (-1 if one is unknown).
func cpuOf(client *http.Client, bases []string) float64 {
	total := 0.0
	for _, b := range bases {
		v, err := readMetric(client, b+"/metrics", "process_cpu_seconds_total")
		if err != nil {
			return -1
		}
		total += v
	}
	return total
}

// readMetric reads an unlabelled metric of a server's /metrics.
func readMetric(client *http.Client, metrics, name string) (float64, error) {
	resp, err := client.Get(metrics)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, errors.New("no " + name + " in " + metrics)
}

// sleepUntil waits until t, or returns false when ctx ends first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
