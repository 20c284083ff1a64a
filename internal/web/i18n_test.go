package web_test

import (
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/shuyuan-dev/shuyuan/internal/analysis"
)

// latinWord is a run of Latin letters: on a Chinese page, a word that was
// not translated (numbers, ¥, % and dates are not words).
var latinWord = regexp.MustCompile(`[A-Za-z][A-Za-z_]*`)

// allowedLatin are the names a Chinese merchant's staff use as they are.
var allowedLatin = map[string]bool{
	"SDK": true, "SKU": true, "SPU": true, "AppID": true, "UnionID": true, "OpenID": true, "ID": true,
	"CSV": true, "ROI": true, "H": true, "URL": true, "Wi": true, "Fi": true, "App": true,
}

// untranslated lists the Latin words of a page's own text: everything a
// person reads (text, placeholders, labels, the charts' titles and notes)
// except what is marked as data (translate="no": ids, names, keywords, API
// names), the English language link (lang="en") and scripts.
func untranslated(page string) []string {
	var found []string
	for _, s := range visibleText(page) {
		for _, w := range latinWord.FindAllString(s, -1) {
			if !allowedLatin[w] && !slices.Contains(found, w) {
				found = append(found, w)
			}
		}
	}
	return found
}

var (
	tokenRe = regexp.MustCompile(`(?s)<!--.*?-->|<!([^>]*)>|<(/?)([a-zA-Z0-9]+)([^>]*)>|[^<]+`)
	attrRe  = regexp.MustCompile(`(placeholder|aria-label|title|data-label)="([^"]*)"`)
)

var voidTags = map[string]bool{"meta": true, "link": true, "input": true, "br": true, "img": true, "hr": true}

// visibleText walks the page's tags (the dashboard writes well-formed
// HTML) and returns its text pieces outside skipped subtrees, and the
// chart titles and notes of its #chart-data.
func visibleText(page string) []string {
	type open struct {
		tag  string
		skip bool
	}
	var stack []open
	skipping := func() bool { return len(stack) > 0 && stack[len(stack)-1].skip }
	var out []string
	var chartJSON string
	for _, m := range tokenRe.FindAllStringSubmatch(page, -1) {
		if strings.HasPrefix(m[0], "<!") { // doctype, comment
			continue
		}
		whole := m[0]
		m = m[1:]       // ["", "/", tag, attrs]
		if m[2] == "" { // text
			if !skipping() {
				out = append(out, html.UnescapeString(whole))
			}
			continue
		}
		tag := strings.ToLower(m[2])
		if m[1] == "/" {
			for len(stack) > 0 {
				top := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				if top.tag == tag {
					break
				}
			}
			continue
		}
		attrs := m[3]
		// The title repeats the page's heading with the app's name (data).
		skip := skipping() || tag == "script" || tag == "style" || tag == "title" ||
			strings.Contains(attrs, `translate="no"`) || strings.Contains(attrs, `lang="en"`)
		if tag == "script" && strings.Contains(attrs, `id="chart-data"`) {
			rest := page[strings.Index(page, whole)+len(whole):]
			chartJSON, _, _ = strings.Cut(rest, "</script>")
		}
		if !skip {
			for _, a := range attrRe.FindAllStringSubmatch(attrs, -1) {
				out = append(out, html.UnescapeString(a[2]))
			}
		}
		if !voidTags[tag] && !strings.HasSuffix(attrs, "/") {
			stack = append(stack, open{tag, skip})
		}
	}
	if chartJSON != "" {
		var cp struct {
			Charts []struct{ Title, Note string }
			Words  map[string]string
		}
		if err := json.Unmarshal([]byte(chartJSON), &cp); err == nil {
			for _, c := range cp.Charts {
				out = append(out, c.Title, c.Note)
			}
			for _, w := range cp.Words {
				out = append(out, w)
			}
		} else {
			out = append(out, "unreadableChartData")
		}
	}
	return out
}

func TestUntranslatedFindsEnglish(t *testing.T) {
	page := `<html lang="zh-CN"><body><h1>概览</h1><p>访客 visitors</p><td translate="no">SHOP_01</td>` +
		`<input placeholder="steps"><a lang="en">English</a><code translate="no">add_order</code>` +
		`<script type="application/json" id="chart-data">{"charts":[{"title":"GMV"}],"words":{}}</script></body></html>`
	if got := fmt.Sprint(untranslated(page)); got != "[visitors steps GMV]" {
		t.Errorf("found %s", got)
	}
}

// TestChineseUntranslated: every page of the dashboard in Chinese, over
// the demo's data (every analysis, the funnel grouped, a channel
// dimension, the detail of a guide, live room, store, ad, SKU and article,
// an error) shows no English word of its own.
func TestChineseUntranslated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.fillDemo(t, 80)
	c := e.client(t)
	e.login(t, c, userName, userPassword, "/")
	rng := "from=2026-03-04&to=2026-03-10"
	var pages []string
	for _, a := range analysis.All() {
		pages = append(pages, "/apps/demo/"+a.Name+"?"+rng, "/apps/empty/"+a.Name+"?"+rng)
	}
	pages = append(pages,
		"/apps/demo/funnel?by=guide_id&"+rng, "/apps/demo/funnel?by=ad_id&"+rng,
		"/apps/demo/channels?dimension=scene&"+rng, "/apps/demo/skus?sort=gmv_fen&chart=gmv_fen&"+rng,
		"/apps/demo/funnel?window=forever&"+rng, "/apps/demo/events?from=2026-03-10&to=2026-03-01",
	)
	// One detail page per kind, for a key the API lists.
	for name, key := range map[string]string{"guides": "guide_id", "live": "room_id", "stores": "store_id", "ads": "ad_id", "skus": "sku_id"} {
		res := e.apiJSON(t, "/api/v1/apps/demo/analysis/"+name+"?"+rng)
		k := -1
		for i, col := range res.Columns {
			if col.Name == key {
				k = i
			}
		}
		for _, row := range res.Rows {
			if id, ok := row[k].(string); ok && id != "" {
				pages = append(pages, "/apps/demo/"+name+"/detail?"+url.Values{"id": {id}}.Encode()+"&"+rng)
				break
			}
		}
	}
	pages = append(pages, "/apps/demo/official-account/detail?id=mp-article-12375&"+rng)
	do(t, c, "GET", e.srv.URL+"/?lang=zh", nil, nil)
	for _, p := range pages {
		r := do(t, c, "GET", e.srv.URL+p, nil, nil)
		if r.status != 200 && r.status != 400 {
			t.Errorf("%s: %d", p, r.status)
			continue
		}
		if words := untranslated(r.body); len(words) > 0 {
			t.Errorf("%s shows English words: %s", p, strings.Join(words, " "))
		}
	}
	if len(pages) < 2*len(analysis.All())+10 {
		t.Errorf("only %d pages checked", len(pages))
	}
}
