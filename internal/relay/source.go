package relay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// A data-api call names a data source (dataSourceId) by shuyuan's id,
// and the merchant's Youshu account knows the same source by its own id.
// Before a row goes out its id is replaced by Youshu's: the one set in
// youshu_relay.data_sources, else the one learned from Youshu itself.
// Youshu keeps one data source per type and data_source/add answers the
// one it has (creating it if it has none), so asking it once per source
// relays the data source too. The learned id is kept in the app's state
// in the store, shared by every node and kept across restarts.

// sourceKey is the app-state key of the Youshu id of shuyuan source id.
func sourceKey(id string) string { return "youshu_relay source " + id }

// sourceBody is the body of data-api row r with its dataSourceId replaced
// by Youshu's; a non-empty outcome means the row cannot go yet (Retry) or
// at all (Refused), answer saying why.
func (w *Worker) sourceBody(ctx context.Context, rl *tenant.Relay, r store.ClaimedRelay) (body []byte, outcome, answer string) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
		return nil, Refused, fmt.Sprintf("relay body is not a JSON object: %v", err)
	}
	var src string
	if raw, ok := m["dataSourceId"]; !ok || json.Unmarshal(raw, &src) != nil || src == "" {
		return []byte(r.Body), "", "" // none named: Youshu answers for itself
	}
	to, ok := rl.DataSources[src]
	if !ok {
		if to, outcome, answer = w.youshuSource(ctx, rl, r.AppID, src); outcome != "" {
			return nil, outcome, answer
		}
	}
	if to == src {
		return []byte(r.Body), "", ""
	}
	m["dataSourceId"], _ = json.Marshal(to) //nolint:errcheck // a string always marshals
	out, err := json.Marshal(m)
	if err != nil {
		return nil, Refused, fmt.Sprintf("relay body: %v", err)
	}
	return out, "", ""
}

// youshuSource is the Youshu id of app's data source src: cached, else
// from the store, else asked of Youshu with data_source/add (merchantId
// and type as shuyuan has them) and kept. A source shuyuan does not know
// is sent under its own id.
func (w *Worker) youshuSource(ctx context.Context, rl *tenant.Relay, app, src string) (id, outcome, answer string) {
	cacheKey := app + "\x00" + src
	if v, ok := w.sources.Load(cacheKey); ok {
		return v.(string), "", ""
	}
	// One lookup at a time: the calls of a wave that name the same new
	// source ask Youshu once.
	w.srcMu.Lock()
	defer w.srcMu.Unlock()
	if v, ok := w.sources.Load(cacheKey); ok {
		return v.(string), "", ""
	}
	v, ok, err := w.st.AppState(ctx, app, sourceKey(src))
	if err != nil {
		return "", Retry, fmt.Sprintf("read the Youshu id of data source %s: %v", src, err)
	}
	if ok {
		w.sources.Store(cacheKey, v)
		return v, "", ""
	}
	all, err := w.st.DataSources(ctx, app)
	if err != nil {
		return "", Retry, fmt.Sprintf("read data source %s: %v", src, err)
	}
	var ds *store.DataSource
	for i := range all {
		if all[i].ID == src {
			ds = &all[i]
		}
	}
	if ds == nil {
		return src, "", ""
	}
	u, err := w.dataAPIURL(rl, "data_source/add")
	if err != nil {
		return "", Retry, err.Error()
	}
	reqBody, _ := json.Marshal(map[string]any{"merchantId": ds.MerchantID, "dataSourceType": ds.Type}) //nolint:errcheck // plain values
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(reqBody))
	if err != nil {
		return "", Refused, fmt.Sprintf("data_source/add request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	id, outcome, answer = w.askSource(req)
	if outcome != "" {
		return "", outcome, fmt.Sprintf("adding data source %s (type %d) to Youshu: %s", src, ds.Type, answer)
	}
	if err := w.st.SetAppState(ctx, app, sourceKey(src), id, w.opt.Now()); err != nil {
		return "", Retry, fmt.Sprintf("keep the Youshu id of data source %s: %v", src, err)
	}
	w.sources.Store(cacheKey, id)
	w.opt.Logger.Info("youshu relay: data source added to Youshu", "app", app, "source", src, "youshu_id", id)
	return id, "", ""
}

// askSource sends a data_source/add request and reads the id Youshu
// answers (data.dataSource.id, or data.id in older answers).
func (w *Worker) askSource(req *http.Request) (id, outcome, answer string) {
	var body []byte
	outcome, answer = w.postRead(req, "data_source/add", &body)
	if outcome != Delivered {
		return "", outcome, answer
	}
	var a struct {
		Data struct {
			DataSource struct {
				ID json.RawMessage `json:"id"`
			} `json:"dataSource"`
			ID json.RawMessage `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &a); err == nil {
		for _, raw := range []json.RawMessage{a.Data.DataSource.ID, a.Data.ID} {
			if s := idString(raw); s != "" {
				return s, "", ""
			}
		}
	}
	return "", Refused, fmt.Sprintf("no data source id in the answer %s", bytes.TrimSpace(body))
}

// idString reads an id given as a JSON string or number.
func idString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}
