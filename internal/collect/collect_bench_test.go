package collect_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/collect"
	"github.com/shuyuan-dev/shuyuan/internal/store"
	"github.com/shuyuan-dev/shuyuan/internal/tenant"
)

// discard is a Writer that keeps nothing.
type discard struct{}

func (discard) Write(_ context.Context, b *store.EventBatch) (store.EventResult, error) {
	return store.EventResult{Accepted: len(b.Events), Quarantined: len(b.Quarantined)}, nil
}

// BenchmarkCollect is an upload's request path without HTTP and the store:
// the body checked and split, each event parsed, ad clicks resolved, the
// batch handed on; over the real captures.
func BenchmarkCollect(b *testing.B) {
	bodies := captureBodies(b)
	app := &tenant.App{ID: "shop", SDKToken: "shop-sdk-token", Location: time.UTC}
	received := time.UnixMilli(1795373700000) // just after the captures were sent
	c := collect.New(discard{}, nil)
	n := 0
	for _, body := range bodies {
		res, err := c.Collect(context.Background(), collect.Upload{App: app, Body: body, ReceivedAt: received, MaxEvents: 500})
		if err != nil || res.Quarantined > 0 {
			b.Fatalf("%v, %d quarantined", err, res.Quarantined)
		}
		n += res.Accepted
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, body := range bodies {
			if _, err := c.Collect(context.Background(), collect.Upload{App: app, Body: body, ReceivedAt: received, MaxEvents: 500}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1000, "µs/event")
}

// BenchmarkDecode is an upload's body checked and split as the request path
// does (Decode), and split as the loader reads it back from the intake log
// (DecodeLogged), over the real captures.
func BenchmarkDecode(b *testing.B) {
	bodies := captureBodies(b)
	app := &tenant.App{ID: "shop", SDKToken: "shop-sdk-token", Location: time.UTC}
	for _, bc := range []struct {
		name   string
		decode func(collect.Upload) ([]json.RawMessage, error)
	}{{"checked", collect.Decode}, {"logged", collect.DecodeLogged}} {
		b.Run(bc.name, func(b *testing.B) {
			n := 0
			for i := 0; i < b.N; i++ {
				for _, body := range bodies {
					raws, err := bc.decode(collect.Upload{App: app, Body: body})
					if err != nil {
						b.Fatal(err)
					}
					n += len(raws)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n)/1000, "µs/event")
		})
	}
}
