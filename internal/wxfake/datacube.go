package wxfake

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"
)

// AppKind says which WeChat product an App is; the datacube endpoints only
// accept the token of their own kind (spec wechat-datacube.md §1.8, §6.2).
type AppKind string

// The app kinds. The zero value is a mini-program, so apps registered before
// the datacube endpoints existed keep working unchanged.
const (
	KindMiniProgram     AppKind = ""
	KindOfficialAccount AppKind = "official_account"
)

// Datacube endpoint names: the path after /datacube/.
const (
	EndpointVisitPage       = "getweanalysisappidvisitpage"
	EndpointDailySummary    = "getweanalysisappiddailysummarytrend"
	EndpointDailyVisitTrend = "getweanalysisappiddailyvisittrend"
	EndpointVisitDistrib    = "getweanalysisappidvisitdistribution"
	EndpointUserSummary     = "getusersummary"
	EndpointUserCumulate    = "getusercumulate"
	EndpointArticleRead     = "getarticleread"
	EndpointArticleShare    = "getarticleshare"
	EndpointBizSummary      = "getbizsummary"
	EndpointArticleTotalDet = "getarticletotaldetail"
	EndpointArticleSummary  = "getarticlesummary"
	EndpointArticleTotalOld = "getarticletotal"
	EndpointUserRead        = "getuserread"
)

// family groups the datacube endpoints by the rules they share.
type family int

const (
	famMini     family = iota // yyyymmdd, one day, 61503 before ready
	famOAUser                 // yyyy-MM-dd, span ≤ 7, empty list before ready
	famOALegacy               // yyyy-MM-dd, one day, empty list before ready
	famOANew                  // yyyy-MM-dd, from 2025-11-01, is_delay before ready
)

// datacubeEndpoint is one datacube call: its family and maximum span in days.
type datacubeEndpoint struct {
	fam  family
	span int
}

var datacubeEndpoints = map[string]datacubeEndpoint{
	EndpointVisitPage:       {famMini, 1},
	EndpointDailySummary:    {famMini, 1},
	EndpointDailyVisitTrend: {famMini, 1},
	EndpointVisitDistrib:    {famMini, 1},
	EndpointUserSummary:     {famOAUser, 7},
	EndpointUserCumulate:    {famOAUser, 7},
	EndpointArticleSummary:  {famOALegacy, 1},
	EndpointArticleTotalOld: {famOALegacy, 1},
	EndpointUserRead:        {famOALegacy, 3},
	EndpointArticleRead:     {famOANew, 1},
	EndpointArticleShare:    {famOANew, 1},
	EndpointBizSummary:      {famOANew, 30},
	EndpointArticleTotalDet: {famOANew, 1},
}

// DatacubeEndpoints lists every datacube endpoint; pass it as
// Options.FaultEndpoints to draw random faults on them.
var DatacubeEndpoints = func() []string {
	out := make([]string, 0, len(datacubeEndpoints))
	for ep := range datacubeEndpoints {
		out = append(out, ep)
	}
	slices.Sort(out)
	return out
}()

func init() {
	for ep := range datacubeEndpoints {
		endpointPaths["/datacube/"+ep] = ep
	}
}

// NewArticlesStart is the first day of the new article family's data
// (spec §1.5): earlier days answer an empty list.
var NewArticlesStart = time.Date(2025, 11, 1, 0, 0, 0, 0, gmt8)

// datacube serves one datacube call. The order of the checks follows the
// real platform as far as it is known: method, token, body, dates, readiness.
func (s *Server) datacube(ep string, r *http.Request, body []byte) reply {
	d := datacubeEndpoints[ep]
	if r.Method != http.MethodPost {
		return s.fail(43002, "require POST method")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, rep, ok := s.checkToken(r.URL.Query().Get("access_token"))
	if !ok {
		return rep
	}
	// The code for a token of the wrong kind is unknown (spec §7); 40001
	// makes a client that mixes tokens fail loudly.
	if (d.fam == famMini) != (a.Kind == KindMiniProgram) {
		return s.fail(40001, "invalid credential, access_token is invalid or not latest")
	}
	if d.fam != famMini && a.Unverified {
		return s.fail(48001, "api unauthorized")
	}
	var req struct {
		Begin *string `json:"begin_date"`
		End   *string `json:"end_date"`
	}
	if json.Unmarshal(body, &req) != nil || req.Begin == nil || req.End == nil {
		return s.fail(47001, "data format error")
	}
	layout := time.DateOnly
	if d.fam == famMini {
		layout = "20060102"
	}
	begin, err1 := time.ParseInLocation(layout, *req.Begin, gmt8)
	end, err2 := time.ParseInLocation(layout, *req.End, gmt8)
	if err1 != nil || err2 != nil {
		return s.fail(61500, "date format error")
	}
	now := s.opts.Now().In(gmt8)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, gmt8)
	days := int(end.Sub(begin).Hours()/24+0.5) + 1
	if !end.Before(today) || end.Before(begin) || days > d.span {
		return s.fail(61501, "date range error")
	}
	ready := s.opts.MiniReadyHour
	if d.fam != famMini {
		ready = s.opts.OAReadyHour
	}
	notReady := end.Equal(today.AddDate(0, 0, -1)) && now.Hour() < ready
	switch {
	case notReady && d.fam == famMini:
		return s.fail(61503, "data not ready, please try later")
	case notReady && d.fam != famOANew:
		return reply{body: map[string]any{"list": []any{}}}
	case d.fam == famOANew && end.Before(NewArticlesStart):
		return reply{body: map[string]any{"is_delay": false, "list": []any{}}}
	}
	g := gen{appID: a.AppID, yesterday: today.AddDate(0, 0, -1)}
	var out map[string]any
	switch ep {
	case EndpointVisitPage:
		out = map[string]any{"ref_date": *req.Begin, "list": g.visitPage(begin)}
	case EndpointDailyVisitTrend:
		out = map[string]any{"list": []any{g.visitTrend(begin)}}
	case EndpointDailySummary:
		out = map[string]any{"list": []any{g.dailySummary(begin)}}
	case EndpointVisitDistrib:
		out = map[string]any{"ref_date": *req.Begin, "list": g.distribution(begin)}
	case EndpointUserSummary, EndpointUserCumulate:
		var list []any
		for day := begin; !day.After(end); day = day.AddDate(0, 0, 1) {
			if ep == EndpointUserSummary {
				list = append(list, g.userSummary(day)...)
			} else {
				list = append(list, map[string]any{"ref_date": day.Format(time.DateOnly), "cumulate_user": g.cumulate(day)})
			}
		}
		out = map[string]any{"list": nonNil(list)}
	case EndpointArticleSummary:
		out = map[string]any{"list": g.articleSummary(begin)}
	case EndpointArticleTotalOld:
		out = map[string]any{"list": g.articleTotalDetail(begin, 7, true)}
	case EndpointUserRead:
		var list []any
		for day := begin; !day.After(end); day = day.AddDate(0, 0, 1) {
			list = append(list, g.userRead(day)...)
		}
		out = map[string]any{"list": nonNil(list)}
	case EndpointArticleRead, EndpointArticleShare:
		out = map[string]any{"list": g.articleDaily(begin, ep == EndpointArticleRead)}
	case EndpointBizSummary:
		var list []any
		for day := begin; !day.After(end); day = day.AddDate(0, 0, 1) {
			if !day.Before(NewArticlesStart) {
				list = append(list, g.bizSummary(day))
			}
		}
		out = map[string]any{"list": nonNil(list)}
	case EndpointArticleTotalDet:
		out = map[string]any{"list": g.articleTotalDetail(begin, 30, false)}
	default:
		return s.failf(-1, "wxfake: endpoint %s not served", ep)
	}
	if d.fam == famOANew {
		// Before the ready hour the new family answers what it has and
		// says it is late (spec §6.9).
		out["is_delay"] = notReady
	}
	return reply{body: out}
}

func nonNil(list []any) []any {
	if list == nil {
		return []any{}
	}
	return list
}

// gen makes the fake's data: deterministic per app and day, so two calls
// (and two runs) agree and a re-pull changes nothing.
type gen struct {
	appID     string
	yesterday time.Time
}

// rng is a generator seeded by the app, a topic and the day.
func (g gen) rng(topic string, day time.Time, extra int) *rand.Rand {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s|%s|%s|%d", g.appID, topic, day.Format("20060102"), extra)
	v := h.Sum64()
	return rand.New(rand.NewPCG(v, v^0x9e3779b97f4a7c15))
}

// fakePages are the mini-program routes the fake reports, without queries
// as getVisitPage does (spec §1.4).
var fakePages = []string{
	"pages/index/index", "pages/goods/detail", "pages/cart/cart", "pages/order/confirm",
	"pages/order/list", "pages/user/user", "pages/search/search", "pages/article/landing",
}

type pageRow struct {
	path                          string
	pv, uv, entry, exit, spv, suv int
	stay                          float64
}

func (g gen) pages(day time.Time) []pageRow {
	r := g.rng("pages", day, 0)
	rows := make([]pageRow, len(fakePages))
	for i, p := range fakePages {
		pv := 20 + r.IntN(2000/(i+1))
		uv := 1 + pv*(50+r.IntN(40))/100
		entry := pv * r.IntN(60) / 100
		rows[i] = pageRow{path: p, pv: pv, uv: uv, entry: entry, exit: entry, spv: r.IntN(1 + pv/20), stay: float64(r.IntN(20000)) / 100}
		rows[i].suv = rows[i].spv * 2 / 3
	}
	slices.SortStableFunc(rows, func(a, b pageRow) int { return b.pv - a.pv })
	return rows
}

func (g gen) visitPage(day time.Time) []any {
	var list []any
	for _, p := range g.pages(day) {
		list = append(list, map[string]any{
			"page_path": p.path, "page_visit_pv": p.pv, "page_visit_uv": p.uv, "page_staytime_pv": p.stay,
			"entrypage_pv": p.entry, "exitpage_pv": p.exit, "page_share_pv": p.spv, "page_share_uv": p.suv,
		})
	}
	return list
}

// sessions is the day's opens: the sum of entry pages, so the figures of
// the different endpoints agree with each other.
func (g gen) sessions(day time.Time) (sessions, pv, uv int) {
	for _, p := range g.pages(day) {
		sessions += p.entry
		pv += p.pv
		uv = max(uv, p.uv)
	}
	return sessions, pv, uv
}

func (g gen) visitTrend(day time.Time) map[string]any {
	sess, pv, uv := g.sessions(day)
	r := g.rng("trend", day, 0)
	return map[string]any{
		"ref_date": day.Format("20060102"), "session_cnt": sess, "visit_pv": pv, "visit_uv": uv,
		"visit_uv_new": uv / (3 + r.IntN(5)), "stay_time_uv": float64(r.IntN(40000)) / 100,
		"stay_time_session": float64(r.IntN(20000)) / 100, "visit_depth": 1 + float64(r.IntN(400))/100,
	}
}

func (g gen) dailySummary(day time.Time) map[string]any {
	r := g.rng("summary", day, 0)
	spv := r.IntN(300)
	return map[string]any{
		"ref_date": day.Format("20060102"), "visit_total": 1000 + int(day.Unix()/86400)%100000,
		"share_pv": spv, "share_uv": spv / 2,
	}
}

// ArticleSourceKey is getVisitDistribution's source key of scenes 1058 and
// 1091, visits from official-account articles.
const ArticleSourceKey = 18

// distribution splits the day's sessions over a few sources, article
// (key 18) among them; only non-zero keys, in descending key order.
func (g gen) distribution(day time.Time) []any {
	sess, _, uv := g.sessions(day)
	r := g.rng("distribution", day, 0)
	split := func(total int, keys []int) []any {
		vals := make([]int, len(keys))
		left := total
		for i := range keys {
			if i == len(keys)-1 {
				vals[i] = left
				break
			}
			vals[i] = left * r.IntN(50) / 100
			left -= vals[i]
		}
		var items []any
		for i := len(keys) - 1; i >= 0; i-- {
			if vals[i] > 0 {
				items = append(items, map[string]any{"key": keys[i], "value": vals[i]})
			}
		}
		return nonNil(items)
	}
	sources := []int{1, 2, 3, 4, 10, ArticleSourceKey, 33}
	return []any{
		map[string]any{"index": "access_source_session_cnt", "item_list": split(sess, sources)},
		map[string]any{"index": "access_source_visit_uv", "item_list": split(uv, sources)},
		map[string]any{"index": "access_staytime_info", "item_list": split(sess, []int{1, 2, 3, 4, 5, 6, 7, 8})},
		map[string]any{"index": "access_depth_info", "item_list": split(sess, []int{1, 2, 3, 4, 5, 6, 7})},
	}
}

var userSources = []int{0, 1, 30, 57}

func (g gen) userSummary(day time.Time) []any {
	r := g.rng("users", day, 0)
	var list []any
	for _, src := range userSources {
		n, c := r.IntN(50), r.IntN(10)
		if n == 0 && c == 0 {
			continue
		}
		list = append(list, map[string]any{"ref_date": day.Format(time.DateOnly), "user_source": src, "new_user": n, "cancel_user": c})
	}
	return list
}

func (g gen) cumulate(day time.Time) int { return 5000 + int(day.Unix()/86400)%10000 }

// article is one article of the fake account: one publish a day with one
// or two articles.
type article struct {
	published time.Time
	msgDataID int64
	index     int
}

func (a article) msgid() string { return fmt.Sprintf("%d_%d", a.msgDataID, a.index) }

func (a article) title() string {
	return fmt.Sprintf("Article %s #%d", a.published.Format(time.DateOnly), a.index)
}

// ContentURL is the article's link, carrying mid and idx as real links do.
func (a article) contentURL(appID string) string {
	return fmt.Sprintf("https://mp.weixin.qq.com/s?__biz=%s&mid=%d&idx=%d&sn=fake", appID, a.msgDataID, a.index)
}

// ArticleLink is the content_url getarticletotaldetail gives for the
// index-th article (from 1) that the fake official account appID publishes
// on the date of day (its year, month and day); "" when that day's publish
// has fewer articles. The demo registers it beside the marker of the
// article's mini-program links.
func ArticleLink(appID string, day time.Time, index int) string {
	d := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, gmt8)
	for _, a := range (gen{}).articlesOf(d) {
		if a.index == index {
			return a.contentURL(appID)
		}
	}
	return ""
}

func (g gen) articlesOf(day time.Time) []article {
	id := 2247490000 + day.Unix()/86400
	n := 1 + int(day.Unix()/86400)%2
	out := make([]article, n)
	for i := range out {
		out[i] = article{published: day, msgDataID: id, index: i + 1}
	}
	return out
}

// daily are an article's figures of one statistics day.
type daily struct{ read, share, zaikan, like, comment, fav, follow, money int }

func (g gen) articleDay(a article, stat time.Time) daily {
	age := int(stat.Sub(a.published).Hours() / 24)
	if age < 0 || age >= 30 || stat.After(g.yesterday) {
		return daily{}
	}
	r := g.rng("article", stat, int(a.msgDataID)*10+a.index)
	read := (200 + r.IntN(800)) / (age + 1)
	return daily{read: read, share: read / 8, zaikan: read / 20, like: read / 15, comment: read / 50, fav: read / 30, follow: read / 40, money: r.IntN(3) * 100}
}

func (g gen) articleDaily(day time.Time, reads bool) []any {
	var list []any
	for p := day.AddDate(0, 0, -29); !p.After(day); p = p.AddDate(0, 0, 1) {
		for _, a := range g.articlesOf(p) {
			d := g.articleDay(a, day)
			if d.read == 0 {
				continue // only articles whose figures changed (spec §4.7)
			}
			var detail map[string]any
			if reads {
				detail = map[string]any{"read_user": d.read, "read_user_source": readSources(d.read)}
			} else {
				detail = map[string]any{"share_user": d.share}
			}
			list = append(list, map[string]any{"ref_date": day.Format(time.DateOnly), "msgid": a.msgid(), "detail": detail})
		}
	}
	return nonNil(list)
}

func readSources(total int) []any {
	msg := total / 2
	return []any{
		map[string]any{"user_count": total, "scene_desc": "全部"},
		map[string]any{"user_count": msg, "scene_desc": "公众号消息"},
		map[string]any{"user_count": total - msg, "scene_desc": "其他"},
	}
}

func (g gen) bizSummary(day time.Time) map[string]any {
	var sum daily
	for p := day.AddDate(0, 0, -29); !p.After(day); p = p.AddDate(0, 0, 1) {
		for _, a := range g.articlesOf(p) {
			d := g.articleDay(a, day)
			sum.read += d.read
			sum.share += d.share
			sum.zaikan += d.zaikan
			sum.like += d.like
			sum.comment += d.comment
			sum.fav += d.fav
		}
	}
	return map[string]any{"ref_date": day.Format(time.DateOnly), "detail": map[string]any{
		"read_user": sum.read, "read_user_source": readSources(sum.read), "share_user": sum.share,
		"zaikan_user": sum.zaikan, "like_user": sum.like, "comment_count": sum.comment,
		"collection_user": sum.fav, "redirect_ori_page_user": sum.read / 25, "send_page_count": 1,
	}}
}

// userRead is the legacy account-level reads of one day per reading
// channel: the "all" row (99999999) with the ten counters, and chat
// (0) and Moments (2) rows with only the intermediate-page reads and
// shares, which do not add up to the "all" row (spec §4.5).
func (g gen) userRead(day time.Time) []any {
	var sum daily
	for p := day.AddDate(0, 0, -29); !p.After(day); p = p.AddDate(0, 0, 1) {
		for _, a := range g.articlesOf(p) {
			d := g.articleDay(a, day)
			sum.read += d.read
			sum.share += d.share
			sum.fav += d.fav
		}
	}
	if sum.read == 0 {
		return nil
	}
	date := day.Format(time.DateOnly)
	row := func(source, read, share, ori, fav int) map[string]any {
		return map[string]any{"ref_date": date, "user_source": source,
			"int_page_read_user": read, "int_page_read_count": read * 5 / 4,
			"ori_page_read_user": ori, "ori_page_read_count": ori * 6 / 5,
			"share_user": share, "share_count": share * 5 / 4,
			"add_to_fav_user": fav, "add_to_fav_count": fav}
	}
	return []any{
		row(99999999, sum.read, sum.share, sum.read/25, sum.fav),
		row(0, sum.read*2/3, sum.share/2, 0, 0),
		row(2, sum.read/3+sum.read/10, sum.share/2+1, 0, 0),
	}
}

// articleTotalDetail answers the cumulative curve of the articles published
// on day, tracked for at most track days and never past yesterday. legacy
// shapes it as getarticletotal (details[] of the old counters).
func (g gen) articleTotalDetail(day time.Time, track int, legacy bool) []any {
	var list []any
	for _, a := range g.articlesOf(day) {
		var cum daily
		var details []any
		for i := 0; i < track; i++ {
			stat := day.AddDate(0, 0, i)
			if stat.After(g.yesterday) {
				break
			}
			d := g.articleDay(a, stat)
			cum.read += d.read
			cum.share += d.share
			cum.zaikan += d.zaikan
			cum.like += d.like
			cum.comment += d.comment
			cum.fav += d.fav
			cum.follow += d.follow
			cum.money += d.money
			if legacy {
				details = append(details, map[string]any{
					"stat_date": stat.Format(time.DateOnly), "target_user": g.cumulate(day),
					"int_page_read_user": cum.read, "int_page_read_count": cum.read * 5 / 4,
					"ori_page_read_user": cum.read / 25, "ori_page_read_count": cum.read / 20,
					"share_user": cum.share, "share_count": cum.share * 5 / 4,
					"add_to_fav_user": cum.fav, "add_to_fav_count": cum.fav,
				})
				continue
			}
			details = append(details, map[string]any{
				"stat_date": stat.Format(time.DateOnly), "read_user": cum.read, "read_user_source": readSources(cum.read),
				"share_user": cum.share, "zaikan_user": cum.zaikan, "like_user": cum.like, "comment_count": cum.comment,
				"collection_user": cum.fav, "praise_money": cum.money, "read_subscribe_user": cum.follow,
				"read_delivery_rate": 0.12, "read_finish_rate": 0.4, "read_avg_activetime": 1.5,
				"read_jump_position": []any{map[string]any{"position": 1, "rate": 0.9}, map[string]any{"position": 5, "rate": 0.3}},
			})
		}
		item := map[string]any{"ref_date": day.Format(time.DateOnly), "msgid": a.msgid(), "title": a.title()}
		if legacy {
			item["details"] = nonNil(details)
		} else {
			item["content_url"] = a.contentURL(g.appID)
			item["publish_type"] = 0
			item["detail_list"] = nonNil(details)
		}
		list = append(list, item)
	}
	return nonNil(list)
}

// articleSummary is the legacy per-article day, omitting articles under
// the threshold of 3 (spec §4.0).
func (g gen) articleSummary(day time.Time) []any {
	var list []any
	for p := day.AddDate(0, 0, -6); !p.After(day); p = p.AddDate(0, 0, 1) {
		for _, a := range g.articlesOf(p) {
			d := g.articleDay(a, day)
			if d.read+d.read/25+d.share+d.share*5/4+d.fav*2 < 3 {
				continue
			}
			list = append(list, map[string]any{
				"ref_date": day.Format(time.DateOnly), "msgid": a.msgid(), "title": a.title(), "user_source": 0,
				"int_page_read_user": d.read, "int_page_read_count": d.read * 5 / 4,
				"ori_page_read_user": d.read / 25, "ori_page_read_count": d.read / 20,
				"share_user": d.share, "share_count": d.share * 5 / 4, "add_to_fav_user": d.fav, "add_to_fav_count": d.fav,
			})
		}
	}
	return nonNil(list)
}
