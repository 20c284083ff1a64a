package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// TestArticleMarkers: the admin routes set a marker's article by hand or
// by what the merchant knows of it, matched at once against the pulled
// articles; bad input is refused naming the field and the rule; the
// routes need the admin key.
func TestArticleMarkers(t *testing.T) {
	t.Parallel()
	e := newSDKEnv(t)
	ctx := context.Background()
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if err := e.st.SavePulledDay(ctx, store.PulledDay{App: sdkTestApp, Family: "official_account", Day: day, At: day.AddDate(0, 0, 1),
		Account: &store.AccountDay{Published: []store.Article{
			{MsgID: "2247490098_1", Title: "Spring sale", ContentURL: "http://mp.weixin.qq.com/s?__biz=MzA&mid=2247490098&idx=1&sn=a#rd"},
			{MsgID: "2247490098_2", Title: "Durian season"},
		}}}); err != nil {
		t.Fatal(err)
	}
	call := func(method, path, body, key string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
		}
		return res.StatusCode, out
	}
	const base = "/api/v1/apps/shop/article-markers/"

	for _, c := range []struct{ marker, body, want string }{
		{"oa spring", `{"title":"x"}`, "marker: may hold only letters, digits, '-', '_' and '.', got ' '"},
		{strings.Repeat("m", 65), `{"title":"x"}`, "marker: must be 1 to 64 characters, got 65"},
		{"oa-1", `{}`, "msgid: one of msgid, title and link is required"},
		{"oa-1", `{"msgid":"2247490098"}`, "msgid: must be <msg_data_id>_<index>"},
		{"oa-1", `{"link":"mp.weixin.qq.com/s/AbC"}`, "link: must be the article's http(s) address"},
		{"oa-1", `{"title":"` + strings.Repeat("题", 129) + `"}`, "title: must be valid UTF-8 text of at most 128 characters, got 129"},
		{"oa-1", `{"titel":"x"}`, `body: must be a JSON object {"msgid", "title", "link"}: json: unknown field "titel"`},
	} {
		code, out := call("PUT", base+c.marker, c.body, sdkTestAdminKey)
		msg, _ := out["error"].(map[string]any)["message"].(string)
		if code != http.StatusBadRequest || !strings.HasPrefix(msg, c.want) {
			t.Errorf("PUT %s %s: %d %v, want 400 %q", c.marker, c.body, code, out, c.want)
		}
	}
	if code, _ := call("PUT", base+"oa-1", `{"title":"x"}`, ""); code != http.StatusUnauthorized {
		t.Errorf("without the admin key: %d", code)
	}

	// By title, by link (a short link too: no mid, nothing read from it),
	// by hand.
	for _, c := range []struct{ marker, body, msgid, by, linkMsgID string }{
		{"oa-spring", `{"title":"  Spring sale "}`, "2247490098_1", "title", ""},
		{"oa-durian", `{"title":"Spring sale","link":"https://mp.weixin.qq.com/s?__biz=MzA&mid=2247490098&idx=2&sn=b"}`, "2247490098_2", "link", "2247490098_2"},
		{"oa-short", `{"link":"https://mp.weixin.qq.com/s/AbC"}`, "", "", ""},
		{"oa-hand", `{"msgid":"2247490200_3","title":"Spring sale"}`, "2247490200_3", "hand", ""},
	} {
		code, out := call("PUT", base+c.marker, c.body, sdkTestAdminKey)
		if code != http.StatusOK || out["msgid"] != c.msgid || out["matched_by"] != c.by || out["link_msgid"] != c.linkMsgID {
			t.Errorf("PUT %s %s: %d %v, want msgid %q by %q", c.marker, c.body, code, out, c.msgid, c.by)
		}
	}
	code, out := call("GET", "/api/v1/apps/shop/article-markers", "", sdkTestAdminKey)
	if ms, _ := out["markers"].([]any); code != http.StatusOK || len(ms) != 4 || ms[0].(map[string]any)["marker"] != "oa-durian" {
		t.Errorf("GET: %d %v", code, out)
	}
	if code, _ := call("DELETE", base+"oa-short", "", sdkTestAdminKey); code != http.StatusOK {
		t.Errorf("DELETE: %d", code)
	}
	if code, out := call("DELETE", base+"oa-short", "", sdkTestAdminKey); code != http.StatusNotFound {
		t.Errorf("DELETE again: %d %v", code, out)
	}
	if code, _ := call("GET", "/api/v1/apps/nope/article-markers", "", sdkTestAdminKey); code != http.StatusNotFound {
		t.Errorf("unknown app: %d", code)
	}
}
