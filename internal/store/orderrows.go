package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// OrderColumns are the columns of orders in table order, as OrderRow
// gives their values.
var OrderColumns = []string{
	"app_id", "external_order_id", "create_time", "order_source", "order_type", "brand_id", "brand_name",
	"goods_num_total", "goods_fen", "freight_fen", "order_fen", "payable_fen", "payment_fen", "status",
	"status_change_time", "paid_time", "open_id", "union_id", "user_id", "member_id", "wx_appid", "store_id",
	"store_name", "chan_id", "chan_refer_app_id", "chan_custom_id", "chan_scene", "guide_id", "payment_type",
	"coupon_fen", "is_deleted", "goods_lines", "goods_hash", "raw", "first_received_at", "updated_at",
	"created_call", "updated_call", "goods_call", "paid_call",
}

// GoodsColumns are the columns of order_goods in table order, as GoodsRow
// gives their values.
var GoodsColumns = []string{
	"app_id", "external_order_id", "line", "sku_id", "sku_name", "spu_id", "spu_name", "goods_fen", "payment_fen",
	"goods_num", "is_gift", "category_id", "category_name", "store_id", "store_name", "chan_id", "chan_custom_id",
}

// UpsertOrdersSQL moves the staged orders of table stage (the columns of
// orders) into orders, in key order (so concurrent writers lock rows in
// one order). A staged snapshot replaces the stored one when its
// status_change_time is not older ("applied"); the paid time only ever
// moves earlier; the call columns record which call did what, so RETURNING
// tells this call's effect on each order: app_id, external_order_id,
// created_call, updated_call, goods_call, paid_call, paid_time,
// payment_fen, open_id, union_id.
func UpsertOrdersSQL(stage string) string {
	const applied = `excluded.status_change_time >= orders.status_change_time`
	var set []string
	for _, c := range OrderColumns {
		switch c {
		case "app_id", "external_order_id", "first_received_at", "created_call":
			// Keys and the facts of creation stay.
		case "paid_time":
			set = append(set, `paid_time = least(orders.paid_time, excluded.paid_time)`)
		case "paid_call":
			set = append(set, `paid_call = CASE WHEN orders.paid_time IS NULL AND excluded.paid_time IS NOT NULL
				THEN excluded.paid_call ELSE orders.paid_call END`)
		case "goods_call":
			set = append(set, `goods_call = CASE WHEN `+applied+` AND excluded.goods_hash <> orders.goods_hash
				THEN excluded.goods_call ELSE orders.goods_call END`)
		case "updated_at":
			set = append(set, `updated_at = excluded.updated_at`)
		default:
			set = append(set, fmt.Sprintf(`%s = CASE WHEN %s THEN excluded.%s ELSE orders.%s END`, c, applied, c, c))
		}
	}
	return `INSERT INTO orders SELECT * FROM ` + stage + ` ORDER BY app_id, external_order_id
		ON CONFLICT (app_id, external_order_id) DO UPDATE SET ` + strings.Join(set, ",\n") + `
		RETURNING app_id, external_order_id, created_call, updated_call, goods_call, paid_call, paid_time, payment_fen, open_id, union_id`
}

// OrderRow is the row of m in orders, in OrderColumns order; absent
// values are nil.
func OrderRow(m *MergedOrder) []any {
	o, app, recv, call := m.Snap, m.App, m.Recv, m.Call
	var paid, paidCall any
	if !m.Paid.IsZero() {
		paid, paidCall = m.Paid.UTC(), call
	}
	return []any{
		app, o.ExternalID, o.CreateTime.UTC(), o.Source, o.Type, Nullable(o.BrandID), Nullable(o.BrandName),
		o.GoodsNumTotal, o.GoodsFen, o.FreightFen, o.OrderFen, o.PayableFen, o.PaymentFen, o.Status,
		o.StatusTime.UTC(), paid, Nullable(o.OpenID), Nullable(o.UnionID), Nullable(o.UserID), Nullable(o.MemberID),
		Nullable(o.WxAppID), Nullable(o.StoreID), Nullable(o.StoreName), Nullable(o.ChanID),
		Nullable(o.ChanReferAppID), Nullable(o.ChanCustomID), ZeroNull(o.ChanScene), Nullable(o.GuideID),
		Nullable(o.PaymentType), o.CouponFen, o.Deleted, int64(len(o.Goods)), GoodsHash(o.Goods), rawText(o.Raw),
		recv, recv, call, call, call, paidCall,
	}
}

// GoodsRow is the row of goods line `line` of an order in order_goods, in
// GoodsColumns order.
func GoodsRow(app, id string, line int32, g *Goods) []any {
	return []any{
		app, id, line, g.SKUID, g.SKUName, g.SPUID, g.SPUName, g.GoodsFen, g.PaymentFen, g.Num, g.Gift,
		Nullable(g.CategoryID), Nullable(g.CategoryName), Nullable(g.StoreID), Nullable(g.StoreName),
		Nullable(g.ChanID), Nullable(g.ChanCustomID),
	}
}

// HistoryValues are the values of one order_status_history row.
func (h HistoryRow) Values() []any {
	return []any{h.App, h.ID, h.Status, time.UnixMicro(h.At).UTC(), h.Recv}
}

// Nullable stores an empty string as NULL.
func Nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ZeroNull stores absent numbers as NULL; a real zero (a free order, a
// zero stay) is indistinguishable from absent in the SDK's data anyway.
func ZeroNull(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// rawText is the order as sent, for the raw column.
func rawText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "{}"
	}
	return string(raw)
}

// GoodsHash fingerprints the typed goods lines: equal hashes mean the
// stored order_goods rows need not be rewritten.
func GoodsHash(goods []Goods) int64 {
	h := fnv.New64a()
	var n [8]byte
	str := func(s string) {
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	num := func(v int64) {
		binary.LittleEndian.PutUint64(n[:], uint64(v))
		h.Write(n[:])
	}
	for _, g := range goods {
		for _, s := range []string{g.SKUID, g.SKUName, g.SPUID, g.SPUName, g.CategoryID, g.CategoryName,
			g.StoreID, g.StoreName, g.ChanID, g.ChanCustomID} {
			str(s)
		}
		gift := int64(0)
		if g.Gift {
			gift = 1
		}
		for _, v := range []int64{g.GoodsFen, g.PaymentFen, g.Num, gift} {
			num(v)
		}
	}
	return int64(h.Sum64())
}
