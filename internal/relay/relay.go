// Package relay forwards what shuyuan accepted to the merchant's real
// Youshu (issue 13): SDK uploads as sent, to the report URL with the
// merchant's Youshu token, and data-api calls re-signed with the
// merchant's Youshu credentials. It reads the relay outbox the stores
// fill in the transactions that accept the data, never the request path,
// so a slow or failing Youshu never delays an SDK or backend call.
//
// Delivery is at least once: a row is settled after the upstream
// answered, so an answer lost to a crash or a timeout sends it again.
package relay

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/order"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// The outcomes of one send.
const (
	Delivered = "delivered"
	Retry     = "retry" // network error, HTTP 5xx or 429, a retryable code
	Refused   = "refused"
)

// retryableCodes are the upstream's answer codes worth sending again. The
// spec found no error-code table (youshu-protocol.md C), so none is
// known yet; codes seen in the field go here.
var retryableCodes = map[int64]bool{}

// Options tune a Worker.
type Options struct {
	// Holder names this process in leases (a node id); required.
	Holder string
	// Lease is how long a claim keeps other nodes off (default 1 min).
	Lease time.Duration
	// Batch is the most rows claimed at once (default 50).
	Batch int
	// Parallel is the most calls in flight at once (default 8): a call
	// waits for Youshu's answer, so one at a time would cap a node at one
	// call per round trip.
	Parallel int
	// BaseBackoff and MaxBackoff bound the retries' exponential backoff
	// (defaults 2 s and 10 min).
	BaseBackoff, MaxBackoff time.Duration
	// HTTP sends (default: a client with a 15 s timeout).
	HTTP *http.Client
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// Observe, if set, is told the outcome of each row sent.
	Observe func(app, kind, outcome string)
}

// Store is what a Worker reads and writes: the relay outbox, and an app's
// data sources and state, where it keeps the ids Youshu has for them.
type Store interface {
	store.RelayStore
	DataSources(ctx context.Context, appID string) ([]store.DataSource, error)
	AppState(ctx context.Context, app, key string) (value string, ok bool, err error)
	SetAppState(ctx context.Context, app, key, value string, at time.Time) error
}

// Worker delivers an app's relay rows.
type Worker struct {
	st   Store
	opt  Options
	http *http.Client
	// sources caches the Youshu id of each app's data sources, by
	// app + "\x00" + shuyuan id, once learned (source.go).
	sources sync.Map
	srcMu   sync.Mutex
}

// New returns a Worker over st.
func New(st Store, opt Options) *Worker {
	if opt.Lease <= 0 {
		opt.Lease = time.Minute
	}
	if opt.Batch <= 0 {
		opt.Batch = 50
	}
	if opt.Parallel <= 0 {
		opt.Parallel = 8
	}
	if opt.BaseBackoff <= 0 {
		opt.BaseBackoff = 2 * time.Second
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 10 * time.Minute
	}
	if opt.HTTP == nil {
		opt.HTTP = &http.Client{Timeout: 15 * time.Second}
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Worker{st: st, opt: opt, http: opt.HTTP}
}

// Deliver claims app's due rows and sends them, until none is due or ctx
// ends, and returns how many it delivered. add_order rows of one data
// source go together, up to MaxOrdersPerCall in one call (units); up to
// Parallel calls are in flight at once (a wave); the rows of a claim are
// settled together in one transaction once all its calls are answered,
// since on the embedded store every transaction holds up the SDK's group
// commit. A crash between the answers and the settlement sends that
// claim's calls once more after the lease (at least once).
func (w *Worker) Deliver(ctx context.Context, app *tenant.App) (int, error) {
	if app.Relay == nil {
		return 0, nil
	}
	delivered := 0
	for ctx.Err() == nil {
		now := w.opt.Now()
		rows, err := w.st.ClaimRelays(ctx, app.ID, w.opt.Holder, now, w.opt.Lease, w.opt.Batch)
		if err != nil {
			return delivered, fmt.Errorf("relay of %s: %w", app.ID, err)
		}
		if len(rows) == 0 {
			return delivered, nil
		}
		// The claim holds at most one row per order id (the first pending
		// one), so neither merging rows of different orders nor sending
		// calls side by side lets an order's rows overtake each other.
		us := units(rows)
		var ss []store.RelaySettlement
		for len(us) > 0 && ctx.Err() == nil {
			wave := us[:min(len(us), w.opt.Parallel)]
			us = us[len(wave):]
			waveSS, n := w.sendWave(ctx, app, wave)
			ss = append(ss, waveSS...)
			delivered += n
		}
		if _, err := w.st.SettleRelays(context.WithoutCancel(ctx), w.opt.Holder, w.opt.Now(), mergeSettlements(ss)); err != nil {
			return delivered, fmt.Errorf("relay of %s: %w", app.ID, err)
		}
		if len(rows) < w.opt.Batch {
			return delivered, nil
		}
	}
	return delivered, ctx.Err()
}

// sendWave sends units side by side and returns the settlement of each of
// their rows and how many were delivered.
func (w *Worker) sendWave(ctx context.Context, app *tenant.App, wave [][]store.ClaimedRelay) ([]store.RelaySettlement, int) {
	results := make([][]result, len(wave))
	var wg sync.WaitGroup
	for i, u := range wave {
		wg.Go(func() { results[i] = w.sendUnit(ctx, app.Relay, u) })
	}
	wg.Wait()
	delivered := 0
	var ss []store.RelaySettlement
	for i, u := range wave {
		for j, o := range results[i] {
			r := u[j]
			if w.opt.Observe != nil {
				w.opt.Observe(app.ID, r.Kind, o.outcome)
			}
			s := store.RelaySettlement{Seqs: []int64{r.Seq}, Err: o.answer}
			switch o.outcome {
			case Delivered:
				s.Status = store.RelayDelivered
				delivered++
			case Retry:
				s.Status, s.Next = store.RelayPending, w.opt.Now().Add(w.backoff(r.Attempts+1))
			default:
				s.Status = store.RelayDead
				w.opt.Logger.Warn("youshu relay refused", "app", app.ID, "kind", r.Kind, "seq", r.Seq, "answer", o.answer)
			}
			ss = append(ss, s)
		}
	}
	return ss, delivered
}

// mergeSettlements joins the delivered rows into one settlement, so the
// store updates them in one statement; retries and dead letters keep
// their own times and answers.
func mergeSettlements(ss []store.RelaySettlement) []store.RelaySettlement {
	var out []store.RelaySettlement
	done := store.RelaySettlement{Status: store.RelayDelivered}
	for _, s := range ss {
		if s.Status == store.RelayDelivered {
			done.Seqs = append(done.Seqs, s.Seqs...)
			continue
		}
		out = append(out, s)
	}
	if len(done.Seqs) > 0 {
		out = append(out, done)
	}
	return out
}

// backoff is the wait before attempt n+1 after n failures: exponential,
// capped, with up to a fifth of jitter so that nodes do not retry in step.
func (w *Worker) backoff(n int64) time.Duration {
	d := w.opt.BaseBackoff
	for i := int64(1); i < n && d < w.opt.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.opt.MaxBackoff)
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// send posts one row upstream and classifies the answer.
func (w *Worker) send(ctx context.Context, rl *tenant.Relay, r store.ClaimedRelay) (outcome, answer string) {
	body := []byte(r.Body)
	if r.Kind != store.RelaySDK {
		if rl.DataAPIAppID == "" {
			return Refused, "no youshu_relay.data_api credentials for data-api calls"
		}
		if body, outcome, answer = w.sourceBody(ctx, rl, r); outcome != "" {
			return outcome, answer
		}
	}
	req, err := w.request(ctx, rl, r, body)
	if err != nil {
		return Refused, err.Error()
	}
	return w.post(req, r.Kind)
}

// post sends req and classifies the answer: kind says which code field
// the answer carries.
func (w *Worker) post(req *http.Request, kind string) (outcome, answer string) {
	return w.postRead(req, kind, nil)
}

// postRead is post that also hands the answer's body to *into when set.
func (w *Worker) postRead(req *http.Request, kind string, into *[]byte) (outcome, answer string) {
	resp, err := w.http.Do(req)
	if err != nil {
		return Retry, err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return Retry, fmt.Sprintf("HTTP %d, body unread: %v", resp.StatusCode, err)
	}
	if into != nil {
		*into = body
	}
	answer = fmt.Sprintf("HTTP %d %s", resp.StatusCode, bytes.TrimSpace(body))
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout {
		return Retry, answer
	}
	code, ok := answerCode(kind, body)
	switch {
	case ok && code == 0 && resp.StatusCode < 300:
		return Delivered, ""
	case ok && retryableCodes[code]:
		return Retry, answer
	}
	return Refused, answer
}

// answerCode reads the upstream's code, a JSON number: "code" for SDK
// reports (spec A.4: the string "0" is a failure), "retcode" for the
// data-api (C).
func answerCode(kind string, body []byte) (int64, bool) {
	var a struct {
		Code    json.RawMessage `json:"code"`
		Retcode json.RawMessage `json:"retcode"`
	}
	if json.Unmarshal(body, &a) != nil {
		return 0, false
	}
	raw := a.Retcode
	if kind == store.RelaySDK {
		raw = a.Code
	}
	var n int64
	if len(raw) == 0 || raw[0] == '"' || json.Unmarshal(raw, &n) != nil {
		return 0, false
	}
	return n, true
}

// request builds the upstream request of a row, body being what to send.
func (w *Worker) request(ctx context.Context, rl *tenant.Relay, r store.ClaimedRelay, body []byte) (*http.Request, error) {
	var u string
	if r.Kind == store.RelaySDK {
		if rl.SDKToken == "" {
			return nil, errors.New("no youshu_relay.sdk_token for SDK uploads")
		}
		u = rl.BaseURL + "/api/report?token=" + url.QueryEscape(rl.SDKToken)
	} else {
		var err error
		if u, err = w.dataAPIURL(rl, r.Kind); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("relay request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if r.Encrypted {
		req.Header.Set("Content-Type", "application/x-sr-encrypted")
		req.Header.Set("Content-Encrypting-Key", r.EncryptKey)
	}
	return req, nil
}

// dataAPIURL is the URL of a data-api path, signed afresh with the
// merchant's Youshu credentials (spec C: a new nonce and timestamp).
func (w *Worker) dataAPIURL(rl *tenant.Relay, path string) (string, error) {
	var nb [16]byte
	if _, err := crand.Read(nb[:]); err != nil {
		return "", fmt.Errorf("nonce: %w", err)
	}
	nonce, ts := hex.EncodeToString(nb[:]), w.opt.Now().Unix()
	q := url.Values{"app_id": {rl.DataAPIAppID}, "nonce": {nonce}, "sign": {order.SignMethod},
		"timestamp": {strconv.FormatInt(ts, 10)}, "signature": {order.Sign(rl.DataAPISecret, rl.DataAPIAppID, nonce, ts)}}
	return rl.BaseURL + "/data-api/v1/" + path + "?" + q.Encode(), nil
}

// Prune deletes, for each app that relays, the rows delivered longer ago
// than its youshu_relay.keep_delivered, and returns how many.
func (w *Worker) Prune(ctx context.Context, apps []*tenant.App) (int, error) {
	total := 0
	var errs []error
	for _, a := range apps {
		if a.Relay == nil {
			continue
		}
		n, err := w.st.PruneRelays(ctx, a.ID, w.opt.Now().Add(-a.Relay.KeepDelivered))
		total += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

// DeliverAll is one round over the apps that relay: each app's due rows.
// It is the serve's background task, run on every node: claims keep the
// nodes apart.
func (w *Worker) DeliverAll(ctx context.Context, apps []*tenant.App) error {
	var errs []error
	for _, a := range apps {
		if a.Relay == nil {
			continue
		}
		if _, err := w.Deliver(ctx, a); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
