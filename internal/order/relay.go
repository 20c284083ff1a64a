package order

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store"
)

// RelayAddOrder is the relay kind of add_order calls: the path the relay
// posts them to under /data-api/v1.
const RelayAddOrder = "order/add_order"

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
