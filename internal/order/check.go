package order

// The generic reader of the data-api's JSON: a checker that collects every
// broken rule with the field's path, and typed readers of an object's
// members (strings, ids, numbers, yuan, times, statuses) that report to it.
// The endpoints' readers (parse.go, parse_orders.go) are built from them.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// checker collects broken rules, up to MaxProblems.
type checker struct {
	problems []Problem
	more     bool
}

func (c *checker) add(field, rule string, args ...any) {
	if len(c.problems) >= MaxProblems {
		c.more = true
		return
	}
	c.problems = append(c.problems, Problem{field, fmt.Sprintf(rule, args...)})
}

func (c *checker) err() *Error {
	if len(c.problems) == 0 {
		return nil
	}
	e := invalid(c.problems)
	if c.more {
		e.Msg += "; and more"
	}
	return e
}

// obj is a JSON object being read (decoded with json.Number for numbers,
// so amounts keep the decimals sent); absent and null members are the same.
type obj struct {
	c    *checker
	path string
	m    map[string]any
}

func (o obj) field(key string) string {
	if o.path == "" {
		return key
	}
	return o.path + "." + key
}

// show is a value as it was sent, for error messages.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil || len(b) > 80 {
		return fmt.Sprintf("a %T", v)
	}
	return string(b)
}

// get returns a member's value, noting a missing required one.
func (o obj) get(key string, required bool) (any, bool) {
	v, ok := o.m[key]
	if !ok || v == nil {
		if required {
			o.c.add(o.field(key), "required")
		}
		return nil, false
	}
	return v, true
}

// decodeItem decodes one item of a list, numbers as json.Number.
func decodeItem(raw json.RawMessage) any {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil
	}
	if _, err := d.Token(); err != io.EOF {
		return nil // more after the value
	}
	return v
}

func asObject(c *checker, v any, path string) (obj, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		c.add(path, "must be an object")
		return obj{}, false
	}
	return obj{c: c, path: path, m: m}, true
}

func (o obj) object(key string, required bool) (obj, bool) {
	v, ok := o.get(key, required)
	if !ok {
		return obj{}, false
	}
	return asObject(o.c, v, o.field(key))
}

func (o obj) array(key string, required bool) ([]any, bool) {
	v, ok := o.get(key, required)
	if !ok {
		return nil, false
	}
	a, ok := v.([]any)
	if !ok {
		o.c.add(o.field(key), "must be an array")
		return nil, false
	}
	return a, true
}

func (o obj) str(key string, required bool) string {
	v, ok := o.get(key, required)
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		o.c.add(o.field(key), "must be a string")
		return ""
	}
	return o.text(key, s, required, MaxText)
}

// text applies the rules every string field shares: not empty when
// required, at most limit bytes ("" when longer).
func (o obj) text(key, s string, required bool, limit int) string {
	if required && s == "" {
		o.c.add(o.field(key), "must not be empty")
	}
	if len(s) > limit {
		o.c.add(o.field(key), "at most %d bytes", limit)
		return ""
	}
	return s
}

// id reads an identifier: a string, or an integer some clients send.
func (o obj) id(key string, required bool) string {
	v, ok := o.get(key, required)
	if !ok {
		return ""
	}
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case json.Number:
		if strings.ContainsAny(string(x), ".eE") {
			o.c.add(o.field(key), "must be a string (or an integer)")
			return ""
		}
		s = string(x)
	default:
		o.c.add(o.field(key), "must be a string")
		return ""
	}
	return o.text(key, s, required, MaxID)
}

func (o obj) number(key string, required bool) (float64, bool) {
	v, ok := o.get(key, required)
	if !ok {
		return 0, false
	}
	n, ok := v.(json.Number)
	if !ok {
		o.c.add(o.field(key), "must be a number")
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) {
		o.c.add(o.field(key), "must be a finite number")
		return 0, false
	}
	return f, true
}

// yuan reads an amount in yuan and returns it in fen. The decimal as sent
// is converted exactly and rounded half away from zero (1.005 is 101 fen),
// not through a float (where 1.005 is 1.00499… and would round to 100).
func (o obj) yuan(key string, required bool) int64 {
	v, ok := o.get(key, required)
	if !ok {
		return 0
	}
	n, ok := v.(json.Number)
	if !ok {
		o.c.add(o.field(key), "must be a number")
		return 0
	}
	fen, ok := toFen(string(n))
	if !ok || fen < 0 || fen > maxYuan*100 {
		o.c.add(o.field(key), "must be an amount in yuan from 0 to %.0f, got %s", maxYuan, n)
		return 0
	}
	return fen
}

// toFen converts a JSON number of yuan into fen, exactly.
func toFen(text string) (int64, bool) {
	// Fast path: an integer part and at most two decimals.
	whole, frac, _ := strings.Cut(text, ".")
	if len(frac) <= 2 && !strings.ContainsAny(text, "eE-") && len(whole) <= 13 {
		w, err := strconv.ParseInt(whole, 10, 64)
		if err != nil {
			return 0, false
		}
		f := int64(0)
		if frac != "" {
			if f, err = strconv.ParseInt(frac, 10, 64); err != nil {
				return 0, false
			}
			if len(frac) == 1 {
				f *= 10
			}
		}
		if w*100+f > maxYuan*100+1 {
			return 0, false // the bound of the slow path below, to the fen (found by FuzzToFen)
		}
		return w*100 + f, true
	}
	r, ok := new(big.Rat).SetString(text)
	if !ok {
		return 0, false
	}
	r.Mul(r, big.NewRat(100, 1))
	if r.Abs(r).Cmp(big.NewRat(maxYuan*100+1, 1)) > 0 {
		return 0, false
	}
	// Round half away from zero: floor(|x| + 1/2), sign restored.
	neg := strings.HasPrefix(text, "-")
	r.Add(r, big.NewRat(1, 2))
	n := new(big.Int).Quo(r.Num(), r.Denom())
	if neg {
		n.Neg(n)
	}
	return n.Int64(), true
}

func (o obj) integer(key string, required bool, min, max int64) int64 {
	f, ok := o.number(key, required)
	if !ok {
		return 0
	}
	if f != math.Trunc(f) {
		o.c.add(o.field(key), "must be an integer, got %v", f)
		return 0
	}
	if f < float64(min) || f > float64(max) {
		o.c.add(o.field(key), "must be from %d to %d, got %v", min, max, f)
		return 0
	}
	return int64(f)
}

// scalar is the text of a value that may come as a string or a number.
func scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return string(x), true
	}
	return "", false
}

// ms reads a time as 13-digit Unix milliseconds, a string (as the spec
// says) or a number.
func (o obj) ms(key string, required bool) time.Time {
	v, ok := o.get(key, required)
	if !ok {
		return time.Time{}
	}
	text, ok := scalar(v)
	if !ok {
		o.c.add(o.field(key), "must be Unix milliseconds (13 digits) as a string or number")
		return time.Time{}
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < minMS || n > maxMS {
		o.c.add(o.field(key), "must be Unix milliseconds (13 digits), got %s", show(v))
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}

// status reads order_status: one of the codes, as a string or a number.
func (o obj) status(key string) int64 {
	v, ok := o.get(key, true)
	if !ok {
		return 0
	}
	text, ok := scalar(v)
	if !ok {
		o.c.add(o.field(key), "must be a status code string such as \"1150\"")
		return 0
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || !statuses[n] {
		o.c.add(o.field(key), "must be one of 1110, 1130, 1140, 1150, 1160, 1170, 1180, 1280, 1290, 9999; got %s", show(v))
		return 0
	}
	return n
}

// day reads a day: 13-digit Unix ms of an instant of it (cut in loc), or
// "YYYYMMDD" / "YYYY-MM-DD". The result is the date at 00:00 UTC.
func (o obj) day(key string, loc *time.Location) time.Time {
	v, ok := o.get(key, true)
	if !ok {
		return time.Time{}
	}
	text, _ := scalar(v)
	for _, layout := range []string{"20060102", time.DateOnly} {
		if len(text) == len(layout) {
			if t, err := time.Parse(layout, text); err == nil {
				return t
			}
		}
	}
	if n, err := strconv.ParseInt(text, 10, 64); err == nil && n >= minMS && n <= maxMS {
		y, m, d := time.UnixMilli(n).In(loc).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	o.c.add(o.field(key), "must be a day: Unix milliseconds (13 digits), YYYYMMDD or YYYY-MM-DD; got %s", show(v))
	return time.Time{}
}

// sceneOf reads a WeChat scene value, a number or a numeric string.
func (o obj) sceneOf(key string) int64 {
	v, ok := o.get(key, false)
	if !ok {
		return 0
	}
	text, _ := scalar(v)
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt32 {
		o.c.add(o.field(key), "must be a WeChat scene number, got %s", show(v))
		return 0
	}
	return n
}
