package event_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// capture is one request recorded by the harness's capture server.
type capture struct {
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

// loadCaptures reads testdata/captured-*.jsonl: real requests of the real SDK.
func loadCaptures(t testing.TB) map[string][]capture {
	t.Helper()
	files, err := filepath.Glob("testdata/captured-*.jsonl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures in testdata: %v", err)
	}
	out := map[string][]capture{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<22)
		for sc.Scan() {
			var c capture
			if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out[filepath.Base(f)] = append(out[filepath.Base(f)], c)
		}
		fh.Close()
	}
	return out
}

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }
