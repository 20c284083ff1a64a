package web

import (
	"html/template"
	"regexp"
	"strconv"
	"strings"
)

// The merchant-facing words of the dashboard that are not column labels:
// what each page shows and where its data comes from, why a page can be
// empty, the names of behaviours, scenes, statuses and options, and the
// errors of a question. Every table is [zh, en].

// pick returns w's word in lang.
func pick(lang string, w [2]string) string {
	if lang == langEN {
		return w[1]
	}
	return w[0]
}

// descriptions say what a page shows and where its figures come from, for
// a merchant rather than for an API client (the API index keeps the
// analyses' own descriptions).
var descriptions = map[string][2]string{
	"overview": {
		"店铺每天的流量与成交：访客、新访客、访问次数、浏览量、停留时长，搜索、加购、下单和支付的人数，订单、成交额、客单价和支付转化率。访问数据来自小程序里的数源 SDK；订单优先用商户后台上报的数据，没有时用 SDK 上报的订单。",
		"Your shop's traffic and sales, day by day: visitors, new visitors, visits, page views, time spent, people who searched, added to cart, ordered and paid, orders, GMV, average order value and pay conversion. Visits come from the shuyuan SDK in your mini-program; orders from your backend where it reports them, else from the SDK.",
	},
	"totals": {
		"所选日期范围整体的数字：访客、支付人数等按人去重，不是每日数字相加。",
		"The selected range as a whole: visitors, paying users and the like count each person once, not the sum of the days.",
	},
	"funnel": {
		"有多少用户按顺序完成了每一步（默认：浏览商品 → 加入购物车 → 支付订单），每一步都须在上一步之后的时间窗口内完成。条形长度与人数成正比，两步之间标出流失。可按导购、直播间、广告、门店或渠道分组比较。",
		"How many users did each step in order (by default: view a product → add to cart → pay an order), each within the time window after the previous one. Bar lengths are proportional to users, and the drop-off between steps is marked. Group by guide, live room, ad, store or channel to compare them.",
	},
	"retention": {
		"按首次访问日期分组的新用户，在之后第 1–7、14、30 天再次访问的比例。颜色越深，回访越多；尚未到来的日子留空。",
		"New users grouped by the day of their first visit, and the share of them who came back on days 1–7, 14 and 30 after it. The darker the cell, the more came back; days still to come are left empty.",
	},
	"skus": {
		"每个商品（SKU）的曝光、点击、详情页浏览、加购、下单和成交。点击率 = 点击次数 ÷ 曝光次数。成交件数与成交额来自订单。点商品可看它每天的数字和曝光到详情的漏斗。",
		"Each product (SKU): exposures, clicks, detail views, add-to-carts, orders and sales. Click-through rate = clicks ÷ exposures. Paid units and GMV come from the orders. Open a product for its daily figures and its exposure-to-detail funnel.",
	},
	"search": {
		"用户在小程序里搜索的关键词：搜索次数、搜索人数，以及搜索后点击了商品的次数和比例。点击率低的词说明用户没找到想要的商品。",
		"The keywords people searched for in your mini-program: searches, searchers, and how many searches were followed by a product click. A low click rate means people did not find what they looked for.",
	},
	"channels": {
		"访客从哪里来：按渠道编号、微信场景值和自定义渠道的各级分类，统计访客、访问次数、支付人数、支付订单和成交额。“（无）”是没有带这个渠道信息的访问。",
		"Where visitors came from: by channel id, WeChat scene and each level of your custom channels — visitors, visits, paying users, paid orders and GMV. \"(none)\" is the visits that carried no such channel.",
	},
	"guides": {
		"每位导购带来的访客、分享次数、加购人数，以及归属该导购的订单、支付人数、成交额和退款。导购来自 SDK 的渠道信息和后台订单。点导购可看每天的数字和他的转化漏斗。",
		"Each shopping guide: the visitors they brought, shares, add-to-cart users, and the orders, paying users, GMV and refunds credited to them. Guides come from the SDK's channel and from backend orders. Open a guide for their daily figures and funnel.",
	},
	"live": {
		"每个视频号直播间带来的访客、访问次数、停留时长、商品曝光、点击和加购，以及归属直播间的订单和成交额。点直播间可看每天的数字和转化漏斗。",
		"Each Channels live room: the visitors and visits it brought, time spent, product exposures, clicks and add-to-carts, and the orders and GMV credited to it. Open a room for its daily figures and funnel.",
	},
	"stores": {
		"每家门店（SDK 的门店渠道、后台订单的门店信息）的访客、商品曝光、点击、详情页浏览、加购、订单、成交额和客单价。点门店可看每天的数字和转化漏斗。",
		"Each store (the SDK's store channel, the store of backend orders): visitors, product exposures, clicks, detail views, add-to-carts, orders, GMV and average order value. Open a store for its daily figures and funnel.",
	},
	"official-account": {
		"从公众号进入的用户（公众号场景值、公众号 AppID、文章链接）以及已知 UnionID 的用户：访客、买家、成交额，以及买家中已知 UnionID 的比例。第一行是全部用户，作为对比。",
		"Users who came in through your official account (its scenes, its appid, its article links) and users whose UnionID is known: visitors, buyers, GMV, and the share of buyers whose UnionID is known. The first row is all users, for comparison.",
	},
	"articles": {
		"每天每篇公众号文章：微信的阅读人数、分享人数和阅读后关注，对比从文章里带标记的小程序链接（`chan_id`）进入的访问次数、访客、下单人数、支付订单和成交额。“无标记”是从文章场景（1058、1091）进入却没带标记的访问；“文章场景合计”是全部文章场景的访问，旁边是微信自己统计的来自文章的访问，用来核对。",
		"Each day and official-account article: WeChat's readers, sharers and follows after reading, beside the sessions, visitors, ordering users, paid orders and GMV of the visits that came through a mini-program link carrying one of its markers (`chan_id`). \"No marker\" is the visits from article scenes (1058, 1091) without a marker; \"All article scenes\" is every such visit, beside WeChat's own count of visits from articles, as a check.",
	},
	"wechat-visits": {
		"每天微信官方统计的小程序访问（数源从微信拉取的访问趋势：打开次数、访问人数、新用户、页面访问次数），对比数源 SDK 同一天记录的访问次数、访客、新访客和浏览量。差异为负说明有访问没有被 SDK 记录，例如页面没接入 SDK。",
		"Each day: WeChat's own visit figures of the mini-program (the visit trend shuyuan pulls from WeChat: sessions, visitors, new users, page views) beside the sessions, visitors, new visitors and page views the shuyuan SDK recorded that day. A negative difference means visits the SDK did not record, such as pages without the SDK.",
	},
	"ads": {
		"每天每条微信广告带来的访客、新访客、加购人数，归因到广告的订单、支付人数和成交额，以及回传给微信广告的转化：已回传、待回传、回传失败，以及重发（微信的应答丢失后再次发送，微信只计一次）。“未知广告”是带点击 ID 却没有广告编号的访问。",
		"Each day and WeChat ad: the visitors, new visitors and add-to-cart users it brought, the orders, paying users and GMV attributed to it, and the conversions reported to WeChat Ads: reported, pending, failed, and re-sent (sent again after WeChat's answer was lost; WeChat counts them once). \"Unknown ad\" is visits with a click id but no ad id.",
	},
	"orders": {
		"商户后台通过数据接口（`add_order`）上报的订单，按天统计：下单、支付、成交额、支付人数、退款和平均每笔支付金额。",
		"The orders your backend reports through the data API (add_order), per day: placed, paid, GMV, paying users, refunds and the average paid order.",
	},
	"reconciliation": {
		"对账：商户每天上报的订单汇总（`add_order_sum`），对比数源收到的后台订单和 SDK 订单。“一致”表示四个数字完全相同；“不一致”要查漏报或重复；“未上报汇总”表示那天没有收到汇总。",
		"Reconciliation: the daily order totals your backend reports (add_order_sum) beside the backend orders and the SDK orders shuyuan received. \"Matches\" means all four figures are equal; \"Differs\" calls for a look at missing or doubled orders; \"No totals\" means no totals arrived for that day.",
	},
	"pages": {
		"每个页面每天的浏览：微信官方的页面访问数据（由后台通过 `add_wxapp_visit_page` 上报；没有上报的日子用数源自己从微信拉取的数据）与数源 SDK 自己记录的浏览对比，差异大说明有页面没接入 SDK。",
		"Each page, each day: WeChat's own page-visit figures (reported by your backend through `add_wxapp_visit_page`; on days it reported none, the ones shuyuan pulled from WeChat) beside the views the shuyuan SDK recorded; a large difference means a page without the SDK.",
	},
	"events": {
		"每天每种行为的上报次数和人数，用来检查 SDK 是否接入完整：某种行为突然为零，通常是某个页面漏了埋点。",
		"Each day and behaviour: the events your mini-program sent and the users who sent them — a check that the SDK is wired in everywhere: a behaviour that drops to zero usually means a page lost its tracking.",
	},
}

// emptyStates say why a page has no rows for the range and what to do.
var emptyStates = map[string][2]string{
	"default": {
		"所选日期内没有数据。请换一个日期范围，或确认小程序已接入数源 SDK（`serverUrl` 指向本服务的 `/api/report`）。",
		"No data in this date range. Try another range, or check that the mini-program runs the SDK with its `serverUrl` pointing at this server's `/api/report`.",
	},
	"orders": {
		"还没有收到后台订单：这一页只统计商户后台通过 `add_order` 上报的订单（见 `docs/data-api.md`）。SDK 上报的订单在“概览”和“对账”中。",
		"No backend orders yet: this page counts only the orders your backend reports through `add_order` (see `docs/data-api.md`). Orders the SDK reports are on the Overview and Reconciliation pages.",
	},
	"reconciliation": {
		"没有可对账的数据：请让商户后台每天通过 `add_order_sum` 上报订单汇总，并通过 `add_order` 上报订单（见 `docs/data-api.md`）。",
		"Nothing to reconcile: have your backend report each day's totals through `add_order_sum` and its orders through `add_order` (see `docs/data-api.md`).",
	},
	"pages": {
		"没有页面数据：微信的页面访问数据由商户后台通过 `add_wxapp_visit_page` 上报（见 `docs/data-api.md`），SDK 的浏览来自 `browse_wxapp_page` 事件。",
		"No page data: WeChat's page-visit figures come from your backend through `add_wxapp_visit_page` (see `docs/data-api.md`), the SDK's views from `browse_wxapp_page` events.",
	},
	"ads": {
		"没有广告数据：只有带 `gdt_vid` 或 `weixinadinfo` 点击 ID 进入的访问才算广告访问；广告转化需要在配置中为小程序设置 `ads`（见 `docs/wechat-ads.md`）。",
		"No ad data: only visits that arrive with a `gdt_vid` or `weixinadinfo` click id count as ad visits; conversions need the app's `ads` settings (see `docs/wechat-ads.md`).",
	},
	"guides": {
		"没有导购数据：导购来自 SDK 的 `setChan({guide_id})` 或后台订单商品行的 `guide_id`。",
		"No guide data: guides come from the SDK's `setChan({guide_id})` or the `guide_id` of backend order lines.",
	},
	"live": {
		"没有直播间数据：从视频号直播间进入的访问由 SDK 自动带上 `room_id`。",
		"No live-room data: visits from a Channels live room carry its `room_id`, which the SDK adds by itself.",
	},
	"stores": {
		"没有门店数据：门店来自 SDK 的 `setChan({chan_shop_id})`、`store_info`，或后台订单的门店信息。",
		"No store data: stores come from the SDK's `setChan({chan_shop_id})`, `store_info`, or the store of backend orders.",
	},
	"official-account": {
		"没有公众号相关的访问：公众号文章、菜单、消息进入的访问会带上对应的场景值；文章链接可在 `chan_custom_id` 中带上文章前缀。",
		"No official-account visits: visits from its articles, menu and messages carry their WeChat scenes; article links can carry their prefix in `chan_custom_id`.",
	},
	"articles": {
		"没有文章数据：文章的阅读和分享来自数源从微信拉取的公众号数据（配置 `official_account` 和 `wechat_pull`），访问和订单来自文章里带标记的小程序链接（如 `pages/index/index?chan_id=oa-spring`，标记在 `/api/v1/apps/{app}/article-markers` 登记，见 `docs/wechat-data.md`）。",
		"No article data: reads and shares come from the official-account data shuyuan pulls from WeChat (configure `official_account` and `wechat_pull`), visits and orders from mini-program links in the articles that carry a marker (e.g. `pages/index/index?chan_id=oa-spring`, registered at `/api/v1/apps/{app}/article-markers`; see `docs/wechat-data.md`).",
	},
	"wechat-visits": {
		"没有访问数据：微信的访问趋势由数源每天从微信拉取（配置 `wx_secret` 和 `wechat_pull`，见 `docs/wechat-data.md`），SDK 的访问来自小程序上报的事件。",
		"No visit data: WeChat's visit trend is pulled by shuyuan every day (configure `wx_secret` and `wechat_pull`, see `docs/wechat-data.md`); the SDK's visits come from the events the mini-program sends.",
	},
	"search": {
		"所选日期内没有搜索：搜索来自 SDK 的 `search` 事件。",
		"No searches in this range: searches come from the SDK's `search` events.",
	},
	"skus": {
		"所选日期内没有商品行为：商品数据来自 SDK 的商品曝光、点击、详情页和加购事件。",
		"No product activity in this range: products come from the SDK's exposure, click, detail-page and add-to-cart events.",
	},
}

// emptyState is the empty page's explanation for an analysis.
func emptyState(lang, name string) string {
	if w, ok := emptyStates[name]; ok {
		return pick(lang, w)
	}
	return pick(lang, emptyStates["default"])
}

// behaviourLabels name the SDK's event types.
var behaviourLabels = map[string][2]string{
	"app_launch":               {"启动小程序", "App launch"},
	"app_show":                 {"小程序切到前台", "App shown"},
	"exit_wxapp":               {"离开小程序", "App exit"},
	"browse_wxapp_page":        {"浏览页面", "Page view"},
	"leave_wxapp_page":         {"离开页面", "Page leave"},
	"page_share_app_message":   {"分享", "Share"},
	"page_pull_down_refresh":   {"下拉刷新", "Pull to refresh"},
	"page_reach_bottom":        {"页面触底", "Scrolled to bottom"},
	"search":                   {"搜索", "Search"},
	"expose_sku_component":     {"商品曝光", "Product exposure"},
	"trigger_sku_component":    {"商品点击", "Product click"},
	"browse_sku_page":          {"浏览商品", "Product view"},
	"add_to_cart":              {"加入购物车", "Add to cart"},
	"custom_order":             {"订单", "Order"},
	"element":                  {"元素点击（SDK）", "Element click (SDK)"},
	"sdk_config_info":          {"SDK 配置信息", "SDK configuration"},
	"logid_events":             {"SDK 日志编号", "SDK log ids"},
	"sdk_error_log":            {"SDK 错误日志", "SDK error log"},
	"sdk api exec error":       {"SDK 接口错误", "SDK API error"},
	"remove_from_cart":         {"移出购物车", "Remove from cart"},
	"append_to_cart":           {"加入购物车", "Add to cart"},
	"append_to_cart_in_cart":   {"购物车内加购", "Add in cart"},
	"remove_from_cart_in_cart": {"购物车内减购", "Remove in cart"},
}

// orderStatusLabels name custom_order's statuses.
var orderStatusLabels = map[string][2]string{
	"give_order":        {"已下单", "placed"},
	"cancel_pay":        {"取消支付", "payment cancelled"},
	"cancel_give_order": {"取消订单", "order cancelled"},
	"pay":               {"发起支付", "payment started"},
	"payed":             {"已支付", "paid"},
	"refund":            {"已退款", "refunded"},
}

// behaviourParts splits a funnel step's display into its translated name
// and a qualifier that is the merchant's data (a SKU id, a page, a
// keyword), "" when the qualifier has a name of its own.
func behaviourParts(lang, s string) (string, string) {
	typ, qual, hasQual := strings.Cut(s, ":")
	name, ok := behaviourLabels[typ]
	if !ok || !hasQual {
		return behaviour(lang, s), ""
	}
	if _, named := orderStatusLabels[qual]; named && typ == "custom_order" {
		return behaviour(lang, s), ""
	}
	if _, named := behaviourLabels[qual]; named {
		return behaviour(lang, s), ""
	}
	return pick(lang, name), qual
}

// behaviour names an event type, or a funnel step written type:qualifier
// ("custom_order:payed" → "订单（已支付）"). An unknown type is shown as it
// came, since it is the merchant's own name.
func behaviour(lang, s string) string {
	typ, qual, hasQual := strings.Cut(s, ":")
	name, ok := behaviourLabels[typ]
	if !ok {
		return s
	}
	out := pick(lang, name)
	if !hasQual {
		return out
	}
	if w, ok := orderStatusLabels[qual]; ok && typ == "custom_order" {
		qual = pick(lang, w)
	} else if w, ok := behaviourLabels[qual]; ok {
		qual = pick(lang, w)
	}
	if lang == langEN {
		return out + " (" + qual + ")"
	}
	return out + "（" + qual + "）"
}

// valueLabels name the fixed values some string columns hold, by column.
var valueLabels = map[string]map[string][2]string{
	"kind": {
		"behaviour": {"用户行为", "behaviour"},
		"sdk":       {"SDK 自身", "SDK's own"},
		"unknown":   {"自定义", "custom"},
		// The articles analysis's lines.
		"article":        {"文章", "article"},
		"no_marker":      {"无标记", "No marker"},
		"article_scenes": {"文章场景合计", "All article scenes"},
	},
	"wx_source": {
		"pushed": {"后台上报", "your backend"},
		"pulled": {"数源拉取", "shuyuan's pull"},
	},
	"status": {
		"ok":      {"一致", "Matches"},
		"differs": {"不一致", "Differs"},
		"no_sum":  {"未上报汇总", "No totals"},
	},
	"group": {
		"all":              {"全部用户", "All users"},
		"official_account": {"从公众号进入", "Came from the official account"},
		"scene":            {"公众号场景", "Official-account scene"},
		"account":          {"公众号 AppID", "Official-account AppID"},
		"article":          {"公众号文章", "Article"},
	},
	"dimension": {
		"chan_id":           {"渠道编号", "Channel id"},
		"scene":             {"微信场景", "WeChat scene"},
		"chan_custom_cat_1": {"自定义渠道一级", "Custom channel, level 1"},
		"chan_custom_cat_2": {"自定义渠道二级", "Custom channel, level 2"},
		"chan_custom_cat_3": {"自定义渠道三级", "Custom channel, level 3"},
		"chan_custom_id":    {"自定义渠道编号", "Custom channel id"},
	},
}

// noneLabels name the "none" bucket of a key column: the rows of visits or
// orders that carried no value of it.
var noneLabels = map[string][2]string{
	"ad_id":    {"未知广告（无广告编号）", "Unknown ad (no ad id)"},
	"guide_id": {"无导购", "No guide"},
	"room_id":  {"无直播间", "No live room"},
	"store_id": {"无门店", "No store"},
	"chan_id":  {"无渠道", "No channel"},
	"value":    {"（无）", "(none)"},
	"sku_id":   {"无商品编号", "No SKU id"},
	"keyword":  {"（空关键词）", "(empty keyword)"},
	"page":     {"（无页面）", "(no page)"},
}

// Error rules of analysis.BadRequest and the API, in Chinese. The rules
// are the analyses' own English sentences; a rule without a translation
// here is shown in English, and TestErrorsTranslated lists every rule the
// analyses can give.
var errorRules = []struct {
	re *regexp.Regexp
	zh string
}{
	{regexp.MustCompile(`^required \(YYYY-MM-DD\)$`), "必须填写（格式 `YYYY-MM-DD`）"},
	{regexp.MustCompile(`^must be a date YYYY-MM-DD, got (".*")$`), "应为日期（格式 `YYYY-MM-DD`），收到 `$1`"},
	{regexp.MustCompile(`^must not be before from$`), "不能早于开始日期"},
	{regexp.MustCompile(`^range is (\d+) days; at most (\d+)$`), "范围为 $1 天，最多 $2 天"},
	{regexp.MustCompile(`^must be one of (.*); got (".*")$`), "应为以下之一：`$1`；收到 `$2`"},
	{regexp.MustCompile(`^must be a whole number from (\d+) to (\d+), got (".*")$`), "应为 $1 到 $2 之间的整数，收到 `$3`"},
	{regexp.MustCompile(`^must be a duration such as 30m, 12h or 1d, got (".*")$`), "应为时长，如 30 分钟（`30m`）、12 小时（`12h`）或 1 天（`1d`），收到 `$1`"},
	{regexp.MustCompile(`^must be between 1s and 90d, got (".*")$`), "应在 1 秒到 90 天之间，收到 `$1`"},
	{regexp.MustCompile(`^at most (\d+) steps, got (\d+)$`), "最多 $1 步，收到 $2 步"},
	{regexp.MustCompile(`^step (\d+): want type or type:value \(type up to 64 characters\), got (".*")$`), "第 $1 步应为“行为”或“行为:取值”（行为最长 64 个字符），收到 `$2`"},
	{regexp.MustCompile(`^items must be at most (\d+) characters$`), "每项最长 $1 个字符"},
	{regexp.MustCompile(`^at most (\d+) items, got (\d+)$`), "最多 $1 项，收到 $2 项"},
	{regexp.MustCompile(`^required, at most (\d+) characters$`), "必须填写，最长 $1 个字符"},
}

// fieldLabels name the fields an error can be about.
var fieldLabels = map[string][2]string{
	"from": {"开始日期", "From"}, "to": {"结束日期", "To"},
	"steps": {"步骤", "Steps"}, "window": {"时间窗口", "Window"}, "by": {"分组", "Group by"},
	"sort": {"排序", "Sort by"}, "limit": {"显示条数", "Top N"}, "dimension": {"维度", "Dimension"},
	"accounts": {"公众号 AppID", "Official-account AppIDs"}, "articles": {"文章前缀", "Article prefixes"},
	"id": {"编号", "Id"},
}

// badRequest words an analysis.BadRequest for the page: the field by its
// label, the rule translated where a translation exists.
func badRequest(lang, field, rule string) string {
	f := field
	if w, ok := fieldLabels[field]; ok {
		f = pick(lang, w)
	}
	if lang == langEN {
		return f + ": " + rule
	}
	for _, r := range errorRules {
		if r.re.MatchString(rule) {
			return f + "：" + r.re.ReplaceAllString(rule, r.zh)
		}
	}
	return f + "：" + rule
}

// sceneLabels name WeChat's scene values (the official scene list of
// mini-programs), the ones a shop's visitors come through.
var sceneLabels = map[int][2]string{
	1000: {"其他", "Other"},
	1001: {"发现页小程序「最近使用」", "Discover: recently used"},
	1005: {"微信首页顶部搜索结果", "Top search results"},
	1006: {"小程序入口搜索结果", "Mini-program search results"},
	1007: {"单聊中的小程序卡片", "Card in a one-to-one chat"},
	1008: {"群聊中的小程序卡片", "Card in a group chat"},
	1011: {"扫描二维码", "QR code scan"},
	1012: {"长按识别二维码", "QR code in an image"},
	1013: {"相册中的二维码", "QR code from the album"},
	1014: {"小程序订阅消息", "Subscription message"},
	1017: {"体验版入口", "Trial version"},
	1019: {"微信钱包", "WeChat wallet"},
	1020: {"公众号主页的小程序列表", "Official account profile"},
	1022: {"聊天顶部置顶", "Pinned in chats"},
	1023: {"安卓桌面图标", "Android home-screen icon"},
	1024: {"小程序资料页", "Mini-program profile"},
	1025: {"扫描一维码", "Barcode scan"},
	1026: {"附近的小程序", "Nearby mini-programs"},
	1027: {"搜索结果「使用过的小程序」", "Search: used mini-programs"},
	1028: {"我的卡包", "Card wallet"},
	1029: {"卡券详情页", "Coupon details"},
	1030: {"自动化测试", "Automated test"},
	1031: {"长按识别一维码", "Barcode in an image"},
	1032: {"相册中的一维码", "Barcode from the album"},
	1034: {"微信支付完成页", "Payment completed"},
	1035: {"公众号自定义菜单", "Official-account menu"},
	1036: {"App 分享的消息卡片", "Card shared from an app"},
	1037: {"从其他小程序打开", "Opened from another mini-program"},
	1038: {"从其他小程序返回", "Back from another mini-program"},
	1039: {"摇电视", "Shake TV"},
	1042: {"添加好友搜索", "Add-friend search"},
	1043: {"公众号模板消息", "Official-account template message"},
	1044: {"带转发标记的群卡片", "Group card with shareTicket"},
	1045: {"朋友圈广告", "Moments ad"},
	1046: {"朋友圈广告详情页", "Moments ad details"},
	1047: {"扫描小程序码", "Mini-program code scan"},
	1048: {"长按识别小程序码", "Mini-program code in an image"},
	1049: {"相册中的小程序码", "Mini-program code from the album"},
	1052: {"卡券适用门店", "Coupon's stores"},
	1053: {"搜一搜结果页", "WeChat Search results"},
	1054: {"顶部搜索快捷入口", "Search shortcut"},
	1056: {"音乐播放器菜单", "Music player menu"},
	1057: {"银行卡详情页", "Bank card details"},
	1058: {"公众号文章", "Official-account article"},
	1059: {"体验版邀请页", "Trial invitation"},
	1064: {"连 Wi-Fi 状态栏", "Wi-Fi status bar"},
	1067: {"公众号文章广告", "Article ad"},
	1068: {"附近小程序广告", "Nearby-list ad"},
	1069: {"移动应用", "Mobile app"},
	1071: {"银行卡列表页", "Bank cards"},
	1072: {"二维码收款页", "QR payment page"},
	1073: {"客服消息卡片", "Customer-service card"},
	1074: {"公众号会话卡片", "Card in an official-account chat"},
	1077: {"摇周边", "Shake nearby"},
	1078: {"连 Wi-Fi 成功页", "Wi-Fi connected"},
	1079: {"微信游戏中心", "Game center"},
	1081: {"客服消息文字链", "Customer-service text link"},
	1082: {"公众号会话文字链", "Text link in an official-account chat"},
	1084: {"朋友圈广告原生页", "Moments ad native page"},
	1088: {"系统消息", "System message"},
	1089: {"聊天下拉「最近使用」", "Chat pull-down: recently used"},
	1090: {"右上角菜单最近使用", "Recent history menu"},
	1091: {"公众号文章商品卡片", "Product card in an article"},
	1092: {"城市服务", "City services"},
	1095: {"小程序广告组件", "Mini-program ad component"},
	1096: {"聊天记录", "Chat history"},
	1097: {"微信支付签约页", "Payment contract page"},
	1099: {"页面内嵌插件", "Embedded plugin"},
	1102: {"公众号主页服务预览", "Official-account profile services"},
	1103: {"发现页「我的小程序」", "Discover: my mini-programs"},
	1104: {"聊天下拉「我的小程序」", "Chat pull-down: my mini-programs"},
	1106: {"聊天下拉搜索结果", "Chat pull-down search"},
	1107: {"订阅消息", "Subscription message"},
	1113: {"安卓负一屏", "Android minus-one screen"},
	1114: {"安卓侧边栏", "Android side bar"},
	1124: {"扫描“一物一码”", "One-item-one-code scan"},
	1125: {"长按识别“一物一码”", "One-item-one-code in an image"},
	1126: {"相册中的“一物一码”", "One-item-one-code from the album"},
	1129: {"微信爬虫", "WeChat crawler"},
	1131: {"浮窗", "Floating window"},
	1133: {"硬件设备", "Hardware device"},
	1135: {"小程序资料页相关小程序", "Related mini-programs"},
	1144: {"公众号文章视频贴片", "Article video ad"},
	1145: {"发现页「发现小程序」", "Discover mini-programs"},
	1146: {"地理位置打开出行小程序", "Opened by location"},
	1148: {"卡包交通卡", "Transit card"},
	1150: {"扫商品条码结果页", "Product barcode result"},
	1153: {"“识物”结果页", "Object recognition"},
	1154: {"朋友圈单页模式", "Moments single-page mode"},
	1155: {"单页模式打开", "Single-page mode"},
	1157: {"服务号会话页", "Service-account chat"},
	1158: {"群工具", "Group tools"},
	1160: {"群待办", "Group to-do"},
	1167: {"H5 开放标签", "H5 open tag"},
	1168: {"移动或网站应用直接运行", "Run from an app or site"},
	1169: {"发现页生活服务", "Life services"},
	1171: {"微信运动记录", "WeRun"},
	1173: {"聊天素材用小程序打开", "Chat material"},
	1175: {"视频号主页店铺", "Channels profile shop"},
	1176: {"视频号直播间主播", "Channels live room (host)"},
	1177: {"视频号直播间商品", "Channels live-room product"},
	1178: {"在电脑上继续", "Continued on a PC"},
	1179: {"话题页", "Hashtag page"},
	1181: {"网站应用打开电脑版", "Website opens the PC version"},
	1183: {"电脑版小程序面板", "PC mini-program panel"},
	1184: {"视频号链接", "Channels link"},
	1185: {"群公告", "Group notice"},
	1186: {"收藏笔记", "Favourites note"},
	1187: {"新版浮窗", "Floating window (8.0+)"},
	1189: {"表情雨广告", "Emoji-rain ad"},
	1191: {"视频号活动", "Channels event"},
	1193: {"视频号主页服务菜单", "Channels service menu"},
	1194: {"URL 链接", "URL link"},
	1195: {"视频号主页商品页", "Channels product tab"},
	1196: {"个人状态", "Personal status"},
	1200: {"视频号广告", "Channels ad"},
	1201: {"视频号广告详情页", "Channels ad details"},
	1207: {"企业微信联系人资料页", "WeCom contact profile"},
	1208: {"聊天中「我的订单」", "My orders in a chat"},
	1215: {"广告预约", "Ad reservation"},
	1216: {"视频号订单中心", "Channels order center"},
	1223: {"安卓桌面小组件", "Android widget"},
	1228: {"视频号原生广告组件", "Channels native ad"},
	1230: {"订阅号 H5 广告", "Subscription-account H5 ad"},
	1231: {"动态消息提醒", "Activity reminder"},
	1232: {"搜一搜竞价广告", "WeChat Search ad"},
	1238: {"看一看信息流广告", "Top Stories feed ad"},
	1242: {"小程序发现页", "Mini-program discovery"},
}

// sceneName names a scene value: "1089 · 聊天下拉「最近使用」".
func sceneName(lang, code string) string {
	n, err := strconv.Atoi(code)
	if err != nil {
		return code
	}
	if w, ok := sceneLabels[n]; ok {
		return code + " · " + pick(lang, w)
	}
	return code // a number reads the same in both languages
}

// richText writes s as HTML, with `code` spans as <code translate="no">:
// API names in a merchant's sentence are not words to translate.
func richText(s string) template.HTML {
	var b strings.Builder
	for i, part := range strings.Split(s, "`") {
		if i%2 == 1 {
			b.WriteString(`<code translate="no">` + template.HTMLEscapeString(part) + `</code>`)
			continue
		}
		b.WriteString(template.HTMLEscapeString(part))
	}
	return template.HTML(b.String()) //nolint:gosec // every part escaped
}

// plainText drops richText's backticks, for places that take text only.
func plainText(s string) string { return strings.ReplaceAll(s, "`", "") }
