package sprig_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sprigsync/sprigsync/sprig"
)

const testKey = "sk_live_TESTKEY_0123456789abcdef"

// newClient returns a client for srv with the test key.
func newClient(t *testing.T, baseURL string, mod ...func(*sprig.Options)) *sprig.Client {
	t.Helper()
	opts := sprig.Options{BaseURL: baseURL, APIKey: testKey, Timeout: 5 * time.Second}
	for _, m := range mod {
		m(&opts)
	}
	c, err := sprig.NewClient(opts)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// answer returns a handler that answers status, body and headers.
func answer(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func TestNewClientRejects(t *testing.T) {
	tests := []struct {
		name string
		opts sprig.Options
		want []string // substrings of the error
	}{
		{"empty key", sprig.Options{}, []string{"missing API key", "Integrations > Enrichment > Data Import API"}},
		{"blank key", sprig.Options{APIKey: " \n\t"}, []string{"missing API key"}},
		{"key with inner space", sprig.Options{APIKey: "abc def"}, []string{"spaces"}},
		{"key with newline", sprig.Options{APIKey: "abc\ndef"}, []string{"control"}},
		{"unparsable URL", sprig.Options{APIKey: testKey, BaseURL: "https://[::1"}, []string{`"https://[::1"`, "invalid base URL", "https://api.sprig.com"}},
		{"no scheme", sprig.Options{APIKey: testKey, BaseURL: "api.sprig.com"}, []string{`"api.sprig.com"`, "https://"}},
		{"ftp", sprig.Options{APIKey: testKey, BaseURL: "ftp://api.sprig.com"}, []string{`"ftp://api.sprig.com"`, "https://"}},
		{"no host", sprig.Options{APIKey: testKey, BaseURL: "https://"}, []string{"missing host"}},
		{"opaque", sprig.Options{APIKey: testKey, BaseURL: "https:api.sprig.com"}, []string{"missing host"}},
		{"user info", sprig.Options{APIKey: testKey, BaseURL: "https://me:pw@api.sprig.com"}, []string{"user info", "xxxxx"}},
		{"query", sprig.Options{APIKey: testKey, BaseURL: "https://api.sprig.com?x=1"}, []string{"query"}},
		{"plain http", sprig.Options{APIKey: testKey, BaseURL: "http://api.sprig.com"},
			[]string{`"http://api.sprig.com"`, `use "https://api.sprig.com"`, "loopback"}},
		{"negative timeout", sprig.Options{APIKey: testKey, Timeout: -time.Second}, []string{"Timeout"}},
		{"negative idle", sprig.Options{APIKey: testKey, MaxIdleConns: -1}, []string{"MaxIdleConns"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := sprig.NewClient(tt.opts)
			if err == nil {
				t.Fatalf("NewClient succeeded: %v", c)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), testKey) || strings.Contains(err.Error(), "pw@") {
				t.Errorf("error reveals a secret: %q", err)
			}
		})
	}
}

func TestLoopbackRule(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"https://api.sprig.com", true},
		{"https://example.com:8443/prefix/", true},
		{"https://10.0.0.1", true},
		{"HTTPS://API.SPRIG.COM", true},
		{"http://127.0.0.1:8787", true},
		{"http://127.0.0.1", true},
		{"http://127.1.2.3:1", true},
		{"http://127.255.255.254", true},
		{"http://localhost:8787", true},
		{"http://LocalHost", true},
		{"http://[::1]:8787", true},
		{"http://[0:0:0:0:0:0:0:1]", true},
		{"http://[::ffff:127.0.0.1]:80", true},
		{"HTTP://127.0.0.1", true},
		{"http://api.sprig.com", false},
		{"http://example.com", false},
		{"http://10.0.0.1", false},
		{"http://192.168.1.10:8080", false},
		{"http://0.0.0.0:8787", false},
		{"http://[::]:8787", false},
		{"http://128.0.0.1", false},
		{"http://localhost.example.com", false},
		{"http://127.0.0.1.nip.io", false},
		{"http://mylocalhost", false},
		{"http://[fe80::1%25lo]:80", false},
	}
	for _, tt := range tests {
		_, err := sprig.NewClient(sprig.Options{APIKey: testKey, BaseURL: tt.url})
		if (err == nil) != tt.ok {
			t.Errorf("NewClient(BaseURL %q): err = %v, want ok %v", tt.url, err, tt.ok)
		}
	}
	for host, want := range map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true, "127.9.9.9": true,
		"::ffff:127.0.0.1": true, "0.0.0.0": false, "example.com": false, "": false, "[::1]": false} {
		if got := sprig.IsLoopbackHost(host); got != want {
			t.Errorf("IsLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestBaseURLKeepsPrefix(t *testing.T) {
	var path atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path.Store(r.URL.EscapedPath())
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL+"/sprig/")
	if got := c.BaseURL(); got != srv.URL+"/sprig" {
		t.Errorf("BaseURL() = %q", got)
	}
	if err := c.UpsertUser(context.Background(), []byte(`{"userId":"u"}`)); err != nil {
		t.Fatal(err)
	}
	if got := path.Load(); got != "/sprig/v2/users" {
		t.Errorf("path = %q, want /sprig/v2/users", got)
	}
}

// TestKeyNeverPrinted formats options, client and errors every way a
// program might print them.
func TestKeyNeverPrinted(t *testing.T) {
	srv := httptest.NewServer(answer(401, `{"error":"invalid API key"}`))
	defer srv.Close()
	opts := sprig.Options{BaseURL: srv.URL, APIKey: testKey, Timeout: time.Second, HTTPClient: &http.Client{}}
	c, err := sprig.NewClient(opts)
	if err != nil {
		t.Fatal(err)
	}
	upsertErr := c.UpsertUser(context.Background(), []byte(`{"userId":"u"}`))
	_, getErr := c.GetUser(context.Background(), "u")
	checkKeyErr := c.CheckKey(context.Background())
	_, purgeErr := c.PurgeVisitors(context.Background(), sprig.PurgeRequest{UserIDs: []string{"u"}})

	type holder struct {
		Opts   sprig.Options
		Client *sprig.Client
	}
	var out []string
	for _, v := range []any{opts, &opts, c, *c, holder{opts, c}, &holder{opts, c}} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			out = append(out, fmt.Sprintf(verb, v))
		}
		out = append(out, fmt.Sprint(v), fmt.Sprintln(v))
	}
	out = append(out, opts.String(), opts.GoString(), c.String(), c.GoString())
	for _, e := range []error{upsertErr, getErr, checkKeyErr, purgeErr} {
		if e == nil {
			t.Fatal("want errors from a 401 server")
		}
		out = append(out, e.Error(), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e))
	}
	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&logs, nil), slog.NewJSONHandler(&logs, nil)} {
		slog.New(h).Info("x", "opts", opts, "client", c, "any", holder{opts, c}, "err", upsertErr)
	}
	out = append(out, logs.String())
	js, err := json.Marshal(opts)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, string(js))

	hexKey := fmt.Sprintf("%x", testKey)
	for _, s := range out {
		if strings.Contains(s, testKey) || strings.Contains(s, "TESTKEY") || strings.Contains(strings.ToLower(s), hexKey) {
			t.Errorf("key revealed in %q", s)
		}
	}
	if s := fmt.Sprintf("%+v", opts); !strings.Contains(s, "[redacted]") || !strings.Contains(s, srv.URL) {
		t.Errorf("%%+v of options = %q, want the URL and [redacted]", s)
	}
	if s := fmt.Sprintf("%v", sprig.Options{}); strings.Contains(s, "[redacted]") {
		t.Errorf("empty key shown as redacted: %q", s)
	}
}

// recorded is what a test server saw of one request.
type recorded struct {
	method, path, auth, contentType, accept, userAgent string
	idempotencyHeaderSent                              bool
	body                                               string
}

func recorder(status int, body string, headers ...string) (http.HandlerFunc, func() []recorded) {
	var mu sync.Mutex
	var reqs []recorded
	h := func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, idem1 := r.Header["Idempotency-Key"]
		_, idem2 := r.Header["X-Idempotency-Key"]
		mu.Lock()
		reqs = append(reqs, recorded{r.Method, r.URL.EscapedPath(), r.Header.Get("Authorization"),
			r.Header.Get("Content-Type"), r.Header.Get("Accept"), r.Header.Get("User-Agent"), idem1 || idem2, string(b)})
		mu.Unlock()
		answer(status, body, headers...)(w, r)
	}
	return h, func() []recorded { mu.Lock(); defer mu.Unlock(); return append([]recorded(nil), reqs...) }
}

func TestUpsertUserRequest(t *testing.T) {
	h, reqs := recorder(202, "")
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := newClient(t, srv.URL, func(o *sprig.Options) { o.UserAgent = "test-agent/1" })
	body := []byte(`{"userId":"u-1","attributes":{"plan":"pro","seats":12}}`)
	if err := c.UpsertUser(context.Background(), body); err != nil {
		t.Fatalf("UpsertUser: %v", err)
	}
	got := reqs()
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
	want := recorded{"POST", "/v2/users", "API-Key " + testKey, "application/json", "application/json", "test-agent/1", false, string(body)}
	if got[0] != want {
		t.Errorf("request = %+v\nwant      %+v", got[0], want)
	}
}

func TestUpsertUserBodyCopied(t *testing.T) {
	h, reqs := recorder(202, "")
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := newClient(t, srv.URL)
	buf := []byte(`{"userId":"a"}`)
	if err := c.UpsertUser(context.Background(), buf); err != nil {
		t.Fatal(err)
	}
	copy(buf, `{"userId":"b"}`)
	if err := c.UpsertUser(context.Background(), buf); err != nil {
		t.Fatal(err)
	}
	if r := reqs(); r[0].body != `{"userId":"a"}` || r[1].body != `{"userId":"b"}` {
		t.Errorf("bodies = %q, %q", r[0].body, r[1].body)
	}
	if err := c.UpsertUser(context.Background(), []byte("  ")); !errors.Is(err, sprig.ErrInvalidRequest) || sprig.Classify(err) != sprig.Rejected {
		t.Errorf("empty body: %v (%s)", err, sprig.Classify(err))
	}
	if n := len(reqs()); n != 2 {
		t.Errorf("empty body was sent: %d requests", n)
	}
}

func TestUpsertUserStatuses(t *testing.T) {
	longMsg := strings.Repeat("x", 2000)
	tests := []struct {
		name       string
		status     int
		body       string
		headers    []string
		class      sprig.Class
		message    string
		retryAfter time.Duration
		errHas     []string
	}{
		{"202", 202, "", nil, sprig.Accepted, "", 0, nil},
		{"202 with body", 202, `{}`, nil, sprig.Accepted, "", 0, nil},
		{"200", 200, `{"ok":true}`, nil, sprig.Accepted, "", 0, nil},
		{"204", 204, "", nil, sprig.Accepted, "", 0, nil},
		{"400 invalid email", 400, `{"error":"emailAddress is not a valid email address"}`, nil, sprig.Rejected,
			"emailAddress is not a valid email address", 0, []string{"HTTP 400 Bad Request: emailAddress is not a valid email address"}},
		{"400 not JSON", 400, `<html><body>bad</body></html>`, nil, sprig.Rejected, "Bad Request", 0, nil},
		{"400 empty", 400, ``, nil, sprig.Rejected, "Bad Request", 0, nil},
		{"400 long", 400, `{"error":"` + longMsg + `"}`, nil, sprig.Rejected, longMsg[:sprig.MaxMessageLen-3] + "…", 0, nil},
		{"401", 401, `{"error":"Unauthorized"}`, nil, sprig.AuthFailed, "Unauthorized", 0,
			[]string{"invalid or revoked", "Integrations > Enrichment > Data Import API"}},
		{"403 no body", 403, ``, nil, sprig.AuthFailed, "Forbidden", 0, []string{"invalid or revoked", "new key"}},
		{"404", 404, `{"error":"not found"}`, nil, sprig.Rejected, "not found", 0, nil},
		{"409", 409, ``, nil, sprig.Rejected, "Conflict", 0, nil},
		{"413", 413, ``, nil, sprig.Rejected, "Request Entity Too Large", 0, nil},
		{"422", 422, `{"error":"user rejected"}`, nil, sprig.Rejected, "user rejected", 0, []string{"422"}},
		{"429 no Retry-After", 429, `{"error":"rate limited"}`, nil, sprig.RateLimited, "rate limited", 0, []string{"rate limited by Sprig"}},
		{"429 seconds", 429, `{"error":"rate limited"}`, []string{"Retry-After", "7"}, sprig.RateLimited, "rate limited", 7 * time.Second, []string{"retry after 7s"}},
		{"429 invalid Retry-After", 429, ``, []string{"Retry-After", "soon"}, sprig.RateLimited, "Too Many Requests", 0, nil},
		{"500", 500, `{"error":"internal"}`, nil, sprig.ServerError, "internal", 0, nil},
		{"502 HTML", 502, `<html>gateway</html>`, nil, sprig.ServerError, "Bad Gateway", 0, nil},
		{"503 Retry-After", 503, ``, []string{"Retry-After", "2"}, sprig.ServerError, "Service Unavailable", 2 * time.Second, nil},
		{"301 not followed", 301, ``, []string{"Location", "https://elsewhere.example/v2/users"}, sprig.ServerError, "Moved Permanently", 0, nil},
		{"599 unknown", 599, ``, nil, sprig.ServerError, "599 status code 599", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(answer(tt.status, tt.body, tt.headers...))
			defer srv.Close()
			c := newClient(t, srv.URL)
			err := c.UpsertUser(context.Background(), []byte(`{"userId":"u"}`))
			if got := sprig.Classify(err); got != tt.class {
				t.Fatalf("Classify = %s, want %s (err %v)", got, tt.class, err)
			}
			if tt.class == sprig.Accepted {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			apiErr, ok := errors.AsType[*sprig.APIError](err)
			if !ok {
				t.Fatalf("err %T %v is not an *APIError", err, err)
			}
			if apiErr.StatusCode != tt.status || apiErr.Message != tt.message || apiErr.RetryAfter != tt.retryAfter {
				t.Errorf("APIError = {%d, %q, %s}, want {%d, %q, %s}", apiErr.StatusCode, apiErr.Message, apiErr.RetryAfter,
					tt.status, tt.message, tt.retryAfter)
			}
			for _, w := range tt.errHas {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Error() = %q, missing %q", err, w)
				}
			}
		})
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	// The date is measured from the answer's Date header, not the local
	// clock, so the result is exact even with a skewed clock.
	date := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	srv := httptest.NewServer(answer(429, `{"error":"slow"}`,
		"Date", date.Format(http.TimeFormat),
		"Retry-After", date.Add(90*time.Second).Format(http.TimeFormat)))
	defer srv.Close()
	err := newClient(t, srv.URL).UpsertUser(context.Background(), []byte(`{"userId":"u"}`))
	apiErr, ok := errors.AsType[*sprig.APIError](err)
	if !ok {
		t.Fatalf("err = %v, want an *APIError", err)
	}
	if apiErr.RetryAfter != 90*time.Second {
		t.Errorf("RetryAfter = %s, want 1m30s", apiErr.RetryAfter)
	}
}

// connCounter counts the TCP connections a test server accepts.
func connCounter(srv *httptest.Server) *atomic.Int64 {
	var n atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			n.Add(1)
		}
	}
	return &n
}

// TestErrorBodiesDrained checks that error bodies (up to 64 KiB) are read
// to the end so the keep-alive connection is reused.
func TestErrorBodiesDrained(t *testing.T) {
	big := `{"error":"bad","padding":"` + strings.Repeat("p", 40<<10) + `"}`
	for _, status := range []int{202, 400, 422, 429, 500} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv := httptest.NewUnstartedServer(answer(status, big))
			conns := connCounter(srv)
			srv.Start()
			defer srv.Close()
			c := newClient(t, srv.URL)
			for range 20 {
				_ = c.UpsertUser(context.Background(), []byte(`{"userId":"u"}`))
			}
			if n := conns.Load(); n != 1 {
				t.Errorf("%d connections for 20 sequential requests, want 1 (bodies not drained?)", n)
			}
		})
	}
}

// countingTransport counts the response-body bytes its caller reads.
type countingTransport struct{ read atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: &c.read}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// TestHugeBodyReadBounded checks that an endless error body is read only up
// to the error-message and drain limits (64 KiB each) before it is closed.
func TestHugeBodyReadBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	counter := &countingTransport{}
	c := newClient(t, srv.URL, func(o *sprig.Options) {
		o.HTTPClient = &http.Client{Transport: counter}
	})
	err := c.UpsertUser(context.Background(), []byte(`{"userId":"u"}`))
	if got := sprig.Classify(err); got != sprig.ServerError {
		t.Fatalf("Classify = %s (err %v), want server_error", got, err)
	}
	if n := counter.read.Load(); n != 128<<10 {
		t.Errorf("read %d bytes of the endless body, want 131072 (64 KiB + 64 KiB)", n)
	}
}

// TestConnectionsReusedUnderConcurrency checks the idle pool: 32 workers
// on Go's default transport (2 idle per host) would re-dial constantly.
func TestConnectionsReusedUnderConcurrency(t *testing.T) {
	srv := httptest.NewUnstartedServer(answer(202, ""))
	conns := connCounter(srv)
	srv.Start()
	defer srv.Close()
	c := newClient(t, srv.URL)
	const workers, each = 32, 50
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range workers {
		wg.Go(func() {
			for range each {
				if err := c.UpsertUser(context.Background(), []byte(`{"userId":"u"}`)); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d requests failed", failed.Load())
	}
	// A few more than workers is normal: net/http may dial while an idle
	// connection is being returned, and then keeps both. With Go's default
	// of 2 idle per host it would be hundreds.
	if n := conns.Load(); n > 2*workers {
		t.Errorf("%d connections for %d workers x %d requests: idle connections are not kept", n, workers, each)
	} else {
		t.Logf("%d connections for %d workers x %d requests", n, workers, each)
	}
}

// TestPostResentOnDeadKeepAlive: the server reads the second request of a
// connection and closes the connection without a response, as a server that
// closes an idle connection at the wrong moment does. net/http resends the
// POST on a new connection only because the client marks it idempotent.
func TestPostResentOnDeadKeepAlive(t *testing.T) {
	var mu sync.Mutex
	perConn := map[string]int{}
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, idem := r.Header["Idempotency-Key"]
		mu.Lock()
		perConn[r.RemoteAddr]++
		n := perConn[r.RemoteAddr]
		bodies = append(bodies, string(b))
		mu.Unlock()
		if idem {
			t.Error("Idempotency-Key header sent on the wire")
		}
		if n == 2 {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		w.WriteHeader(202)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL)
	if err := c.UpsertUser(context.Background(), []byte(`{"userId":"one"}`)); err != nil {
		t.Fatal(err)
	}
	if err := c.UpsertUser(context.Background(), []byte(`{"userId":"two"}`)); err != nil {
		t.Fatalf("second upsert on a dying keep-alive connection: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{`{"userId":"one"}`, `{"userId":"two"}`, `{"userId":"two"}`}; fmt.Sprint(bodies) != fmt.Sprint(want) {
		t.Errorf("server saw %q, want %q", bodies, want)
	}
}

func TestTimeoutIsNetworkError(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := newClient(t, srv.URL, func(o *sprig.Options) { o.Timeout = 100 * time.Millisecond })
	err := c.UpsertUser(context.Background(), []byte(`{"userId":"u"}`))
	if got := sprig.Classify(err); got != sprig.NetworkError {
		t.Fatalf("Classify = %s (err %v), want network_error", got, err)
	}
	if !errors.Is(err, sprig.ErrTimeout) {
		t.Errorf("err = %v does not match ErrTimeout", err)
	}
	if !strings.Contains(err.Error(), "timed out, no response within 100ms") {
		t.Errorf("Error() = %q", err)
	}
}

func TestHTTPClientTimeoutIsNetworkError(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := newClient(t, srv.URL, func(o *sprig.Options) { o.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond} })
	err := c.UpsertUser(context.Background(), []byte(`{"userId":"u"}`))
	if sprig.Classify(err) != sprig.NetworkError || !errors.Is(err, sprig.ErrTimeout) {
		t.Fatalf("err = %v (%s), want a NetworkError matching ErrTimeout", err, sprig.Classify(err))
	}
}

func TestCallerCancellationIsCanceled(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	c := newClient(t, srv.URL, func(o *sprig.Options) { o.Timeout = 10 * time.Second })

	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		err := c.UpsertUser(ctx, []byte(`{"userId":"u"}`))
		if sprig.Classify(err) != sprig.Canceled || !errors.Is(err, context.Canceled) || errors.Is(err, sprig.ErrTimeout) {
			t.Errorf("err = %v (%s), want Canceled", err, sprig.Classify(err))
		}
	})
	t.Run("caller deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		err := c.UpsertUser(ctx, []byte(`{"userId":"u"}`))
		if sprig.Classify(err) != sprig.Canceled || errors.Is(err, sprig.ErrTimeout) {
			t.Errorf("err = %v (%s), want Canceled", err, sprig.Classify(err))
		}
	})
	t.Run("cause", func(t *testing.T) {
		stop := errors.New("worker shutting down")
		ctx, cancel := context.WithCancelCause(context.Background())
		time.AfterFunc(50*time.Millisecond, func() { cancel(stop) })
		err := c.UpsertUser(ctx, []byte(`{"userId":"u"}`))
		if sprig.Classify(err) != sprig.Canceled || !errors.Is(err, stop) {
			t.Errorf("err = %v (%s), want Canceled with the cause", err, sprig.Classify(err))
		}
	})
	t.Run("already canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for _, err := range []error{
			c.UpsertUser(ctx, []byte(`{"userId":"u"}`)),
			c.CheckKey(ctx),
		} {
			if sprig.Classify(err) != sprig.Canceled {
				t.Errorf("err = %v (%s), want Canceled", err, sprig.Classify(err))
			}
		}
	})
}

func TestConnectionErrorsAreNetworkErrors(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		err = newClient(t, "http://"+addr).UpsertUser(context.Background(), []byte(`{"userId":"u"}`))
		if sprig.Classify(err) != sprig.NetworkError || errors.Is(err, sprig.ErrTimeout) {
			t.Errorf("err = %v (%s)", err, sprig.Classify(err))
		}
		if _, ok := errors.AsType[*sprig.APIError](err); ok {
			t.Error("a refused connection is an APIError")
		}
		if !strings.Contains(err.Error(), "POST /v2/users") {
			t.Errorf("Error() = %q does not name the call", err)
		}
	})
	t.Run("reset before answer", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				if tc, ok := conn.(*net.TCPConn); ok {
					_ = tc.SetLinger(0) // RST
				}
				conn.Close()
			}
		}))
		defer srv.Close()
		err := newClient(t, srv.URL).UpsertUser(context.Background(), []byte(`{"userId":"u"}`))
		if sprig.Classify(err) != sprig.NetworkError {
			t.Errorf("err = %v (%s)", err, sprig.Classify(err))
		}
	})
	t.Run("cut body", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(200)
			_, _ = io.WriteString(w, `{"id":"1",`)
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		}))
		defer srv.Close()
		_, err := newClient(t, srv.URL).GetUser(context.Background(), "u")
		if sprig.Classify(err) != sprig.NetworkError {
			t.Errorf("err = %v (%s)", err, sprig.Classify(err))
		}
	})
}

func TestGetUser(t *testing.T) {
	h, reqs := recorder(200, `{"id": 12345678901234567890, "externalUserId": "a/b c", "createdAt": 1700000000000,
		"attributes": {"plan": "pro", "seats": 12.50, "beta": true}, "events": [{"event": "x", "timestamp": 1}]}`)
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := newClient(t, srv.URL)
	u, err := c.GetUser(context.Background(), "a/b c")
	if err != nil {
		t.Fatal(err)
	}
	if r := reqs()[0]; r.method != "GET" || r.path != "/v2/users/a%2Fb%20c" || r.auth != "API-Key "+testKey || r.contentType != "" {
		t.Errorf("request = %+v", r)
	}
	if u.ID != "12345678901234567890" || u.ExternalUserID != "a/b c" || u.CreatedAt != "1700000000000" {
		t.Errorf("user = %+v", u)
	}
	if u.Attributes["plan"] != "pro" || u.Attributes["seats"] != json.Number("12.50") || u.Attributes["beta"] != true {
		t.Errorf("attributes = %#v", u.Attributes)
	}
	if !strings.Contains(string(u.Events), `"timestamp": 1`) || len(u.Raw) == 0 {
		t.Errorf("events = %s", u.Events)
	}
	if _, err := c.GetUser(context.Background(), ""); !errors.Is(err, sprig.ErrInvalidRequest) {
		t.Errorf("empty id: %v", err)
	}
}

func TestGetUserNotFound(t *testing.T) {
	srv := httptest.NewServer(answer(404, `{"error":"user not found"}`))
	defer srv.Close()
	_, err := newClient(t, srv.URL).GetUser(context.Background(), "nobody")
	if !errors.Is(err, sprig.ErrUserNotFound) {
		t.Fatalf("err = %v, want ErrUserNotFound", err)
	}
	if apiErr, ok := errors.AsType[*sprig.APIError](err); !ok || apiErr.StatusCode != 404 || apiErr.Message != "user not found" {
		t.Errorf("APIError = %+v", apiErr)
	}
	if sprig.Classify(err) != sprig.Rejected {
		t.Errorf("Classify = %s", sprig.Classify(err))
	}
	srv2 := httptest.NewServer(answer(200, `not json`))
	defer srv2.Close()
	if _, err := newClient(t, srv2.URL).GetUser(context.Background(), "u"); err == nil || errors.Is(err, sprig.ErrUserNotFound) {
		t.Errorf("malformed 200: err = %v", err)
	}
}

func TestCheckKey(t *testing.T) {
	tests := []struct {
		status int
		body   string
		class  sprig.Class
	}{
		{404, `{"error":"user not found"}`, sprig.Accepted},
		{404, ``, sprig.Accepted},
		{200, `{"id":"1"}`, sprig.Accepted},
		{401, `{"error":"Unauthorized"}`, sprig.AuthFailed},
		{403, ``, sprig.AuthFailed},
		{429, ``, sprig.RateLimited},
		{500, ``, sprig.ServerError},
	}
	for _, tt := range tests {
		h, reqs := recorder(tt.status, tt.body)
		srv := httptest.NewServer(h)
		err := newClient(t, srv.URL).CheckKey(context.Background())
		srv.Close()
		if sprig.Classify(err) != tt.class {
			t.Errorf("%d: CheckKey = %v (%s), want %s", tt.status, err, sprig.Classify(err), tt.class)
		}
		if tt.class == sprig.AuthFailed && !strings.Contains(fmt.Sprint(err), "Integrations > Enrichment > Data Import API") {
			t.Errorf("%d: error %q does not say where to create a key", tt.status, err)
		}
		if r := reqs(); len(r) != 1 || r[0].method != "GET" || r[0].path != "/v2/users/"+sprig.CheckKeyUserID {
			t.Errorf("requests = %+v", r)
		}
	}
}

func TestPurgeVisitors(t *testing.T) {
	h, reqs := recorder(200, `{"requestId":"req-42"}`)
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := newClient(t, srv.URL)
	zero := 0
	id, err := c.PurgeVisitors(context.Background(), sprig.PurgeRequest{UserIDs: []string{"u1"}, Emails: []string{"a@b.co"}, DelaySeconds: &zero})
	if err != nil || id != "req-42" {
		t.Fatalf("PurgeVisitors = %q, %v", id, err)
	}
	r := reqs()[0]
	if r.method != "POST" || r.path != "/v2/purge/visitors" || r.contentType != "application/json" ||
		r.body != `{"userIds":["u1"],"emails":["a@b.co"],"delaySeconds":0}` {
		t.Errorf("request = %+v", r)
	}
	if _, err := c.PurgeVisitors(context.Background(), sprig.PurgeRequest{VisitorIDs: []string{"v"}}); err != nil {
		t.Fatal(err)
	}
	if r := reqs()[1]; r.body != `{"visitorIds":["v"]}` {
		t.Errorf("default delay body = %s", r.body)
	}

	hundred := make([]string, 60)
	for i := range hundred {
		hundred[i] = fmt.Sprint("u", i)
	}
	neg := -1
	invalid := map[string]sprig.PurgeRequest{
		"none":           {},
		"empty arrays":   {UserIDs: []string{}, Emails: []string{}},
		"101 users":      {UserIDs: hundred, Emails: append(hundred[:41:41], "x")},
		"empty id":       {UserIDs: []string{"u", ""}},
		"negative delay": {UserIDs: []string{"u"}, DelaySeconds: &neg},
	}
	for name, req := range invalid {
		_, err := c.PurgeVisitors(context.Background(), req)
		if !errors.Is(err, sprig.ErrInvalidRequest) || sprig.Classify(err) != sprig.Rejected {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	exactly100 := sprig.PurgeRequest{UserIDs: hundred, Emails: hundred[:40]}
	if err := exactly100.Validate(); err != nil {
		t.Errorf("100 users: %v", err)
	}
	if n := len(reqs()); n != 2 {
		t.Errorf("invalid purges were sent: %d requests", n)
	}

	srv403 := httptest.NewServer(answer(403, ``))
	defer srv403.Close()
	_, err = newClient(t, srv403.URL).PurgeVisitors(context.Background(), sprig.PurgeRequest{UserIDs: []string{"u"}})
	if sprig.Classify(err) != sprig.AuthFailed {
		t.Errorf("403: %v", err)
	}
}
