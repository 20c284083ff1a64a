// Package ordertest is a data-api client that signs like the public Youshu
// clients do, and realistic orders to send with it; for tests, benchmarks
// and load programs.
package ordertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/order"
)

// Client calls a data-api (shuyuan's or Youshu's) under BaseURL.
type Client struct {
	BaseURL string // scheme://host[:port], without /data-api/v1
	AppID   string
	Secret  string
	HTTP    *http.Client     // default http.DefaultClient
	Now     func() time.Time // default time.Now
	Nonce   func() string    // default 32 random characters
}

// Response is a data-api answer.
type Response struct {
	Status  int             `json:"-"` // HTTP status
	Retcode int             `json:"retcode"`
	Errmsg  string          `json:"errmsg"`
	Data    json.RawMessage `json:"data"`
}

const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// RandomNonce is 32 random letters and digits, like the public clients'.
func RandomNonce() string {
	b := make([]byte, 32)
	for i := range b {
		n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(letters))))
		b[i] = letters[n.Int64()]
	}
	return string(b)
}

// Query is the signed query string of one call, built as the public clients
// build it: fixed order, values not URL-encoded, the signature appended.
func (c *Client) Query() string {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	nonce := RandomNonce
	if c.Nonce != nil {
		nonce = c.Nonce
	}
	n, ts := nonce(), now().Unix()
	return order.SignedMessage(c.AppID, n, ts) + "&signature=" + order.Sign(c.Secret, c.AppID, n, ts)
}

// Post sends body (a value to encode as JSON, or []byte as is) to path
// (such as "/order/add_order").
func (c *Client) Post(ctx context.Context, path string, body any) (*Response, error) {
	b, ok := body.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return nil, fmt.Errorf("encode %s body: %w", path, err)
		}
	}
	return c.Do(ctx, http.MethodPost, path, c.Query(), b)
}

// Get calls path with the signed query and extra parameters.
func (c *Client) Get(ctx context.Context, path string, extra url.Values) (*Response, error) {
	q := c.Query()
	if len(extra) > 0 {
		q += "&" + extra.Encode()
	}
	return c.Do(ctx, http.MethodGet, path, q, nil)
}

// Do sends one request with the query given as is.
func (c *Client) Do(ctx context.Context, method, path, query string, body []byte) (*Response, error) {
	u := c.BaseURL + "/data-api/v1" + path + "?" + query
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	out := &Response{Status: resp.StatusCode}
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, fmt.Errorf("%s %s: answer %d is not JSON: %.200s", method, path, resp.StatusCode, raw)
	}
	return out, nil
}

// Ms is t as the 13-digit millisecond string the data-api uses.
func Ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// Order is a realistic add_order item with three goods lines: 2 × 39.90
// tea (75.80 after a 4.00 discount), 1 × 25.00 cup and a free gift; goods
// 100.80 + freight 8.00 = order 108.80; a 10.00 coupon: payable and paid
// 98.80. Status 1110 carries no payment_info.
func Order(id string, created time.Time, status int, changed time.Time, openID string) map[string]any {
	o := map[string]any{
		"external_order_id":  id,
		"create_time":        Ms(created),
		"order_source":       "wxapp",
		"order_type":         1,
		"brand_id":           "b1",
		"brand_name":         "Shuyuan Tea",
		"goods_num_total":    4,
		"goods_weight":       850.5,
		"goods_amount_total": 100.80,
		"freight_amount":     8.00,
		"order_amount":       108.80,
		"payable_amount":     98.80,
		"payment_amount":     98.80,
		"order_status":       strconv.Itoa(status),
		"status_change_time": Ms(changed),
		"user_info": map[string]any{
			"open_id": openID, "app_id": "wx1234567890abcdef", "union_id": "u-" + openID,
			"user_id": "10086", "user_first_order_time": Ms(created.Add(-30 * 24 * time.Hour)),
		},
		"goods_info": []any{
			goods("sku-tea-250g", "Longjing tea 250g", 39.90, 75.80, "spu-tea", "Longjing tea", 2, 0),
			goods("sku-cup", "Celadon cup", 25.00, 25.00, "spu-cup", "Celadon cup", 1, 0),
			goods("sku-gift", "Tea sample", 0, 0, "sku-gift", "Tea sample", 1, 1),
		},
		"coupon_info": []any{map[string]any{
			"coupon_type": 1, "coupon_amount_total": 10.00,
			"coupon_detail": []any{map[string]any{"external_coupon_id": "c-" + id, "coupon_batch_id": "spring", "coupon_name": "10 off", "coupon_amount": 10.00}},
		}},
		"express_info": map[string]any{
			"logistics_status": 0, "receiver_name": "Li Lei", "receiver_address": "1 Xihu Road, Hangzhou",
			"expected_delivery_date": created.Format("20060102"),
		},
		"is_deleted": 0,
	}
	if status != 1110 {
		o["payment_info"] = []any{map[string]any{"payment_type": "00009", "trans_id": "wxpay-" + id, "trans_amount": 98.80}}
	}
	return o
}

func goods(sku, name string, unit, paid float64, spu, spuName string, num, gift int) map[string]any {
	return map[string]any{
		"external_sku_id": sku, "sku_name_chinese": name, "goods_amount": unit, "payment_amount": paid,
		"is_gift": gift, "external_spu_id": spu, "spu_name_chinese": spuName, "goods_num": num,
		"primary_image_url": "https://img.example.com/" + sku + ".jpg", "sale_unit": "item",
		"category_id": "tea", "category_name": "Tea",
		"store_info": map[string]any{"external_store_id": "store-hz-1", "store_name": "Hangzhou West Lake", "store_city": "Hangzhou"},
		"chan_info": []any{map[string]any{
			"chan_id": "3_guide_0007", "chan_refer_app_id": "wx9d4f5f62ea059f08",
			"chan_wxapp":  map[string]any{"chan_scene": 1047},
			"chan_custom": map[string]any{"chan_custom_id": "mp-article-12375", "chan_custom_id_desc": "spring article"},
		}},
	}
}
