package order

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// The relay kinds of data-api calls: the paths the relay posts them to
// under /data-api/v1.
const (
	RelayAddOrder    = "order/add_order"
	RelayAddOrderSum = "order/add_order_sum"
	RelayVisitPages  = "analysis/add_wxapp_visit_page"
)

// relayPages is the relay row of an accepted add_wxapp_visit_page call,
// the body as sent; the app's page calls keep their order, like sums.
func relayPages(appID string, body []byte, received time.Time) store.Relay {
	return store.Relay{AppID: appID, Kind: RelayVisitPages, RefID: "visit pages", Body: string(body), ReceivedAt: received}
}

// relaySums is the relay row of an accepted add_order_sum call: the body
// as sent. Every sum call of an app shares one RefID, so they reach
// Youshu in the order shuyuan accepted them and a day's later totals win
// there as here.
func relaySums(appID string, body []byte, received time.Time) store.Relay {
	return store.Relay{AppID: appID, Kind: RelayAddOrderSum, RefID: "order sums", Body: string(body), ReceivedAt: received}
}

// relayOrders are the relay rows of an accepted add_order call: one per
// order, each a body of that order alone exactly as sent, so rows of one
// order id are ordered among themselves however calls mixed orders.
func relayOrders(appID, src string, orders []store.Order, received time.Time) ([]store.Relay, error) {
	out := make([]store.Relay, 0, len(orders))
	for _, o := range orders {
		body, err := json.Marshal(struct {
			DataSourceID string            `json:"dataSourceId"`
			Orders       []json.RawMessage `json:"orders"`
		}{src, []json.RawMessage{o.Raw}})
		if err != nil {
			return nil, fmt.Errorf("relay body of order %s: %w", o.ExternalID, err)
		}
		out = append(out, store.Relay{AppID: appID, Kind: RelayAddOrder, RefID: o.ExternalID, Body: string(body), ReceivedAt: received})
	}
	return out, nil
}
