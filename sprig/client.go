package sprig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Client calls Sprig's V2 API with one environment's API key. It is safe
// for concurrent use; create one per key and share it.
//
// Like Options, a Client never prints its key (String, GoString, every fmt
// verb and slog show "[redacted]").
type Client struct {
	base    string // validated, no trailing slash
	auth    secret // "API-Key <key>"
	ua      string
	timeout time.Duration
	hc      *http.Client
}

// NewClient validates opts and returns a Client. It fails, with an error
// that states what to fix and never contains the key, when the API key is
// empty, the base URL cannot be parsed or is not absolute, the base URL
// is plain http:// to a host that is not loopback, or Timeout or
// MaxIdleConns is negative.
func NewClient(opts Options) (*Client, error) {
	key, err := checkAPIKey(opts.APIKey)
	if err != nil {
		return nil, err
	}
	base, err := checkBaseURL(opts.BaseURL)
	if err != nil {
		return nil, err
	}
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("sprig: invalid Timeout %s: it is negative, use 0 for the default %s",
			opts.Timeout, DefaultTimeout)
	}
	if opts.MaxIdleConns < 0 {
		return nil, fmt.Errorf("sprig: invalid MaxIdleConns %d: it is negative, use 0 for the default %d",
			opts.MaxIdleConns, DefaultMaxIdleConns)
	}
	c := &Client{
		base:    base,
		auth:    newSecret("API-Key " + key),
		ua:      opts.UserAgent,
		timeout: opts.Timeout,
		hc:      opts.HTTPClient,
	}
	if c.ua == "" {
		c.ua = DefaultUserAgent
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	if c.hc == nil {
		n := opts.MaxIdleConns
		if n == 0 {
			n = DefaultMaxIdleConns
		}
		c.hc = newHTTPClient(n)
	}
	return c, nil
}

// BaseURL returns the API root the client sends to, without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

// CloseIdleConnections closes the client's idle keep-alive connections.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// String describes the client with the API key redacted. (Value
// receivers, so a copied Client prints redacted too.)
func (c Client) String() string {
	return fmt.Sprintf("sprig.Client{BaseURL:%q, APIKey:%s, Timeout:%s}", c.base, redacted, c.timeout)
}

// GoString is String, so %#v does not reveal the key.
func (c Client) GoString() string { return c.String() }

// Format writes String for every fmt verb, so no verb reveals the key.
func (c Client) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// LogValue is the slog form of the client, with the key redacted.
func (c Client) LogValue() slog.Value { return slog.StringValue(c.String()) }

// errTimeoutCause marks the expiry of the per-request timeout.
var errTimeoutCause = errors.New("sprig: per-request timeout")

// call sends one request with a JSON body (when body is not nil) and passes
// the response to handle. It always drains (bounded) and closes the
// response body. An *APIError from handle is returned as it is. Any other
// error from handle, such as a failed body read, is treated like a
// transport error.
func (c *Client) call(ctx context.Context, method, path, op string, body []byte,
	handle func(*http.Response) error) error {
	reqCtx, cancel := context.WithTimeoutCause(ctx, c.timeout, errTimeoutCause)
	defer cancel()

	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body) // sets GetBody, so the request can be resent
	}
	req, err := http.NewRequestWithContext(reqCtx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("sprig: %s: %w: %w", op, ErrInvalidRequest, err)
	}
	req.Header = http.Header{
		"Authorization": {c.auth.value()},
		"User-Agent":    {c.ua},
		"Accept":        {"application/json"},
	}
	if body != nil {
		req.Header["Content-Type"] = []string{"application/json"}
		// An Idempotency-Key entry with a nil value marks the POST as
		// idempotent for net/http without sending the header. The transport
		// may then resend it when a reused keep-alive connection turns
		// out dead before any response. An upsert of the same body is
		// idempotent at Sprig, which has no idempotency key of its own.
		req.Header["Idempotency-Key"] = nil
	}

	resp, err := c.hc.Do(req)
	if err != nil {
		return c.failure(ctx, reqCtx, op, err)
	}
	defer drainAndClose(resp.Body)
	if err := handle(resp); err != nil {
		if _, ok := errors.AsType[*APIError](err); ok {
			return err
		}
		return c.failure(ctx, reqCtx, op, err)
	}
	return nil
}

// failure wraps an error of a request that got no complete response. When the
// caller's ctx is done, the result wraps ctx.Err() (Classify: Canceled);
// otherwise it is a *transportError (Classify: NetworkError), which matches
// ErrTimeout when a deadline (ours or a custom HTTPClient's) expired.
func (c *Client) failure(ctx, reqCtx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		if cause := context.Cause(ctx); cause != nil && cause != ctxErr {
			return fmt.Errorf("sprig: %s: stopped by the caller's context: %w (%w)", op, ctxErr, cause)
		}
		return fmt.Errorf("sprig: %s: stopped by the caller's context: %w", op, ctxErr)
	}
	te := &transportError{op: op, err: err}
	var ne net.Error
	if errors.Is(context.Cause(reqCtx), errTimeoutCause) {
		te.timeout = c.timeout
	} else if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		te.timeout = c.timeout
		if c.hc.Timeout > 0 && c.hc.Timeout < te.timeout {
			te.timeout = c.hc.Timeout
		}
	}
	return te
}

// newAPIError reads (bounded) the error body of resp and builds the error.
func newAPIError(op string, resp *http.Response) *APIError {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	msg := errorMessage(data)
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	if msg == "" {
		msg = resp.Status
	}

	// An HTTP-date Retry-After is measured from the response's own Date
	// header when it has one, so a skewed local clock does not matter.
	now := time.Now()
	if date, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		now = date
	}
	return &APIError{
		StatusCode: resp.StatusCode,
		Message:    cleanMessage(msg),
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), now),
		op:         op,
	}
}

func is2xx(code int) bool { return code >= 200 && code <= 299 }
