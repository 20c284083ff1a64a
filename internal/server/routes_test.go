package server_test

import (
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/shuyuan-dev/shuyuan/internal/conversion"
	"github.com/shuyuan-dev/shuyuan/internal/order"
	"github.com/shuyuan-dev/shuyuan/internal/server"
	"github.com/shuyuan-dev/shuyuan/internal/store/storetest"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
	"github.com/shuyuan-dev/shuyuan/internal/web"
)

const (
	routesBegin = "<!-- routes: written from server.Routes; SHUYUAN_UPDATE_README=1 go test ./internal/server -run TestRoutesInREADME rewrites it -->\n"
	routesEnd   = "<!-- /routes -->"
)

// The README's route list is the server's route table: the whole HTTP
// surface as serve mounts it, with who may call each route and the
// envelope it answers in.
func TestRoutesInREADME(t *testing.T) {
	st := storetest.Open(t)
	tenants, err := tenant.NewRegistry([]*tenant.App{{ID: "shop", SDKToken: "token-shop-0001"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Deps{
		Tenants: tenants, Store: st, AdminKey: "route-test-admin-key-01",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Orders: order.NewService(st, tenants, order.Options{}),
		Routes: []func(*server.Server) []server.Route{
			web.Mount(web.Options{}),
			server.WX(conversion.NewService(st, tenants, conversion.Options{})),
		},
	})
	table := server.RouteTable(srv.Routes())
	const readme = "../../README.md"
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i, j := strings.Index(doc, routesBegin), strings.Index(doc, routesEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no route list between %q and %q", strings.TrimSpace(routesBegin), routesEnd)
	}
	if got := doc[i+len(routesBegin) : j]; got != table {
		if os.Getenv("SHUYUAN_UPDATE_README") != "" {
			doc = doc[:i+len(routesBegin)] + table + doc[j:]
			if err := os.WriteFile(readme, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("README.md's route list is not the server's table; rewrite it with SHUYUAN_UPDATE_README=1.\nREADME:\n%s\ntable:\n%s", got, table)
	}
	// Every route of the table is documented or a catch-all of its
	// protocol, and patterns are unique.
	seen := map[string]bool{}
	for _, r := range srv.Routes() {
		if seen[r.Pattern] {
			t.Errorf("route %s twice", r.Pattern)
		}
		seen[r.Pattern] = true
		if r.Auth == "" || r.Envelope == "" || r.Handler == nil {
			t.Errorf("route %s lacks its auth, envelope or handler", r.Pattern)
		}
	}
}
