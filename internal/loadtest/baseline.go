package loadtest

import (
	"bytes"
	"crypto/rc4"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/collect"
)

// Baseline is a bare net/http server whose /api/report decodes the upload
// with encoding/json (after decrypting it, in the encrypted form) and
// discards it: what HTTP and JSON alone cost on this machine, for
// comparison with the real collector.
type Baseline struct {
	// URL is its base URL, on a free loopback port.
	URL string
	srv *http.Server
	ln  net.Listener
}

// StartBaseline starts the baseline server on 127.0.0.1.
func StartBaseline() (*Baseline, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("baseline: listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/report", baselineReport)
	b := &Baseline{URL: "http://" + ln.Addr().String(), ln: ln,
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go b.srv.Serve(ln) //nolint:errcheck // ends with Close
	return b, nil
}

// Close stops the baseline server.
func (b *Baseline) Close() error { return b.srv.Close() }

const baselineMaxBody = 1 << 20

func baselineReport(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, baselineMaxBody))
	if err == nil && strings.HasPrefix(r.Header.Get("Content-Type"), collect.EncryptedContentType) {
		body, err = decrypt(body, r.Header.Get("Content-Encrypting-Key"))
	}
	var events []map[string]any
	if err == nil {
		err = json.Unmarshal(body, &events)
	}
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"code":%d,"msg":"bad body"}`, collect.CodeBadBody)
		return
	}
	io.WriteString(w, `{"code":0,"msg":"ok"}`) //nolint:errcheck // the client went away
}

func decrypt(body []byte, key string) ([]byte, error) {
	if key == "" {
		return nil, errors.New("no key")
	}
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(body)))
	n, err := base64.StdEncoding.Decode(raw, bytes.TrimSpace(body))
	if err != nil {
		return nil, err
	}
	c, err := rc4.NewCipher([]byte(key))
	if err != nil {
		return nil, err
	}
	c.XORKeyStream(raw[:n], raw[:n])
	return raw[:n], nil
}
