package sprig

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"1", time.Second},
		{" 5 ", 5 * time.Second},
		{"120", 2 * time.Minute},
		{"-1", 0},
		{"1.5", 0},
		{"abc", 0},
		{"5s", 0},
		{"86399", 86399 * time.Second},
		{"86400", MaxRetryAfter},
		{"99999999999999999999999", MaxRetryAfter},
		{"Sat, 01 Mar 2025 12:00:30 GMT", 30 * time.Second}, // IMF-fixdate
		{"Saturday, 01-Mar-25 12:01:00 GMT", time.Minute},   // RFC 850
		{"Sat Mar  1 12:00:10 2025", 10 * time.Second},      // asctime
		{"Sat, 01 Mar 2025 11:59:00 GMT", 0},                // past
		{"Sat, 01 Mar 2025 12:00:00 GMT", 0},                // now
		{"Mon, 01 Mar 2100 12:00:00 GMT", MaxRetryAfter},    // far future
		{"Sat, 01 Mar 2025 12:00:30 +0000", 0},              // not an HTTP date
		{"2025-03-01T12:00:30Z", 0},                         // not an HTTP date
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestStatusClass(t *testing.T) {
	tests := map[int]Class{
		200: Accepted, 201: Accepted, 202: Accepted, 204: Accepted, 299: Accepted,
		400: Rejected, 404: Rejected, 405: Rejected, 409: Rejected, 413: Rejected, 422: Rejected, 499: Rejected,
		401: AuthFailed, 403: AuthFailed,
		429: RateLimited,
		500: ServerError, 502: ServerError, 503: ServerError, 504: ServerError, 599: ServerError,
		100: ServerError, 301: ServerError, 302: ServerError, 304: ServerError, 0: ServerError, 700: ServerError,
	}
	for code, want := range tests {
		if got := StatusClass(code); got != want {
			t.Errorf("StatusClass(%d) = %s, want %s", code, got, want)
		}
	}
}

func TestClassify(t *testing.T) {
	ctxCanceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		err  error
		want Class
	}{
		{"nil", nil, Accepted},
		{"400", &APIError{StatusCode: 400}, Rejected},
		{"422", &APIError{StatusCode: 422}, Rejected},
		{"404", &APIError{StatusCode: 404}, Rejected},
		{"401", &APIError{StatusCode: 401}, AuthFailed},
		{"403", &APIError{StatusCode: 403}, AuthFailed},
		{"429", &APIError{StatusCode: 429}, RateLimited},
		{"500", &APIError{StatusCode: 500}, ServerError},
		{"503", &APIError{StatusCode: 503}, ServerError},
		{"wrapped 401", fmt.Errorf("batch 3: %w", &APIError{StatusCode: 401}), AuthFailed},
		{"joined 429", errors.Join(errors.New("x"), &APIError{StatusCode: 429}), RateLimited},
		{"user not found", fmt.Errorf("%w: %w", ErrUserNotFound, &APIError{StatusCode: 404}), Rejected},
		{"timeout", &transportError{op: "x", timeout: time.Second, err: context.DeadlineExceeded}, NetworkError},
		{"wrapped timeout", fmt.Errorf("send: %w", &transportError{op: "x", timeout: time.Second, err: context.DeadlineExceeded}), NetworkError},
		{"refused", &transportError{op: "x", err: errors.New("connection refused")}, NetworkError},
		{"ErrTimeout", fmt.Errorf("x: %w", ErrTimeout), NetworkError},
		{"canceled", context.Canceled, Canceled},
		{"caller deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), Canceled},
		{"ctx.Err", ctxCanceled.Err(), Canceled},
		{"invalid request", fmt.Errorf("x: %w", ErrInvalidRequest), Rejected},
		{"io.EOF", io.EOF, NetworkError},
		{"other", errors.New("something"), NetworkError},
	}
	for _, tt := range tests {
		if got := Classify(tt.err); got != tt.want {
			t.Errorf("%s: Classify = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestTransportErrorIsTimeout(t *testing.T) {
	te := &transportError{op: "POST /v2/users", timeout: 2 * time.Second, err: context.DeadlineExceeded}
	if !errors.Is(te, ErrTimeout) {
		t.Error("timed-out transport error does not match ErrTimeout")
	}
	if !strings.Contains(te.Error(), "timed out, no response within 2s") {
		t.Errorf("Error() = %q", te.Error())
	}
	plain := &transportError{op: "POST /v2/users", err: errors.New("connection refused")}
	if errors.Is(plain, ErrTimeout) {
		t.Error("refused transport error matches ErrTimeout")
	}
}

func TestClassStrings(t *testing.T) {
	want := map[Class]string{
		Accepted: "accepted", Rejected: "rejected", AuthFailed: "auth_failed", RateLimited: "rate_limited",
		ServerError: "server_error", NetworkError: "network_error", Canceled: "canceled",
	}
	for c, s := range want {
		if c.String() != s {
			t.Errorf("%d.String() = %q, want %q", int(c), c.String(), s)
		}
		b, err := json.Marshal(c)
		if err != nil || string(b) != `"`+s+`"` {
			t.Errorf("json.Marshal(%s) = %s, %v", s, b, err)
		}
		var back Class
		if err := json.Unmarshal(b, &back); err != nil || back != c {
			t.Errorf("round trip of %s = %s, %v", s, back, err)
		}
	}
	if got := Class(42).String(); got != "Class(42)" {
		t.Errorf("Class(42).String() = %q", got)
	}
	var c Class
	if err := c.UnmarshalText([]byte("nope")); err == nil {
		t.Error("UnmarshalText accepted an unknown name")
	}
	for c, retry := range map[Class]bool{Accepted: false, Rejected: false, AuthFailed: false, RateLimited: true,
		ServerError: true, NetworkError: true, Canceled: false} {
		if c.Retryable() != retry {
			t.Errorf("%s.Retryable() = %v", c, !retry)
		}
	}
}

func TestAPIErrorText(t *testing.T) {
	for _, code := range []int{401, 403} {
		e := &APIError{StatusCode: code, Message: http.StatusText(code), op: opUpsert}
		s := e.Error()
		for _, want := range []string{"invalid or revoked", "Integrations > Enrichment > Data Import API", "new key", fmt.Sprint(code)} {
			if !strings.Contains(s, want) {
				t.Errorf("%d: Error() = %q, missing %q", code, s, want)
			}
		}
	}
	e := &APIError{StatusCode: 429, Message: "slow down", RetryAfter: 3 * time.Second, op: opUpsert}
	if got, want := e.Error(), "sprig: POST /v2/users: rate limited by Sprig (HTTP 429 Too Many Requests: slow down); retry after 3s"; got != want {
		t.Errorf("429 Error() = %q, want %q", got, want)
	}
	e = &APIError{StatusCode: 422, Message: "user is blocked", op: opUpsert}
	if got, want := e.Error(), "sprig: POST /v2/users: HTTP 422 Unprocessable Entity: user is blocked"; got != want {
		t.Errorf("422 Error() = %q, want %q", got, want)
	}
	e = &APIError{StatusCode: 502, Message: "Bad Gateway", op: opUpsert}
	if got, want := e.Error(), "sprig: POST /v2/users: HTTP 502 Bad Gateway"; got != want {
		t.Errorf("502 Error() = %q, want %q", got, want)
	}
}

func TestErrorMessageAndClean(t *testing.T) {
	tests := []struct{ body, want string }{
		{`{"error":"invalid email"}`, "invalid email"},
		{`{"error": "x", "code": 7}`, "x"},
		{`{"error": 5}`, ""},
		{`{"error": {"message": "x"}}`, ""},
		{`{"message": "x"}`, ""},
		{`<html>Bad Gateway</html>`, ""},
		{``, ""},
		{`[1]`, ""},
	}
	for _, tt := range tests {
		if got := errorMessage([]byte(tt.body)); got != tt.want {
			t.Errorf("errorMessage(%q) = %q, want %q", tt.body, got, tt.want)
		}
	}
	if got := cleanMessage("line one\nline\ttwo\x00 "); got != "line one line two" {
		t.Errorf("cleanMessage = %q", got)
	}
	long := strings.Repeat("é", 1000)
	got := cleanMessage(long)
	if len(got) > MaxMessageLen || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
		t.Errorf("cleanMessage(long) has %d bytes, valid %v, %q...", len(got), utf8.ValidString(got), got[:10])
	}
}

func TestEscapeUserID(t *testing.T) {
	tests := map[string]string{
		"u1":        "u1",
		"a/b":       "a%2Fb",
		"a b":       "a%20b",
		"x?y#z":     "x%3Fy%23z",
		"josé":      "jos%C3%A9",
		".":         "%2E",
		"..":        "%2E%2E",
		"...":       "...",
		"a%2Fb":     "a%252Fb",
		"user@x.io": "user@x.io",
	}
	for in, want := range tests {
		if got := escapeUserID(in); got != want {
			t.Errorf("escapeUserID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDefaultTransport(t *testing.T) {
	for _, tt := range []struct{ in, want int }{{0, DefaultMaxIdleConns}, {200, 200}} {
		c, err := NewClient(Options{APIKey: "k", MaxIdleConns: tt.in})
		if err != nil {
			t.Fatal(err)
		}
		tr := c.hc.Transport.(*http.Transport)
		if tr.MaxIdleConnsPerHost != tt.want || tr.MaxIdleConns != tt.want {
			t.Errorf("MaxIdleConns %d: transport keeps %d per host, %d total; want %d", tt.in, tr.MaxIdleConnsPerHost, tr.MaxIdleConns, tt.want)
		}
		if tr.IdleConnTimeout <= 0 || tr.TLSHandshakeTimeout <= 0 || !tr.ForceAttemptHTTP2 {
			t.Errorf("transport timeouts/HTTP2 not set: %+v", tr)
		}
		if c.timeout != DefaultTimeout || c.base != DefaultBaseURL || c.ua != DefaultUserAgent {
			t.Errorf("defaults: timeout %s base %q ua %q", c.timeout, c.base, c.ua)
		}
	}
}
