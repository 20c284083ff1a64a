package event

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"math"
	"sort"
	"time"

	gojson "github.com/goccy/go-json"
)

// reader reads typed props and remembers the first rule broken.
type reader struct{ err error }

func (r *reader) fail(err *Invalid) {
	if r.err == nil {
		r.err = err
	}
}

func (r *reader) optString(m map[string]json.RawMessage, key, field string) (string, bool) {
	v, ok := m[key]
	if !ok || isNull(v) {
		return "", false
	}
	var s string
	if gojson.Unmarshal(v, &s) != nil {
		r.fail(invalid(field, "must be a string"))
		return "", false
	}
	return s, true
}

// optScalar reads an id that apps send as a string or a number.
func (r *reader) optScalar(m map[string]json.RawMessage, key, field string) (string, bool) {
	v, ok := m[key]
	if !ok || isNull(v) {
		return "", false
	}
	switch v[0] {
	case '"':
		var s string
		if gojson.Unmarshal(v, &s) != nil {
			r.fail(invalid(field, "must be a string"))
			return "", false
		}
		return s, true
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(v), true
	}
	r.fail(invalid(field, "must be a string or a number"))
	return "", false
}

func (r *reader) optNumber(m map[string]json.RawMessage, key, field string) (float64, bool) {
	v, ok := m[key]
	if !ok || isNull(v) {
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
func (r *reader) optInt(m map[string]json.RawMessage, key, field string, lo, hi float64) (int64, bool) {
	f, ok := r.optNumber(m, key, field)
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
func (r *reader) optYuan(m map[string]json.RawMessage, key, field string) (int64, bool) {
	f, ok := r.optNumber(m, key, field)
	if !ok {
		return 0, false
	}
	if math.Abs(f) > maxYuan {
		r.fail(invalid(field, "must be an amount from %.0f to %.0f yuan, got %v", -maxYuan, maxYuan, f))
		return 0, false
	}
	return Fen(f), true
}

func (r *reader) object(m map[string]json.RawMessage, key, field string) map[string]json.RawMessage {
	v, ok := m[key]
	if !ok || isNull(v) {
		return nil
	}
	var o map[string]json.RawMessage
	if gojson.Unmarshal(v, &o) != nil {
		r.fail(invalid(field, "must be an object"))
		return nil
	}
	return o
}

func number(v json.RawMessage, field string) (float64, error) {
	var f float64
	if gojson.Unmarshal(v, &f) != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, invalid(field, "must be a number")
	}
	return f, nil
}

func reqString(v json.RawMessage, field string) (string, error) {
	if len(v) == 0 || isNull(v) {
		return "", invalid(field, "required")
	}
	var s string
	if gojson.Unmarshal(v, &s) != nil {
		return "", invalid(field, "must be a string")
	}
	return s, nil
}

func optString(v json.RawMessage, field string) (string, error) {
	if len(v) == 0 || isNull(v) {
		return "", nil
	}
	var s string
	if gojson.Unmarshal(v, &s) != nil {
		return "", invalid(field, "must be a string")
	}
	return s, nil
}

func isNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

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

// marshalSorted encodes a map with sorted keys and compacted values, so that
// equal content always gives equal bytes (and equal hashes).
func marshalSorted(m map[string]json.RawMessage) (json.RawMessage, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var buf bytes.Buffer
	buf.Grow(256)
	buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		buf.Write(kb)
		buf.WriteByte(':')
		if err := json.Compact(&buf, m[k]); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func hash64(b []byte) int64 {
	h := fnv.New64a()
	h.Write(b)
	return int64(h.Sum64())
}

// dedupKey is the content key of an event: an SDK re-send has the same
// tracking_id, type, time and own props, but a new log_id and possibly a
// newer context.
func dedupKey(trackingID, typ string, t time.Time, props []byte) int64 {
	h := fnv.New64a()
	h.Write([]byte(trackingID))
	h.Write([]byte{0})
	h.Write([]byte(typ))
	h.Write([]byte{0})
	var ts [8]byte
	ms := t.UnixMilli()
	for i := range ts {
		ts[i] = byte(ms >> (8 * i))
	}
	h.Write(ts[:])
	h.Write(props)
	return int64(h.Sum64())
}
