package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// OrderStore keeps what the merchant's backend sends through the data-api:
// main orders with their goods and status history, the merchant's own daily
// order totals, WeChat's page-visit reports and the data sources the calls
// name. Every method writes its whole input in one transaction or nothing.
type OrderStore interface {
	// AddOrders upserts the orders of each batch by (app, external order
	// id) and records every status they carry in the status history, all
	// batches in one transaction. A snapshot whose status_change_time is
	// older than the stored one does not overwrite it (its status still
	// goes into the history). Results are in the order of batches.
	AddOrders(ctx context.Context, batches []*OrderBatch) ([]OrderResult, error)

	// AddOrderSums upserts the merchant's daily totals by (app, day), and
	// adds relay to the relay outbox in the same transaction.
	AddOrderSums(ctx context.Context, appID string, sums []OrderSum, receivedAt time.Time, relay ...Relay) error

	// AddVisitPages upserts WeChat page-visit rows pushed by the merchant
	// by (app, day, page_path), as source "pushed"; rows the daily pull
	// stored (source "pulled") are left alone. relay is added to the relay
	// outbox in the same transaction.
	AddVisitPages(ctx context.Context, appID string, pages []VisitPage, receivedAt time.Time, relay ...Relay) error

	// AddDataSource stores ds unless the app already has a data source of
	// ds.Type; it returns the stored one and whether this call created it.
	AddDataSource(ctx context.Context, ds DataSource) (DataSource, bool, error)

	// DataSources lists an app's data sources by type.
	DataSources(ctx context.Context, appID string) ([]DataSource, error)
}

// OrderBatch is the orders of one add_order call for one app.
type OrderBatch struct {
	AppID      string
	ReceivedAt time.Time
	Orders     []Order

	// OnPaid, if set, runs inside the transaction that writes the batch,
	// after the orders and before the commit, with the orders this batch
	// made paid for the first time (it is not called when there are none).
	// It is the seam for work that must commit together with "the order
	// became paid", such as the conversion outbox: what it does through
	// tx is part of the same commit, and an error rolls the whole call
	// back. A rolled-back call may be tried again, so the hook may run more
	// than once for one batch: only what it does through tx must count.
	OnPaid PaidHook

	// Relay, when the app relays to Youshu, are the call's rows of the
	// relay outbox (one per order, RefID its id). The stores add them in
	// the same transaction after the orders: a later call naming the same
	// order waits for this one's row locks, so its rows come after these.
	Relay []Relay
}

// FinishOrders is what both stores do in AddOrders' transaction once
// every order of batches is written (results in the same order): each
// batch's paid hook with the orders it made paid, in the order of the
// batches, then every batch's relay rows.
func FinishOrders(ctx context.Context, tx Tx, batches []*OrderBatch, results []OrderResult) error {
	for i, b := range batches {
		if len(results[i].Paid) > 0 && b.OnPaid != nil {
			if err := b.OnPaid(ctx, tx, results[i].Paid); err != nil {
				return fmt.Errorf("batch %d: paid hook: %w", i, err)
			}
		}
	}
	for i, b := range batches {
		if len(b.Relay) > 0 {
			if err := tx.AddRelays(ctx, b.Relay); err != nil {
				return fmt.Errorf("batch %d: relay rows: %w", i, err)
			}
		}
	}
	return nil
}

// PaidHook is OrderBatch.OnPaid.
type PaidHook func(ctx context.Context, tx Tx, paid []PaidOrder) error

// Order is one main order as the domain validated it. Money is in fen
// (1/100 yuan); times are UTC.
type Order struct {
	ExternalID    string
	CreateTime    time.Time
	Source        string // order_source: wxapp, app, ...
	Type          int64  // order_type
	BrandID       string
	BrandName     string
	GoodsNumTotal int64
	GoodsFen      int64 // goods_amount_total
	FreightFen    int64 // freight_amount
	OrderFen      int64 // order_amount
	PayableFen    int64 // payable_amount
	PaymentFen    int64 // payment_amount
	Status        int64 // order_status, e.g. 1150
	StatusTime    time.Time
	// PaidTime is StatusTime when Status means the order has been paid,
	// else zero. The domain decides which statuses those are; the store
	// keeps, per order, the earliest PaidTime it has seen.
	PaidTime time.Time

	OpenID   string // user_info.open_id
	UnionID  string
	UserID   string
	MemberID string
	WxAppID  string // user_info.app_id

	// Store and channel of the first goods line that names them.
	StoreID        string
	StoreName      string
	ChanID         string
	ChanReferAppID string
	ChanCustomID   string
	ChanScene      int64
	GuideID        string

	PaymentType string // payment_info[0].payment_type
	CouponFen   int64  // sum of coupon_info[].coupon_amount_total
	Deleted     bool   // is_deleted = 1

	Goods []Goods
	// Raw is the order exactly as sent, every field included.
	Raw json.RawMessage
}

// Goods is one goods_info line of an order.
type Goods struct {
	SKUID        string
	SKUName      string
	SPUID        string
	SPUName      string
	GoodsFen     int64 // goods_amount: unit list price
	PaymentFen   int64 // payment_amount: paid for all units of the line
	Num          int64
	Gift         bool
	CategoryID   string
	CategoryName string
	StoreID      string
	StoreName    string
	ChanID       string
	ChanCustomID string
}

// OrderResult is what became of one OrderBatch.
type OrderResult struct {
	Created int // orders not stored before
	Updated int // stored orders whose snapshot this batch replaced
	Stale   int // stored orders left as they were: the batch's snapshot was older
	// Paid are the orders this batch made paid for the first time.
	Paid []PaidOrder
}

// PaidOrder is an order that became paid, with what a conversion needs.
// Amount and user are those of the order as stored after the batch.
type PaidOrder struct {
	AppID      string
	ExternalID string
	PaidTime   time.Time // the earliest paid status time known
	PaymentFen int64
	OpenID     string
	UnionID    string
}

// OrderSum is the merchant's own totals of one day (add_order_sum).
type OrderSum struct {
	Day          time.Time // the merchant's day, as 00:00 UTC of that date
	GiveOrderFen int64     // give_order_amount_sum
	GiveOrderNum int64     // give_order_num_sum
	PaymentFen   int64     // payment_amount_sum
	PayedNum     int64     // payed_num_sum
	Raw          json.RawMessage
}

// VisitPage is one row of WeChat's daily getVisitPage report.
type VisitPage struct {
	Day        time.Time // ref_date, as 00:00 UTC of that date
	PagePath   string    // as WeChat sent it
	Page       string    // PagePath without a leading "/" or query, as the SDK's events store pages
	VisitPV    int64
	VisitUV    int64
	StayTimePV float64 // page_staytime_pv: average seconds per visit
	EntryPV    int64
	ExitPV     int64
	SharePV    int64
	ShareUV    int64
}

// DataSource is a data-warehouse id the backend sends as dataSourceId.
type DataSource struct {
	AppID      string
	ID         string
	Type       int64
	MerchantID string
	CreatedAt  time.Time
}
