// Command shuyuan is the Youshu-compatible collector, analytics server and
// WeChat Ads conversion reporter of a WeChat mini-program merchant. This
// package only parses flags and wires the internal packages together: one
// file per subcommand, sharing loadCommand (command.go).
package main

import (
	"errors"
	"fmt"
	"os"
	_ "time/tzdata" // days are cut in Asia/Shanghai even where the OS has no zoneinfo
)

const usage = `shuyuan — own your mini-program commerce data

Usage:
  shuyuan serve   [flags]   run the collector, data-api, analyses and dashboard
  shuyuan migrate [flags]   apply pending store migrations and exit
  shuyuan config  [flags]   print the effective configuration, secrets masked
  shuyuan token   [--app ID] [--from URL] [flags]   print an app's current WeChat access token
  shuyuan outbox replay [--app ID] [--server URL] [flags]   send the WeChat Ads dead letters again
  shuyuan relay replay [--app ID] [flags]                   send the Youshu relay's dead letters again
  shuyuan pull --app ID --from DAY --to DAY [--again]     pull WeChat's analysis data of those days now
  shuyuan store copy --from DIR --to DSN   copy the embedded store into PostgreSQL
  shuyuan fakewx  --addr ADDR --app appid:secret:account ...   run the WeChat API fake alone
  shuyuan bench ingest [flags]   load-test a running server's SDK endpoint over loopback
  shuyuan version           print the version, commit and build date

"shuyuan <command> -h" lists a command's flags. Every configuration flag has
a SHUYUAN_* environment fallback (--addr: SHUYUAN_ADDR).
`

// commands are the subcommands by name.
var commands = map[string]func(args []string) error{
	"serve":   serve,
	"migrate": migrate,
	"config":  printConfig,
	"token":   tokenCmd,
	"outbox":  outboxCmd,
	"relay":   relayCmd,
	"pull":    pullCmd,
	"store":   storeCmd,
	"fakewx":  fakewxCmd,
	"bench":   bench,
	"version": versionCmd,
}

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
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Print(usage)
		return nil
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
	if err := cmd(args[1:]); err != nil && !errors.Is(err, errHelped) {
		return err
	}
	return nil
}
