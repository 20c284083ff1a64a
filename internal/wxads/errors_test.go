package wxads_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/shuyuan-dev/shuyuan/internal/wxads"
)

// TestCodeClassCoversSpecTable pins every row of spec §5.
func TestCodeClassCoversSpecTable(t *testing.T) {
	cases := []struct {
		code  int64
		class wxads.Class
		alert bool
	}{
		{0, wxads.ClassNone, false},
		{-1, wxads.ClassRetry, false},
		{40001, wxads.ClassRefreshToken, false},
		{40014, wxads.ClassRefreshToken, false},
		{42001, wxads.ClassRefreshToken, false},
		{41001, wxads.ClassPermanent, false},
		{40002, wxads.ClassPermanent, false},
		{40013, wxads.ClassPermanent, true},
		{40125, wxads.ClassPermanent, true},
		{40164, wxads.ClassPermanent, true},
		{40243, wxads.ClassPermanent, true},
		{89503, wxads.ClassPermanent, true},
		{41002, wxads.ClassPermanent, false},
		{41004, wxads.ClassPermanent, false},
		{43002, wxads.ClassPermanent, false},
		{44002, wxads.ClassPermanent, false},
		{47001, wxads.ClassPermanent, false},
		{45009, wxads.ClassQuota, true},
		{45011, wxads.ClassRateLimited, false},
		{48001, wxads.ClassPermanent, true},
		{900310000, wxads.ClassRetry, false},
		{900351002, wxads.ClassPermanent, false},
		{900351000, wxads.ClassPermanent, false},
		{900351001, wxads.ClassPermanent, true},
		{900318001, wxads.ClassPermanent, false},
		{10000, wxads.ClassRetry, false},
		{10001, wxads.ClassRetry, false},
		{11000, wxads.ClassRefreshToken, false},
		{11017, wxads.ClassRateLimited, false},
		{11018, wxads.ClassQuota, true},
		{31415926, wxads.ClassPermanent, false}, // unknown: a human looks first
	}
	for _, c := range cases {
		class, alert := wxads.CodeClass(c.code)
		if class != c.class || alert != c.alert {
			t.Errorf("code %d: %v alert=%v, want %v alert=%v", c.code, class, alert, c.class, c.alert)
		}
	}
}

func TestClassifyNonAPIErrors(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want wxads.Class
	}{
		{"nil", nil, wxads.ClassNone},
		{"deadline", fmt.Errorf("wxads: x: %w", context.DeadlineExceeded), wxads.ClassRetry},
		{"cancelled", context.Canceled, wxads.ClassRetry},
		{"EOF", io.ErrUnexpectedEOF, wxads.ClassRetry},
		{"reset", &net.OpError{Op: "read", Err: errors.New("connection reset by peer")}, wxads.ClassRetry},
		{"unexpected answer", fmt.Errorf("x: %w", wxads.ErrUnexpectedResponse), wxads.ClassRetry},
		{"invalid input", fmt.Errorf("x: %w", wxads.ErrInvalidInput), wxads.ClassPermanent},
		{"http 502", &wxads.HTTPError{StatusCode: 502, Class: wxads.ClassRetry}, wxads.ClassRetry},
		{"wrapped api error", fmt.Errorf("outer: %w", &wxads.APIError{Code: 45011, Class: wxads.ClassRateLimited}), wxads.ClassRateLimited},
	}
	for _, c := range cases {
		if got := wxads.Classify(c.err); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestRetryNotBefore(t *testing.T) {
	now := time.Date(2025, 3, 10, 2, 30, 15, 0, time.UTC) // 10:30:15 GMT+8
	cases := []struct {
		name string
		err  error
		want time.Time
	}{
		{"nil", nil, time.Time{}},
		{"retry", &wxads.APIError{Class: wxads.ClassRetry}, now},
		{"refresh", &wxads.APIError{Class: wxads.ClassRefreshToken}, now},
		{"next minute", &wxads.APIError{Class: wxads.ClassRateLimited}, time.Date(2025, 3, 10, 2, 31, 0, 0, time.UTC)},
		{"next GMT+8 day", &wxads.APIError{Class: wxads.ClassQuota}, time.Date(2025, 3, 10, 16, 0, 0, 0, time.UTC)},
		{"never", &wxads.APIError{Class: wxads.ClassPermanent}, time.Time{}},
	}
	for _, c := range cases {
		if got := wxads.RetryNotBefore(c.err, now); !got.Equal(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestClassNames(t *testing.T) {
	want := map[wxads.Class]string{
		wxads.ClassNone: "none", wxads.ClassRetry: "retry", wxads.ClassRateLimited: "rate_limited",
		wxads.ClassRefreshToken: "refresh_token", wxads.ClassQuota: "quota", wxads.ClassPermanent: "permanent",
		wxads.Class(99): "class(99)",
	}
	for c, s := range want {
		if c.String() != s {
			t.Errorf("%d: %q, want %q", int(c), c.String(), s)
		}
	}
	e := &wxads.APIError{Op: "user_actions/add", Code: 45011, Msg: "api minute-quota reach limit"}
	if got := e.Error(); got != "wxads: user_actions/add: errcode 45011: api minute-quota reach limit" {
		t.Errorf("APIError text %q", got)
	}
}
