package demo

import (
	"strconv"
	"time"
)

// The demo shop sells fresh food, like the SDK captures ("Lychee gift box").
// Everything here is fixed reference data: what varies between runs comes
// from the seed.

type category struct {
	id, name string
}

var categories = []category{
	{"C_FRUIT", "新鲜水果"},
	{"C_VEG", "时令蔬菜"},
	{"C_MEAT", "肉禽蛋品"},
	{"C_SEA", "海鲜水产"},
	{"C_DAIRY", "乳品烘焙"},
	{"C_SNACK", "休闲零食"},
	{"C_DRINK", "酒水饮料"},
	{"C_GIFT", "礼盒专区"},
}

// spu is a product; its skus are the variants a customer can buy.
type spu struct {
	id, name, keyword string
	cat               int
	first             int // index of the first variant in catalogue.skus
	skus              []sku
}

type sku struct {
	id, name     string
	spu          int
	priceFen     int64 // current price
	origFen      int64 // original price, >= priceFen
	popularity   float64
	imageURL     string
	categoryJSON []byte // ,"sku_category":[...]
	skuSPUJSON   []byte // ,"sku":{...},"spu":{...}
	saleJSON     []byte // ,"sale":{...}
	imageJSON    []byte // ,"primary_image_url":"..."
}

// spuSpec is the compact form the catalogue is written in: name, search
// keyword, category, and variants as "name:price:original" in yuan.
type spuSpec struct {
	name, keyword string
	cat           int
	variants      []string
}

var spuSpecs = []spuSpec{
	{"妃子笑荔枝", "荔枝", 0, []string{"妃子笑荔枝 2kg 礼盒:49.9:69.9", "妃子笑荔枝 1kg:29.9:39.9"}},
	{"智利车厘子", "车厘子", 0, []string{"智利车厘子 JJ级 2斤:89:128", "智利车厘子 JJJ级 5斤 礼盒:259:329"}},
	{"丹东草莓", "草莓", 0, []string{"丹东99草莓 3斤:79.9:99", "丹东草莓 1.5斤:42.8:49.9"}},
	{"海南金煌芒", "芒果", 0, []string{"海南金煌芒 5斤:39.9:59.9"}},
	{"赣南脐橙", "橙子", 0, []string{"赣南脐橙 10斤:45.8:59.8", "赣南脐橙 5斤:25.8:32"}},
	{"阳光玫瑰葡萄", "葡萄", 0, []string{"阳光玫瑰葡萄 2串:36.9:45"}},
	{"泰国金枕榴莲", "榴莲", 0, []string{"泰国金枕榴莲 4-5斤:168:218"}},
	{"新疆哈密瓜", "哈密瓜", 0, []string{"新疆哈密瓜 2个装:32.9:39.9"}},
	{"广西沃柑", "沃柑", 0, []string{"广西沃柑 5斤:26.9:35"}},
	{"云南蓝莓", "蓝莓", 0, []string{"云南蓝莓 125g*4盒:59:79", "云南蓝莓 125g*2盒:32:39.9"}},
	{"有机小番茄", "番茄", 1, []string{"有机小番茄 500g:12.8:15.8"}},
	{"山东大葱", "大葱", 1, []string{"山东大葱 1kg:6.9:8.9"}},
	{"云南高山娃娃菜", "娃娃菜", 1, []string{"高山娃娃菜 3颗:9.9:12.9"}},
	{"东北黑土土豆", "土豆", 1, []string{"黑土土豆 2.5kg:11.9:14.9"}},
	{"内蒙古羔羊肉卷", "羊肉", 2, []string{"羔羊肉卷 500g:45.9:59", "羔羊肉卷 1kg:85:109"}},
	{"谷饲牛排", "牛排", 2, []string{"谷饲西冷牛排 10片:128:168", "谷饲眼肉牛排 5片:88:118"}},
	{"散养土鸡蛋", "鸡蛋", 2, []string{"散养土鸡蛋 30枚:35.9:42", "散养土鸡蛋 12枚:16.8:19.9"}},
	{"黑猪五花肉", "五花肉", 2, []string{"黑猪五花肉 500g:32.8:39.9"}},
	{"厄瓜多尔白虾", "虾", 3, []string{"厄瓜多尔白虾 2kg 盒装:109:139", "厄瓜多尔白虾 1kg:59.9:75"}},
	{"阳澄湖大闸蟹", "大闸蟹", 3, []string{"阳澄湖大闸蟹 8只 礼券:398:588"}},
	{"挪威三文鱼", "三文鱼", 3, []string{"挪威三文鱼刺身 200g:49.9:59.9"}},
	{"鲜牛奶", "牛奶", 4, []string{"低温鲜牛奶 950ml*2:23.9:27.8", "低温鲜牛奶 250ml*10:39.9:49"}},
	{"希腊酸奶", "酸奶", 4, []string{"希腊酸奶 原味 100g*6:29.9:35.4"}},
	{"全麦吐司", "吐司", 4, []string{"全麦吐司 400g:12.9:15.9"}},
	{"每日坚果", "坚果", 5, []string{"每日坚果 25g*30袋:89:129", "每日坚果 25g*7袋:25.9:32"}},
	{"芒果干", "芒果干", 5, []string{"芒果干 500g:29.9:36"}},
	{"海苔脆", "海苔", 5, []string{"海苔脆 36g*6:19.9:25"}},
	{"椰子水", "椰子水", 6, []string{"100%椰子水 1L*6:49.9:65"}},
	{"精酿啤酒", "啤酒", 6, []string{"精酿白啤 500ml*12:79:99"}},
	{"冷萃咖啡", "咖啡", 6, []string{"冷萃咖啡液 25ml*20:59:79"}},
	{"鲜果礼盒", "礼盒", 7, []string{"时令鲜果礼盒 豪华款:199:259", "时令鲜果礼盒 经典款:129:169"}},
	{"端午粽子礼盒", "粽子", 7, []string{"端午粽子礼盒 8粽4蛋:88:128"}},
}

// keywords people type that do not name one product; they find a category
// (or nothing).
var genericKeywords = []struct {
	word string
	cat  int // -1: no results
}{
	{"水果", 0}, {"礼盒", 7}, {"蔬菜", 1}, {"海鲜", 3}, {"零食", 5}, {"饮料", 6},
	{"特价", 0}, {"早餐", 4}, {"火锅", 2}, {"进口水果", 0}, {"螺蛳粉", -1}, {"宠物粮", -1},
}

type shop struct {
	id, name, city string
	json           []byte // ,"chan_shop_id":...,"chan_shop_name":...
	storeInfo      []byte // ,"store_info":{...}
	shipJSON       []byte // ,"shipping_shop":{...}
}

var shops = func() []shop {
	list := []struct{ id, name, city string }{
		{"SHOP_SZ_001", "深圳海岸城店", "深圳"},
		{"SHOP_SZ_002", "深圳万象天地店", "深圳"},
		{"SHOP_GZ_001", "广州天河城店", "广州"},
		{"SHOP_GZ_002", "广州正佳广场店", "广州"},
		{"SHOP_SH_001", "上海静安寺店", "上海"},
		{"SHOP_SH_002", "上海陆家嘴店", "上海"},
		{"SHOP_BJ_001", "北京三里屯店", "北京"},
		{"SHOP_HZ_001", "杭州湖滨银泰店", "杭州"},
		{"SHOP_CD_001", "成都太古里店", "成都"},
		{"SHOP_WH_001", "武汉楚河汉街店", "武汉"},
	}
	out := make([]shop, len(list))
	for i, s := range list {
		var b []byte
		b = appendKStr(b, "chan_shop_id", s.id)
		b = appendKStr(b, "chan_shop_name", s.name)
		var si []byte
		si = append(si, `,"store_info":{"external_store_id":`...)
		si = appendStr(si, s.id)
		si = appendKStr(si, "store_name", s.name)
		si = appendKStr(si, "store_city", s.city)
		si = append(si, '}')
		var sh []byte
		sh = append(sh, `,"shipping_shop":{"shipping_shop_id":`...)
		sh = appendStr(sh, s.id)
		sh = appendKStr(sh, "shipping_shop_name", s.name)
		sh = append(sh, '}')
		out[i] = shop{id: s.id, name: s.name, city: s.city, json: b, storeInfo: si, shipJSON: sh}
	}
	return out
}()

// Guides (导购) work in shops; guide i works in shop i % len(shops).
const numGuides = 40

func guideID(i int) string {
	s := strconv.Itoa(i + 1)
	for len(s) < 4 {
		s = "0" + s
	}
	return "GUIDE_" + s
}

type liveRoom struct {
	id, title string
}

var liveRooms = []liveRoom{
	{"LIVE_ROOM_8848", "周末鲜果节直播"},
	{"LIVE_ROOM_9021", "海鲜产地直播"},
	{"LIVE_ROOM_9135", "店长带你逛新品"},
}

// adCampaign is a WeChat ad (朋友圈 / 公众号 / 小程序 placements); aid is
// the ad id that appears in weixinadinfo.
type adCampaign struct {
	aid    string
	chanID string
	scene  int
	weight float64
}

var adCampaigns = []adCampaign{
	{"20966864", "ad_moments_01", 1045, 3},
	{"3527901846", "ad_moments_02", 1045, 2},
	{"418204539", "ad_moments_native_01", 1084, 1.5},
	{"76003125", "ad_mp_article_bottom_01", 1067, 1},
	{"10452398817", "ad_wxapp_banner_01", 1095, 1},
	{"61829034", "ad_moments_detail_01", 1046, 1},
}

// article is an official-account article linking to the mini-program; it
// becomes chan_custom.
// ArticleMarker is the marker the demo's official account puts in the
// mini-program links of the article it publishes on day (a date in the
// app's zone): "oa-YYYYMMDD". The demo registers each with its article's
// link (cmd/shuyuan), so the article join maps it when the day is pulled.
func ArticleMarker(day time.Time) string { return "oa-" + day.Format("20060102") }

type article struct {
	id    string
	title string
	json  []byte // ,"chan_custom":{...}
}

var articles = func() []article {
	list := []struct{ id, title string }{
		{"12375", "荔枝季开抢：妃子笑产地直发"},
		{"12402", "618 囤货清单"},
		{"12451", "车厘子怎么挑？一文看懂 J 数"},
		{"12503", "会员日满199减30"},
		{"12577", "夏日冰饮指南"},
		{"12612", "大闸蟹礼券预售"},
	}
	out := make([]article, len(list))
	for i, a := range list {
		var b []byte
		b = append(b, `,"chan_custom":{"chan_custom_id":`...)
		b = appendStr(b, "mp-article-"+a.id)
		b = appendKStr(b, "chan_custom_id_desc", "公众号文章 "+a.id+"《"+a.title+"》")
		b = appendKStr(b, "chan_custom_cat_3", "mp-article")
		b = appendKStr(b, "chan_custom_cat_3_desc", "公众号图文")
		b = appendKStr(b, "chan_custom_cat_2", "official-account")
		b = appendKStr(b, "chan_custom_cat_2_desc", "公众号")
		b = append(b, '}')
		out[i] = article{id: a.id, title: a.title, json: b}
	}
	return out
}()

// partnerApps open the mini-program from theirs (scene 1037); chanID is what
// the partner puts in the path.
var partnerApps = []struct{ appID, chanID string }{
	{"wx9d4f5f62ea059f08", "8_ac3e76c2e5721f5f"},
	{"wx1122334455667788", "8_51b0d2c7e4f19a36"},
	{"wxa7c3e9b2d4f60185", "8_0f7d3b9a62c1e845"},
}

// device is a phone model with the system_info the SDK reports for it.
type device struct {
	weight float64
	json   []byte // ,"system_info":{...}
}

var devices = func() []device {
	list := []struct {
		w                               float64
		brand, model, wxv, system, plat string
		width, height, bench            int
	}{
		{9, "iPhone", "iPhone 13<iPhone14,5>", "8.0.47", "iOS 16.5", "ios", 390, 844, -1},
		{8, "iPhone", "iPhone 14 Pro<iPhone15,2>", "8.0.49", "iOS 17.4.1", "ios", 393, 852, -1},
		{6, "iPhone", "iPhone 15<iPhone15,4>", "8.0.50", "iOS 17.5", "ios", 393, 852, -1},
		{4, "iPhone", "iPhone 11<iPhone12,1>", "8.0.44", "iOS 15.7", "ios", 414, 896, -1},
		{3, "iPhone", "iPhone XR<iPhone11,8>", "8.0.42", "iOS 15.1", "ios", 414, 896, -1},
		{7, "HUAWEI", "NOH-AN00", "8.0.47", "Android 12", "android", 412, 915, 31},
		{5, "HONOR", "ANY-AN00", "8.0.49", "Android 13", "android", 393, 873, 28},
		{7, "Xiaomi", "23049RAD8C", "8.0.49", "Android 14", "android", 393, 873, 38},
		{5, "Redmi", "22081212C", "8.0.45", "Android 13", "android", 393, 851, 24},
		{6, "OPPO", "PHB110", "8.0.47", "Android 14", "android", 360, 800, 33},
		{6, "vivo", "V2309A", "8.0.48", "Android 14", "android", 396, 880, 35},
		{3, "OnePlus", "PHK110", "8.0.45", "Android 13", "android", 412, 915, 36},
		{2, "samsung", "SM-S9180", "8.0.44", "Android 14", "android", 384, 832, 40},
	}
	out := make([]device, len(list))
	for i, d := range list {
		var b []byte
		b = append(b, `,"system_info":{"brand":`...)
		b = appendStr(b, d.brand)
		b = appendKStr(b, "model", d.model)
		b = appendKStr(b, "version", d.wxv)
		b = appendKInt(b, "screenWidth", int64(d.width))
		b = appendKInt(b, "screenHeight", int64(d.height))
		b = appendKStr(b, "system", d.system)
		b = appendKStr(b, "platform", d.plat)
		b = appendKStr(b, "SDKVersion", "3.3.4")
		b = appendKInt(b, "benchmarkLevel", int64(d.bench))
		b = append(b, `,"LRA":false}`...)
		out[i] = device{weight: d.w, json: b}
	}
	return out
}()

// Banners on the home page, tapped through the SDK's element auto-track.
var banners = []string{"B001", "B002", "B003", "B004", "B005"}

// Coupons offered at checkout, in fen.
var couponsFen = []int64{500, 1000, 2000, 3000}

// catalogue is the product data with the JSON fragments precomputed, and
// popularity tables for weighted picks.
type catalogue struct {
	spus    []spu
	skus    []sku
	byCat   [][]int // sku indexes per category
	skuCum  []float64
	catCum  [][]float64
	keyword []struct {
		word string
		cat  int // -1: none
		spu  int // -1: a category search
	}
}

var cat = buildCatalogue()

func buildCatalogue() *catalogue {
	c := &catalogue{byCat: make([][]int, len(categories))}
	for si, sp := range spuSpecs {
		id := "P" + base62(fnv64(sp.name), 7)
		s := spu{id: id, name: sp.name, keyword: sp.keyword, cat: sp.cat, first: len(c.skus)}
		for vi, v := range sp.variants {
			name, price, orig := splitVariant(v)
			k := sku{
				id: id + "-" + strconv.Itoa(vi+1), name: name, spu: si, priceFen: price, origFen: orig,
			}
			// Zipf-like popularity: earlier products in a category and the
			// first variant sell more.
			k.popularity = 1 / float64(1+len(c.byCat[sp.cat])) / float64(1+vi)
			k.imageURL = "https://img.example.com/sku/" + k.id + ".jpg"
			var b []byte
			b = append(b, `,"sku":{"sku_id":`...)
			b = appendStr(b, k.id)
			b = appendKStr(b, "sku_name", k.name)
			b = append(b, `},"spu":{"spu_id":`...)
			b = appendStr(b, s.id)
			b = appendKStr(b, "spu_name", s.name)
			b = append(b, '}')
			k.skuSPUJSON = b
			b = nil
			b = append(b, `,"sku_category":[{"sku_cat_id":`...)
			b = appendStr(b, categories[sp.cat].id)
			b = appendKStr(b, "sku_cat_name", categories[sp.cat].name)
			b = append(b, `,"sku_parent_cat_id":null}]`...)
			k.categoryJSON = b
			b = nil
			b = append(b, `,"sale":{"original_price":`...)
			b = appendYuan(b, k.origFen)
			b = append(b, `,"current_price":`...)
			b = appendYuan(b, k.priceFen)
			k.saleJSON = append(b, '}')
			k.imageJSON = appendKStr(nil, "primary_image_url", k.imageURL)
			c.byCat[sp.cat] = append(c.byCat[sp.cat], len(c.skus))
			s.skus = append(s.skus, k)
			c.skus = append(c.skus, k)
		}
		c.spus = append(c.spus, s)
	}
	c.skuCum = cumulative(len(c.skus), func(i int) float64 { return c.skus[i].popularity })
	c.catCum = make([][]float64, len(categories))
	for ci, idx := range c.byCat {
		c.catCum[ci] = cumulative(len(idx), func(i int) float64 { return c.skus[idx[i]].popularity })
	}
	for si, sp := range c.spus {
		c.keyword = append(c.keyword, struct {
			word string
			cat  int
			spu  int
		}{sp.keyword, sp.cat, si})
	}
	for _, g := range genericKeywords {
		c.keyword = append(c.keyword, struct {
			word string
			cat  int
			spu  int
		}{g.word, g.cat, -1})
	}
	return c
}

func splitVariant(v string) (name string, price, orig int64) {
	// "name:price:orig", prices in yuan with at most two decimals.
	parts := [3]string{}
	n := 0
	start := len(v)
	for i := len(v) - 1; i >= 0 && n < 2; i-- {
		if v[i] == ':' {
			parts[2-n] = v[i+1 : start]
			start = i
			n++
		}
	}
	parts[0] = v[:start]
	return parts[0], yuanToFen(parts[1]), yuanToFen(parts[2])
}

// yuanToFen parses the catalogue's fixed prices; they are written by hand
// above, so a malformed one is a programming error caught by the tests.
func yuanToFen(s string) int64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return int64(f*100 + 0.5)
}

func cumulative(n int, w func(int) float64) []float64 {
	out := make([]float64, n)
	sum := 0.0
	for i := range n {
		sum += w(i)
		out[i] = sum
	}
	return out
}

const base62Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func base62(x uint64, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = base62Alphabet[x%62]
		x /= 62
	}
	return string(b)
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
