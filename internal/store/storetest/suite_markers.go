package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// testArticleMarkers: a marker is matched to a pulled article by link
// before title, the earliest published among equals; a marker stored
// before its article is matched when the article's day is pulled, in the
// same transaction; a msgid set by hand is never overridden; a re-pull
// changes no marker; markers are per app and can be deleted.
func testArticleMarkers(t *testing.T, o Opener) {
	st := o.Open(t)
	ctx := context.Background()
	d1 := time.Date(2025, 12, 8, 0, 0, 0, 0, time.UTC)
	d2 := d1.AddDate(0, 0, 1)
	put := func(m store.ArticleMarker) {
		t.Helper()
		if err := st.PutArticleMarker(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	get := func(app string) map[string]store.ArticleMarker {
		t.Helper()
		ms, err := st.ArticleMarkers(ctx, app)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]store.ArticleMarker{}
		for _, m := range ms {
			out[m.Marker] = m
		}
		return out
	}
	pull := func(day time.Time, at time.Time, arts ...store.Article) {
		t.Helper()
		if err := st.SavePulledDay(ctx, store.PulledDay{App: "a", Family: "official_account", Day: day, At: at,
			Account: &store.AccountDay{Followers: 10, Published: arts}}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what string, m store.ArticleMarker, msgid, by string) {
		t.Helper()
		if m.MsgID != msgid || m.MatchedBy != by {
			t.Errorf("%s: msgid %q matched by %q, want %q by %q (%+v)", what, m.MsgID, m.MatchedBy, msgid, by, m)
		}
	}

	// Stored before any article is pulled: unmatched.
	put(store.ArticleMarker{App: "a", Marker: "oa-spring", Title: "Spring sale", UpdatedAt: t0})
	put(store.ArticleMarker{App: "a", Marker: "oa-hand", MsgID: "999_1", Title: "Spring sale", UpdatedAt: t0})
	put(store.ArticleMarker{App: "b", Marker: "oa-spring", Title: "Spring sale", UpdatedAt: t0})
	check("before the pull", get("a")["oa-spring"], "", "")
	check("by hand", get("a")["oa-hand"], "999_1", store.MatchedByHand)

	// Two days of articles, the same title on both: the earlier wins, the
	// title compared trimmed.
	pull(d2, t0.Add(2*time.Hour), store.Article{MsgID: "2247490100_1", Title: "Spring sale",
		ContentURL: "http://mp.weixin.qq.com/s?__biz=MzA&mid=2247490100&idx=1&sn=x#rd"})
	check("one article", get("a")["oa-spring"], "2247490100_1", store.MatchedByTitle)
	pull(d1, t0.Add(3*time.Hour), store.Article{MsgID: "2247490098_1", Title: " Spring sale "},
		store.Article{MsgID: "2247490098_2", Title: "Autumn"})
	a := get("a")
	check("earliest of two titles", a["oa-spring"], "2247490098_1", store.MatchedByTitle)
	if !a["oa-spring"].UpdatedAt.Equal(t0.Add(3 * time.Hour)) {
		t.Errorf("matched at %v, want the pull's time", a["oa-spring"].UpdatedAt)
	}
	check("by hand after the pulls", a["oa-hand"], "999_1", store.MatchedByHand)
	check("other app", get("b")["oa-spring"], "", "")

	// A link beats a title, whether it is the article's content_url or
	// carries its mid and idx.
	put(store.ArticleMarker{App: "a", Marker: "oa-url", Title: "Spring sale",
		Link: "http://mp.weixin.qq.com/s?__biz=MzA&mid=2247490100&idx=1&sn=x#rd", UpdatedAt: t0.Add(4 * time.Hour)})
	put(store.ArticleMarker{App: "a", Marker: "oa-mid", Title: "Autumn",
		Link: "https://mp.weixin.qq.com/s?mid=2247490100&idx=1", LinkMsgID: "2247490100_1", UpdatedAt: t0.Add(4 * time.Hour)})
	a = get("a")
	check("content_url", a["oa-url"], "2247490100_1", store.MatchedByLink)
	check("mid and idx", a["oa-mid"], "2247490100_1", store.MatchedByLink)

	// A re-pull matches what the markers have: nothing changes.
	pull(d1, t0.Add(5*time.Hour), store.Article{MsgID: "2247490098_1", Title: " Spring sale "},
		store.Article{MsgID: "2247490098_2", Title: "Autumn"})
	if got := get("a")["oa-spring"]; !got.UpdatedAt.Equal(t0.Add(3*time.Hour)) || got.MsgID != "2247490098_1" {
		t.Errorf("re-pull changed the marker: %+v", got)
	}

	// Stored again with another title: matched afresh.
	put(store.ArticleMarker{App: "a", Marker: "oa-spring", Title: "Autumn", UpdatedAt: t0.Add(6 * time.Hour)})
	check("new title", get("a")["oa-spring"], "2247490098_2", store.MatchedByTitle)
	// Nothing to match any more: unmatched, the hints kept.
	put(store.ArticleMarker{App: "a", Marker: "oa-spring", Title: "Winter", UpdatedAt: t0.Add(7 * time.Hour)})
	if got := get("a")["oa-spring"]; got.MsgID != "" || got.MatchedBy != "" || got.Title != "Winter" {
		t.Errorf("unmatched marker: %+v", got)
	}

	if ok, err := st.DeleteArticleMarker(ctx, "a", "oa-url"); err != nil || !ok {
		t.Fatalf("delete: %v %v", ok, err)
	}
	if ok, err := st.DeleteArticleMarker(ctx, "a", "oa-url"); err != nil || ok {
		t.Fatalf("delete again: %v %v", ok, err)
	}
	if n := len(get("a")); n != 3 {
		t.Errorf("app a has %d markers, want 3", n)
	}
	if n := len(get("b")); n != 1 {
		t.Errorf("app b has %d markers, want 1", n)
	}
}
