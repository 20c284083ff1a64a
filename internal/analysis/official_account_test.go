package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
)

func TestOfficialAccount(t *testing.T) {
	st := fixture(t)
	res := ask(t, st, "official-account", "2026-03-01", "2026-03-02", "accounts=wxOA&articles=art-")
	t.Log("\n" + dump(res))
	// Visitors A, B, C, D; union_id known for A (unA) and D (unD). Buyers
	// (paid in the range): A (BO3, O1: 110.00), B (O2: 100.00), D (O4,
	// BO1: 245.00). Official-account entries: tA1 (scene 1058, wxOA,
	// article art-1) and tD1 (scene 1035, wxOA); D's 02-28 entry is
	// before the range.
	want(t, "all", row(t, res, "all"), map[string]any{
		"visitors": 4, "union_visitors": 2, "buyers": 3, "union_buyers": 2, "gmv_fen": 45500, "union_buyer_share": 2.0 / 3,
	})
	want(t, "official account", row(t, res, "official_account"), map[string]any{
		"visitors": 2, "union_visitors": 2, "buyers": 2, "union_buyers": 2, "gmv_fen": 35500, "union_buyer_share": 1.0,
	})
	want(t, "1058", row(t, res, "scene", "1058"), map[string]any{"visitors": 1, "buyers": 1, "gmv_fen": 11000})
	want(t, "1035", row(t, res, "scene", "1035"), map[string]any{"visitors": 1, "buyers": 1, "gmv_fen": 24500})
	want(t, "wxOA", row(t, res, "account", "wxOA"), map[string]any{"visitors": 2, "union_visitors": 2, "buyers": 2, "gmv_fen": 35500})
	want(t, "art-1", row(t, res, "article", "art-1"), map[string]any{"visitors": 1, "buyers": 1, "gmv_fen": 11000})
	if len(res.Rows) != 6 {
		t.Errorf("rows:\n%s", dump(res))
	}

	// 03-01 only: A and B visit, A entered through 1058; only A paid
	// (BO3). The default article prefix (mp-article) matches nothing.
	res = ask(t, st, "official-account", "2026-03-01", "2026-03-01", "")
	want(t, "all 03-01", row(t, res, "all"), map[string]any{
		"visitors": 2, "union_visitors": 1, "buyers": 1, "union_buyers": 1, "gmv_fen": 5000, "union_buyer_share": 1.0,
	})
	want(t, "official account 03-01", row(t, res, "official_account"), map[string]any{"visitors": 1, "buyers": 1})
	for _, r := range res.Rows {
		if r[0] == "article" {
			t.Errorf("article row without a matching prefix: %v", r)
		}
	}

	_, err := askErr(st, "official-account", "2026-03-01", "2026-03-02", "accounts="+strings.Repeat("wx1,", 21), false)
	var bad *BadRequest
	if !errors.As(err, &bad) {
		t.Errorf("21 accounts: %v", err)
	}
}

// TestOfficialAccountBuyerWithoutVisit adds a backend order paid in the
// range by a user with no SDK event, its union_id on the order only: 'all'
// counts the buyer (known by the order) but no visitor, on both stores.
func TestOfficialAccountBuyerWithoutVisit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, o storetest.Opener) {
		st := fixtureOn(t, o)
		ord := store.Order{
			ExternalID: "BO9", CreateTime: at("2026-03-02 09:00:00").UTC(), Source: "wxapp", Type: 1,
			GoodsNumTotal: 1, GoodsFen: 700, OrderFen: 700, PayableFen: 700, PaymentFen: 700,
			Status: 1150, StatusTime: at("2026-03-02 09:01:00").UTC(), PaidTime: at("2026-03-02 09:01:00").UTC(),
			OpenID: "oE", UnionID: "unE", WxAppID: "wx1", Raw: json.RawMessage(`{"external_order_id":"BO9"}`),
		}
		if _, err := st.AddOrders(context.Background(), []*store.OrderBatch{{AppID: fixtureApp, ReceivedAt: ord.StatusTime, Orders: []store.Order{ord}}}); err != nil {
			t.Fatal(err)
		}
		res := ask(t, st, "official-account", "2026-03-01", "2026-03-02", "accounts=wxOA&articles=art-")
		want(t, "all", row(t, res, "all"), map[string]any{
			"visitors": 4, "union_visitors": 2, "buyers": 4, "union_buyers": 3, "gmv_fen": 46200, "union_buyer_share": 3.0 / 4,
		})
		want(t, "official account", row(t, res, "official_account"), map[string]any{"visitors": 2, "buyers": 2, "gmv_fen": 35500})
	})
}

// TestOfficialAccountSceneIndex: PostgreSQL reads the entries through a
// partial index whose predicate repeats the query's official-account
// scenes (its migration 0017); the planner uses it only while the two
// lists are the same, so a scene added to one must go to the other.
func TestOfficialAccountSceneIndex(t *testing.T) {
	scenes := regexp.MustCompile(`scene IN \(([0-9, ]+)\)`)
	list := func(path string) string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m := scenes.FindAllSubmatch(b, -1)
		if len(m) != 1 {
			t.Fatalf("%s: want one official-account scene list, found %d", path, len(m))
		}
		return string(m[0][1])
	}
	query := list("sql/official_account.sql")
	index := list("../store/postgres/migrations/0017_rollup_sessions_visitors.sql")
	if query != index {
		t.Errorf("official_account.sql lists the scenes (%s), migration 0017's partial index (%s)", query, index)
	}
}
