package datacube

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// Tokens hands out one app's access token; *wxads.TokenSource implements
// it, with its cache, refresh and election.
type Tokens interface {
	Token(ctx context.Context) (string, error)
	Invalidate(ctx context.Context, token string) (bool, error)
}

// Client calls the datacube endpoints of one merchant: Mini is the
// mini-program's token, Account the official account's (nil when the
// merchant has none).
type Client struct {
	BaseURL    string // default https://api.weixin.qq.com
	HTTPClient *http.Client
	Mini       Tokens
	Account    Tokens
}

// Error is an errcode answer of a datacube endpoint.
type Error struct {
	Endpoint string
	Code     int64
	Msg      string
}

func (e *Error) Error() string {
	return fmt.Sprintf("datacube %s: errcode %d: %s", e.Endpoint, e.Code, e.Msg)
}

// ErrNotReady marks a day WeChat has not finished yet (61503, an empty
// answer before the ready hour, or is_delay): retry later the same day.
var ErrNotReady = errors.New("data not ready")

// Retryable reports whether err may succeed on a later try the same day:
// not ready, system error, busy, quota per minute, transport and 5xx
// failures. Date, permission and format errors are not, nor the daily
// quota (45009), which only the next day lifts.
func Retryable(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return !errors.Is(err, errNoAccount) // transport errors and ErrNotReady
	}
	switch e.Code {
	case -1, 45011, 61503, 900310000:
		return true
	}
	return false
}

var errNoAccount = errors.New("no official account configured")

// tokenCodes are answered when the token is stale: fetch a new one and
// call again, once.
func tokenCode(code int64) bool { return code == 40001 || code == 42001 || code == 40014 }

// call POSTs {begin_date, end_date} to /datacube/<endpoint> with the token
// of the endpoint's app and decodes the success answer into out.
func (c *Client) call(ctx context.Context, tokens Tokens, endpoint, begin, end string, out any) error {
	if tokens == nil {
		return fmt.Errorf("datacube %s: %w", endpoint, errNoAccount)
	}
	body, _ := json.Marshal(map[string]string{"begin_date": begin, "end_date": end})
	for attempt := 0; ; attempt++ {
		tok, err := tokens.Token(ctx)
		if err != nil {
			return fmt.Errorf("datacube %s: token: %w", endpoint, err)
		}
		raw, err := c.post(ctx, endpoint, tok, body)
		if err != nil {
			return err
		}
		var env struct {
			ErrCode int64  `json:"errcode"`
			ErrMsg  string `json:"errmsg"`
		}
		if err := json.Unmarshal(raw, &env); err != nil {
			return fmt.Errorf("datacube %s: answer is not JSON: %w", endpoint, err)
		}
		if env.ErrCode != 0 { // a missing errcode is success (spec §2)
			if tokenCode(env.ErrCode) && attempt == 0 {
				if _, err := tokens.Invalidate(ctx, tok); err != nil {
					return fmt.Errorf("datacube %s: drop stale token: %w", endpoint, err)
				}
				continue
			}
			if env.ErrCode == 61503 {
				return fmt.Errorf("datacube %s %s: %w", endpoint, begin, ErrNotReady)
			}
			return &Error{Endpoint: endpoint, Code: env.ErrCode, Msg: env.ErrMsg}
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("datacube %s: decode answer: %w", endpoint, err)
		}
		return nil
	}
}

func (c *Client) post(ctx context.Context, endpoint, token string, body []byte) ([]byte, error) {
	base := c.BaseURL
	if base == "" {
		base = "https://api.weixin.qq.com"
	}
	u := strings.TrimRight(base, "/") + "/datacube/" + endpoint + "?access_token=" + token
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("datacube %s: %w", endpoint, err)
	}
	req.Header.Set("Content-Type", "application/json")
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		// The URL carries the token: keep it out of logs.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("datacube %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("datacube %s: read answer: %w", endpoint, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("datacube %s: HTTP %d", endpoint, resp.StatusCode)
	}
	return raw, nil
}

// miniDate and accountDate are the two date formats (spec §1.1).
func miniDate(day time.Time) string    { return day.Format("20060102") }
func accountDate(day time.Time) string { return day.Format(time.DateOnly) }

// VisitPages fetches getVisitPage of one finished day (a date, any zone)
// as the rows add_wxapp_visit_page stores.
func (c *Client) VisitPages(ctx context.Context, day time.Time) ([]store.VisitPage, error) {
	var ans struct {
		List []struct {
			PagePath   string  `json:"page_path"`
			VisitPV    int64   `json:"page_visit_pv"`
			VisitUV    int64   `json:"page_visit_uv"`
			StayTimePV float64 `json:"page_staytime_pv"`
			EntryPV    int64   `json:"entrypage_pv"`
			ExitPV     int64   `json:"exitpage_pv"`
			SharePV    int64   `json:"page_share_pv"`
			ShareUV    int64   `json:"page_share_uv"`
		} `json:"list"`
	}
	if err := c.call(ctx, c.Mini, "getweanalysisappidvisitpage", miniDate(day), miniDate(day), &ans); err != nil {
		return nil, err
	}
	d := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	out := make([]store.VisitPage, 0, len(ans.List))
	for _, p := range ans.List {
		page, _, _ := strings.Cut(strings.TrimPrefix(p.PagePath, "/"), "?")
		out = append(out, store.VisitPage{
			Day: d, PagePath: p.PagePath, Page: page, VisitPV: p.VisitPV, VisitUV: p.VisitUV,
			StayTimePV: p.StayTimePV, EntryPV: p.EntryPV, ExitPV: p.ExitPV, SharePV: p.SharePV, ShareUV: p.ShareUV,
		})
	}
	return out, nil
}

// DailyVisitTrend fetches getDailyVisitTrend of one finished day. An empty
// list is not ready yet.
func (c *Client) DailyVisitTrend(ctx context.Context, day time.Time) (store.VisitTrend, error) {
	var ans struct {
		List []store.VisitTrend `json:"list"`
	}
	if err := c.call(ctx, c.Mini, "getweanalysisappiddailyvisittrend", miniDate(day), miniDate(day), &ans); err != nil {
		return store.VisitTrend{}, err
	}
	if len(ans.List) == 0 {
		return store.VisitTrend{}, fmt.Errorf("datacube getDailyVisitTrend %s: empty: %w", miniDate(day), ErrNotReady)
	}
	return ans.List[0], nil
}

// ArticleSource is getVisitDistribution's source key of visits from
// official-account articles (scenes 1058 and 1091).
const ArticleSource = 18

// Distribution is getVisitDistribution of one day: per index
// (access_source_session_cnt, access_source_visit_uv, ...) the value of
// each key, unknown keys kept.
type Distribution map[string]map[int64]int64

// VisitDistribution fetches getVisitDistribution of one finished day.
func (c *Client) VisitDistribution(ctx context.Context, day time.Time) (Distribution, error) {
	var ans struct {
		List []struct {
			Index string `json:"index"`
			Items []struct {
				Key   int64 `json:"key"`
				Value int64 `json:"value"`
			} `json:"item_list"`
		} `json:"list"`
	}
	if err := c.call(ctx, c.Mini, "getweanalysisappidvisitdistribution", miniDate(day), miniDate(day), &ans); err != nil {
		return nil, err
	}
	out := Distribution{}
	for _, l := range ans.List {
		m := map[int64]int64{}
		for _, it := range l.Items {
			m[it.Key] = it.Value
		}
		out[l.Index] = m
	}
	return out, nil
}

// ArticleTotals fetches getarticletotaldetail of the articles published on
// day, which must be on or after 2025-11-01: each article's identity and
// its cumulative figures of each statistics day so far. is_delay=true is
// not ready.
func (c *Client) ArticleTotals(ctx context.Context, day time.Time) ([]store.Article, error) {
	var ans struct {
		IsDelay bool `json:"is_delay"`
		List    []struct {
			MsgID       string `json:"msgid"`
			Title       string `json:"title"`
			ContentURL  string `json:"content_url"`
			PublishType int64  `json:"publish_type"`
			Days        []struct {
				StatDate        string `json:"stat_date"`
				ReadUser        int64  `json:"read_user"`
				ShareUser       int64  `json:"share_user"`
				ZaikanUser      int64  `json:"zaikan_user"`
				LikeUser        int64  `json:"like_user"`
				CommentCount    int64  `json:"comment_count"`
				CollectionUser  int64  `json:"collection_user"`
				ReadSubscribers int64  `json:"read_subscribe_user"`
			} `json:"detail_list"`
		} `json:"list"`
	}
	if err := c.call(ctx, c.Account, "getarticletotaldetail", accountDate(day), accountDate(day), &ans); err != nil {
		return nil, err
	}
	if ans.IsDelay {
		return nil, fmt.Errorf("datacube getarticletotaldetail %s: is_delay: %w", accountDate(day), ErrNotReady)
	}
	out := make([]store.Article, 0, len(ans.List))
	for _, a := range ans.List {
		art := store.Article{MsgID: a.MsgID, Title: a.Title, ContentURL: a.ContentURL, PublishType: a.PublishType}
		for _, d := range a.Days {
			stat, err := time.Parse(time.DateOnly, d.StatDate)
			if err != nil {
				return nil, fmt.Errorf("datacube getarticletotaldetail %s: article %s: stat_date: %w", accountDate(day), a.MsgID, err)
			}
			art.Totals = append(art.Totals, store.ArticleTotal{StatDate: stat, ReadUser: d.ReadUser, ShareUser: d.ShareUser,
				ZaikanUser: d.ZaikanUser, LikeUser: d.LikeUser, CommentCount: d.CommentCount, CollectionUser: d.CollectionUser,
				ReadSubscribeUser: d.ReadSubscribers})
		}
		out = append(out, art)
	}
	return out, nil
}

// UserCumulate fetches the account's total followers at the end of day.
// An empty list is not ready yet.
func (c *Client) UserCumulate(ctx context.Context, day time.Time) (int64, error) {
	var ans struct {
		List []struct {
			Cumulate int64 `json:"cumulate_user"`
		} `json:"list"`
	}
	if err := c.call(ctx, c.Account, "getusercumulate", accountDate(day), accountDate(day), &ans); err != nil {
		return 0, err
	}
	if len(ans.List) == 0 {
		return 0, fmt.Errorf("datacube getusercumulate %s: empty: %w", accountDate(day), ErrNotReady)
	}
	return ans.List[0].Cumulate, nil
}

// DailySummary fetches getDailySummary of one finished day. An empty list
// is not ready yet.
func (c *Client) DailySummary(ctx context.Context, day time.Time) (store.DailySummary, error) {
	var ans struct {
		List []store.DailySummary `json:"list"`
	}
	if err := c.call(ctx, c.Mini, "getweanalysisappiddailysummarytrend", miniDate(day), miniDate(day), &ans); err != nil {
		return store.DailySummary{}, err
	}
	if len(ans.List) == 0 {
		return store.DailySummary{}, fmt.Errorf("datacube getDailySummary %s: empty: %w", miniDate(day), ErrNotReady)
	}
	return ans.List[0], nil
}

// Items are the distribution as rows, by index and key, for the store.
func (d Distribution) Items() []store.DistributionItem {
	var out []store.DistributionItem
	for _, index := range slices.Sorted(maps.Keys(d)) {
		for _, key := range slices.Sorted(maps.Keys(d[index])) {
			out = append(out, store.DistributionItem{Index: index, Key: key, Value: d[index][key]})
		}
	}
	return out
}

// UserSummary fetches the account's follows and unfollows per channel of
// one day (getusersummary). An empty list is a day without follows: call
// UserCumulate first to know the day is ready.
func (c *Client) UserSummary(ctx context.Context, day time.Time) ([]store.UserSource, error) {
	var ans struct {
		List []store.UserSource `json:"list"`
	}
	if err := c.call(ctx, c.Account, "getusersummary", accountDate(day), accountDate(day), &ans); err != nil {
		return nil, err
	}
	return ans.List, nil
}

// ArticleReads fetches getarticleread of one day (from 2025-11-01): the
// readers of each article whose figures changed that day.
func (c *Client) ArticleReads(ctx context.Context, day time.Time) (map[string]int64, error) {
	return c.articleDaily(ctx, "getarticleread", day, func(d articleDetail) int64 { return d.ReadUser })
}

// ArticleShares fetches getarticleshare of one day (from 2025-11-01): the
// sharers of each article whose figures changed that day.
func (c *Client) ArticleShares(ctx context.Context, day time.Time) (map[string]int64, error) {
	return c.articleDaily(ctx, "getarticleshare", day, func(d articleDetail) int64 { return d.ShareUser })
}

type articleDetail struct {
	ReadUser  int64 `json:"read_user"`
	ShareUser int64 `json:"share_user"`
}

func (c *Client) articleDaily(ctx context.Context, endpoint string, day time.Time, value func(articleDetail) int64) (map[string]int64, error) {
	var ans struct {
		IsDelay bool `json:"is_delay"`
		List    []struct {
			MsgID  string        `json:"msgid"`
			Detail articleDetail `json:"detail"`
		} `json:"list"`
	}
	if err := c.call(ctx, c.Account, endpoint, accountDate(day), accountDate(day), &ans); err != nil {
		return nil, err
	}
	if ans.IsDelay {
		return nil, fmt.Errorf("datacube %s %s: is_delay: %w", endpoint, accountDate(day), ErrNotReady)
	}
	out := make(map[string]int64, len(ans.List))
	for _, a := range ans.List {
		out[a.MsgID] += value(a.Detail)
	}
	return out, nil
}

// BizSummary fetches getbizsummary of one day (from 2025-11-01): the
// account's totals. is_delay or no row for the day is not ready.
func (c *Client) BizSummary(ctx context.Context, day time.Time) (store.BizSummary, error) {
	var ans struct {
		IsDelay bool `json:"is_delay"`
		List    []struct {
			RefDate string           `json:"ref_date"`
			Detail  store.BizSummary `json:"detail"`
		} `json:"list"`
	}
	if err := c.call(ctx, c.Account, "getbizsummary", accountDate(day), accountDate(day), &ans); err != nil {
		return store.BizSummary{}, err
	}
	if ans.IsDelay || len(ans.List) == 0 {
		return store.BizSummary{}, fmt.Errorf("datacube getbizsummary %s: is_delay or empty: %w", accountDate(day), ErrNotReady)
	}
	return ans.List[0].Detail, nil
}

// LegacyArticleDays fetches the retired getarticlesummary of one day
// (days before 2025-11-01): per article its intermediate-page readers and
// its sharers. Articles under WeChat's threshold of 3 are not listed.
func (c *Client) LegacyArticleDays(ctx context.Context, day time.Time) ([]store.ArticleDay, error) {
	var ans struct {
		List []struct {
			MsgID     string `json:"msgid"`
			ReadUser  int64  `json:"int_page_read_user"`
			ShareUser int64  `json:"share_user"`
		} `json:"list"`
	}
	if err := c.call(ctx, c.Account, "getarticlesummary", accountDate(day), accountDate(day), &ans); err != nil {
		return nil, err
	}
	out := make([]store.ArticleDay, 0, len(ans.List))
	for _, a := range ans.List {
		out = append(out, store.ArticleDay{MsgID: a.MsgID, ReadUser: a.ReadUser, ShareUser: a.ShareUser})
	}
	return out, nil
}

// LegacyUserRead fetches the retired getuserread of one day (days before
// 2025-11-01): the account's totals, from its row of all reading channels
// (user_source 99999999), in getbizsummary's terms: readers of the
// article page, sharers, favourites and readers of the original page. A
// day without that row had no readers.
func (c *Client) LegacyUserRead(ctx context.Context, day time.Time) (store.BizSummary, error) {
	var ans struct {
		List []struct {
			Source      int64 `json:"user_source"`
			ReadUser    int64 `json:"int_page_read_user"`
			OriReadUser int64 `json:"ori_page_read_user"`
			ShareUser   int64 `json:"share_user"`
			FavUser     int64 `json:"add_to_fav_user"`
		} `json:"list"`
	}
	if err := c.call(ctx, c.Account, "getuserread", accountDate(day), accountDate(day), &ans); err != nil {
		return store.BizSummary{}, err
	}
	var b store.BizSummary
	for _, r := range ans.List {
		if r.Source == allChannels {
			b = store.BizSummary{ReadUser: r.ReadUser, ShareUser: r.ShareUser, CollectionUser: r.FavUser, RedirectOriPageUser: r.OriReadUser}
		}
	}
	return b, nil
}

// allChannels is getuserread's user_source of the row over every reading
// channel; the other rows are one channel each and do not add up to it.
const allChannels = 99999999

// LegacyArticleTotals fetches the retired getarticletotal of the articles
// published on day (before 2025-11-01): title and cumulative readers and
// sharers per statistics day. It has no link and no follows.
func (c *Client) LegacyArticleTotals(ctx context.Context, day time.Time) ([]store.Article, error) {
	var ans struct {
		List []struct {
			MsgID   string `json:"msgid"`
			Title   string `json:"title"`
			Details []struct {
				StatDate  string `json:"stat_date"`
				ReadUser  int64  `json:"int_page_read_user"`
				ShareUser int64  `json:"share_user"`
				FavUser   int64  `json:"add_to_fav_user"`
			} `json:"details"`
		} `json:"list"`
	}
	if err := c.call(ctx, c.Account, "getarticletotal", accountDate(day), accountDate(day), &ans); err != nil {
		return nil, err
	}
	out := make([]store.Article, 0, len(ans.List))
	for _, a := range ans.List {
		art := store.Article{MsgID: a.MsgID, Title: a.Title}
		for _, d := range a.Details {
			stat, err := time.Parse(time.DateOnly, d.StatDate)
			if err != nil {
				return nil, fmt.Errorf("datacube getarticletotal %s: article %s: stat_date: %w", accountDate(day), a.MsgID, err)
			}
			art.Totals = append(art.Totals, store.ArticleTotal{StatDate: stat, ReadUser: d.ReadUser, ShareUser: d.ShareUser,
				CollectionUser: d.FavUser})
		}
		out = append(out, art)
	}
	return out, nil
}
