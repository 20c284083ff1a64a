package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/store/duckdb"
	"github.com/shuyuan-dev/shuyuan/internal/store/postgres"
)

const storeUsage = `Usage:
  shuyuan store copy --from <duckdb data dir> --to <postgres dsn> [--allow-nonempty] [--chunk N]

Copies an embedded store into a PostgreSQL database: events, contexts,
quarantine, ad touches, orders with goods and status history, daily sums,
visit pages, data sources, the conversion outbox with its states, the apps'
state and used nonces; then rolls the events up. Stop the server that owns
the embedded store first. A copy into a database that already holds data is
refused unless --allow-nonempty: then rows already there are kept and only
the missing ones are added, so a copy cut short can simply be run again.
`

// storeCmd runs "shuyuan store <sub>".
func storeCmd(args []string) error {
	if len(args) == 0 || args[0] != "copy" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Print(storeUsage)
			return errHelped
		}
		fmt.Fprint(os.Stderr, storeUsage)
		return fmt.Errorf("store: a subcommand is required (copy)")
	}
	fs := flag.NewFlagSet("store copy", flag.ContinueOnError)
	from := fs.String("from", "", "data directory (or file) of the embedded DuckDB store to read")
	to := fs.String("to", os.Getenv("SHUYUAN_DSN"), "PostgreSQL connection string to write into (env SHUYUAN_DSN)")
	allow := fs.Bool("allow-nonempty", false, "write into a database that already holds data, adding only what it lacks")
	chunk := fs.Int("chunk", 20_000, "rows per transaction")
	if err := parseFlags(fs, storeUsage, args[1:]); err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return fmt.Errorf("store copy: --from (the embedded store) and --to (the PostgreSQL DSN) are both required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	src, err := duckdb.Open(ctx, *from, duckdb.Options{NoMigrate: true})
	if err != nil {
		return fmt.Errorf("store copy: open the embedded store (is a server still running on it?): %w", err)
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, *to, postgres.Options{})
	if err != nil {
		return fmt.Errorf("store copy: %w", err)
	}
	defer dst.Close()
	fmt.Printf("copying %s into PostgreSQL\n", src.Path())
	start := time.Now()
	last := time.Time{}
	err = dst.CopyFrom(ctx, src.DB(), postgres.CopyOptions{Chunk: *chunk, AllowNonEmpty: *allow, Progress: func(p postgres.CopyProgress) {
		if !p.Done && time.Since(last) < time.Second {
			return
		}
		last = time.Now()
		pct := 100.0
		if p.Total > 0 {
			pct = 100 * float64(p.Copied) / float64(p.Total)
		}
		state := fmt.Sprintf("ETA %s", p.ETA().Round(time.Second))
		if p.Done {
			state = fmt.Sprintf("done in %s, %d new", p.Elapsed.Round(time.Millisecond), p.Added)
		}
		fmt.Printf("  %-22s %10d / %-10d rows (%5.1f%%)  %8.0f rows/s  %s\n", p.Table, p.Copied, p.Total, pct, p.Rate(), state)
	}})
	if err != nil {
		return fmt.Errorf("store copy: %w", err)
	}
	fmt.Printf("copied and rolled up in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}
