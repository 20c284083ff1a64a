package analysis

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"testing"
)

// FuzzQuery: whatever from, to and parameters an API client sends, each
// analysis answers a result or a BadRequest naming from, to or one of the
// parameters sent — never a failure of its SQL, which a merchant would see
// as "analysis failed" — and no range beyond MaxDays is run.
func FuzzQuery(f *testing.F) {
	all := All()
	for i, a := range all {
		f.Add(uint8(i), "2026-03-01", "2026-03-02", "")
		for _, p := range a.Params {
			for _, o := range append([]string{p.Default, "no-such-value"}, p.Options...) {
				f.Add(uint8(i), "2026-03-01", "2026-03-02", url.Values{p.Name: {o}}.Encode())
			}
		}
	}
	f.Add(uint8(0), "2026-02-30", "2026-03-01", "")
	f.Add(uint8(0), "2025-01-01", "2026-03-01", "")
	f.Add(uint8(0), "2026-03-02", "2026-03-01", "")
	f.Add(uint8(3), "2026-03-01", "2026-03-01", "steps=app_launch,search:%27;DROP TABLE events;--,custom_order:payed&window=1d&by=chan_id")
	f.Add(uint8(3), "2026-03-01", "2026-03-01", "steps=a,b,c,d,e,f,g,h,i,j,k&window=-1h")
	f.Add(uint8(9), "2026-03-01", "2026-03-01", "limit=0&sort=gmv_fen")
	st := fixture(f)
	f.Fuzz(func(t *testing.T, n uint8, from, to, query string) {
		a := all[int(n)%len(all)]
		params, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		q, err := ParseQuery(fixtureTenant, from, to, params)
		if err != nil {
			var bad *BadRequest
			if !errors.As(err, &bad) || (bad.Field != "from" && bad.Field != "to" && !params.Has(bad.Field)) {
				t.Fatalf("ParseQuery(%q, %q): %v", from, to, err)
			}
			return
		}
		if q.To.Before(q.From) || int(q.To.Sub(q.From).Hours()/24)+1 > MaxDays {
			t.Fatalf("ParseQuery(%q, %q) let through %s .. %s", from, to, q.From, q.To)
		}
		_, err = a.Run(context.Background(), st, q)
		if err == nil {
			return
		}
		var bad *BadRequest
		if !errors.As(err, &bad) {
			t.Fatalf("%s?%s from %s to %s failed: %v", a.Name, query, from, to, err)
		}
		declared := []string{"from", "to"}
		for _, p := range a.Params {
			declared = append(declared, p.Name)
		}
		if !slices.Contains(declared, bad.Field) {
			t.Fatalf("%s?%s: BadRequest on %q, which it does not declare: %v", a.Name, query, bad.Field, err)
		}
	})
}
