package server_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/collect"
	"github.com/shuyuan-dev/shuyuan/internal/order"
	"github.com/shuyuan-dev/shuyuan/internal/server"
	"github.com/shuyuan-dev/shuyuan/internal/store/duckdb"
)

// rawExchange sends head and then body on a fresh connection, all of it,
// before reading the answer — as the WeChat client and curl do — and
// returns the answer, or the error that broke the exchange.
func rawExchange(t *testing.T, base, head string, body []byte) (*http.Response, []byte, error) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, head); err != nil {
		return nil, nil, fmt.Errorf("write head: %w", err)
	}
	if _, err := conn.Write(body); err != nil {
		return nil, nil, fmt.Errorf("write body: %w", err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("read answer: %w", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, b, err
}

// chunked encodes body in the chunked transfer coding, 32 KiB a chunk.
func chunked(body []byte) []byte {
	var b bytes.Buffer
	for len(body) > 0 {
		n := min(len(body), 32<<10)
		fmt.Fprintf(&b, "%x\r\n", n)
		b.Write(body[:n])
		b.WriteString("\r\n")
		body = body[n:]
	}
	b.WriteString("0\r\n\r\n")
	return b.Bytes()
}

// wantSDKAnswer checks an answer is the SDK's envelope with code and
// status, its msg containing msg.
func wantSDKAnswer(t *testing.T, res *http.Response, body []byte, status, code int, msg string) {
	t.Helper()
	var env struct {
		Code *int   `json:"code"`
		Msg  string `json:"msg"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Code == nil {
		t.Fatalf("answer is not the SDK's {code,msg}: HTTP %d %q", res.StatusCode, body)
	}
	if res.StatusCode != status || *env.Code != code || !strings.Contains(env.Msg, msg) {
		t.Errorf("answer HTTP %d %s; want HTTP %d code %d saying %q", res.StatusCode, body, status, code, msg)
	}
}

// TestSDKOverLimitAnswered413: an upload over limits.max_body_bytes is
// answered 413 with the SDK's envelope — chunked or with a length, read
// by a client that sends its whole body first — never with a reset, and
// stores nothing.
func TestSDKOverLimitAnswered413(t *testing.T) {
	e := newSDKEnv(t)
	big := append(append([]byte("["), bytes.Repeat([]byte(" "), 8<<20)...), ']')
	for _, c := range []struct {
		name, head string
		body       []byte
	}{
		{"chunked", "POST /api/report?token=" + sdkTestToken + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n", chunked(big)},
		{"with length", "POST /api/report?token=" + sdkTestToken + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + fmt.Sprint(len(big)) + "\r\n\r\n", big},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, body, err := rawExchange(t, e.url, c.head, c.body)
			if err != nil {
				t.Fatalf("an upload of %d bytes: %v; want a 413 answer", len(big), err)
			}
			wantSDKAnswer(t, res, body, http.StatusRequestEntityTooLarge, collect.CodeTooLarge, "larger than the limit of 1048576 bytes")
			if n, q := e.counts(t); n != 0 || q != 0 {
				t.Errorf("stored %d events and %d quarantined", n, q)
			}
		})
	}
}

// TestSDKWrongMethod: only POST uploads; any other method on /api/report
// is answered 405 in the SDK's envelope, with Allow: POST.
func TestSDKWrongMethod(t *testing.T) {
	e := newSDKEnv(t)
	for _, method := range []string{"GET", "PUT", "DELETE", "PATCH"} {
		req, err := http.NewRequest(method, e.url+"/api/report?token="+sdkTestToken, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		wantSDKAnswer(t, res, body, http.StatusMethodNotAllowed, collect.CodeBadMethod, method+" /api/report: method must be POST")
		if got := res.Header.Get("Allow"); got != "POST" {
			t.Errorf("%s: Allow %q, want POST", method, got)
		}
	}
}

// TestSlowBodyAnswered408: a client that sends a header and then a body
// too slowly is answered when the body deadline passes — in the SDK's
// envelope on the SDK route, the data-api's on the data-api — and nothing
// is stored; the connection does not stay open.
func TestSlowBodyAnswered408(t *testing.T) {
	e := newSDKEnvWith(t, func(d *server.Deps) {
		d.BodyTimeout = 300 * time.Millisecond
		d.Orders = order.NewService(d.Store.(*duckdb.Store), d.Tenants, order.Options{})
	})
	for _, c := range []struct{ name, head string }{
		{"sdk", "POST /api/report?token=" + sdkTestToken + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 102400\r\n\r\n"},
		{"sdk chunked", "POST /api/report?token=" + sdkTestToken + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n"},
		{"data-api", "POST /data-api/v1/order/add_order?app_id=a&nonce=n&sign=sha256&timestamp=1&signature=s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 102400\r\n\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(20 * time.Second))
			if _, err := io.WriteString(conn, c.head+"["); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer once the body deadline passed: %v", err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if c.name == "data-api" {
				var env struct {
					Retcode *int   `json:"retcode"`
					Errmsg  string `json:"errmsg"`
				}
				if err := json.Unmarshal(body, &env); err != nil || env.Retcode == nil || *env.Retcode != order.CodeTimeout ||
					res.StatusCode != http.StatusRequestTimeout || !strings.Contains(env.Errmsg, "body not received within 300ms") {
					t.Errorf("answer HTTP %d %s; want 408 retcode %d", res.StatusCode, body, order.CodeTimeout)
				}
			} else {
				wantSDKAnswer(t, res, body, http.StatusRequestTimeout, collect.CodeTimeout, "body not received within 300ms")
			}
			// The server closes the connection after answering.
			if _, err := br.ReadByte(); err == nil {
				t.Error("the connection is still open after the answer")
			}
		})
	}
	if n, q := e.counts(t); n != 0 || q != 0 {
		t.Errorf("stored %d events and %d quarantined", n, q)
	}
	// A body that arrives in time is not cut by the deadline, however long
	// the handler takes afterwards.
	if a := e.upload(t, sdkJSON(t, []any{e.goodEvent()})); a.status != 200 {
		t.Errorf("a prompt upload: %v", a)
	}
}
