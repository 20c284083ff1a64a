package server

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// An SDK upload's size (BENCHMARKS.md: 10-event uploads average 10.4 KiB).
const uploadSize = 10_650

func TestReadAll(t *testing.T) {
	body := bytes.Repeat([]byte("x"), uploadSize)
	for _, tc := range []struct {
		name   string
		length int64 // declared; -1 unknown
		limit  int64
		want   int
		err    error
	}{
		{"declared", uploadSize, 1 << 20, uploadSize, nil},
		{"unknown length", -1, 1 << 20, uploadSize, nil},
		{"declared over the limit", uploadSize, 1000, 0, &http.MaxBytesError{}},
		{"declared, no limit", uploadSize, 0, uploadSize, nil},
		{"shorter than declared", uploadSize + 10, 1 << 20, uploadSize, io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/api/report", bytes.NewReader(body))
			r.ContentLength = tc.length
			r.Body = bound(httptest.NewRecorder(), r, tc.limit, 0)
			got, err := readAll(r)
			var tooBig *http.MaxBytesError
			switch {
			case tc.err == nil && err != nil:
				t.Fatalf("error %v", err)
			case errors.As(tc.err, &tooBig) && !errors.As(err, &tooBig):
				t.Fatalf("error %v, want the body refused by its length", err)
			case errors.Is(tc.err, io.ErrUnexpectedEOF) && !errors.Is(err, io.ErrUnexpectedEOF):
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if len(got) != tc.want || !bytes.Equal(got, body[:len(got)]) {
				t.Fatalf("read %d bytes, want %d of the body", len(got), tc.want)
			}
		})
	}
}

// BenchmarkReadAll reads an upload's body as the SDK route did
// (io.ReadAll) and as it does (readAll, one buffer of the declared size).
func BenchmarkReadAll(b *testing.B) {
	body := bytes.Repeat([]byte("x"), uploadSize)
	for _, bc := range []struct {
		name string
		read func(*http.Request) ([]byte, error)
	}{
		{"io.ReadAll", func(r *http.Request) ([]byte, error) { return io.ReadAll(r.Body) }},
		{"readAll", func(r *http.Request) ([]byte, error) { return readAll(r) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			r := httptest.NewRequest("POST", "/api/report", nil)
			w := httptest.NewRecorder()
			rd := bytes.NewReader(body)
			for b.Loop() {
				rd.Reset(body)
				r.Body, r.ContentLength = io.NopCloser(rd), uploadSize
				r.Body = bound(w, r, 1<<20, 0)
				if _, err := bc.read(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
