package order

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// parseOrders reads and checks an add_order body.
func parseOrders(body []byte) (string, []store.Order, *Error) {
	c, src, items, err := envelope(body, "orders")
	if err != nil {
		return "", nil, err
	}
	orders := make([]store.Order, 0, len(items))
	for i, it := range items {
		o, ok := asObject(c, it.value(), fmt.Sprintf("orders[%d]", i))
		if !ok {
			continue
		}
		orders = append(orders, readOrder(o, it.raw))
	}
	if err := c.err(); err != nil {
		return "", nil, err
	}
	return src, orders, nil
}

func readOrder(o obj, raw json.RawMessage) store.Order {
	r := store.Order{
		ExternalID:    o.id("external_order_id", true),
		CreateTime:    o.ms("create_time", true),
		Source:        o.str("order_source", true),
		Type:          o.integer("order_type", true, 1, math.MaxInt32),
		BrandID:       o.id("brand_id", false),
		BrandName:     o.str("brand_name", false),
		GoodsNumTotal: o.integer("goods_num_total", true, 0, math.MaxInt32),
		GoodsFen:      o.yuan("goods_amount_total", true),
		FreightFen:    o.yuan("freight_amount", true),
		OrderFen:      o.yuan("order_amount", true),
		PayableFen:    o.yuan("payable_amount", true),
		PaymentFen:    o.yuan("payment_amount", true),
		Status:        o.status("order_status"),
		StatusTime:    o.ms("status_change_time", true),
		Deleted:       o.integer("is_deleted", false, 0, 1) == 1,
		Raw:           raw,
	}
	if r.Source != "" && !orderSources[r.Source] {
		o.c.add(o.field("order_source"), "must be one of wxapp, app, mobileweb, pcweb, offstore_pos_manual, offstore_pos_self_help, other; got %q", r.Source)
	}
	if Paid(r.Status) {
		r.PaidTime = r.StatusTime
	}

	if u, ok := o.object("user_info", true); ok {
		r.OpenID = u.str("open_id", r.Source == "wxapp")
		r.UnionID = u.str("union_id", false)
		r.WxAppID = u.str("app_id", false)
		r.UserID = u.id("user_id", false)
		r.MemberID = u.id("member_id", false)
		u.ms("user_first_order_time", false)
	}

	if goods, ok := o.array("goods_info", true); ok {
		if len(goods) == 0 {
			o.c.add(o.field("goods_info"), "must not be empty")
		}
		r.Goods = make([]store.Goods, 0, len(goods))
		for j, graw := range goods {
			g, ok := asObject(o.c, graw, fmt.Sprintf("%s[%d]", o.field("goods_info"), j))
			if !ok {
				continue
			}
			r.Goods = append(r.Goods, readGoods(g, &r))
		}
	}

	payments, hasPayments := o.array("payment_info", r.Status != 0 && r.Status != StatusAwaitingPayment)
	if hasPayments && len(payments) == 0 && r.Status != 0 && r.Status != StatusAwaitingPayment {
		o.c.add(o.field("payment_info"), "must not be empty unless order_status is 1110")
	}
	for j, praw := range payments {
		p, ok := asObject(o.c, praw, fmt.Sprintf("%s[%d]", o.field("payment_info"), j))
		if !ok {
			continue
		}
		t := p.id("payment_type", false)
		if r.PaymentType == "" {
			r.PaymentType = t
		}
		p.id("trans_id", false)
		p.yuan("trans_amount", false)
	}

	coupons, _ := o.array("coupon_info", false)
	for j, craw := range coupons {
		if cp, ok := asObject(o.c, craw, fmt.Sprintf("%s[%d]", o.field("coupon_info"), j)); ok {
			r.CouponFen += cp.yuan("coupon_amount_total", false)
		}
	}
	return r
}

func readGoods(g obj, r *store.Order) store.Goods {
	out := store.Goods{
		SKUID:        g.id("external_sku_id", true),
		SKUName:      g.str("sku_name_chinese", true),
		GoodsFen:     g.yuan("goods_amount", true),
		PaymentFen:   g.yuan("payment_amount", true),
		SPUID:        g.id("external_spu_id", true),
		SPUName:      g.str("spu_name_chinese", true),
		Num:          g.integer("goods_num", true, 0, math.MaxInt32),
		Gift:         g.integer("is_gift", false, 0, 1) == 1,
		CategoryID:   g.id("category_id", false),
		CategoryName: g.str("category_name", false),
	}
	g.str("primary_image_url", false)
	g.number("goods_weight", false)
	if st, ok := g.object("store_info", false); ok {
		out.StoreID = st.id("external_store_id", false)
		out.StoreName = st.str("store_name", false)
		st.str("store_city", false)
		if r.StoreID == "" && out.StoreID != "" {
			r.StoreID, r.StoreName = out.StoreID, out.StoreName
		}
	}
	chans, _ := g.array("chan_info", false)
	for k, craw := range chans {
		ch, ok := asObject(g.c, craw, fmt.Sprintf("%s[%d]", g.field("chan_info"), k))
		if !ok {
			continue
		}
		id := ch.str("chan_id", false)
		refer := ch.str("chan_refer_app_id", false)
		// guide_id is not in the spec; some merchants tag their guides so.
		guide := ch.id("guide_id", false)
		var custom string
		if cc, ok := ch.object("chan_custom", false); ok {
			custom = cc.id("chan_custom_id", false)
		}
		var scene int64
		// Clients spell the scene object chan_wxapp or chan_weapp.
		for _, key := range []string{"chan_wxapp", "chan_weapp"} {
			if w, ok := ch.object(key, false); ok {
				if s := w.sceneOf("chan_scene"); s != 0 && scene == 0 {
					scene = s
				}
			}
		}
		if out.ChanID == "" {
			out.ChanID = id
		}
		if out.ChanCustomID == "" {
			out.ChanCustomID = custom
		}
		if r.ChanID == "" && id != "" {
			r.ChanID, r.ChanReferAppID = id, refer
		}
		if r.ChanCustomID == "" {
			r.ChanCustomID = custom
		}
		if r.ChanScene == 0 {
			r.ChanScene = scene
		}
		if r.GuideID == "" {
			r.GuideID = guide
		}
	}
	return out
}
