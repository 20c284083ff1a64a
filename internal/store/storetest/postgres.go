package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
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
	SkipWithoutPostgres(t)
	return openPostgres(t, newDatabase(t, migratedTemplate(t)), opt)
}

// migrated is the migrated template database of the process (migratedTemplate).
var migrated struct {
	once sync.Once
	name string
	err  error
}

// migratedTemplate returns a database of the server that holds this
// build's schema, made once per server and schema (postgres.SchemaDigest)
// and kept: a test's store in a copy of it skips the migrations, most of
// its setup (0.8 s).
func migratedTemplate(t testing.TB) string {
	t.Helper()
	migrated.once.Do(func() { migrated.name, migrated.err = makeTemplate(context.Background()) })
	if migrated.err != nil {
		t.Fatalf("migrated template database: %v", migrated.err)
	}
	return migrated.name
}

func makeTemplate(ctx context.Context) (string, error) {
	name := "shuyuan_template_" + postgres.SchemaDigest()[:16]
	conn, err := pgx.Connect(ctx, PostgresDSN())
	if err != nil {
		return "", fmt.Errorf("SHUYUAN_TEST_POSTGRES: %w", err)
	}
	defer conn.Close(ctx)
	// Test binaries start together: one makes it, the others wait for it.
	// The lock ends with the connection.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, name); err != nil {
		return "", err
	}
	var ready bool
	err = conn.QueryRow(ctx, `SELECT datistemplate FROM pg_database WHERE datname = $1`, name).Scan(&ready)
	if err == nil && ready {
		return name, nil
	}
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return "", err
	}
	// Not there, or left half made.
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
		return "", err
	}
	if err := createDatabase(ctx, conn, name, ""); err != nil {
		return "", err
	}
	st, err := postgres.Open(ctx, withDatabase(PostgresDSN(), name), postgres.Options{MaxConns: 2})
	if err != nil {
		return "", err
	}
	if err := st.Close(); err != nil {
		return "", err
	}
	// Marked a template once whole: a copy may be made of it.
	if _, err := conn.Exec(ctx, `ALTER DATABASE `+name+` WITH IS_TEMPLATE true`); err != nil {
		return "", err
	}
	return name, nil
}

// createDatabase creates database name, a copy of template, or else with
// a linguistic collation, as most servers are made with (en_US.UTF-8, or
// ICU), so that a text column that sorts by the server's locale instead
// of byte by byte makes the stores disagree in the tests too; a plain
// database where the server has no ICU.
func createDatabase(ctx context.Context, conn *pgx.Conn, name, template string) error {
	if template != "" {
		_, err := conn.Exec(ctx, `CREATE DATABASE `+name+` TEMPLATE `+template)
		return err
	}
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+name+` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`); err != nil {
		_, err = conn.Exec(ctx, `CREATE DATABASE `+name)
		return err
	}
	return nil
}

// NewPostgresDatabase creates a fresh, empty database on the
// SHUYUAN_TEST_POSTGRES server, dropped when the test ends, and returns
// its DSN; it skips the test without SHUYUAN_TEST_POSTGRES.
func NewPostgresDatabase(t testing.TB) string {
	t.Helper()
	SkipWithoutPostgres(t)
	return newDatabase(t, "")
}

// newDatabase is NewPostgresDatabase, a copy of template unless "".
func newDatabase(t testing.TB, template string) string {
	t.Helper()
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
	if err := createDatabase(ctx, conn, name, template); err != nil {
		t.Fatalf("create test database: %v", err)
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
