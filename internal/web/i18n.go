package web

import (
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The languages of the dashboard. Chinese is the default: the merchants
// and their staff are in China, and a browser that names neither language
// most likely belongs to one of them.
const (
	langZH      = "zh"
	langEN      = "en"
	defaultLang = langZH
	langCookie  = "shuyuan_lang"
)

// ui holds the dashboard's own words, by key, in both languages.
var ui = map[string][2]string{ // [zh, en]
	"product":           {"数源", "shuyuan"},
	"login":             {"登录", "Log in"},
	"logout":            {"退出", "Log out"},
	"name":              {"用户名", "Name"},
	"name_hint":         {"使用管理密钥时留空", "leave empty for the admin key"},
	"password":          {"密码或管理密钥", "Password or admin key"},
	"bad_login":         {"用户名或密码错误。", "Wrong name or password."},
	"too_many_logins":   {"登录失败次数过多，请 %d 秒后再试。", "Too many failed logins; try again in %d s."},
	"store_unavailable": {"数据库暂时不可用，请稍后再登录。", "The store is unavailable for a moment; log in again shortly."},
	"expired":           {"登录已过期，请重新登录。", "Your session has ended; please log in again."},
	"apps":              {"小程序", "Apps"},
	"analyses":          {"分析", "Analyses"},
	"from":              {"开始日期", "From"},
	"to":                {"结束日期", "To"},
	"apply":             {"查询", "Apply"},
	"csv":               {"导出 CSV", "Export CSV"},
	"timezone":          {"时区", "Time zone"},
	"no_apps":           {"还没有配置小程序：请在配置文件的 apps 中添加。", "No app is configured yet: add one under apps in the config file."},
	"not_found":         {"页面不存在。", "Page not found."},
	"unknown_app":       {"没有这个小程序：", "No such app: "},
	"unknown_name":      {"没有这个分析：", "No such analysis: "},
	"bad_request":       {"查询有误：", "The question is not valid: "},
	"failed":            {"分析失败，请稍后再试。请求编号：", "The analysis failed; please try again. Request id: "},
	"rows_cut":          {"仅显示前 %d 行，CSV 中有全部 %d 行。", "Showing the first %d of %d rows; the CSV has them all."},
	"top_n":             {"前 %d 项", "top %d"},
	"chart_by":          {"图表指标", "Chart"},
	"parameters":        {"参数", "Parameters"},
	"total":             {"合计", "Total"},
	"language":          {"语言", "Language"},
	"param_steps":       {"步骤（逗号分隔）", "Steps (comma-separated)"},
	"param_window":      {"步骤间隔上限", "Window between steps"},
	"param_by":          {"分组", "Group by"},
	"param_sort":        {"排序", "Sort by"},
	"param_limit":       {"显示条数", "Top N"},
	"param_dimension":   {"维度（默认全部）", "Dimension (default: all)"},
	"param_accounts":    {"公众号 AppID（逗号分隔）", "Official-account AppIDs (comma-separated)"},
	"param_articles":    {"文章的自定义渠道前缀", "Article custom-channel prefixes"},
	"param_id":          {"编号", "Id"},
	"param_none":        {"（无）", "(none)"},
	"user_admin":        {"管理员", "admin"},
	"login_title":       {"登录数源", "Log in to shuyuan"},
	"required_login":    {"请先登录。", "Please log in."},

	// Units and the words the charts' script writes.
	"unit_h":     {"小时", "h"},
	"unit_min":   {"分", "min"},
	"unit_s":     {"秒", "s"},
	"unit_ms":    {"毫秒", "ms"},
	"partial":    {"今天（未完）", "today (so far)"},
	"no_value":   {"无数据", "no data"},
	"dropped":    {"流失", "lost"},
	"of_first":   {"占首步", "of step 1"},
	"of_prev":    {"占上一步", "of the step before"},
	"users_unit": {"人", "users"},
	"wan":        {"万", "0k"},
	"yi":         {"亿", "00M"},
	"list_sep":   {"、", ", "},
	"colon":      {"：", ": "},

	// Pages.
	"range":                   {"日期范围", "Date range"},
	"preset_today":            {"今天", "Today"},
	"preset_yesterday":        {"昨天", "Yesterday"},
	"preset_7d":               {"近 7 天", "Last 7 days"},
	"preset_30d":              {"近 30 天", "Last 30 days"},
	"preset_month":            {"本月", "This month"},
	"relay_idle":              {"有数转发：全部已送达（保留期内 %s 条）。", "Youshu relay: everything delivered (%s kept)."},
	"relay_pending":           {"有数转发：%s 条待送达，最早的已等待 %s；已送达 %s 条。", "Youshu relay: %s waiting, the oldest for %s; %s delivered."},
	"relay_dead":              {"有数拒收 %s 条：修正后运行 shuyuan relay replay --app %s 重新发送。", "Youshu refused %s: once fixed, shuyuan relay replay --app %s sends them again."},
	"pull_all":                {"微信数据（%s）：近 %d 天均已拉取。", "WeChat's data (%s): all of the last %d days pulled."},
	"pull_days":               {"微信数据（%s）：近期 %d 天已拉取，%d 天待拉取（数据未就绪时稍后重试）。", "WeChat's data (%s): %d recent days pulled, %d still owed (tried again while not ready)."},
	"pull_failed":             {"%d 天拉取失败，最近一次：%s。修正后运行 shuyuan pull --app %s --from %s --to %s 重新拉取。", "%d failed, the last with: %s. Once fixed, shuyuan pull --app %s --from %s --to %s tries them again."},
	"pull_unknown":            {"微信数据：暂时无法读取拉取状态。", "WeChat's data: the pull's state cannot be read just now."},
	"family_mini_program":     {"小程序", "mini-program"},
	"family_official_account": {"公众号", "official account"},
	"relay_unknown":           {"有数转发：暂时无法读取转发状态。", "Youshu relay: its state cannot be read just now."},
	"partial_note":            {"所选范围包含今天，今天的数字截至 %s，尚不完整；与上一周期相比会偏低。", "The range includes today, whose figures run only to %s: they are not complete, and lower than a whole day's."},
	"cards_title":             {"所选范围整体", "The range as a whole"},
	"vs_prev":                 {"较上一周期", "vs the period before"},
	"prev_was":                {"上一周期", "Before"},
	"pp":                      {" 个百分点", " pts"},
	"new_value":               {"新增", "new"},
	"more_in_legend":          {"先显示前 %d 项，共 %d 项，点图例可显示其余", "the first %d of %d shown; click the legend for the rest"},
	"funnel_title":            {"转化漏斗", "Funnel"},
	"funnel_by_title":         {"各分组的转化漏斗", "Funnel by group"},
	"retention_title":         {"各首访日期的回访比例", "Share back, by first-visit day"},
	"last_n_cohorts":          {"仅画出最近 %d 个首访日期", "the last %d first-visit days drawn"},
	"total_all_rows":          {"合计包含全部行。", "The total covers every row."},
	"sort_hint":               {"点表头排序", "click a header to sort"},
	"table_label":             {"明细", "Figures"},
	"detail_desc":             {"这一项在所选范围内每天的数字，以及它的转化漏斗。", "Its figures day by day over the range, and its funnel."},
	"detail_cut":              {"详情最多按天列出 %d 天：显示的是所选范围的最后几天。", "A detail lists at most %d days: these are the last days of the range."},
	"back_to":                 {"返回%s", "Back to %s"},
	"no_article_funnel":       {"漏斗不能按公众号文章分组；请在“渠道”页按自定义渠道查看文章带来的访客和成交。", "The funnel cannot be grouped by article; see the Channels page, by custom channel, for the visitors and sales an article brought."},
	"daily_title":             {"每天", "Day by day"},
	"open_detail":             {"查看每天的数字和漏斗", "daily figures and funnel"},
}

// t looks up a UI word; a missing key shows itself, so it is noticed.
func t(lang, key string) string {
	w, ok := ui[key]
	if !ok {
		return key
	}
	if lang == langEN {
		return w[1]
	}
	return w[0]
}

// analysisLabels name the analyses in the nav and the titles.
var analysisLabels = map[string][2]string{ // [zh, en]
	"overview":         {"概览", "Overview"},
	"funnel":           {"转化漏斗", "Funnel"},
	"retention":        {"留存", "Retention"},
	"skus":             {"商品", "Products"},
	"search":           {"搜索", "Search"},
	"channels":         {"渠道", "Channels"},
	"guides":           {"导购", "Shopping guides"},
	"live":             {"直播", "Live rooms"},
	"stores":           {"门店", "Stores"},
	"official-account": {"公众号", "Official account"},
	"articles":         {"公众号文章", "Articles"},
	"wechat-visits":    {"微信访问对比", "WeChat vs shuyuan"},
	"orders":           {"订单", "Orders"},
	"reconciliation":   {"对账", "Reconciliation"},
	"pages":            {"页面", "Pages"},
	"ads":              {"广告", "Ads"},
	"events":           {"行为事件", "Events"},
	"totals":           {"范围合计", "Range totals"},
}

// analysisLabel names an analysis in lang, or shows its name.
func analysisLabel(lang, name string) string {
	w, ok := analysisLabels[name]
	if !ok {
		return name
	}
	if lang == langEN {
		return w[1]
	}
	return w[0]
}

// labels are the names of the columns analyses return, in both languages. Add a word here when an analysis brings a new column; a
// name not listed falls back to the analysis's own Label, then to itself.
var labels = map[string][2]string{ // [zh, en]
	// Dimensions.
	"day":               {"日期", "Day"},
	"date":              {"日期", "Date"},
	"hour":              {"小时", "Hour"},
	"cohort":            {"首访日期", "First visit"},
	"first_day":         {"首访日期", "First visit"},
	"type":              {"行为", "Behaviour"},
	"kind":              {"类别", "Kind"},
	"step":              {"第几步", "Step #"},
	"step_index":        {"步骤序号", "Step #"},
	"group":             {"分组", "Group"},
	"by":                {"分组", "Group"},
	"dimension":         {"维度", "Dimension"},
	"value":             {"取值", "Value"},
	"sku_id":            {"SKU 编号", "SKU id"},
	"sku_name":          {"商品名称", "Product"},
	"spu_id":            {"SPU 编号", "SPU id"},
	"spu_name":          {"SPU 名称", "SPU name"},
	"keyword":           {"搜索词", "Keyword"},
	"chan_id":           {"渠道", "Channel"},
	"scene":             {"场景值", "Scene"},
	"chan_wxapp_scene":  {"场景值", "Scene"},
	"chan_custom":       {"自定义渠道", "Custom channel"},
	"chan_custom_id":    {"自定义渠道", "Custom channel"},
	"chan_custom_id_1":  {"一级渠道", "Custom channel 1"},
	"chan_custom_id_2":  {"二级渠道", "Custom channel 2"},
	"chan_custom_id_3":  {"三级渠道", "Custom channel 3"},
	"chan_custom_id_4":  {"四级渠道", "Custom channel 4"},
	"chan_refer_app_id": {"来源 AppID", "Referring app"},
	"guide_id":          {"导购编号", "Guide"},
	"guide_name":        {"导购姓名", "Guide name"},
	"room_id":           {"直播间编号", "Live room"},
	"room_name":         {"直播间名称", "Live room name"},
	"store_id":          {"门店编号", "Store id"},
	"store_name":        {"门店名称", "Store"},
	"chan_shop_id":      {"门店编号", "Store id"},
	"chan_shop_name":    {"门店名称", "Store"},
	"ad_id":             {"广告编号", "Ad id"},
	"ad_name":           {"广告名称", "Ad name"},
	"campaign_id":       {"计划", "Campaign"},
	"adgroup_id":        {"广告组", "Ad group"},
	"click_id":          {"点击 ID", "Click id"},
	"action_type":       {"行为类型", "Action type"},
	"page":              {"页面", "Page"},
	"page_title":        {"页面标题", "Page title"},
	"title":             {"标题", "Title"},
	"order_id":          {"订单号", "Order"},
	"status":            {"状态", "Status"},
	"order_status":      {"订单状态", "Order status"},
	"source":            {"来源", "Source"},
	"open_id":           {"OpenID", "OpenID"},
	"union_id":          {"UnionID", "UnionID"},
	"entry":             {"入口", "Entry"},
	"article_id":        {"文章", "Article"},

	// People and visits.
	"events":                {"事件数", "Events"},
	"users":                 {"用户数", "Users"},
	"visitors":              {"访问人数", "Visitors"},
	"new_visitors":          {"新访客", "New visitors"},
	"new_users":             {"新用户", "New users"},
	"returning_visitors":    {"老访客", "Returning visitors"},
	"sessions":              {"访问次数", "Sessions"},
	"page_views":            {"浏览量", "Page views"},
	"pv":                    {"浏览量", "Page views"},
	"uv":                    {"访客数", "Visitors"},
	"views":                 {"浏览量", "Views"},
	"avg_stay_ms":           {"人均停留时长", "Average stay per visitor"},
	"stay_ms":               {"总停留时长", "Total stay time"},
	"avg_stay_time_ms":      {"平均停留时长", "Average stay"},
	"stay_time_ms":          {"停留时长", "Stay time"},
	"bounce_rate":           {"跳出率", "Bounce rate"},
	"exits":                 {"退出次数", "Exits"},
	"entries":               {"进入次数", "Entries"},
	"shares":                {"分享次数", "Shares"},
	"sharers":               {"分享人数", "Sharers"},
	"searchers":             {"搜索人数", "Searchers"},
	"searches":              {"搜索次数", "Searches"},
	"searches_with_click":   {"搜索后点击", "Searches with a click"},
	"searches_clicked":      {"搜索后点击", "Searches with a click"},
	"search_click_rate":     {"搜索点击率", "Search click rate"},
	"cart_users":            {"加购人数", "Add-to-cart users"},
	"add_to_cart_users":     {"加购人数", "Add-to-cart users"},
	"cart_units":            {"加购件数", "Add-to-cart units"},
	"add_to_cart_units":     {"加购件数", "Add-to-cart units"},
	"add_to_cart":           {"加购次数", "Add to cart"},
	"ordering_users":        {"下单人数", "Ordering users"},
	"order_users":           {"下单人数", "Ordering users"},
	"paying_users":          {"支付人数", "Paying users"},
	"payers":                {"支付人数", "Paying users"},
	"buyers":                {"购买人数", "Buyers"},
	"known_buyers":          {"已知 UnionID 买家", "Buyers with union_id"},
	"known_buyer_share":     {"UnionID 买家占比", "Share of buyers with union_id"},
	"union_users":           {"UnionID 用户", "Users with union_id"},
	"oa_users":              {"公众号来源用户", "Official-account users"},
	"oa_paying_users":       {"公众号来源支付人数", "Official-account paying users"},
	"oa_gmv_fen":            {"公众号来源成交额", "Official-account GMV"},
	"conversion":            {"较首步转化率", "Conversion from step 1"},
	"conversion_rate":       {"转化率", "Conversion"},
	"visitor_to_payer":      {"访问-支付转化率", "Visitor → payer"},
	"pay_conversion":        {"支付转化率", "Payment conversion"},
	"conversion_from_first": {"总转化率", "Conversion from first step"},
	"conversion_from_prev":  {"步骤转化率", "Conversion from previous step"},
	"rate":                  {"比率", "Rate"},
	"share":                 {"占比", "Share"},

	// SKUs.
	"exposures":      {"曝光次数", "Exposures"},
	"exposure_users": {"曝光人数", "Exposure users"},
	"clicks":         {"点击次数", "Clicks"},
	"click_users":    {"点击人数", "Click users"},
	"ctr":            {"点击率", "Click-through rate"},
	"click_rate":     {"点击率", "Click-through rate"},
	"detail_views":   {"详情页浏览", "Detail views"},
	"detail_users":   {"详情页访客", "Detail viewers"},
	"paid_units":     {"支付件数", "Paid units"},
	"units":          {"件数", "Units"},

	// Orders and money.
	"orders":          {"下单数", "Orders placed"},
	"paid_orders":     {"支付订单数", "Orders paid"},
	"refunds":         {"退款数", "Refunds"},
	"refund_orders":   {"退款订单数", "Refunded orders"},
	"refund_fen":      {"退款金额", "Refunds"},
	"refund_amount":   {"退款金额", "Refunds"},
	"gmv":             {"成交额", "GMV"},
	"gmv_fen":         {"成交额", "GMV"},
	"paid_fen":        {"后台：支付金额", "Backend: paid amount"},
	"pay_fen":         {"支付金额", "Paid"},
	"order_fen":       {"后台：下单金额", "Backend: order amount"},
	"amount_fen":      {"金额", "Amount"},
	"aov":             {"客单价", "Average order value"},
	"aov_fen":         {"客单价", "Average order value"},
	"avg_order_value": {"客单价", "Average order value"},
	"avg_order_fen":   {"客单价", "Average order value"},
	"price_fen":       {"价格", "Price"},

	// The analyses' own columns.
	"name":                {"步骤", "Step"},
	"step_conversion":     {"较上一步转化率", "Conversion from the step before"},
	"cart_adds":           {"加购次数", "Add-to-cart events"},
	"union_visitors":      {"已知 UnionID 访客", "Visitors with a known UnionID"},
	"union_buyers":        {"已知 UnionID 买家", "Buyers with a known UnionID"},
	"union_buyer_share":   {"已知 UnionID 买家占比", "Share of buyers with a known UnionID"},
	"dead":                {"回传失败", "Failed"},
	"sum_orders":          {"商户汇总：下单数", "Merchant totals: orders"},
	"sum_order_fen":       {"商户汇总：下单金额", "Merchant totals: order amount"},
	"sum_paid":            {"商户汇总：支付数", "Merchant totals: paid"},
	"sum_paid_fen":        {"商户汇总：支付金额", "Merchant totals: paid amount"},
	"paid":                {"后台：支付数", "Backend: paid"},
	"sdk_order_fen":       {"SDK：下单金额", "SDK: order amount"},
	"sdk_paid":            {"SDK：支付数", "SDK: paid"},
	"sdk_paid_fen":        {"SDK：支付金额", "SDK: paid amount"},
	"diff_orders":         {"后台−商户：下单数", "Backend − merchant: orders"},
	"diff_order_fen":      {"后台−商户：下单金额", "Backend − merchant: order amount"},
	"diff_paid":           {"后台−商户：支付数", "Backend − merchant: paid"},
	"diff_paid_fen":       {"后台−商户：支付金额", "Backend − merchant: paid amount"},
	"sdk_diff_orders":     {"SDK−商户：下单数", "SDK − merchant: orders"},
	"sdk_diff_order_fen":  {"SDK−商户：下单金额", "SDK − merchant: order amount"},
	"sdk_diff_paid":       {"SDK−商户：支付数", "SDK − merchant: paid"},
	"sdk_diff_paid_fen":   {"SDK−商户：支付金额", "SDK − merchant: paid amount"},
	"wx_pv":               {"微信：浏览量", "WeChat: views"},
	"wx_uv":               {"微信：访问人数", "WeChat: visitors"},
	"wx_stay_ms":          {"微信：每次浏览停留", "WeChat: stay per view"},
	"wx_entry_pv":         {"微信：入口次数", "WeChat: entries"},
	"wx_exit_pv":          {"微信：退出次数", "WeChat: exits"},
	"wx_share_pv":         {"微信：分享次数", "WeChat: shares"},
	"wx_share_uv":         {"微信：分享人数", "WeChat: sharers"},
	"sdk_pv":              {"SDK：浏览量", "SDK: views"},
	"sdk_uv":              {"SDK：浏览人数", "SDK: users"},
	"diff_pv":             {"浏览量差（SDK−微信）", "Views: SDK − WeChat"},
	"wx_source":           {"微信数据来源", "WeChat figures from"},
	"pulled_pv":           {"微信（数源拉取）：浏览量", "WeChat, pulled by shuyuan: views"},
	"msgid":               {"文章编号", "Article (msgid)"},
	"published":           {"发布日期", "Published"},
	"markers":             {"文章标记", "Markers"},
	"read_users":          {"微信：阅读人数", "WeChat: readers"},
	"share_users":         {"微信：分享人数", "WeChat: sharers"},
	"follows":             {"微信：阅读后关注", "WeChat: follows after reading"},
	"wx_article_sessions": {"微信：来自文章的访问次数", "WeChat: sessions from articles"},
	"wx_article_visitors": {"微信：来自文章的访问人数", "WeChat: visitors from articles"},
	"wx_sessions":         {"微信：打开次数", "WeChat: sessions"},
	"diff_sessions":       {"访问次数差（数源−微信）", "Sessions: shuyuan − WeChat"},
	"wx_visitors":         {"微信：访问人数", "WeChat: visitors"},
	"diff_visitors":       {"访问人数差（数源−微信）", "Visitors: shuyuan − WeChat"},
	"wx_new_visitors":     {"微信：新用户", "WeChat: new visitors"},
	"wx_page_views":       {"微信：访问次数（页面）", "WeChat: page views"},
	"diff_page_views":     {"浏览量差（数源−微信）", "Page views: shuyuan − WeChat"},

	// Reconciliation.
	"sdk_orders":      {"SDK：下单数", "SDK: orders"},
	"backend_orders":  {"后台订单数", "Backend orders"},
	"sdk_gmv_fen":     {"SDK 成交额", "SDK GMV"},
	"backend_gmv_fen": {"后台成交额", "Backend GMV"},
	"only_sdk":        {"仅 SDK", "SDK only"},
	"only_backend":    {"仅后台", "Backend only"},
	"mismatched":      {"不一致", "Mismatched"},
	"matched":         {"一致", "Matched"},
	"diff":            {"差异", "Difference"},
	"diff_fen":        {"金额差异", "Amount difference"},

	// Ads.
	"impressions":    {"曝光量", "Impressions"},
	"cost_fen":       {"花费", "Cost"},
	"cost":           {"花费", "Cost"},
	"conversions":    {"转化数", "Conversions"},
	"reported":       {"已回传转化", "Conversions reported"},
	"pending":        {"待回传转化", "Conversions pending"},
	"resent":         {"重发转化", "Conversions re-sent"},
	"failed":         {"回传失败", "Failed"},
	"roi":            {"ROI", "ROI"},
	"cpa_fen":        {"转化成本", "Cost per conversion"},
	"attributed_gmv": {"归因成交额", "Attributed GMV"},
}

// labelsIn override labels where an analysis gives a column a narrower
// meaning than elsewhere.
var labelsIn = map[string]map[string][2]string{
	"reconciliation": {
		"orders": {"后台：下单数", "Backend: orders"},
	},
	"orders": {
		"avg_order_fen": {"平均每笔支付金额", "Average paid order"},
	},
	"funnel": {
		"users": {"完成人数", "Users"},
	},
}

// colLabel names a column of analysis an in lang.
func colLabel(lang, an, name, given string) string {
	if w, ok := labelsIn[an][name]; ok {
		return pick(lang, w)
	}
	return label(lang, name, given)
}

// Retention and other per-day-offset columns: d1, day1, day_1, day_14...
var dayN = regexp.MustCompile(`^(?:d|day_?)(\d{1,3})$`)

// label names a column in lang: the table above, then the
// label the analysis gave, then the raw name.
func label(lang, name, given string) string {
	if w, ok := labels[name]; ok {
		if lang == langEN {
			return w[1]
		}
		return w[0]
	}
	if m := dayN.FindStringSubmatch(name); m != nil {
		if lang == langEN {
			return "Day " + m[1]
		}
		return "第 " + m[1] + " 日"
	}
	if given != "" {
		return given
	}
	return name
}

// langOf picks the language of a request: the cookie set by ?lang=, else
// the best of Accept-Language, else Chinese.
func langOf(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil && validLang(c.Value) {
		return c.Value
	}
	return fromAcceptLanguage(r.Header.Get("Accept-Language"))
}

func validLang(s string) bool { return s == langZH || s == langEN }

// fromAcceptLanguage returns the first of zh and en in the header's order
// of preference (by q, then by position).
func fromAcceptLanguage(h string) string {
	type pref struct {
		lang string
		q    float64
	}
	var prefs []pref
	for _, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if validLang(primary) && q > 0 {
			prefs = append(prefs, pref{primary, q})
		}
	}
	if len(prefs) == 0 {
		return defaultLang
	}
	sort.SliceStable(prefs, func(i, j int) bool { return prefs[i].q > prefs[j].q })
	return prefs[0].lang
}
