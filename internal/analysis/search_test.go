package analysis

import (
	"fmt"
	"testing"

	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
)

func TestSearch(t *testing.T) {
	st := fixture(t)
	res := ask(t, st, "search", "2026-03-01", "2026-03-02", "")
	if len(res.Rows) != 2 {
		t.Fatalf("rows:\n%s", dump(res))
	}
	// "Lychee" (A) and "lychee " (C) are one keyword. A clicked S1 after
	// it; C searched "Durian" before clicking, so the click follows that
	// search, not C's "lychee".
	want(t, "lychee", row(t, res, "lychee"), map[string]any{"searches": 2, "searchers": 2, "searches_clicked": 1, "click_rate": 0.5})
	want(t, "durian", row(t, res, "durian"), map[string]any{"searches": 1, "searchers": 1, "searches_clicked": 1, "click_rate": 1.0})
	if res.Rows[0][0] != "lychee" {
		t.Errorf("not by searches:\n%s", dump(res))
	}
	res = ask(t, st, "search", "2026-03-01", "2026-03-02", "limit=1")
	if len(res.Rows) != 1 {
		t.Errorf("limit 1:\n%s", dump(res))
	}
	res = ask(t, st, "search", "2026-03-01", "2026-03-01", "")
	want(t, "03-01", row(t, res, "lychee"), map[string]any{"searches": 1, "searchers": 1, "searches_clicked": 1})
}

// Keywords are lower-cased letter by letter of Unicode on both stores,
// from the events and from PostgreSQL's roll-ups: "ÉCLAIR" is "éclair".
// PostgreSQL's text compares byte by byte, and lower under that folds
// ASCII only.
func TestSearchKeywordCase(t *testing.T) {
	storetest.Each(t, func(t *testing.T, o storetest.Opener) {
		st := o.Open(t)
		w := store.NewWriter(st, store.WriterOptions{})
		defer w.Close()
		for i, kw := range []string{"ÉCLAIR", " éclair", "Ölfass"} {
			s := session{fmt.Sprintf("tK%d", i), fmt.Sprintf(`{"app_id":"wx1","local_id":"lK%d","open_id":"oK%d"}`, i, i), chanA2,
				[]sdkEvent{{"search", "2026-03-09 10:0" + fmt.Sprint(i) + ":00", fmt.Sprintf(`"page":"pages/search/index","page_title":"Search","keyword":%q`, kw)}}}
			writeUpload(t, w, s, []int{0})
		}
		for _, raw := range []bool{false, true} {
			res, err := askApp(st, fixtureTenant, "search", "2026-03-09", "2026-03-09", "", raw)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Rows) != 2 || res.Rows[0][0] != "éclair" || res.Rows[1][0] != "ölfass" {
				t.Fatalf("raw %v:\n%s", raw, dump(res))
			}
			want(t, "éclair", row(t, res, "éclair"), map[string]any{"searches": 2, "searchers": 2})
		}
	})
}
