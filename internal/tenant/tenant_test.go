package tenant_test

import (
	"strings"
	"testing"

	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

func TestRegistryFindsApps(t *testing.T) {
	reg, err := tenant.NewRegistry([]*tenant.App{
		{ID: "shop", SDKToken: "token-shop-0001", DataAPIAppID: "ys-shop"},
		{ID: "mall", SDKToken: "token-mall-0001"},
		{ID: "quiet"}, // no SDK token: uploads never match it
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		token, want string
	}{
		{"token-shop-0001", "shop"},
		{"token-mall-0001", "mall"},
		{"token-shop-0002", ""},
		{"token-shop-000", ""}, // a prefix is not the token
		{"", ""},
	} {
		a, ok := reg.ByToken(c.token)
		if got := ""; ok {
			got = a.ID
			if got != c.want {
				t.Errorf("ByToken(%q) = %s, want %q", c.token, got, c.want)
			}
		} else if c.want != "" {
			t.Errorf("ByToken(%q) found nothing, want %s", c.token, c.want)
		}
	}
	if a, ok := reg.ByDataAPIAppID("ys-shop"); !ok || a.ID != "shop" {
		t.Errorf("ByDataAPIAppID: %v %v", a, ok)
	}
	if _, ok := reg.ByDataAPIAppID(""); ok {
		t.Error("an empty data-api app_id matched an app without one")
	}
	if a, ok := reg.ByID("quiet"); !ok || a.Location == nil || a.Location.String() != tenant.DefaultTimezone {
		t.Errorf("ByID(quiet): %+v %v, want the default zone", a, ok)
	}
	if ids := []string{reg.Apps()[0].ID, reg.Apps()[1].ID, reg.Apps()[2].ID}; strings.Join(ids, ",") != "shop,mall,quiet" {
		t.Errorf("Apps in order: %v", ids)
	}
}

func TestRegistryRefusesDuplicates(t *testing.T) {
	for _, c := range []struct {
		apps []*tenant.App
		want string
	}{
		{[]*tenant.App{{ID: "a"}, {ID: "a"}}, `app "a": id used twice`},
		{[]*tenant.App{{ID: "a", SDKToken: "t-1"}, {ID: "b", SDKToken: "t-1"}}, `app "b": sdk_token also used by app "a"`},
		{[]*tenant.App{{ID: "a", DataAPIAppID: "x"}, {ID: "b", DataAPIAppID: "x"}}, `app "b": data_api.app_id also used by app "a"`},
	} {
		if _, err := tenant.NewRegistry(c.apps); err == nil || err.Error() != c.want {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
	// Apps without a token or data-api id do not collide on the empty one.
	if _, err := tenant.NewRegistry([]*tenant.App{{ID: "a"}, {ID: "b"}}); err != nil {
		t.Errorf("two apps without tokens: %v", err)
	}
}
