package attribution_test

import (
	"strings"
	"testing"

	"github.com/shuyuan-dev/shuyuan/internal/attribution"
)

func TestFind(t *testing.T) {
	cases := []struct {
		name     string
		in       attribution.Sources
		click    string
		adID     string
		source   string
		ok       bool
		badField string
		warn     bool
	}{
		{name: "nothing", in: attribution.Sources{}, ok: false},
		{name: "gdt_vid and weixinadinfo", in: attribution.Sources{GdtVid: "wx0ewinbalytptma00", AdInfo: "20966864.wx0ewinbalytptma00.0.1"},
			click: "wx0ewinbalytptma00", adID: "20966864", source: "gdt_vid", ok: true},
		{name: "16-char id kept as sent", in: attribution.Sources{GdtVid: "wx0ewinbalytptma"}, click: "wx0ewinbalytptma", source: "gdt_vid", ok: true},
		{name: "weixinadinfo only", in: attribution.Sources{AdInfo: "12345678901.wx03uxqfwz22ubsa00.0.0"},
			click: "wx03uxqfwz22ubsa00", adID: "12345678901", source: "weixinadinfo", ok: true},
		{name: "url-encoded once", in: attribution.Sources{AdInfo: "20966864%2Ewx0ewinbalytptma00%2E0%2E1"},
			click: "wx0ewinbalytptma00", adID: "20966864", source: "weixinadinfo", ok: true},
		{name: "mismatch keeps gdt_vid", in: attribution.Sources{GdtVid: "wx0roylv2tqhiegu00", AdInfo: "20966864.wx0vnret2znwpts4.0.1"},
			click: "wx0roylv2tqhiegu00", adID: "20966864", source: "gdt_vid", ok: true, warn: true},
		{name: "qz_gdt", in: attribution.Sources{QzGdt: "abcdefgh12345"}, click: "abcdefgh12345", source: "qz_gdt", ok: true, warn: false},
		{name: "empty qz_gdt of 2.1.1 is absent", in: attribution.Sources{QzGdt: ""}, ok: false},
		{name: "literal undefined", in: attribution.Sources{GdtVid: "undefined"}, ok: false},
		{name: "literal false", in: attribution.Sources{GdtVid: " false "}, ok: false},
		{name: "launch page query", in: attribution.Sources{PageQuery: "gdt_vid=wx0grqr5bhg4cig6&weixinadinfo=20966864.wx0grqr5bhg4cig6.0.0&chan_id=x"},
			click: "wx0grqr5bhg4cig6", adID: "20966864", source: "gdt_vid", ok: true},
		{name: "too short", in: attribution.Sources{GdtVid: "wx0ew"}, badField: "gdt_vid"},
		{name: "wrong alphabet", in: attribution.Sources{GdtVid: "wx0ewin balytptma00"}, badField: "gdt_vid"},
		{name: "wrong alphabet in weixinadinfo", in: attribution.Sources{AdInfo: "1.wx0ew!nbalytptma00.0.1"}, badField: "weixinadinfo"},
		{name: "weixinadinfo without dots", in: attribution.Sources{AdInfo: "20966864"}, badField: "weixinadinfo"},
		{name: "too long", in: attribution.Sources{GdtVid: "wx" + strings.Repeat("a", 63)}, badField: "gdt_vid"},
		{name: "not wx is only a warning", in: attribution.Sources{GdtVid: "ab0ewinbalytptma00"}, click: "ab0ewinbalytptma00", source: "gdt_vid", ok: true, warn: true},
		{name: "non-numeric ad id not kept", in: attribution.Sources{AdInfo: "x1.wx0ewinbalytptma00.0.1"}, click: "wx0ewinbalytptma00", source: "weixinadinfo", ok: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok, err := attribution.Find(c.in)
			if c.badField != "" {
				m, isM := err.(*attribution.Malformed)
				if !isM || m.Field != c.badField {
					t.Fatalf("got %v, want a Malformed %s", err, c.badField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ok != c.ok || got.ClickID != c.click || got.AdID != c.adID || got.Source != c.source || (got.Warning != "") != c.warn {
				t.Fatalf("got %+v ok=%v, want click %q ad %q source %q ok=%v warn=%v", got, ok, c.click, c.adID, c.source, c.ok, c.warn)
			}
		})
	}
}
