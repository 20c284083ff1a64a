// Command shuyuan is the Youshu-compatible collector, analytics server and
// WeChat Ads conversion reporter of a WeChat mini-program merchant.
package main

import (
	"fmt"
	"os"
	_ "time/tzdata" // days are cut in Asia/Shanghai even where the OS has no zoneinfo
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `shuyuan — own your mini-program commerce data

Usage:
  shuyuan serve   [flags]   run the collector, data-api, analyses and dashboard
  shuyuan migrate [flags]   apply pending store migrations and exit
  shuyuan config  [flags]   print the effective configuration, secrets masked
  shuyuan store copy --from DIR --to DSN   copy the embedded store into PostgreSQL
  shuyuan bench ingest [flags]  load-test a running server's SDK endpoint over loopback
  shuyuan token   --app ID [--from URL] [flags]   print the app's current WeChat access token
  shuyuan outbox replay [--app ID] [--server URL] [flags]   send the WeChat Ads dead letters again
  shuyuan fakewx  --addr ADDR --app appid:secret:account ...   run the WeChat API fake alone
  shuyuan version           print the version

Every flag has a SHUYUAN_* environment fallback (--addr → SHUYUAN_ADDR);
run "shuyuan serve -h" for the flags.
`

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "shuyuan:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("a command is required")
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(rest)
	case "migrate":
		return migrate(rest)
	case "config":
		return printConfig(rest)
	case "bench":
		return bench(rest)
	case "store":
		return storeCmd(rest)
	case "token":
		return tokenCmd(rest)
	case "outbox":
		return outboxCmd(rest)
	case "fakewx":
		return fakewxCmd(rest)
	case "version":
		fmt.Println("shuyuan", version)
		return nil
	case "help", "-h", "--help":
		fmt.Print(usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}
