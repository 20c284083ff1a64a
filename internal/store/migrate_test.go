package store

import (
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadMigrations(t *testing.T) {
	fs := fstest.MapFS{
		"m/0002_second.sql": {Data: []byte("CREATE TABLE b (x INT);")},
		"m/0001_first.sql":  {Data: []byte("CREATE TABLE a (x INT);")},
		"m/README":          {Data: []byte("not a migration")},
	}
	ms, err := LoadMigrations(fs, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].Version != 1 || ms[0].Name != "first" || ms[1].Version != 2 {
		t.Fatalf("migrations %+v", ms)
	}
	for name, want := range map[string]string{
		"m/first.sql":      "name must be NNNN_name.sql",
		"m/0000_zero.sql":  "name must be NNNN_name.sql",
		"m/0001_again.sql": "version 1 already used by 0001_again.sql",
	} {
		bad := fstest.MapFS{"m/0001_first.sql": {Data: []byte("SELECT 1;")}, name: {Data: []byte("SELECT 1;")}}
		if _, err := LoadMigrations(bad, "m"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
}

func TestSplitStatements(t *testing.T) {
	sql := `-- a comment; with a semicolon
CREATE TABLE a (
    x INT -- trailing; comment
);
ALTER TABLE a ADD COLUMN y INT;

-- the last statement need not end in one
DROP TABLE b`
	got := splitStatements(sql)
	want := []string{"CREATE TABLE a (\n    x INT -- trailing; comment\n);", "ALTER TABLE a ADD COLUMN y INT;", "DROP TABLE b"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}
