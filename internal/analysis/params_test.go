package analysis

import (
	"errors"
	"net/url"
	"testing"
)

// TestDeclaredParams asks every analysis with each option of every
// parameter it declares (each must be accepted) and with a value outside
// them (a BadRequest naming the parameter): the dashboard's forms and the
// API index are drawn from these declarations.
func TestDeclaredParams(t *testing.T) {
	st := fixture(t)
	declared := 0
	for _, a := range All() {
		for _, p := range a.Params {
			declared++
			for _, o := range p.Options {
				if _, err := askErr(st, a.Name, "2026-03-01", "2026-03-02", url.Values{p.Name: {o}}.Encode(), false); err != nil {
					t.Errorf("%s?%s=%s: %v", a.Name, p.Name, o, err)
				}
			}
			if p.Default != "" {
				if _, err := askErr(st, a.Name, "2026-03-01", "2026-03-02", url.Values{p.Name: {p.Default}}.Encode(), false); err != nil {
					t.Errorf("%s?%s=%s (the default): %v", a.Name, p.Name, p.Default, err)
				}
			}
			if len(p.Options) > 0 {
				_, err := askErr(st, a.Name, "2026-03-01", "2026-03-02", url.Values{p.Name: {"no-such-value"}}.Encode(), false)
				var bad *BadRequest
				if !errors.As(err, &bad) || bad.Field != p.Name {
					t.Errorf("%s?%s=no-such-value: got %v, want a BadRequest on %s", a.Name, p.Name, err, p.Name)
				}
			}
		}
	}
	if declared < 8 {
		t.Errorf("only %d parameters declared", declared)
	}
}
