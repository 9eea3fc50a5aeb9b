package sprig

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"time"
)

const (
	// maxDrain is how much of a response body is read and discarded before
	// closing it, so the connection can be reused. A longer body is cut
	// and its connection closed instead.
	maxDrain = 64 << 10
	// maxErrorBody is how much of an error body is read to find the
	// {"error": ...} message.
	maxErrorBody = 64 << 10
	// maxUserBody bounds the body of a GET /v2/users/{userId} response.
	maxUserBody = 4 << 20
)

// newHTTPClient builds the client used when Options.HTTPClient is nil: a
// transport sized for a steady 1,000 requests per second to one host.
//
//   - MaxIdleConnsPerHost = maxIdle (Go's default keeps only 2 per host, which
//     at high concurrency closes and re-dials connections constantly, each
//     with a new TLS handshake, and exhausts ephemeral ports in TIME_WAIT).
//   - Dial, TLS-handshake and idle timeouts are bounded; the whole request is
//     bounded per call by Options.Timeout through its context.
//   - HTTP/2 is attempted (one multiplexed connection when Sprig offers it).
//   - Redirects are not followed: a 3xx is returned as an *APIError, since an
//     API that redirects a POST means a wrong base URL.
func newHTTPClient(maxIdle int) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          maxIdle,
		MaxIdleConnsPerHost:   maxIdle,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// drainAndClose reads up to maxDrain bytes of body and closes it. Reading
// the rest of a small body lets net/http put the connection back in the
// idle pool; a body longer than that costs a new connection, not time.
func drainAndClose(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, maxDrain)
	_ = body.Close()
}
