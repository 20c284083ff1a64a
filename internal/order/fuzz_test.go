package order

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// docOrder is the add_order body of docs/data-api.md, the shape the public
// Youshu clients send.
const docOrder = `{"dataSourceId": "2305843009213693953", "orders": [{
  "external_order_id": "20250301001", "create_time": "1740823200000", "order_source": "wxapp", "order_type": 1,
  "goods_num_total": 4, "goods_amount_total": 100.80, "freight_amount": 8.00, "order_amount": 108.80,
  "payable_amount": 98.80, "payment_amount": 98.80, "order_status": "1150", "status_change_time": "1740823320000",
  "user_info": {"open_id": "o-abc", "union_id": "u-abc", "app_id": "wx1234567890abcdef"},
  "goods_info": [{"external_sku_id": "sku-tea-250g", "sku_name_chinese": "Longjing tea 250g",
    "goods_amount": 39.90, "payment_amount": 75.80, "goods_num": 2, "is_gift": 0,
    "external_spu_id": "spu-tea", "spu_name_chinese": "Longjing tea",
    "store_info": {"external_store_id": "store-hz-1", "store_name": "Hangzhou West Lake"},
    "chan_info": [{"chan_id": "3_0007", "chan_wxapp": {"chan_scene": 1047}, "chan_custom": {"chan_custom_id": "mp-article-12375"}}]}],
  "payment_info": [{"payment_type": "00009", "trans_id": "4200001", "trans_amount": 98.80}],
  "coupon_info": [{"coupon_type": 1, "coupon_amount_total": 10.00}]}]}`

// FuzzParseOrders: whatever an add_order body is, it is refused with a
// data-api retcode naming at most MaxProblems problems, or every order it
// holds comes out with its required values inside their bounds and its
// own JSON kept as sent.
func FuzzParseOrders(f *testing.F) {
	f.Add([]byte(docOrder))
	f.Add([]byte(strings.Replace(docOrder, `"1150"`, `"1110"`, 1)))
	f.Add([]byte(strings.Replace(docOrder, `98.80, "order_status"`, `1e13, "order_status"`, 1)))
	f.Add([]byte(`{"dataSourceId":"1","orders":[]}`))
	f.Add([]byte(`{"orders":[{"external_order_id":1e300}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, orders, err := parseOrders(body)
		if err != nil {
			switch err.Code {
			case CodeBadBody, CodeInvalid, CodeTooMany:
			default:
				t.Fatalf("retcode %d (%s)", err.Code, err.Msg)
			}
			if err.Msg == "" || len(err.Problems) > MaxProblems || (err.Code == CodeInvalid && len(err.Problems) == 0) {
				t.Fatalf("refusal %+v", err)
			}
			return
		}
		if len(orders) > MaxItems {
			t.Fatalf("%d orders accepted, at most %d", len(orders), MaxItems)
		}
		for i, o := range orders {
			if o.ExternalID == "" || len(o.ExternalID) > MaxID || !utf8.ValidString(o.ExternalID) {
				t.Errorf("order %d: external id %q", i, o.ExternalID)
			}
			if o.CreateTime.IsZero() || o.StatusTime.IsZero() {
				t.Errorf("order %d: times %v %v", i, o.CreateTime, o.StatusTime)
			}
			for name, fen := range map[string]int64{"goods": o.GoodsFen, "order": o.OrderFen, "payable": o.PayableFen, "payment": o.PaymentFen} {
				if fen < 0 || fen > maxYuan*100 {
					t.Errorf("order %d: %s amount %d fen", i, name, fen)
				}
			}
			if !json.Valid(o.Raw) || !strings.Contains(string(body), string(o.Raw)) {
				t.Errorf("order %d: raw %q is not the order as sent", i, o.Raw)
			}
		}
	})
}

// FuzzToFen: an amount of yuan becomes fen exactly, rounded half away
// from zero, as a decimal computation gives it; whatever the text, no
// panic, and nothing beyond the bound.
func FuzzToFen(f *testing.F) {
	for _, s := range []string{"0", "95.1", "0.29", "1.005", "2.675", "1e2", "1.5E1", "0.125", "-0.005", "123456789.12", "1e12", "1e13", "1e-400", "9999999999999.99"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		fen, ok := toFen(text)
		r, valid := new(big.Rat).SetString(text)
		isNumber := valid && json.Valid([]byte(text)) && !strings.ContainsAny(text, " \t\n\r")
		if !isNumber {
			return // not a JSON number: only no panic is asked
		}
		r.Mul(r, big.NewRat(100, 1))
		abs := new(big.Rat).Abs(r)
		if abs.Cmp(big.NewRat(maxYuan*100+1, 1)) > 0 {
			if ok {
				t.Fatalf("toFen(%s) = %d beyond the bound", text, fen)
			}
			return
		}
		if !ok {
			t.Fatalf("toFen(%s) refused a number within the bound", text)
		}
		// Half away from zero: floor(|x| + 1/2), with x's sign.
		abs.Add(abs, big.NewRat(1, 2))
		want := new(big.Int).Quo(abs.Num(), abs.Denom())
		if r.Sign() < 0 {
			want.Neg(want)
		}
		if !want.IsInt64() || want.Int64() != fen {
			t.Fatalf("toFen(%s) = %d, want %s", text, fen, want)
		}
		// And back: the fen written as yuan come back to the same fen.
		back := strconv.FormatInt(fen/100, 10) + "." + fmt.Sprintf("%02d", abs64(fen%100))
		if fen < 0 && fen > -100 {
			back = "-" + back
		}
		if again, ok := toFen(back); !ok || again != fen {
			t.Fatalf("toFen(%s) = %d, but %s gives %d", text, fen, back, again)
		}
	})
}

func abs64(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// FuzzAuthenticate: a call is let in only with the signature of its own
// app_id, nonce and timestamp under the app's secret, a timestamp inside
// the window and a nonce not used before; whatever the query, the answer
// is a data-api retcode and no panic. The rightly signed call goes in
// once; its replay is refused.
func FuzzAuthenticate(f *testing.F) {
	const appID, secret = "ys-app-001", "data-api-secret"
	now := time.Unix(1740801600, 0)
	f.Add(appID, "abcdefghijklmnopqrstuvwxyz012345", "1740801600", "e84bc14aab62cf67ac5f3184f31eec2657803241ce9e74f655d8e0267b40b3ed", "sha256")
	f.Add(appID, "n", "1740801600000", "x", "sha256")
	f.Add("", "", "", "", "")
	f.Add(appID, "n", "-9223372036854775808", "x", "md5")
	f.Add(appID, strings.Repeat("n", 65), "1740801300", "x", "sha256")
	reg, err := tenant.NewRegistry([]*tenant.App{{ID: "shop", SDKToken: "shop-sdk-token", DataAPIAppID: appID, DataAPISecret: secret}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, app, nonce, ts, sig, method string) {
		s := NewService(nil, reg, Options{Now: func() time.Time { return now }, Nonces: NewMemoryNonces()})
		ctx := context.Background()
		c := Credentials{AppID: app, Nonce: nonce, Sign: method, Timestamp: ts, Signature: sig}
		got, err := s.authenticate(ctx, c)
		n, perr := strconv.ParseInt(ts, 10, 64)
		inWindow := perr == nil && n >= now.Unix()-int64(DefaultWindow/time.Second) && n <= now.Unix()+int64(DefaultWindow/time.Second)
		signedRight := perr == nil && app == appID && method == SignMethod && nonce != "" && len(nonce) <= MaxNonce &&
			strings.EqualFold(sig, Sign(secret, app, nonce, n)) && len(sig) == 64
		if err == nil {
			if got == nil || got.ID != "shop" || !signedRight || !inWindow {
				t.Fatalf("let in %+v (right signature %v, in window %v)", c, signedRight, inWindow)
			}
		} else if oe, ok := err.(*Error); !ok || oe.Code < 4101 || oe.Code > 4106 || oe.Msg == "" {
			t.Fatalf("refusal %v", err)
		} else if signedRight && inWindow {
			t.Fatalf("refused a rightly signed call: %v", err)
		}
		// The rightly signed form of the same call goes in once.
		if perr != nil || !inWindow || nonce == "" || len(nonce) > MaxNonce {
			return
		}
		s = NewService(nil, reg, Options{Now: func() time.Time { return now }, Nonces: NewMemoryNonces()})
		c = Credentials{AppID: appID, Nonce: nonce, Sign: SignMethod, Timestamp: ts, Signature: Sign(secret, appID, nonce, n)}
		if _, err := s.authenticate(ctx, c); err != nil {
			t.Fatalf("the rightly signed call %+v: %v", c, err)
		}
		if _, err := s.authenticate(ctx, c); err == nil || err.(*Error).Code != CodeReplayed {
			t.Fatalf("its replay: %v", err)
		}
	})
}
