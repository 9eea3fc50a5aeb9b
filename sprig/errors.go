package sprig

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrUserNotFound is matched (errors.Is) by the error [Client.GetUser]
// returns for a 404. The same error also wraps the *APIError, so
// [Classify] reports it as Rejected.
var ErrUserNotFound = errors.New("sprig: user not found")

// ErrTimeout is matched (errors.Is) by the error returned when a request got
// no complete response within [Options.Timeout] (or the deadline of a custom
// [Options.HTTPClient]). [Classify] reports it as NetworkError. A deadline
// of the caller's own context is not ErrTimeout: that is Canceled.
var ErrTimeout = errors.New("sprig: request timed out")

// ErrInvalidRequest is matched (errors.Is) by errors for requests that the
// client does not send because they cannot be valid: an empty body or user
// id, or an invalid purge request. [Classify] reports it as Rejected.
var ErrInvalidRequest = errors.New("sprig: invalid request")

// MaxMessageLen bounds APIError.Message, in bytes.
const MaxMessageLen = 512

// MaxRetryAfter bounds APIError.RetryAfter, so that an absurd Retry-After
// cannot overflow a time.Duration. Callers should cap the wait further, to
// what their run can afford.
const MaxRetryAfter = 24 * time.Hour

// DataImportAPIPath is the place in Sprig's web app where a user creates an
// API key.
const DataImportAPIPath = "Integrations > Enrichment > Data Import API"

// APIError is an HTTP response from Sprig with a status other than 2xx.
//
// Message is the "error" field of Sprig's JSON error body
// ({"error": "<message>"}). When the body is empty or not that JSON, it is
// the status text, for example "Forbidden". It is cut to MaxMessageLen
// bytes, and control characters are replaced by spaces, so it is one line.
// It is Sprig's own text and may quote parts of the request.
//
// RetryAfter is the Retry-After header, given either as seconds or as an
// HTTP date. A date is converted to a duration from the response's Date
// header, or from the local clock when Date is missing. It is zero when the
// header is absent, invalid or in the past. Sprig does not document whether
// it sends Retry-After, so zero is normal and callers fall back to their
// own backoff.
type APIError struct {
	StatusCode int
	Message    string
	RetryAfter time.Duration

	op string // "POST /v2/users": which call, without user ids
}

// Error describes the failure. For 401 and 403 it states that the API key is
// invalid or revoked and where in Sprig a new key is created.
func (e *APIError) Error() string {
	op := e.op
	if op == "" {
		op = "request"
	}
	status := strconv.Itoa(e.StatusCode)
	if t := http.StatusText(e.StatusCode); t != "" {
		status += " " + t
	}
	detail := status
	if e.Message != "" && e.Message != http.StatusText(e.StatusCode) {
		detail += ": " + e.Message
	}
	switch {
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
		return fmt.Sprintf("sprig: %s: the Sprig API key is invalid or revoked (HTTP %s); "+
			"create a new key in Sprig under %s and configure the sync with it",
			op, detail, DataImportAPIPath)
	case e.StatusCode == http.StatusTooManyRequests:
		s := fmt.Sprintf("sprig: %s: rate limited by Sprig (HTTP %s)", op, detail)
		if e.RetryAfter > 0 {
			s += fmt.Sprintf("; retry after %s", e.RetryAfter)
		}
		return s
	default:
		return fmt.Sprintf("sprig: %s: HTTP %s", op, detail)
	}
}

// Class is the kind of outcome of a call, which decides what the caller
// does next. The zero value is Accepted.
type Class int

const (
	// Accepted means the call succeeded: a nil error, from any 2xx.
	Accepted Class = iota

	// Rejected means Sprig rejected this request (400, 404, 422 and every
	// other 4xx except 401, 403 and 429), or the client did not send it
	// because it is invalid (ErrInvalidRequest). Resending the same request
	// fails the same way, so the user is recorded as a rejected row and the
	// run goes on.
	Rejected

	// AuthFailed means 401 or 403: the API key is invalid or revoked. Every
	// further request fails too, so the run must stop and the user must
	// create a new key (APIError.Error states where).
	AuthFailed

	// RateLimited means 429. Slow down and retry, after at least
	// APIError.RetryAfter when it is non-zero.
	RateLimited

	// ServerError means 5xx, or a status outside 2xx and 4xx (1xx, 3xx),
	// which points to a proxy or a wrong base URL. Retry with backoff.
	ServerError

	// NetworkError means no complete HTTP response: connection refused or
	// reset, a DNS or TLS failure, the per-request timeout (ErrTimeout), a
	// body cut short, or any error that matches no other class. Whether
	// Sprig processed the request is unknown. Retrying with backoff is safe
	// because an upsert of the same body is idempotent.
	NetworkError

	// Canceled means the caller's own context was canceled or passed its
	// deadline. The request did not fail, so stop without counting it.
	Canceled
)

var classNames = [...]string{
	Accepted:     "accepted",
	Rejected:     "rejected",
	AuthFailed:   "auth_failed",
	RateLimited:  "rate_limited",
	ServerError:  "server_error",
	NetworkError: "network_error",
	Canceled:     "canceled",
}

// String returns the class's snake_case name, e.g. "rate_limited".
func (c Class) String() string {
	if c >= 0 && int(c) < len(classNames) {
		return classNames[c]
	}
	return "Class(" + strconv.Itoa(int(c)) + ")"
}

// MarshalText encodes the class as its String name, so it can be stored in
// JSON (workflow history, run records).
func (c Class) MarshalText() ([]byte, error) {
	if c < 0 || int(c) >= len(classNames) {
		return nil, fmt.Errorf("sprig: invalid class %d", int(c))
	}
	return []byte(classNames[c]), nil
}

// UnmarshalText decodes a name written by MarshalText.
func (c *Class) UnmarshalText(text []byte) error {
	for i, n := range classNames {
		if n == string(text) {
			*c = Class(i)
			return nil
		}
	}
	return fmt.Errorf("sprig: unknown class %q", text)
}

// Retryable reports whether the same request may succeed if sent again
// later: true for RateLimited, ServerError and NetworkError.
func (c Class) Retryable() bool {
	return c == RateLimited || c == ServerError || c == NetworkError
}

// StatusClass returns the class of an HTTP status code sent by Sprig:
// 2xx Accepted; 401, 403 AuthFailed; 429 RateLimited; other 4xx Rejected;
// everything else (5xx, 1xx, 3xx, invalid codes) ServerError.
func StatusClass(code int) Class {
	switch {
	case code >= 200 && code <= 299:
		return Accepted
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return AuthFailed
	case code == http.StatusTooManyRequests:
		return RateLimited
	case code >= 400 && code <= 499:
		return Rejected
	default:
		return ServerError
	}
}

// Classify returns the class of err, an error returned by this package. It
// looks through wrapping with errors.As and errors.Is, so callers may wrap
// errors further. The rules, applied in this order:
//   - nil: Accepted;
//   - an *APIError: StatusClass of its StatusCode;
//   - a transport failure from this package, including ErrTimeout: NetworkError;
//   - context.Canceled or context.DeadlineExceeded (the caller's context): Canceled;
//   - ErrInvalidRequest: Rejected;
//   - any other error: NetworkError.
func Classify(err error) Class {
	if err == nil {
		return Accepted
	}
	if apiErr, ok := errors.AsType[*APIError](err); ok {
		return StatusClass(apiErr.StatusCode)
	}
	if _, ok := errors.AsType[*transportError](err); ok {
		return NetworkError
	}
	if errors.Is(err, ErrTimeout) {
		return NetworkError
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return Canceled
	}
	if errors.Is(err, ErrInvalidRequest) {
		return Rejected
	}
	return NetworkError
}

// transportError is a request that got no (complete) HTTP response for a
// reason other than the caller's context.
type transportError struct {
	op      string
	timeout time.Duration // > 0: the request timed out after this long
	err     error
}

func (e *transportError) Error() string {
	if e.timeout > 0 {
		return fmt.Sprintf("sprig: %s: timed out, no response within %s: %v", e.op, e.timeout, e.err)
	}
	return fmt.Sprintf("sprig: %s: %v", e.op, e.err)
}

func (e *transportError) Unwrap() error { return e.err }

// Is makes a timed-out transport error match ErrTimeout.
func (e *transportError) Is(target error) bool {
	return target == ErrTimeout && e.timeout > 0
}

// Timeout reports whether the request timed out (net.Error style).
func (e *transportError) Timeout() bool { return e.timeout > 0 }

// parseRetryAfter reads a Retry-After header value: delay-seconds (a
// non-negative integer) or an HTTP date. It returns zero when v is empty,
// invalid or a date not after now, and clamps to MaxRetryAfter.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if v[0] >= '0' && v[0] <= '9' {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return MaxRetryAfter
			}
			return 0
		}
		if n >= uint64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		return time.Duration(n) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	d := t.Sub(now)
	if d <= 0 {
		return 0
	}
	return min(d, MaxRetryAfter)
}

// errorMessage returns the "error" string of a Sprig JSON error body, or ""
// when body is not such JSON.
func errorMessage(body []byte) string {
	var v struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil || len(v.Error) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(v.Error, &s) != nil {
		return ""
	}
	return s
}

// cleanMessage makes m a single line of at most MaxMessageLen bytes.
func cleanMessage(m string) string {
	m = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, m)
	m = strings.TrimSpace(m)
	if len(m) <= MaxMessageLen {
		return m
	}
	const ellipsis = "…"
	cut := MaxMessageLen - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(m[cut]) {
		cut--
	}
	return m[:cut] + ellipsis
}
