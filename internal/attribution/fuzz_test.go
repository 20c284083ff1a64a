package attribution_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shuyuan-dev/shuyuan/internal/attribution"
)

// FuzzFind: whatever the SDK carries where click ids go, Find answers a
// click id WeChat accepts (6–64 of A-Z a-z 0-9 _ -, the ad id all digits),
// a Malformed naming one of the three fields, or nothing; and a click id
// it found is found again, the same, when it comes back as gdt_vid.
func FuzzFind(f *testing.F) {
	// Seeds: the ad values of every event of the real SDK captures.
	files, err := filepath.Glob("../event/testdata/captured-*.jsonl")
	if err != nil || len(files) == 0 {
		f.Fatalf("no captures: %v", err)
	}
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
			var evs []struct {
				Props struct {
					Page string `json:"page"`
					Chan struct {
						GdtVid string `json:"gdt_vid"`
						AdInfo string `json:"weixinadinfo"`
						QzGdt  string `json:"qz_gdt"`
					} `json:"chan"`
				} `json:"props"`
			}
			if err := json.Unmarshal([]byte(c.Body), &evs); err != nil {
				f.Fatal(err)
			}
			for _, e := range evs {
				_, query, _ := strings.Cut(e.Props.Page, "?")
				f.Add(e.Props.Chan.GdtVid, e.Props.Chan.AdInfo, e.Props.Chan.QzGdt, query)
			}
		}
		fh.Close()
	}
	f.Add("wx0ew", "1.wx0ew!nbalytptma00.0.1", "", "")
	f.Add("", "20966864%2Ewx0ewinbalytptma00%2E0%2E1", "", "")
	f.Add("%zz", "", "", "gdt_vid=%25")
	valid := regexp.MustCompile(`^[A-Za-z0-9_-]{6,64}$`)
	digits := regexp.MustCompile(`^[0-9]*$`)
	f.Fuzz(func(t *testing.T, gdt, info, qz, query string) {
		c, ok, err := attribution.Find(attribution.Sources{GdtVid: gdt, AdInfo: info, QzGdt: qz, PageQuery: query})
		if err != nil {
			var m *attribution.Malformed
			if !errors.As(err, &m) || (m.Field != "gdt_vid" && m.Field != "weixinadinfo" && m.Field != "qz_gdt") || ok {
				t.Fatalf("error %v (ok %v)", err, ok)
			}
			return
		}
		if !ok {
			if c != (attribution.Click{}) {
				t.Fatalf("no click, yet %+v", c)
			}
			return
		}
		if !valid.MatchString(c.ClickID) || !digits.MatchString(c.AdID) || attribution.CheckClickID("trace.click_id", c.ClickID) != nil {
			t.Fatalf("found click %+v", c)
		}
		switch c.Source {
		case "gdt_vid", "weixinadinfo", "qz_gdt":
		default:
			t.Fatalf("source %q", c.Source)
		}
		again, ok, err := attribution.Find(attribution.Sources{GdtVid: url.QueryEscape(c.ClickID)})
		if err != nil || !ok || again.ClickID != c.ClickID {
			t.Fatalf("click %q found again as %+v, %v, %v", c.ClickID, again, ok, err)
		}
	})
}
