// Package attribution finds the WeChat Ads click id of a visit (gdt_vid,
// weixinadinfo, qz_gdt), keeps each user's ad touches and credits a
// conversion to the last touch inside the app's attribution window.
package attribution

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Click is an ad click found on a visit.
type Click struct {
	ClickID string // sent to WeChat as trace.click_id, exactly as received
	AdID    string // weixinadinfo field 1 (numeric), for our own reports only
	Source  string // gdt_vid | weixinadinfo | qz_gdt
	// Warning notes something odd that does not make the click unusable:
	// an id not starting with "wx", or weixinadinfo disagreeing with gdt_vid.
	Warning string
}

// Malformed is a click id present but unusable; the visit is kept and the
// click id goes to the quarantine with this reason.
type Malformed struct {
	Field string
	Value string
	Rule  string
}

func (e *Malformed) Error() string { return fmt.Sprintf("%s: %s (got %q)", e.Field, e.Rule, e.Value) }

var (
	clickAlphabet = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	digits        = regexp.MustCompile(`^[0-9]+$`)
)

// Sources are where the SDK puts the ids: the chan object (every key of the
// launch query is copied there) or, failing that, the launch page's query.
type Sources struct {
	GdtVid, AdInfo, QzGdt string
	PageQuery             string
}

// Find applies the rules of the ads spec §8: prefer gdt_vid, else field 2
// of weixinadinfo, else qz_gdt; URL-decode once, trim; empty and the
// literals undefined/null/false/0 mean absent; the id must be 6–64 of
// [A-Za-z0-9_-]. It returns ok=false when there is no click at all.
func Find(s Sources) (Click, bool, error) {
	if s.GdtVid == "" && s.AdInfo == "" && s.QzGdt == "" && s.PageQuery != "" {
		if q, err := url.ParseQuery(s.PageQuery); err == nil {
			// ParseQuery already decoded once; encode back so clean() decodes once only.
			s.GdtVid, s.AdInfo, s.QzGdt = url.QueryEscape(q.Get("gdt_vid")), url.QueryEscape(q.Get("weixinadinfo")), url.QueryEscape(q.Get("qz_gdt"))
		}
	}
	gdt, err := clean("gdt_vid", s.GdtVid)
	if err != nil {
		return Click{}, false, err
	}
	info, err := clean("weixinadinfo", s.AdInfo)
	if err != nil {
		return Click{}, false, err
	}
	var adID, infoClick string
	if info != "" {
		parts := strings.Split(info, ".")
		if len(parts) < 2 {
			return Click{}, false, &Malformed{"weixinadinfo", info, "must be <ad id>.<click id>.<scene>.<n>"}
		}
		if digits.MatchString(parts[0]) {
			adID = parts[0]
		}
		infoClick = parts[1]
	}
	switch {
	case gdt != "":
		c := Click{ClickID: gdt, AdID: adID, Source: "gdt_vid"}
		if err := check("gdt_vid", gdt); err != nil {
			return Click{}, false, err
		}
		if infoClick != "" && infoClick != gdt {
			c.Warning = fmt.Sprintf("weixinadinfo click id %q differs from gdt_vid; gdt_vid kept", infoClick)
		}
		return warnPrefix(c), true, nil
	case infoClick != "":
		if err := check("weixinadinfo", infoClick); err != nil {
			return Click{}, false, err
		}
		return warnPrefix(Click{ClickID: infoClick, AdID: adID, Source: "weixinadinfo"}), true, nil
	}
	qz, err := clean("qz_gdt", s.QzGdt)
	if err != nil {
		return Click{}, false, err
	}
	if qz != "" {
		if err := check("qz_gdt", qz); err != nil {
			return Click{}, false, err
		}
		return Click{ClickID: qz, Source: "qz_gdt"}, true, nil
	}
	return Click{}, false, nil
}

// clean URL-decodes once and trims; absent values come back empty.
func clean(field, v string) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	d, err := url.QueryUnescape(v)
	if err != nil {
		return "", &Malformed{field, v, "is not URL-encoded correctly"}
	}
	d = strings.TrimSpace(d)
	switch d {
	case "", "undefined", "null", "false", "0":
		return "", nil
	}
	return d, nil
}

func check(field, id string) error {
	switch {
	case len(id) <= 5:
		return &Malformed{field, id, "click id too short (at least 6 characters)"}
	case len(id) > 64:
		return &Malformed{field, id, "click id too long (at most 64 characters)"}
	case !clickAlphabet.MatchString(id):
		return &Malformed{field, id, "click id may only contain A-Z a-z 0-9 _ -"}
	}
	return nil
}

func warnPrefix(c Click) Click {
	if !strings.HasPrefix(c.ClickID, "wx") && c.Warning == "" {
		c.Warning = "click id does not start with wx (WeChat traffic ids do)"
	}
	return c
}

// CheckClickID applies the click id rules of Find (6–64 characters of
// A-Z a-z 0-9 _ -) to a value given as is, such as trace.click_id of an
// action a caller reports; field names it in the error.
func CheckClickID(field, id string) error {
	if strings.TrimSpace(id) != id || id == "" {
		return &Malformed{field, id, "click id required, without surrounding spaces"}
	}
	return check(field, id)
}
