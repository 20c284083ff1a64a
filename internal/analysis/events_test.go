package analysis

import (
	"fmt"
	"strings"
	"testing"
)

// TestEvents: every stored event of the fixture per Shanghai day and type,
// counted by hand from the sessions in fixture_test.go. B's tB1 crosses
// midnight: launch, page view, exposure and the placing of O2 fall on
// 03-01, the payment, the leave and the refund on 03-02. add_to_cart counts
// C's removal too (an event like any other here), and element (the SDK's
// own) and coupon_claimed (unknown to the SDK spec) are listed with their
// kind. tD0 (02-28) and tA3 (03-03) are outside the range.
func TestEvents(t *testing.T) {
	st := fixture(t)
	want := []string{
		"2026-03-01 add_to_cart behaviour 1 1",
		"2026-03-01 app_launch behaviour 2 2",
		"2026-03-01 browse_sku_page behaviour 1 1",
		"2026-03-01 browse_wxapp_page behaviour 2 2",
		"2026-03-01 coupon_claimed unknown 1 1",
		"2026-03-01 custom_order behaviour 2 2",
		"2026-03-01 element sdk 1 1",
		"2026-03-01 expose_sku_component behaviour 2 2",
		"2026-03-01 leave_wxapp_page behaviour 1 1",
		"2026-03-01 page_share_app_message behaviour 1 1",
		"2026-03-01 search behaviour 1 1",
		"2026-03-01 trigger_sku_component behaviour 1 1",
		"2026-03-02 add_to_cart behaviour 2 1",
		"2026-03-02 app_launch behaviour 1 1",
		"2026-03-02 app_show behaviour 2 2",
		"2026-03-02 browse_sku_page behaviour 1 1",
		"2026-03-02 browse_wxapp_page behaviour 2 2",
		"2026-03-02 custom_order behaviour 7 4",
		"2026-03-02 expose_sku_component behaviour 1 1",
		"2026-03-02 leave_wxapp_page behaviour 3 3",
		"2026-03-02 search behaviour 2 1",
		"2026-03-02 trigger_sku_component behaviour 1 1",
	}
	for _, raw := range []bool{false, true} {
		res, err := askErr(st, "events", "2026-03-01", "2026-03-02", "", raw)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range res.Rows {
			got = append(got, strings.TrimSuffix(strings.TrimPrefix(fmt.Sprint(r), "["), "]"))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("raw=%v: got\n%s\nwant\n%s", raw, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}
