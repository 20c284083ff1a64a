package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/wxfake"
)

const fakewxSynopsis = `Usage:
  shuyuan fakewx --addr ADDR --app appid:secret:account_id [--app ...] [flags]

Runs the faithful fake of WeChat's token and marketing API alone, for trying
the conversion loop (point wechat.base_url at it) against something local.
GET /_fake/actions lists the actions it accepted.
`

// fakewxCmd is "shuyuan fakewx": the WeChat fake on its own.
func fakewxCmd(args []string) error {
	fs := flag.NewFlagSet("fakewx", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9090", "address to listen on")
	var apps appFlags
	fs.Var(&apps, "app", "an app as appid:secret:account_id (repeatable)")
	identify := fs.Bool("identify-all", true, "count every well-formed click id as known (else register them with POST /_fake/clicks)")
	dedup := fs.Bool("dedup-outer-action-id", true, "treat a repeated outer_action_id as a duplicate")
	rate := fs.Float64("fault-rate", 0, "probability in [0,1] of a random fault per marketing call")
	kinds := fs.String("fault-kinds", "", "comma-separated fault kinds drawn at random (default: the transient ones)")
	seed := fs.Uint64("fault-seed", 1, "seed of the random faults")
	life := fs.Duration("token-lifetime", 7200*time.Second, "lifetime of a fresh token")
	if err := parseFlags(fs, fakewxSynopsis, args); err != nil {
		return err
	}
	if len(apps) == 0 {
		return fmt.Errorf("fakewx: at least one --app appid:secret:account_id is required")
	}
	opts := wxfake.Options{Apps: apps, IdentifyWellFormed: *identify, DedupOuterActionID: *dedup,
		FaultRate: *rate, FaultSeed: *seed, TokenLifetime: *life}
	if *kinds != "" {
		for _, k := range strings.Split(*kinds, ",") {
			opts.FaultKinds = append(opts.FaultKinds, wxfake.FaultKind(strings.TrimSpace(k)))
		}
	}
	fake, err := wxfake.New(opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *addr, err)
	}
	fmt.Fprintf(os.Stderr, "wxfake listening on http://%s (%d apps); GET /_fake/actions lists what it accepted\n", ln.Addr(), len(apps))
	hs := &http.Server{Handler: fake, ReadHeaderTimeout: 10 * time.Second}
	return hs.Serve(ln)
}

// appFlags collects repeated --app flags of fakewx.
type appFlags []wxfake.App

func (a *appFlags) String() string { return fmt.Sprint(len(*a), " apps") }

func (a *appFlags) Set(s string) error {
	app, err := wxfake.ParseApp(s)
	if err != nil {
		return err
	}
	*a = append(*a, app)
	return nil
}
