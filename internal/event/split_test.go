package event

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
)

// sameSplit: on a JSON array SplitBatch accepts, SplitChecked gives the
// elements encoding/json decodes it into, byte for byte; on any bytes it
// returns without panicking. (SplitBatch splits with SplitChecked, so
// encoding/json is the reference.)
func sameSplit(t *testing.T, name string, b []byte) {
	t.Helper()
	checked, cok := SplitChecked(b)
	var want []json.RawMessage
	if _, ok := SplitBatch(b); !ok || json.Unmarshal(b, &want) != nil || want == nil {
		return // not a JSON array: SplitChecked is never given one
	}
	if !cok || len(checked) != len(want) {
		t.Fatalf("%s: SplitChecked(%q) = %d elements, %v; encoding/json %d", name, b, len(checked), cok, len(want))
	}
	for i := range want {
		if !bytes.Equal(checked[i], want[i]) {
			t.Fatalf("%s: element %d: SplitChecked %q, encoding/json %q", name, i, checked[i], want[i])
		}
	}
}

func TestSplitChecked(t *testing.T) {
	for i, up := range uploads(t) {
		body := append([]byte("[ "), bytes.Join(up, []byte(" ,\n"))...)
		body = append(body, " ]\n"...)
		sameSplit(t, "capture upload "+strconv.Itoa(i), body)
	}
	for i, c := range edgeCases {
		sameSplit(t, "edge case "+strconv.Itoa(i)+" alone", []byte(c))
		sameSplit(t, "edge case "+strconv.Itoa(i)+" in an array", []byte(`[`+c+`, {"type":"app_show"}]`))
	}
	// What the loader must hand back to the full check (ok false), never
	// a panic or a wrong split: bodies SplitBatch would refuse.
	for _, b := range []string{
		``, `   `, `{}`, `1`, `[`, `[ `, `[1`, `[1,`, `[1 2]`, `[,1]`, `[1,,2]`, `[1,]x`,
		`["a`, `["a\`, `[{"a":"b}]`, `[{"a":[1}`, `[1] x`, `[1]]`, `[] x`,
	} {
		if elems, ok := SplitChecked([]byte(b)); ok {
			t.Errorf("SplitChecked(%q) = %q, true; want false", b, elems)
		}
	}
	if elems, ok := SplitChecked([]byte(" [ ] ")); !ok || len(elems) != 0 {
		t.Errorf("SplitChecked of an empty array = %q, %v", elems, ok)
	}
	if _, ok := SplitBatch([]byte(`[1,]`)); ok {
		t.Fatal("SplitBatch accepted a trailing comma") // the table above relies on it
	}
	var raws []json.RawMessage
	if err := json.Unmarshal([]byte(`[ {"a" : [1, "]"]} , "x" ]`), &raws); err != nil {
		t.Fatal(err)
	}
	got, _ := SplitChecked([]byte(`[ {"a" : [1, "]"]} , "x" ]`))
	if len(got) != 2 || !bytes.Equal(got[0], raws[0]) || !bytes.Equal(got[1], raws[1]) {
		t.Errorf("SplitChecked = %q; encoding/json %q", got, raws)
	}
}
