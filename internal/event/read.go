package event

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
)

// obj is a JSON object as sent: its members in order, keys decoded. Of
// members with equal keys the last counts, as when decoding into a map.
type obj []member

// get returns the raw value of key, or nil.
func (o obj) get(key string) []byte {
	for i := len(o) - 1; i >= 0; i-- {
		if string(o[i].key) == key {
			return o[i].val
		}
	}
	return nil
}

// reader reads typed props and remembers the first rule broken.
type reader struct {
	err error
	s   *scratch // holds the nested objects read
}

func (r *reader) fail(err *Invalid) {
	if r.err == nil {
		r.err = err
	}
}

// The readers take a raw value, nil when the key is absent.

func (r *reader) optString(v []byte, field string) (string, bool) {
	if v == nil || isNull(v) {
		return "", false
	}
	s, ok := decodeString(v)
	if !ok {
		r.fail(invalid(field, "must be a string"))
		return "", false
	}
	return s, true
}

// optScalar reads an id that apps send as a string or a number.
func (r *reader) optScalar(v []byte, field string) (string, bool) {
	if v == nil || isNull(v) {
		return "", false
	}
	switch v[0] {
	case '"':
		s, _ := decodeString(v)
		return s, true
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(v), true
	}
	r.fail(invalid(field, "must be a string or a number"))
	return "", false
}

func (r *reader) optNumber(v []byte, field string) (float64, bool) {
	if v == nil || isNull(v) {
		return 0, false
	}
	f, err := number(v, field)
	if err != nil {
		r.fail(err.(*Invalid))
		return 0, false
	}
	return f, true
}

// optInt reads a number bounded by the integer column it goes to, so that
// it is never stored wrapped; a fraction is cut off as before.
func (r *reader) optInt(v []byte, field string, lo, hi float64) (int64, bool) {
	f, ok := r.optNumber(v, field)
	if !ok {
		return 0, false
	}
	if f < lo || f > hi {
		r.fail(invalid(field, "must be a number from %.0f to %.0f, got %v", lo, hi, f))
		return 0, false
	}
	return int64(f), true
}

// optYuan reads an amount in yuan as fen.
func (r *reader) optYuan(v []byte, field string) (int64, bool) {
	f, ok := r.optNumber(v, field)
	if !ok {
		return 0, false
	}
	if math.Abs(f) > maxYuan {
		r.fail(invalid(field, "must be an amount from %.0f to %.0f yuan, got %v", -maxYuan, maxYuan, f))
		return 0, false
	}
	return Fen(f), true
}

// object reads an object; ok is false when it is absent, null or no object.
func (r *reader) object(v []byte, field string) (o obj, ok bool) {
	if v == nil || isNull(v) {
		return nil, false
	}
	if v[0] != '{' {
		r.fail(invalid(field, "must be an object"))
		return nil, false
	}
	return r.s.object(v), true
}

// objects reads an array of objects (a null element reads as an empty
// object); ok is false when v is anything else.
func (r *reader) objects(v []byte) ([]obj, bool) {
	if v[0] != '[' {
		return nil, false
	}
	r.s.elems, _ = elements(r.s.elems[:0], v, 0)
	for _, e := range r.s.elems {
		if e[0] != '{' && !isNull(e) {
			return nil, false
		}
	}
	out := make([]obj, len(r.s.elems))
	for i, e := range r.s.elems {
		if e[0] == '{' {
			out[i] = r.s.object(e)
		}
	}
	return out, true
}

// object decodes the checked object v into the scratch; the slice stays
// valid while the event is parsed.
func (s *scratch) object(v []byte) obj {
	start := len(s.nested)
	s.nested, _ = members(s.nested, v, 0)
	o := obj(s.nested[start:len(s.nested):len(s.nested)])
	unescapeKeys(o)
	return o
}

func number(v []byte, field string) (float64, error) {
	if v[0] != '-' && !isDigit(v[0]) {
		return 0, invalid(field, "must be a number")
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, invalid(field, "must be a number")
	}
	return f, nil
}

// decodeString decodes a checked value that is a string; ok is false for
// any other value.
func decodeString(v []byte) (s string, ok bool) {
	if v[0] != '"' {
		return "", false
	}
	in := v[1 : len(v)-1]
	if bytes.IndexByte(in, '\\') < 0 {
		return string(in), true
	}
	return string(unescape(in)), true
}

func reqString(v []byte, field string) (string, error) {
	if v == nil || isNull(v) {
		return "", invalid(field, "required")
	}
	s, ok := decodeString(v)
	if !ok {
		return "", invalid(field, "must be a string")
	}
	return s, nil
}

func optString(v []byte, field string) (string, error) {
	if v == nil || isNull(v) {
		return "", nil
	}
	s, ok := decodeString(v)
	if !ok {
		return "", invalid(field, "must be a string")
	}
	return s, nil
}

// isNull reports whether a checked value, as sent, is null.
func isNull(v []byte) bool { return string(v) == "null" }

// depth is the deepest nesting of objects and arrays in a JSON text; strings
// are skipped so brackets inside them do not count.
func depth(b []byte) int {
	d, max, inStr, esc := 0, 0, false, false
	for _, c := range b {
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			d++
			if d > max {
				max = d
			}
		case c == '}' || c == ']':
			d--
		}
	}
	return max
}

// sortKeys sorts the indices of members by key and drops all but the last
// of equal keys (as decoding into a map keeps the last).
func sortKeys(ms []member, idx []int32) []int32 {
	slices.SortStableFunc(idx, func(a, b int32) int { return bytes.Compare(ms[a].key, ms[b].key) })
	out := idx[:0]
	for j, i := range idx {
		if j+1 < len(idx) && bytes.Equal(ms[i].key, ms[idx[j+1]].key) {
			continue
		}
		out = append(out, i)
	}
	return out
}

// appendObject appends members sorted by key, with distinct keys, as a
// compact JSON object: equal content always gives equal bytes (and equal
// hashes). The bytes are those of the encoder it replaced (json.Marshal of
// each key, json.Compact of each value).
func appendObject(dst []byte, ms []member) []byte {
	size := 2
	for i := range ms {
		size += len(ms[i].key) + len(ms[i].val) + 4
	}
	if dst == nil {
		dst = make([]byte, 0, size)
	}
	dst = append(dst, '{')
	for i := range ms {
		m := &ms[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		if plainKey(m.key) {
			dst = append(append(append(dst, '"'), m.key...), '"')
		} else {
			kb, _ := json.Marshal(string(m.key)) // a string always encodes
			dst = append(dst, kb...)
		}
		dst = append(dst, ':')
		if v := m.val; v[0] == '{' || v[0] == '[' {
			dst = appendCompact(dst, v) // copies it whole when compact
		} else {
			dst = append(dst, v...)
		}
	}
	return append(dst, '}')
}

// plainKey reports whether json.Marshal writes the (valid UTF-8) key as it
// is between quotes: it escapes control characters, quotes, backslashes,
// < > & and U+2028, U+2029.
func plainKey(k []byte) bool {
	for i, c := range k {
		switch {
		case c < 0x20, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		case c == 0xE2 && i+2 < len(k) && k[i+1] == 0x80 && (k[i+2] == 0xA8 || k[i+2] == 0xA9):
			return false
		}
	}
	return true
}

// FNV-1a, 64 bits, as hash/fnv computes it, without its allocation.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvAdd(h uint64, b []byte) uint64 {
	for _, c := range b {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return h
}

func hash64(b []byte) int64 { return int64(fnvAdd(fnvOffset, b)) }

// dedupKey is the content key of an event: an SDK re-send has the same
// tracking_id, type, time and own props, but a new log_id and possibly a
// newer context.
func dedupKey(trackingID, typ string, t time.Time, props []byte) int64 {
	h := fnvAdd(fnvOffset, []byte(trackingID))
	h = fnvAdd(h, []byte{0})
	h = fnvAdd(h, []byte(typ))
	h = fnvAdd(h, []byte{0})
	var ts [8]byte
	ms := t.UnixMilli()
	for i := range ts {
		ts[i] = byte(ms >> (8 * i))
	}
	h = fnvAdd(h, ts[:])
	return int64(fnvAdd(h, props))
}
