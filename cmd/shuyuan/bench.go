package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/demo"
	"github.com/shuyuan-dev/shuyuan/internal/loadtest"
)

const benchUsage = `Usage:
  shuyuan bench ingest [flags]

Posts 10-event SDK uploads (demo traffic, each its own tracking id) from
concurrent clients to a running server on this machine and reports the
acknowledged events/s and latencies; --baseline runs the same load against
a bare net/http + encoding/json handler in this process, for comparison.
With --rate the clients offer that many events per second in all, on a
schedule, instead of sending as fast as they are answered: whether the
server keeps up with a given load.
`

// bench runs the load generators; only "ingest" exists.
func bench(args []string) error {
	if len(args) == 0 || args[0] != "ingest" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Print(benchUsage)
			return errHelped
		}
		fmt.Fprint(os.Stderr, benchUsage)
		return fmt.Errorf("bench: the only benchmark is \"ingest\"")
	}
	fs := flag.NewFlagSet("bench ingest", flag.ContinueOnError)
	var opt loadtest.Options
	fs.StringVar(&opt.URL, "url", "http://127.0.0.1:8080", "base URL of the server, or a comma-separated list of nodes (loopback only)")
	fs.StringVar(&opt.Token, "token", demo.SDKToken, "SDK token of an app of the server (the demo app's by default)")
	fs.IntVar(&opt.Clients, "clients", 16, "concurrent clients")
	fs.DurationVar(&opt.Duration, "duration", 30*time.Second, "how long to send")
	fs.BoolVar(&opt.Encrypt, "encrypt", false, "send the SDK's encrypted form (RC4 + base64)")
	fs.Int64Var(&opt.Seed, "seed", 0, "seed of the generated traffic (0: from the clock)")
	fs.Float64Var(&opt.Rate, "rate", 0, "events per second to offer, spread over the clients (0: each client sends as soon as it is answered)")
	baseline := fs.Bool("baseline", false, "also run the same load against a bare net/http + encoding/json handler, in this process")
	if err := parseFlags(fs, benchUsage, args[1:]); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fmt.Printf("posting 10-event SDK uploads from %d clients for %v (encrypt %v)\n\n", opt.Clients, opt.Duration, opt.Encrypt)
	res, err := loadtest.Run(ctx, opt)
	if err != nil {
		return fmt.Errorf("bench ingest: %w", err)
	}
	loadtest.Print(os.Stdout, "shuyuan ", res)
	if !*baseline {
		return nil
	}
	b, err := loadtest.StartBaseline()
	if err != nil {
		return err
	}
	defer b.Close()
	bopt := opt
	bopt.URL = b.URL
	bres, err := loadtest.Run(ctx, bopt)
	if err != nil {
		return fmt.Errorf("bench ingest baseline: %w", err)
	}
	fmt.Println()
	loadtest.Print(os.Stdout, "baseline", bres)
	fmt.Println()
	loadtest.Compare(os.Stdout, res, bres)
	return nil
}
