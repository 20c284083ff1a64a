package datacube

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// The bounds of an article marker and of what the merchant says of its
// article.
const (
	// MaxMarkerLen bounds a marker: it travels in the mini-program path of
	// the article's link, which WeChat limits, and in chan_id.
	MaxMarkerLen = 64
	maxTitleLen  = 128
	maxLinkLen   = 2048
	maxMsgIDLen  = 64
)

// MarkerStore is what the article markers need of the store.
type MarkerStore interface {
	PutArticleMarker(ctx context.Context, m store.ArticleMarker) error
	ArticleMarkers(ctx context.Context, app string) ([]store.ArticleMarker, error)
	DeleteArticleMarker(ctx context.Context, app, marker string) (bool, error)
}

// MarkerInput is what the merchant says of the article a marker stands
// for: its msgid (set by hand), or its title and/or link for the store to
// find the msgid among the pulled articles.
type MarkerInput struct {
	MsgID string `json:"msgid"`
	Title string `json:"title"`
	Link  string `json:"link"`
}

// BadMarker is an error in a marker or its input: the field and the rule
// it breaks.
type BadMarker struct{ Field, Rule string }

func (e *BadMarker) Error() string { return e.Field + ": " + e.Rule }

// CheckMarker tells whether m can be a marker: 1 to MaxMarkerLen letters,
// digits, '-', '_' or '.', so that it needs no escaping in the link's
// query and reads back unchanged from the SDK's chan_id.
func CheckMarker(m string) error {
	if m == "" || len(m) > MaxMarkerLen {
		return &BadMarker{"marker", fmt.Sprintf("must be 1 to %d characters, got %d", MaxMarkerLen, len(m))}
	}
	for _, r := range m {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return &BadMarker{"marker", fmt.Sprintf("may hold only letters, digits, '-', '_' and '.', got %q", r)}
		}
	}
	return nil
}

// PutMarker checks a marker and what the merchant says of its article,
// stores it for app at now (matched at once against the pulled articles
// unless msgid is given), and returns it as stored.
func PutMarker(ctx context.Context, st MarkerStore, app, marker string, in MarkerInput, now time.Time) (store.ArticleMarker, error) {
	m, err := markerOf(app, marker, in)
	if err != nil {
		return store.ArticleMarker{}, err
	}
	m.UpdatedAt = now.UTC()
	if err := st.PutArticleMarker(ctx, m); err != nil {
		return store.ArticleMarker{}, err
	}
	ms, err := st.ArticleMarkers(ctx, app)
	if err != nil {
		return store.ArticleMarker{}, err
	}
	for _, got := range ms {
		if got.Marker == marker {
			return got, nil
		}
	}
	return store.ArticleMarker{}, fmt.Errorf("%w: marker %s of %s not found after it was stored", store.ErrUnavailable, marker, app)
}

// markerOf checks in and builds the marker to store.
func markerOf(app, marker string, in MarkerInput) (store.ArticleMarker, error) {
	if err := CheckMarker(marker); err != nil {
		return store.ArticleMarker{}, err
	}
	m := store.ArticleMarker{App: app, Marker: marker, MsgID: strings.TrimSpace(in.MsgID),
		Title: strings.TrimSpace(in.Title), Link: strings.TrimSpace(in.Link)}
	if m.MsgID == "" && m.Title == "" && m.Link == "" {
		return m, &BadMarker{"msgid", "one of msgid, title and link is required: msgid sets the article by hand, title or link lets shuyuan find it among the pulled articles"}
	}
	if m.MsgID != "" {
		if err := checkMsgID(m.MsgID); err != nil {
			return m, err
		}
	}
	if n := utf8.RuneCountInString(m.Title); n > maxTitleLen || !utf8.ValidString(m.Title) {
		return m, &BadMarker{"title", fmt.Sprintf("must be valid UTF-8 text of at most %d characters, got %d", maxTitleLen, n)}
	}
	if m.Link != "" {
		id, err := linkMsgID(m.Link)
		if err != nil {
			return m, err
		}
		m.LinkMsgID = id
	}
	return m, nil
}

// checkMsgID wants WeChat's article id, <msg_data_id>_<index>: digits, an
// underscore, digits.
func checkMsgID(id string) error {
	head, tail, ok := strings.Cut(id, "_")
	if len(id) > maxMsgIDLen || !ok || !digits(head) || !digits(tail) {
		return &BadMarker{"msgid", fmt.Sprintf("must be <msg_data_id>_<index> as WeChat's article data names it (e.g. 2247490098_1), got %q", id)}
	}
	return nil
}

// linkMsgID checks an article link and reads <mid>_<idx> from it, "" when
// it does not carry both (a short link such as mp.weixin.qq.com/s/AbC):
// the URL of an article names its publish (mid) and place in it (idx),
// which make its msgid.
func linkMsgID(link string) (string, error) {
	u, err := url.Parse(link)
	if len(link) > maxLinkLen || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", &BadMarker{"link", fmt.Sprintf("must be the article's http(s) address of at most %d characters, as its share menu copies it", maxLinkLen)}
	}
	mid, idx := u.Query().Get("mid"), u.Query().Get("idx")
	if digits(mid) && digits(idx) {
		return mid + "_" + idx, nil
	}
	return "", nil
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Markers lists app's markers.
func Markers(ctx context.Context, st MarkerStore, app string) ([]store.ArticleMarker, error) {
	return st.ArticleMarkers(ctx, app)
}

// DeleteMarker removes app's marker and tells whether there was one.
func DeleteMarker(ctx context.Context, st MarkerStore, app, marker string) (bool, error) {
	if err := CheckMarker(marker); err != nil {
		return false, err
	}
	return st.DeleteArticleMarker(ctx, app, marker)
}
