package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/store/postgres"
)

// PostgresDSN is the server the PostgreSQL tests run on
// (SHUYUAN_TEST_POSTGRES, e.g. postgres://postgres@127.0.0.1:5432/postgres),
// "" when they are to be skipped. Each test gets a database of its own,
// created there and dropped when it ends.
func PostgresDSN() string { return os.Getenv("SHUYUAN_TEST_POSTGRES") }

// SkipWithoutPostgres skips t, saying why, unless SHUYUAN_TEST_POSTGRES is
// set.
func SkipWithoutPostgres(t testing.TB) {
	t.Helper()
	if PostgresDSN() == "" {
		t.Skip("PostgreSQL tests skipped: set SHUYUAN_TEST_POSTGRES to a server's URL (postgres://postgres@127.0.0.1:5432/postgres) to run them")
	}
}

// Postgres opens stores in fresh databases of the SHUYUAN_TEST_POSTGRES
// server.
var Postgres = Opener{
	Name: "postgres",
	Open: func(t testing.TB) store.Store { return OpenPostgres(t) },
	Reopen: func(t testing.TB, st store.Store) store.Store {
		t.Helper()
		dsn := st.(*postgres.Store).DSN()
		if err := st.Close(); err != nil {
			t.Fatalf("close store: %v", err)
		}
		return openPostgres(t, dsn, postgres.Options{})
	},
	Node: func(t testing.TB, st store.Store) store.Store {
		t.Helper()
		return openPostgres(t, st.(*postgres.Store).DSN(), postgres.Options{})
	},
}

// OpenPostgres returns a PostgreSQL store in a fresh database, dropped when
// the test ends; it skips the test without SHUYUAN_TEST_POSTGRES.
func OpenPostgres(t testing.TB) *postgres.Store {
	return OpenPostgresWith(t, postgres.Options{})
}

// OpenPostgresWith is OpenPostgres with options.
func OpenPostgresWith(t testing.TB, opt postgres.Options) *postgres.Store {
	t.Helper()
	return openPostgres(t, NewPostgresDatabase(t), opt)
}

// NewPostgresDatabase creates a fresh, empty database on the
// SHUYUAN_TEST_POSTGRES server, dropped when the test ends, and returns
// its DSN; it skips the test without SHUYUAN_TEST_POSTGRES.
func NewPostgresDatabase(t testing.TB) string {
	t.Helper()
	SkipWithoutPostgres(t)
	admin := PostgresDSN()
	ctx := context.Background()
	var b [6]byte
	rand.Read(b[:])
	name := "shuyuan_test_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("SHUYUAN_TEST_POSTGRES: %v", err)
	}
	defer conn.Close(ctx)
	// A linguistic collation, as most servers are made with (en_US.UTF-8,
	// or ICU), so that a text column that sorts by the server's locale
	// instead of byte by byte makes the stores disagree in the tests too;
	// a plain database where the server has no ICU.
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+name+` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`); err != nil {
		if _, err := conn.Exec(ctx, `CREATE DATABASE `+name); err != nil {
			t.Fatalf("create test database: %v", err)
		}
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Logf("drop test database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	return withDatabase(admin, name)
}

func openPostgres(t testing.TB, dsn string, opt postgres.Options) *postgres.Store {
	t.Helper()
	if opt.MaxConns == 0 {
		opt.MaxConns = 8
	}
	st, err := postgres.Open(context.Background(), dsn, opt)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// withDatabase is dsn naming database name instead of its own.
func withDatabase(dsn, name string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			u.Path = "/" + name
			return u.String()
		}
	}
	return dsn + " dbname=" + name
}
