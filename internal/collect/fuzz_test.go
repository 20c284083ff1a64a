package collect_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shuyuan-dev/shuyuan/internal/collect"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// captureBodies are the upload bodies of the real SDK captures.
func captureBodies(f testing.TB) [][]byte {
	files, err := filepath.Glob("../event/testdata/captured-*.jsonl")
	if err != nil || len(files) == 0 {
		f.Fatalf("no captures: %v", err)
	}
	var out [][]byte
	for _, name := range files {
		fh, err := os.Open(name)
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<22)
		for sc.Scan() {
			var c struct{ Body string }
			if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
				f.Fatal(err)
			}
			out = append(out, []byte(c.Body))
		}
		fh.Close()
	}
	return out
}

// recorder is a Writer that keeps what it is handed.
type recorder struct{ batches []*store.EventBatch }

func (r *recorder) Write(_ context.Context, b *store.EventBatch) (store.EventResult, error) {
	r.batches = append(r.batches, b)
	return store.EventResult{Accepted: len(b.Events), Quarantined: len(b.Quarantined)}, nil
}

// FuzzCollect: whatever body an SDK client posts, plain or encrypted, the
// collector answers without panicking; a refused body hands nothing to
// the store; an accepted one hands every event it holds once, stored or
// quarantined; the encrypted form of a body is read exactly as the body.
func FuzzCollect(f *testing.F) {
	const key = "1795373591817-8f1e2d3c-4b5a-4697-8877-665544332211"
	for _, b := range captureBodies(f) {
		f.Add(b, key)
	}
	for _, b := range []string{``, `[]`, `{"type":"x"}`, `[{"x":tru}]`, `[{"type":"search"},]`, "[\"\xff\"]", `[1,{"type":"` + "\u0001" + `"}]`} {
		f.Add([]byte(b), "k")
	}
	app := &tenant.App{ID: "shop", SDKToken: "shop-sdk-token", Location: time.UTC}
	received := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte, key string) {
		up := collect.Upload{App: app, Body: body, ReceivedAt: received, MaxEvents: 500}
		raws, derr := collect.Decode(up)
		if derr == nil && (!json.Valid(body) || !utf8.Valid(body)) {
			t.Fatalf("decoded a body that is not valid UTF-8 JSON: %q", body)
		}
		for _, raw := range raws {
			if !json.Valid(raw) {
				t.Fatalf("decoded event %q is not JSON", raw)
			}
		}
		// The events of an array are what decoding it into raw messages
		// gives, byte for byte.
		var want []json.RawMessage
		if derr == nil && json.Unmarshal(body, &want) == nil {
			if len(raws) != len(want) {
				t.Fatalf("%q: %d events, want %d", body, len(raws), len(want))
			}
			for i := range want {
				if !bytes.Equal(raws[i], want[i]) {
					t.Fatalf("%q: event %d is %q, want %q", body, i, raws[i], want[i])
				}
			}
		}
		// Read back from the intake log (logged only once Decode accepted
		// it), a body splits into the same events without the check.
		if derr == nil {
			logged, err := collect.DecodeLogged(up)
			if err != nil || !reflect.DeepEqual(logged, raws) {
				t.Fatalf("%q read back from the log as %q (%v), decoded as %q", body, logged, err, raws)
			}
		}
		var w recorder
		res, err := collect.New(&w, nil).Collect(context.Background(), up)
		var ce *collect.Error
		switch {
		case err != nil && !errors.As(err, &ce):
			t.Fatalf("error %T %v, want a *collect.Error", err, err)
		case err != nil && ce.Code != collect.CodeBadBody && ce.Code != collect.CodeTooMany:
			t.Fatalf("code %d for %q", ce.Code, body)
		case err != nil && len(w.batches) > 0:
			t.Fatalf("a refused body (%v) handed %d batches to the store", err, len(w.batches))
		case err == nil && derr != nil:
			t.Fatalf("collected a body Decode refuses: %v", derr)
		case err == nil && len(raws) > 0:
			if len(w.batches) != 1 {
				t.Fatalf("%d raws handed in %d batches", len(raws), len(w.batches))
			}
			b := w.batches[0]
			if len(b.Events)+len(b.Quarantined) != len(raws) || res.Accepted+res.Quarantined != len(raws) {
				t.Fatalf("%d raws became %d events and %d quarantined", len(raws), len(b.Events), len(b.Quarantined))
			}
			for _, q := range b.Quarantined {
				if !containsRaw(raws, q.Raw) || q.Reason == "" {
					t.Fatalf("quarantined %q (%s) is not an event of the body", q.Raw, q.Reason)
				}
			}
		}

		// Encrypted, the body is read the same.
		if key == "" || len(key) > 256 {
			return
		}
		enc, err := collect.Encrypt(body, key)
		if err != nil {
			t.Fatal(err)
		}
		up.Body, up.Encrypted, up.EncryptKey = enc, true, key
		eraws, eerr := collect.Decode(up)
		if (eerr == nil) != (derr == nil) || !reflect.DeepEqual(eraws, raws) {
			t.Fatalf("encrypted body read as %d events (%v), plain as %d (%v)", len(eraws), eerr, len(raws), derr)
		}
		if eerr == nil {
			if logged, err := collect.DecodeLogged(up); err != nil || !reflect.DeepEqual(logged, raws) {
				t.Fatalf("encrypted body read back from the log as %d events (%v), plain as %d", len(logged), err, len(raws))
			}
		}
	})
}

func containsRaw(raws []json.RawMessage, r json.RawMessage) bool {
	for _, x := range raws {
		if bytes.Equal(x, r) {
			return true
		}
	}
	return false
}
