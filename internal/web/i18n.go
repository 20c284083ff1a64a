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
	"store_unavailable": {"数据库暂时不可用，请稍后再登录。", "The store is unavailable for a moment; log in again shortly."},
	"too_many_logins":   {"登录失败次数过多，请 %d 秒后再试。", "Too many failed logins; try again in %d s."},
	"expired":           {"登录已过期，请重新登录。", "Your session has ended; please log in again."},
	"apps":              {"小程序", "Apps"},
	"analyses":          {"分析", "Analyses"},
	"from":              {"开始日期", "From"},
	"to":                {"结束日期", "To"},
	"apply":             {"查询", "Apply"},
	"csv":               {"导出 CSV", "Export CSV"},
	"timezone":          {"时区", "Time zone"},
	"no_data":           {"所选日期内没有数据。", "No data in this date range."},
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
	"step_of_first":     {"占首步", "of first"},
	"step_of_prev":      {"占上一步", "of previous"},
	"seconds":           {"秒", "s"},
	"total":             {"合计", "total"},
	"language":          {"语言", "Language"},
	"param_steps":       {"步骤（逗号分隔）", "Steps (comma-separated)"},
	"param_window":      {"步骤间隔上限", "Window between steps"},
	"param_by":          {"分组", "Group by"},
	"param_sort":        {"排序", "Sort by"},
	"param_limit":       {"显示条数", "Top N"},
	"param_dimension":   {"维度（默认全部）", "Dimension (default: all)"},
	"param_accounts":    {"公众号 appid（逗号分隔）", "Official-account appids (comma-separated)"},
	"param_articles":    {"文章 chan_custom_id 前缀", "Article chan_custom_id prefixes"},
	"param_none":        {"（无）", "(none)"},
	"user_admin":        {"管理员", "admin"},
	"login_title":       {"登录数源", "Log in to shuyuan"},
	"required_login":    {"请先登录。", "Please log in."},
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
	"orders":           {"订单", "Orders"},
	"reconciliation":   {"对账", "Reconciliation"},
	"pages":            {"页面", "Pages"},
	"ads":              {"广告", "Ads"},
	"events":           {"事件", "Events"},
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
	"type":              {"事件类型", "Event type"},
	"kind":              {"类别", "Kind"},
	"step":              {"步骤", "Step"},
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
	"guide_id":          {"导购", "Guide"},
	"guide_name":        {"导购姓名", "Guide name"},
	"room_id":           {"直播间", "Live room"},
	"room_name":         {"直播间名称", "Live room name"},
	"store_id":          {"门店编号", "Store id"},
	"store_name":        {"门店名称", "Store"},
	"chan_shop_id":      {"门店编号", "Store id"},
	"chan_shop_name":    {"门店名称", "Store"},
	"ad_id":             {"广告", "Ad"},
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
	"avg_stay_ms":           {"平均停留时长", "Average stay"},
	"stay_ms":               {"停留时长", "Stay time"},
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
	"conversion":            {"转化率", "Conversion"},
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
	"orders":          {"订单数", "Orders"},
	"paid_orders":     {"支付订单数", "Paid orders"},
	"refunds":         {"退款数", "Refunds"},
	"refund_orders":   {"退款订单数", "Refunded orders"},
	"refund_fen":      {"退款金额", "Refunds"},
	"refund_amount":   {"退款金额", "Refunds"},
	"gmv":             {"成交额", "GMV"},
	"gmv_fen":         {"成交额", "GMV"},
	"paid_fen":        {"支付金额", "Paid"},
	"pay_fen":         {"支付金额", "Paid"},
	"order_fen":       {"订单金额", "Order amount"},
	"amount_fen":      {"金额", "Amount"},
	"aov":             {"客单价", "Average order value"},
	"aov_fen":         {"客单价", "Average order value"},
	"avg_order_value": {"客单价", "Average order value"},
	"avg_order_fen":   {"客单价", "Average order value"},
	"price_fen":       {"价格", "Price"},

	// Reconciliation.
	"sdk_orders":      {"SDK 订单数", "SDK orders"},
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
	"reported":       {"已回传", "Reported"},
	"pending":        {"待回传", "Pending"},
	"failed":         {"回传失败", "Failed"},
	"roi":            {"ROI", "ROI"},
	"cpa_fen":        {"转化成本", "Cost per conversion"},
	"attributed_gmv": {"归因成交额", "Attributed GMV"},
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
