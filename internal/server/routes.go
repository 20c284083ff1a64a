package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/shuyuan-dev/shuyuan/internal/order"
)

// Route is one entry of the HTTP surface: its pattern (Go's mux syntax),
// who may call it, the envelope its answers and errors come in, what it is
// for, and its handler. The whole surface is one table (Server.Routes);
// the README's route list is written from it (TestRoutesInREADME).
type Route struct {
	Pattern  string
	Auth     string // AuthNone, AuthSDK, AuthSigned, AuthAdmin, AuthLogin
	Envelope string // EnvSDK, EnvDataAPI, EnvWeChat, EnvAPI, EnvHTML, ...
	// Doc is what the route is for; a route without one (a catch-all that
	// answers in its protocol's envelope) is left out of the README.
	Doc     string
	Handler http.Handler
}

// Who may call a route.
const (
	AuthNone   = "—"
	AuthSDK    = "SDK token"
	AuthSigned = "Youshu signature"
	AuthAdmin  = "admin key"
	AuthLogin  = "login (or admin key)"
	AuthOps    = "— (metrics_token if set)"
)

// The envelopes answers come in.
const (
	EnvSDK     = "SDK `code`/`msg`"
	EnvDataAPI = "data-api `retcode`/`errmsg`"
	EnvWeChat  = "WeChat `errcode`/`errmsg`"
	EnvAPI     = "JSON, errors as `{\"error\":…}`"
	EnvAPICSV  = EnvAPI + "; or CSV"
	EnvHTML    = "HTML"
	EnvJSON    = "JSON"
	EnvMetrics = "Prometheus text"
	EnvStatic  = "static file"
)

// Routes is the whole HTTP surface: the server's own routes, the data-api
// when the server serves one, and those of Deps.Routes (the WeChat routes,
// the dashboard).
func (s *Server) Routes() []Route {
	rs := []Route{
		{"POST /api/report", AuthSDK, EnvSDK, "the Youshu SDK upload ([docs/sdk.md](docs/sdk.md))", http.HandlerFunc(s.report)},
		{"/api/report", AuthNone, EnvSDK, "", http.HandlerFunc(s.reportMethod)},
	}
	rs = append(rs, s.dataAPIRoutes()...)
	rs = append(rs,
		Route{"GET /api/v1/apps", AuthAdmin, EnvAPI, "configured apps", s.Admin(http.HandlerFunc(s.listApps))},
		Route{"GET /api/v1/apps/{app}/analysis", AuthAdmin, EnvAPI, "the analyses, each with its description and the parameters it reads", s.Admin(http.HandlerFunc(s.listAnalyses))},
		Route{"GET /api/v1/apps/{app}/analysis/{name}", AuthAdmin, EnvAPICSV, "one analysis over `?from=YYYY-MM-DD&to=YYYY-MM-DD` as JSON, or CSV with `format=csv` (raw names and values, for programs)", s.Admin(http.HandlerFunc(s.analysis))},
		Route{"GET /api/v1/apps/{app}/article-markers", AuthAdmin, EnvAPI, "the article markers and the articles they stand for ([docs/wechat-data.md](docs/wechat-data.md))", s.Admin(http.HandlerFunc(s.listMarkers))},
		Route{"PUT /api/v1/apps/{app}/article-markers/{marker}", AuthAdmin, EnvAPI, "set a marker's article: `{\"msgid\"}` by hand, or `{\"title\", \"link\"}` for shuyuan to find it among the pulled articles", s.Admin(http.HandlerFunc(s.putMarker))},
		Route{"DELETE /api/v1/apps/{app}/article-markers/{marker}", AuthAdmin, EnvAPI, "forget a marker", s.Admin(http.HandlerFunc(s.deleteMarker))},
		Route{"GET /healthz", AuthNone, EnvJSON, "liveness", http.HandlerFunc(s.healthz)},
		Route{"GET /readyz", AuthNone, EnvJSON, "readiness: the store answers and takes writes, and the node is not draining", http.HandlerFunc(s.readyz)},
	)
	if s.MetricsAddr == "" {
		rs = append(rs, Route{"GET /metrics", AuthOps, EnvMetrics, "Prometheus metrics (on `metrics_addr` instead, when set)", s.metricsHandler()})
	}
	for _, more := range s.Deps.Routes {
		rs = append(rs, more(s)...)
	}
	return rs
}

// dataAPIRoutes are the backend data-api's routes (signed like Youshu's),
// none when the server serves no data-api.
func (s *Server) dataAPIRoutes() []Route {
	if s.Orders == nil {
		return nil
	}
	o := s.Orders
	route := func(pattern, doc string, call func(ctx context.Context, c order.Call) (any, error)) Route {
		return Route{pattern, AuthSigned, EnvDataAPI, doc, s.dataAPI(call)}
	}
	get := func(ctx context.Context, c order.Call) (any, error) { return o.GetDataSources(ctx, c) }
	const docs = " ([docs/data-api.md](docs/data-api.md))"
	return []Route{
		route("POST /data-api/v1/order/add_order", "orders, upserted with their status history"+docs,
			func(ctx context.Context, c order.Call) (any, error) { return o.AddOrders(ctx, c) }),
		route("POST /data-api/v1/order/add_order_sum", "the merchant's daily order totals"+docs,
			func(ctx context.Context, c order.Call) (any, error) { return o.AddOrderSums(ctx, c) }),
		route("POST /data-api/v1/analysis/add_wxapp_visit_page", "WeChat's daily page-visit report"+docs,
			func(ctx context.Context, c order.Call) (any, error) { return o.AddVisitPages(ctx, c) }),
		route("POST /data-api/v1/data_source/add", "create (or find) the data source the calls name"+docs,
			func(ctx context.Context, c order.Call) (any, error) { return o.AddDataSource(ctx, c) }),
		route("GET /data-api/v1/data_source/get", "list the app's data sources"+docs, get),
		route("POST /data-api/v1/data_source/get", "the same, asked by POST", get),
		{"/data-api/v1/", AuthSigned, EnvDataAPI, "", http.HandlerFunc(s.dataAPIUnknown)},
	}
}

// RouteTable renders the documented routes as the README's markdown table.
func RouteTable(routes []Route) string {
	var b strings.Builder
	b.WriteString("| route | auth | answers in | what |\n| --- | --- | --- | --- |\n")
	for _, r := range routes {
		if r.Doc == "" {
			continue
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", r.Pattern, r.Auth, r.Envelope, r.Doc)
	}
	return b.String()
}
