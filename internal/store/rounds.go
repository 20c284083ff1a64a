package store

import "time"

// MergedOrder is one order of a batch as a round writes it: the newest
// snapshot the batch carries for it and the earliest paid time among all
// its items.
type MergedOrder struct {
	App   string
	Recv  time.Time
	Call  int64 // the id of the batch's add_order call
	Batch int   // index of the batch
	Snap  *Order
	Paid  time.Time
}

// OrderKey is the key of orders.
type OrderKey struct{ App, ID string }

// HistoryRow is one row of order_status_history.
type HistoryRow struct {
	OrderKey
	Status int64
	At     int64 // status_change_time, µs since the epoch
	Recv   time.Time
}

// Round is a run of batches a store writes with one set of statements.
// INSERT ... ON CONFLICT DO UPDATE may touch a row only once per statement
// (in both stores), so an order appears once in a round: the items of one
// batch are merged, and a batch naming an order of an earlier batch of the
// round starts the next round.
type Round struct {
	Orders  []*MergedOrder
	ByKey   map[OrderKey]*MergedOrder
	History map[HistoryRow]struct{}
}

// Rounds cuts batches into rounds. nextCall numbers each batch's call:
// the call columns of orders record which call created, replaced, regoods
// or first paid a row, so that one upsert's RETURNING tells what it did.
func Rounds(batches []*OrderBatch, nextCall func() int64) []*Round {
	var out []*Round
	cur := newRound()
	for bi, b := range batches {
		call := nextCall()
		recv := b.ReceivedAt.UTC()
		mine := map[OrderKey]bool{}
		for i := range b.Orders {
			k := OrderKey{b.AppID, b.Orders[i].ExternalID}
			if _, taken := cur.ByKey[k]; taken && !mine[k] {
				out = append(out, cur)
				cur = newRound()
				break
			}
			mine[k] = true
		}
		for i := range b.Orders {
			o := &b.Orders[i]
			k := OrderKey{b.AppID, o.ExternalID}
			m, ok := cur.ByKey[k]
			if !ok {
				m = &MergedOrder{App: b.AppID, Recv: recv, Call: call, Batch: bi, Snap: o, Paid: o.PaidTime}
				cur.ByKey[k] = m
				cur.Orders = append(cur.Orders, m)
			} else {
				if !o.StatusTime.Before(m.Snap.StatusTime) {
					m.Snap = o
				}
				if !o.PaidTime.IsZero() && (m.Paid.IsZero() || o.PaidTime.Before(m.Paid)) {
					m.Paid = o.PaidTime
				}
			}
			cur.History[HistoryRow{k, o.Status, o.StatusTime.UnixMicro(), recv}] = struct{}{}
		}
	}
	if len(cur.Orders) > 0 {
		out = append(out, cur)
	}
	return out
}

func newRound() *Round {
	return &Round{ByKey: map[OrderKey]*MergedOrder{}, History: map[HistoryRow]struct{}{}}
}

// PaidOrder is the PaidOrder of m as stored after its round, given the
// paid time and the order's amount and user as the store returned them.
func (m *MergedOrder) PaidOrder(paid time.Time, paymentFen int64, openID, unionID string) PaidOrder {
	return PaidOrder{AppID: m.App, ExternalID: m.Snap.ExternalID, PaidTime: paid.UTC(), PaymentFen: paymentFen, OpenID: openID, UnionID: unionID}
}
