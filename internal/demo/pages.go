package demo

// The pages of the demo shop, and what a user does on each kind
// (session.onPage dispatches).

type pageKind uint8

const (
	pHome pageKind = iota
	pCategory
	pList
	pSearch
	pDetail
	pCart
	pConfirm
	pResult
	pOrders
	pMember
	pLive
)

type page struct {
	kind  pageKind
	route string // without query: what refer_page and is_newly_open use
	full  string // route?query: what props.page carries
	title string
	sku   int // detail
	cat   int // list
	room  int // live
	items []cartItem
	from  string // confirm: cart or detail
	order *order // result
	shown int64
}

func newPage(kind pageKind, route, title, query string) *page {
	p := &page{kind: kind, route: route, full: route, title: title}
	if query != "" {
		p.full = route + "?" + query
	}
	return p
}

func homePage(q string) *page { return newPage(pHome, "pages/index/index", "首页", q) }
func searchPage() *page       { return newPage(pSearch, "pages/search/index", "搜索", "") }
func categoryPage() *page     { return newPage(pCategory, "pages/category/index", "分类", "") }
func cartPage() *page         { return newPage(pCart, "pages/cart/index", "购物车", "") }
func ordersPage() *page       { return newPage(pOrders, "pages/order/list", "我的订单", "") }
func memberPage() *page       { return newPage(pMember, "pages/member/index", "我的", "") }
func listPage(c int) *page {
	p := newPage(pList, "pages/goods/list", "商品列表", "cat_id="+categories[c].id)
	p.cat = c
	return p
}
func livePage(room, q string) *page {
	return newPage(pLive, "pages/live/room", "直播间", "room_id="+room+q)
}

func detailPage(k int, extra string) *page {
	p := newPage(pDetail, "pages/goods/detail", "商品详情", "sku_id="+cat.skus[k].id+extra)
	p.sku = k
	return p
}

// onHome plays the home page.
func (s *session) onHome(p *page) *page {
	r := s.r
	s.wait(1200)
	s.exposeList(p, -1, 3+r.IntN(3))
	if r.Float64() < 0.10 {
		s.wait(2500)
		s.auto("page_pull_down_refresh", p)
		s.exposeList(p, -1, 2+r.IntN(3))
	}
	if r.Float64() < 0.35 {
		s.wait(3500)
		s.auto("page_reach_bottom", p)
		s.exposeList(p, -1, 3+r.IntN(3))
	}
	if r.Float64() < 0.2 {
		s.wait(2000)
		bi := r.IntN(len(banners))
		ds := appendKStr(nil, "banner_id", banners[bi])
		ds = appendKInt(ds, "position", int64(bi+1))
		s.element(p, "", "#onTapBanner", ds)
		if bi == len(banners)-1 {
			room := r.IntN(len(liveRooms))
			lp := livePage(liveRooms[room].id, "")
			lp.room = room
			return lp
		}
		return listPage(bi % len(categories))
	}
	s.wait(3000)
	cartW := 2.0
	if len(s.cart) > 0 {
		cartW = 12
	}
	switch s.choose(36, 18, 14, 4, 5, cartW, 16) {
	case 0:
		return s.toDetail(p)
	case 1:
		return searchPage()
	case 2:
		return categoryPage()
	case 3:
		room := r.IntN(len(liveRooms))
		lp := livePage(liveRooms[room].id, "")
		lp.room = room
		return lp
	case 4:
		return memberPage()
	case 5:
		return cartPage()
	}
	return nil

}

// onCategory plays the category page.
func (s *session) onCategory(p *page) *page {
	r := s.r
	s.wait(2500)
	c := r.IntN(len(categories))
	s.element(p, "components/category-nav/index", "#onTapCategory", appendKStr(nil, "cat_id", categories[c].id))
	if r.Float64() < 0.85 {
		return listPage(c)
	}
	return nil

}

// onList plays the list page.
func (s *session) onList(p *page) *page {
	r := s.r
	s.wait(1000)
	s.exposeList(p, p.cat, 4+r.IntN(4))
	if r.Float64() < 0.4 {
		s.wait(4000)
		s.auto("page_reach_bottom", p)
		s.exposeList(p, p.cat, 3+r.IntN(3))
	}
	if r.Float64() < 0.05 {
		s.wait(2000)
		s.auto("page_pull_down_refresh", p)
		s.exposeList(p, p.cat, 3+r.IntN(3))
	}
	switch s.choose(60, 10, 8, 22) {
	case 0:
		return s.toDetail(p)
	case 1:
		return homePage("")
	case 2:
		return searchPage()
	}
	return nil

}

// onSearch plays the search page.
func (s *session) onSearch(p *page) *page {
	r := s.r
	found := s.search(p)
	if r.Float64() < 0.2 {
		found = s.search(p)
	}
	if found > 0 {
		switch s.choose(62, 12, 26) {
		case 0:
			return s.toDetail(p)
		case 1:
			return homePage("")
		}
		return nil
	}
	if r.Float64() < 0.4 {
		return homePage("")
	}
	return nil

}

// onDetail plays the detail page.
func (s *session) onDetail(p *page) *page {
	r := s.r
	k := p.sku
	s.wait(300)
	i := s.skuEvent("browse_sku_page", p, k, true, false)
	s.image(i, k)
	s.wait(4000)
	s.exposeList(p, cat.spus[cat.skus[k].spu].cat, 1+r.IntN(3))
	if r.Float64() < 0.06 {
		s.wait(3000)
		s.share(p)
	}
	added := false
	switch x := r.Float64(); {
	case x < 0.24*s.buy:
		s.wait(3000)
		num := int64(1)
		if r.Float64() < 0.25 {
			num = 2 + r.Int64N(2)
		}
		s.addToCart(p, k, "append_to_cart", num)
		s.cart = append(s.cart, cartItem{k, num})
		added = true
	case x < 0.29*s.buy:
		s.wait(3000)
		cp := newPage(pConfirm, "pages/order/confirm", "确认订单", "from=detail")
		cp.items, cp.from = []cartItem{{k, 1}}, "detail"
		return cp
	}
	s.wait(2500)
	cartW := 0.0
	if added {
		cartW = 35
	} else if len(s.cart) > 0 {
		cartW = 6
	}
	switch s.choose(cartW, 28, 14, 8, 24) {
	case 0:
		return cartPage()
	case 1:
		return s.toDetail(p)
	case 2:
		return homePage("")
	case 3:
		return searchPage()
	}
	return nil

}

// onCart plays the cart page.
func (s *session) onCart(p *page) *page {
	r := s.r
	s.wait(2500)
	if len(s.cart) > 0 && r.Float64() < 0.15 {
		s.addToCart(p, s.cart[0].sku, "append_to_cart_in_cart", 1)
		s.cart[0].num++
	}
	if len(s.cart) > 1 && r.Float64() < 0.10 {
		s.wait(1500)
		last := s.cart[len(s.cart)-1]
		s.addToCart(p, last.sku, "remove_from_cart", last.num)
		s.cart = s.cart[:len(s.cart)-1]
	}
	s.wait(3000)
	confirmW := 0.0
	if len(s.cart) > 0 {
		confirmW = 55 * s.buy
	}
	switch s.choose(confirmW, 20, 25) {
	case 0:
		cp := newPage(pConfirm, "pages/order/confirm", "确认订单", "from=cart")
		cp.items, cp.from = append([]cartItem(nil), s.cart...), "cart"
		return cp
	case 1:
		return homePage("")
	}
	return nil

}

// onConfirm plays the confirm page.
func (s *session) onConfirm(p *page) *page {
	r := s.r
	s.wait(4000)
	if r.Float64() < 0.8 {
		o := s.newOrder(p.items, p.from == "cart")
		s.orderEvent(p, o, "give_order", "", flagOrderNew)
		s.wait(2500)
		if r.Float64() < 0.9 {
			s.orderEvent(p, o, "pay", "pay_time", flagNone)
			if r.Float64() < 0.85 {
				return s.payed(p, o)
			}
			s.wait(2000)
			s.orderEvent(p, o, "cancel_pay", "cancel_pay_time", flagNone)
			if r.Float64() < 0.45 {
				s.wait(4000)
				s.orderEvent(p, o, "pay", "pay_time", flagNone)
				return s.payed(p, o)
			}
			if r.Float64() < 0.3 {
				// Changed their mind: the app cancels the order.
				s.wait(3000)
				s.orderEvent(p, o, "cancel_give_order", "cancel_time", flagNone)
				s.g.keep(o.serial, func(k *keptOrder) { k.cancelMS = s.t })
				return nil
			}
		}
		s.unpaid = o
		switch s.choose(35, 25, 40) {
		case 0:
			return ordersPage()
		case 1:
			return homePage("")
		}
		return nil
	}
	if r.Float64() < 0.4 {
		return homePage("")
	}
	return nil

}

// onResult plays the result page.
func (s *session) onResult(p *page) *page {
	r := s.r
	s.wait(2500)
	if r.Float64() < 0.2 {
		s.element(p, "", "#onTapViewOrder", appendKStr(nil, "order_id", p.order.id))
	}
	switch s.choose(35, 10, 55) {
	case 0:
		return homePage("")
	case 1:
		return ordersPage()
	}
	return nil

}

// onOrders plays the orders page.
func (s *session) onOrders(p *page) *page {
	r := s.r
	s.wait(3000)
	switch prev := s.st.paid; {
	case s.unpaid != nil && r.Float64() < 0.6:
		s.orderEvent(p, s.unpaid, "cancel_give_order", "cancel_time", flagNone)
		s.g.keep(s.unpaid.serial, func(k *keptOrder) { k.cancelMS = s.t })
		s.unpaid = nil
	case s.paid != nil && r.Float64() < 0.05:
		s.orderEvent(p, s.paid, "refund", "refund_time", flagNone)
		s.g.keep(s.paid.serial, func(k *keptOrder) { k.refundMS = s.t })
		s.st.paid.refunded = true
	case prev.serial > 0 && !prev.refunded && prev.ms < s.start && r.Float64() < 0.3:
		o := &order{id: s.g.orderID(prev.serial, prev.ms), ms: prev.ms, amt: prev.amt, pay: prev.pay, serial: prev.serial}
		s.orderEvent(p, o, "refund", "refund_time", flagNone)
		s.g.keep(prev.serial, func(k *keptOrder) { k.refundMS = s.t })
		s.st.paid.refunded = true
	}
	if r.Float64() < 0.4 {
		return homePage("")
	}
	return nil

}

// onMember plays the member page.
func (s *session) onMember(p *page) *page {
	r := s.r
	s.wait(2500)
	if r.Float64() < 0.4 {
		s.element(p, "components/coupon-card/index", "#onTapCoupon", appendKStr(nil, "coupon_id", "CP_2001"))
	}
	ordersW := 35.0
	if s.st.paid.serial > 0 {
		ordersW = 60
	}
	switch s.choose(ordersW, 35, 30) {
	case 0:
		return ordersPage()
	case 1:
		return homePage("")
	}
	return nil

}

// onLive plays the live page.
func (s *session) onLive(p *page) *page {
	r := s.r
	s.cur.component = true // setComponent: the live room's product shelf
	s.wait(20_000)
	c := []int{0, 3, -1}[p.room%3]
	for range 2 + r.IntN(3) {
		s.wait(15_000)
		s.expose(p, s.pickSKU(c))
	}
	if r.Float64() < 0.08 {
		s.wait(5000)
		s.share(p)
	}
	s.wait(60_000)
	switch s.choose(30, 15, 55) {
	case 0:
		return s.toDetail(p)
	case 1:
		return homePage("")
	}
	return nil
}
