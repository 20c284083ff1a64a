package main

import (
	"context"
	"fmt"

	"github.com/shuyuan-dev/shuyuan/internal/store/duckdb"
	"github.com/shuyuan-dev/shuyuan/internal/store/postgres"
)

const migrateSynopsis = `Usage:
  shuyuan migrate [config flags]

Applies the store's pending migrations and exits (serve does it too at start
unless --no-migrate). On PostgreSQL, nodes migrating together take turns.
`

// migrate is "shuyuan migrate".
func migrate(args []string) error {
	cfg, err := loadCommand("migrate", migrateSynopsis, args, nil)
	if err != nil {
		return err
	}
	cfg.NoMigrate = true
	ctx := context.Background()
	switch cfg.Store.Driver {
	case "duckdb":
		st, err := duckdb.Open(ctx, cfg.Store.Path, duckdb.Options{NoMigrate: true, MemoryLimit: cfg.Store.MemoryLimit})
		if err != nil {
			return err
		}
		defer st.Close()
		n, err := st.Migrate(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("applied %d migrations to %s\n", n, st.Path())
		return nil
	case "postgres":
		st, err := postgres.Open(ctx, cfg.Store.DSN, postgres.Options{NoMigrate: true, MaxConns: 2})
		if err != nil {
			return err
		}
		defer st.Close()
		n, err := st.Migrate(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("applied %d migrations to the PostgreSQL database\n", n)
		return nil
	}
	return fmt.Errorf("store.driver %q: must be duckdb or postgres", cfg.Store.Driver)
}
