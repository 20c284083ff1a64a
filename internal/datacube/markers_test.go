package datacube

import (
	"errors"
	"strings"
	"testing"
)

// TestMarkerInput: what a marker may be, what is read from an article
// link, and which field each refusal names.
func TestMarkerInput(t *testing.T) {
	for _, c := range []struct {
		marker    string
		in        MarkerInput
		field     string // "" for accepted
		linkMsgID string
	}{
		{"oa-spring_2026.v1", MarkerInput{Title: " 春季大促 "}, "", ""},
		{"oa-1", MarkerInput{Link: "https://mp.weixin.qq.com/s?__biz=MzA&mid=2247490098&idx=2&sn=x#rd"}, "", "2247490098_2"},
		{"oa-1", MarkerInput{Link: "https://mp.weixin.qq.com/s/AbCdEf"}, "", ""},
		{"oa-1", MarkerInput{Link: "https://mp.weixin.qq.com/s?mid=22474x&idx=1"}, "", ""},
		{"oa-1", MarkerInput{MsgID: "2247490098_1"}, "", ""},
		{"", MarkerInput{Title: "x"}, "marker", ""},
		{"oa/1", MarkerInput{Title: "x"}, "marker", ""},
		{"荔枝", MarkerInput{Title: "x"}, "marker", ""},
		{strings.Repeat("a", MaxMarkerLen+1), MarkerInput{Title: "x"}, "marker", ""},
		{"oa-1", MarkerInput{}, "msgid", ""},
		{"oa-1", MarkerInput{Title: "   "}, "msgid", ""},
		{"oa-1", MarkerInput{MsgID: "2247490098-1"}, "msgid", ""},
		{"oa-1", MarkerInput{MsgID: "_1"}, "msgid", ""},
		{"oa-1", MarkerInput{Link: "ftp://mp.weixin.qq.com/s"}, "link", ""},
		{"oa-1", MarkerInput{Link: "https://"}, "link", ""},
		{"oa-1", MarkerInput{Title: "x\xff"}, "title", ""},
	} {
		m, err := markerOf("shop", c.marker, c.in)
		var bad *BadMarker
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%q %+v: %v", c.marker, c.in, err)
		case c.field != "" && (!errors.As(err, &bad) || bad.Field != c.field):
			t.Errorf("%q %+v: %v, want an error naming %s", c.marker, c.in, err, c.field)
		case c.field == "" && m.LinkMsgID != c.linkMsgID:
			t.Errorf("%q %+v: link msgid %q, want %q", c.marker, c.in, m.LinkMsgID, c.linkMsgID)
		}
	}
	if m, _ := markerOf("shop", "oa-1", MarkerInput{Title: " 春季大促 "}); m.Title != "春季大促" {
		t.Errorf("title kept untrimmed: %q", m.Title)
	}
}
