package server

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// DefaultBodyTimeout bounds the time to receive a request body, counted
// from the end of its header: the SDK's uploads are tens of kilobytes and
// wx.request itself gives up after 60 s, so a body still incomplete after
// 30 s comes from a dead link or a client holding connections open.
const DefaultBodyTimeout = 30 * time.Second

// maxDrain bounds what is read and thrown away of a body refused for its
// size, so that a client sending its whole body before reading (the WeChat
// client, curl) gets the 413 rather than a reset connection.
const maxDrain = 16 << 20

// errBodyTimeout is the error a body read returns once BodyTimeout has
// passed; handlers answer it in their protocol's envelope.
var errBodyTimeout = errors.New("request body not received in time")

// boundedBody is a request body bounded in size and in time. Past the size
// limit its reads fail with *http.MaxBytesError (as http.MaxBytesReader's
// do); past the deadline with errBodyTimeout.
type boundedBody struct {
	rc     io.ReadCloser
	w      http.ResponseWriter
	ctl    *http.ResponseController
	length int64 // Content-Length, -1 unknown (chunked)
	limit  int64 // 0: none
	read   int64
	tooBig bool
	done   bool // EOF or an error was seen; the deadline is cleared
}

// bound wraps r's body: its reads must end within timeout (from now) and
// stay within limit bytes.
func bound(w http.ResponseWriter, r *http.Request, limit int64, timeout time.Duration) *boundedBody {
	b := &boundedBody{rc: r.Body, w: w, ctl: http.NewResponseController(w), length: r.ContentLength, limit: limit}
	if timeout > 0 {
		b.ctl.SetReadDeadline(time.Now().Add(timeout)) //nolint:errcheck // a writer without deadlines (tests) has no slow clients
	}
	return b
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.tooBig {
		return 0, &http.MaxBytesError{Limit: b.limit}
	}
	if b.limit > 0 && b.length > b.limit {
		// Refused by its length, before reading any of it.
		b.exceeded()
		return 0, &http.MaxBytesError{Limit: b.limit}
	}
	if b.limit > 0 && int64(len(p)) > b.limit-b.read+1 {
		p = p[:b.limit-b.read+1]
	}
	n, err := b.rc.Read(p)
	b.read += int64(n)
	if b.limit > 0 && b.read > b.limit {
		n -= int(b.read - b.limit)
		b.read = b.limit
		b.exceeded()
		return n, &http.MaxBytesError{Limit: b.limit}
	}
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return n, errBodyTimeout
		}
		b.finish()
	}
	return n, err
}

func (b *boundedBody) Close() error { return b.rc.Close() }

// finish clears the read deadline once the body is read: the server's
// background read, which notices a client going away, must not time out
// while the handler is still at work.
func (b *boundedBody) finish() {
	if !b.done {
		b.done = true
		b.ctl.SetReadDeadline(time.Time{}) //nolint:errcheck // see bound
	}
}

// exceeded marks the body too large: the answer closes the connection,
// and full duplex lets drain read the rest after the answer is sent.
func (b *boundedBody) exceeded() {
	b.tooBig = true
	b.w.Header().Set("Connection", "close")
	b.ctl.EnableFullDuplex() //nolint:errcheck // without it the server closes at once, as before
}

// drain sends the answer to a body refused for its size, then reads and
// throws away the rest of the body (at most maxDrain bytes, within the
// deadline), so that a client that writes all of its body before reading
// finds the answer instead of a reset connection. A client that announced
// more than that, or asked to be told before sending (Expect:
// 100-continue), is not waited for.
func (b *boundedBody) drain(r *http.Request) {
	if !b.tooBig || (b.length > 0 && b.length-b.read > maxDrain) ||
		strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		return
	}
	if err := b.ctl.Flush(); err != nil {
		return
	}
	io.CopyN(io.Discard, b.rc, maxDrain) //nolint:errcheck // whatever ends it, the connection closes next
}

// readAll reads a request's whole body (every route that takes one). A
// body that declares its length within its bound's limit is read into one
// buffer of that size: io.ReadAll grows and copies its buffer several
// times, for an SDK upload of ~10 KiB about a tenth of the request path's
// CPU (BENCHMARKS.md). Without a limit nothing is allocated by the
// declared length alone: a client could declare any length and send
// nothing.
func readAll(r *http.Request) ([]byte, error) {
	b, ok := r.Body.(*boundedBody)
	if !ok || b.limit <= 0 || b.length <= 0 || b.length > b.limit {
		return io.ReadAll(r.Body) // over the limit: the bound refuses it by its length
	}
	buf := make([]byte, b.length)
	n, err := io.ReadFull(b, buf)
	return buf[:n], err
}
