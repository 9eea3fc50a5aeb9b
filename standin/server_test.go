package standin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const (
	prodKey = "prod-key-123"
	devKey  = "dev-key-456"
)

func testOptions() Options {
	return Options{Keys: map[string]string{prodKey: "production", devKey: "development"}}
}

// do sends one request straight to the handler.
func do(s *Server, method, path, key, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if key != "" {
		r.Header.Set("Authorization", "API-Key "+key)
	}
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

func upsert(s *Server, key, body string) *httptest.ResponseRecorder {
	return do(s, http.MethodPost, "/v2/users", key, body)
}

func check(t *testing.T, w *httptest.ResponseRecorder, status int, body string) {
	t.Helper()
	if w.Code != status || w.Body.String() != body {
		t.Errorf("answer %d %s, want %d %s", w.Code, w.Body.String(), status, body)
	}
}

func TestUpsertValidation(t *testing.T) {
	attrs := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf(`"a%03d":%d`, i, i)
		}
		return `{` + strings.Join(parts, ",") + `}`
	}
	tests := []struct {
		name   string
		body   string
		status int
		want   string
	}{
		{"minimal", `{"userId":"u1"}`, 202, `{}`},
		{"full", `{"userId":"u1","emailAddress":"a@b.co","attributes":{"s":"x","n":1.5,"b":false},"events":[{"event":"signup","timestamp":1700000000000}]}`, 202, `{}`},
		{"100 attributes", `{"userId":"u1","attributes":` + attrs(100) + `}`, 202, `{}`},
		{"empty attributes", `{"userId":"u1","attributes":{}}`, 202, `{}`},
		{"empty events", `{"userId":"u1","events":[]}`, 202, `{}`},
		{"whitespace around", " \n{\"userId\":\"u1\"}\n ", 202, `{}`},
		{"idn email", `{"userId":"u1","emailAddress":"josé@exämple.com"}`, 202, `{}`},

		{"empty body", ``, 400, `{"error":"Content-Type must be application/json"}`},
		{"spaces", `   `, 400, `{"error":"request body is empty"}`},
		{"malformed", `{"userId":"u1"`, 400, `{"error":"request body is not valid JSON"}`},
		{"trailing data", `{"userId":"u1"} {}`, 400, `{"error":"request body is not valid JSON"}`},
		{"single quotes", `{'userId':'u1'}`, 400, `{"error":"request body is not valid JSON"}`},
		{"array", `[{"userId":"u1"}]`, 400, `{"error":"request body must be a JSON object"}`},
		{"null", `null`, 400, `{"error":"request body must be a JSON object"}`},
		{"string", `"u1"`, 400, `{"error":"request body must be a JSON object"}`},
		{"unknown field", `{"userId":"u1","name":"x"}`, 400, `{"error":"unknown field \"name\""}`},
		{"unknown fields sorted", `{"zeta":1,"userId":"u1","alpha":2}`, 400, `{"error":"unknown field \"alpha\""}`},
		{"wrong case", `{"userID":"u1"}`, 400, `{"error":"unknown field \"userID\""}`},
		{"no userId", `{"attributes":{}}`, 400, `{"error":"userId is required"}`},
		{"null userId", `{"userId":null}`, 400, `{"error":"userId is required"}`},
		{"numeric userId", `{"userId":42}`, 400, `{"error":"userId must be a string"}`},
		{"empty userId", `{"userId":""}`, 400, `{"error":"userId must not be empty"}`},
		{"blank userId", `{"userId":"  "}`, 400, `{"error":"userId must not be empty"}`},
		{"null email", `{"userId":"u1","emailAddress":null}`, 400, `{"error":"emailAddress must be a string"}`},
		{"numeric email", `{"userId":"u1","emailAddress":5}`, 400, `{"error":"emailAddress must be a string"}`},
		{"empty email", `{"userId":"u1","emailAddress":""}`, 400, `{"error":"emailAddress is not a valid email address"}`},
		{"bad email", `{"userId":"u1","emailAddress":"not-an-email"}`, 400, `{"error":"emailAddress is not a valid email address"}`},
		{"email no dot", `{"userId":"u1","emailAddress":"a@localhost"}`, 400, `{"error":"emailAddress is not a valid email address"}`},
		{"null attributes", `{"userId":"u1","attributes":null}`, 400, `{"error":"attributes must be an object"}`},
		{"array attributes", `{"userId":"u1","attributes":[1]}`, 400, `{"error":"attributes must be an object"}`},
		{"101 attributes", `{"userId":"u1","attributes":` + attrs(101) + `}`, 400, `{"error":"too many attributes: 101 (at most 100)"}`},
		{"empty attribute name", `{"userId":"u1","attributes":{"":"x"}}`, 400, `{"error":"attribute names must not be empty"}`},
		{"null attribute", `{"userId":"u1","attributes":{"plan":null}}`, 400, `{"error":"attribute \"plan\" is null: null values are not accepted"}`},
		{"object attribute", `{"userId":"u1","attributes":{"plan":{"a":1}}}`, 400, `{"error":"attribute \"plan\" must be a string, number or boolean"}`},
		{"array attribute", `{"userId":"u1","attributes":{"tags":["a"]}}`, 400, `{"error":"attribute \"tags\" must be a string, number or boolean"}`},
		{"first bad attribute by name", `{"userId":"u1","attributes":{"z":null,"b":[1]}}`, 400, `{"error":"attribute \"b\" must be a string, number or boolean"}`},
		{"events object", `{"userId":"u1","events":{}}`, 400, `{"error":"events must be an array"}`},
		{"events null", `{"userId":"u1","events":null}`, 400, `{"error":"events must be an array"}`},
		{"event not object", `{"userId":"u1","events":["x"]}`, 400, `{"error":"events[0] must be an object with event and timestamp"}`},
		{"event unknown field", `{"userId":"u1","events":[{"event":"x","timestamp":1,"props":{}}]}`, 400, `{"error":"events[0]: unknown field \"props\""}`},
		{"event no name", `{"userId":"u1","events":[{"event":"a","timestamp":1},{"timestamp":1}]}`, 400, `{"error":"events[1].event must be a non-empty string"}`},
		{"event empty name", `{"userId":"u1","events":[{"event":"","timestamp":1}]}`, 400, `{"error":"events[0].event must be a non-empty string"}`},
		{"event no timestamp", `{"userId":"u1","events":[{"event":"x"}]}`, 400, `{"error":"events[0].timestamp must be epoch milliseconds (an integer)"}`},
		{"event string timestamp", `{"userId":"u1","events":[{"event":"x","timestamp":"1"}]}`, 400, `{"error":"events[0].timestamp must be epoch milliseconds (an integer)"}`},
		{"event float timestamp", `{"userId":"u1","events":[{"event":"x","timestamp":1.5}]}`, 400, `{"error":"events[0].timestamp must be epoch milliseconds (an integer)"}`},
		{"event negative timestamp", `{"userId":"u1","events":[{"event":"x","timestamp":-1}]}`, 400, `{"error":"events[0].timestamp must be epoch milliseconds (an integer)"}`},
		{"order: unknown field before userId", `{"userId":5,"extra":1}`, 400, `{"error":"unknown field \"extra\""}`},
		{"order: userId before email", `{"emailAddress":"bad"}`, 400, `{"error":"userId is required"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(testOptions())
			r := httptest.NewRequest(http.MethodPost, "/v2/users", strings.NewReader(tt.body))
			r.Header.Set("Authorization", "API-Key "+prodKey)
			if tt.name != "empty body" {
				r.Header.Set("Content-Type", "application/json")
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			check(t, w, tt.status, tt.want)
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			wantUsers := 0
			if tt.status == 202 {
				wantUsers = 1
			}
			if n := len(s.Users("production")); n != wantUsers {
				t.Errorf("%d users stored, want %d", n, wantUsers)
			}
		})
	}
}

func TestContentTypeAndSize(t *testing.T) {
	s := New(testOptions())
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/jsonx"} {
		r := httptest.NewRequest(http.MethodPost, "/v2/users", strings.NewReader(`{"userId":"u"}`))
		r.Header.Set("Authorization", "API-Key "+prodKey)
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		check(t, w, 400, `{"error":"Content-Type must be application/json"}`)
	}
	r := httptest.NewRequest(http.MethodPost, "/v2/users", strings.NewReader(`{"userId":"u"}`))
	r.Header.Set("Authorization", "API-Key "+prodKey)
	r.Header.Set("Content-Type", "application/json; charset=utf-8")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	check(t, w, 202, `{}`)

	big := `{"userId":"u","attributes":{"s":"` + strings.Repeat("x", MaxBodyBytes) + `"}}`
	check(t, upsert(s, prodKey, big), 400, `{"error":"request body is larger than 1 MiB"}`)
}

func TestValidEmail(t *testing.T) {
	tests := map[string]bool{
		"a@b.co":                     true,
		"first.last+tag@example.com": true,
		"josé@exämple.com":           true,
		"用户@例子.广告":                   true,
		"a@b.c.d":                    true,
		"x@[1.2.3.4]":                true, // the pragmatic rule only looks at '@', dots, spaces and controls
		"":                           false,
		"@b.co":                      false,
		"a@":                         false,
		"a":                          false,
		"a@b":                        false,
		"a@@b.co":                    false,
		"a@b@c.co":                   false,
		"a b@c.co":                   false,
		"a@b .co":                    false,
		"a@b.co ":                    false,
		"a\t@b.co":                   false,
		"a@b..co":                    false,
		"a@.b.co":                    false,
		"a@b.co.":                    false,
		"a\x00@b.co":                 false,
		"a@b\u00a0.co":               false,
		"\xff@b.co":                  false,
	}
	for in, want := range tests {
		if got := validEmail(in); got != want {
			t.Errorf("validEmail(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestMergeSemantics(t *testing.T) {
	s := New(testOptions())
	check(t, upsert(s, prodKey, `{"userId":"u1","emailAddress":"a@b.co","attributes":{"plan":"free","seats":1,"beta":true}}`), 202, `{}`)
	check(t, upsert(s, prodKey, `{"userId":"u1","attributes":{"plan":"pro","score":12.50}}`), 202, `{}`)
	check(t, upsert(s, prodKey, `{"userId":"u1"}`), 202, `{}`)
	u, ok := s.User("production", "u1")
	if !ok {
		t.Fatal("user missing")
	}
	want := map[string]any{
		"plan": "pro", "seats": json.Number("1"), "beta": true, "score": json.Number("12.50"),
	}
	if diff := cmp.Diff(want, u.Attributes); diff != "" {
		t.Errorf("merged attributes (-want +got):\n%s", diff)
	}
	if u.EmailAddress != "a@b.co" {
		t.Errorf("email = %q, want the first one, a@b.co", u.EmailAddress)
	}
	if u.Upserts != 3 {
		t.Errorf("upserts = %d, want 3", u.Upserts)
	}
	check(t, upsert(s, prodKey, `{"userId":"u1","emailAddress":"new@b.co","attributes":{"beta":false}}`), 202, `{}`)
	u, _ = s.User("production", "u1")
	want["beta"] = false
	if diff := cmp.Diff(want, u.Attributes); diff != "" {
		t.Errorf("attributes after the fourth upsert (-want +got):\n%s", diff)
	}
	if u.EmailAddress != "new@b.co" {
		t.Errorf("email = %q, want new@b.co", u.EmailAddress)
	}
}

func TestNumbersKeptExactly(t *testing.T) {
	s := New(testOptions())
	nums := []string{"0", "-0", "1.50", "1e3", "1E-7", "-12.000", "12345678901234567890123", "0.1000000000000000055511151231257827"}
	parts := make([]string, len(nums))
	for i, n := range nums {
		parts[i] = fmt.Sprintf(`"n%d":%s`, i, n)
	}
	check(t, upsert(s, prodKey, `{"userId":"u1","attributes":{`+strings.Join(parts, ",")+`}}`), 202, `{}`)
	u, _ := s.User("production", "u1")
	for i, n := range nums {
		if got := u.Attributes[fmt.Sprintf("n%d", i)]; got != json.Number(n) {
			t.Errorf("n%d = %#v, want json.Number(%q)", i, got, n)
		}
	}
	w := do(s, http.MethodGet, "/standin/users?environment=production", "", "")
	for _, n := range nums {
		if !strings.Contains(w.Body.String(), ":"+n+",") && !strings.Contains(w.Body.String(), ":"+n+"}") {
			t.Errorf("/standin/users does not have %s verbatim: %s", n, w.Body.String())
		}
	}
}

func TestAttributeLimitPerUser(t *testing.T) {
	s := New(testOptions())
	first := make([]string, 90)
	for i := range first {
		first[i] = fmt.Sprintf(`"a%d":1`, i)
	}
	check(t, upsert(s, prodKey, `{"userId":"u1","attributes":{`+strings.Join(first, ",")+`}}`), 202, `{}`)
	more := make([]string, 11)
	for i := range more {
		more[i] = fmt.Sprintf(`"b%d":1`, i)
	}
	check(t, upsert(s, prodKey, `{"userId":"u1","attributes":{"a0":2,`+strings.Join(more, ",")+`}}`), 400,
		`{"error":"too many attributes: the user would have 101 (at most 100)"}`)
	u, _ := s.User("production", "u1")
	if len(u.Attributes) != 90 || u.Attributes["a0"] != json.Number("1") {
		t.Errorf("a rejected upsert changed the user: %d attributes, a0 = %v", len(u.Attributes), u.Attributes["a0"])
	}
	// Overwriting existing attributes does not count against the limit.
	check(t, upsert(s, prodKey, `{"userId":"u1","attributes":{"a0":2,`+strings.Join(more[:10], ",")+`}}`), 202, `{}`)
	check(t, upsert(s, prodKey, `{"userId":"u1","attributes":{`+strings.Join(first, ",")+`}}`), 202, `{}`)
}

func TestEnvironmentsIsolated(t *testing.T) {
	s := New(testOptions())
	check(t, upsert(s, prodKey, `{"userId":"u1","attributes":{"env":"prod"}}`), 202, `{}`)
	check(t, upsert(s, devKey, `{"userId":"u2","attributes":{"env":"dev"}}`), 202, `{}`)
	check(t, upsert(s, devKey, `{"userId":"u1","attributes":{"env":"dev"}}`), 202, `{}`)
	if got := s.Users("production"); len(got) != 1 || got["u1"].Attributes["env"] != "prod" {
		t.Errorf("production = %+v", got)
	}
	if got := s.Users("development"); len(got) != 2 || got["u1"].Attributes["env"] != "dev" {
		t.Errorf("development = %+v", got)
	}
	if w := do(s, http.MethodGet, "/v2/users/u2", prodKey, ""); w.Code != 404 {
		t.Errorf("dev user visible with the prod key: %d", w.Code)
	}
	if got := s.Users("staging"); got == nil || len(got) != 0 {
		t.Errorf("unknown environment = %#v", got)
	}
	w := do(s, http.MethodGet, "/standin/users?environment=production", "", "")
	check(t, w, 200, `{"u1":{"userId":"u1","attributes":{"env":"prod"}}}`)
	check(t, do(s, http.MethodGet, "/standin/users", "", ""), 400, `{"error":"the environment query parameter is required"}`)
	check(t, do(s, http.MethodGet, "/standin/users?environment=nope", "", ""), 200, `{}`)
}

// sendAuth sends a request with a raw Authorization header ("" for none).
func sendAuth(s *Server, method, path, auth, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	return w
}

func TestAuthRejectsBadKeys(t *testing.T) {
	s := New(testOptions())
	const unauthorized = `{"error":"missing or invalid API key (expected Authorization: API-Key <key>)"}`
	headers := []string{
		"", "API-Key", "API-Key ", "API-Key wrong", "Bearer " + prodKey, prodKey,
		"API-Key " + prodKey + "x", "Basic xyz",
	}
	for _, h := range headers {
		check(t, sendAuth(s, http.MethodPost, "/v2/users", h, `{"userId":"u1"}`), 401, unauthorized)
		check(t, sendAuth(s, http.MethodGet, "/v2/users/u1", h, ""), 401, unauthorized)
		// Sprig's purge reference documents 403 with no body.
		check(t, sendAuth(s, http.MethodPost, "/v2/purge/visitors", h, `{"userIds":["u1"]}`), 403, ``)
	}

	if n := len(s.Users("production")); n != 0 {
		t.Errorf("%d users stored with bad keys, want 0", n)
	}
	st := s.Stats()
	want := map[string]map[int]int64{
		EndpointUpsert:  {401: int64(len(headers))},
		EndpointGetUser: {401: int64(len(headers))},
		EndpointPurge:   {403: int64(len(headers))},
	}
	if diff := cmp.Diff(want, st.Requests); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestAuthSchemeCaseInsensitive(t *testing.T) {
	s := New(testOptions())
	check(t, sendAuth(s, http.MethodPost, "/v2/users", "api-key "+prodKey, `{"userId":"u1"}`), 202, `{}`)
	check(t, sendAuth(s, http.MethodPost, "/v2/users", "API-KEY  "+devKey+" ", `{"userId":"u2"}`), 202, `{}`)
	if n := len(s.Users("production")); n != 1 {
		t.Errorf("%d production users, want 1", n)
	}
	if n := len(s.Users("development")); n != 1 {
		t.Errorf("%d development users, want 1", n)
	}
}

func TestRateLimit(t *testing.T) {
	s := New(Options{Keys: map[string]string{prodKey: "production"}, RateLimit: 0.001, Burst: 2})
	check(t, upsert(s, prodKey, `{"userId":"u1"}`), 202, `{}`)
	check(t, do(s, http.MethodGet, "/v2/users/u1", prodKey, ""), 200, mustGet(t, s))
	for _, req := range []func() *httptest.ResponseRecorder{
		func() *httptest.ResponseRecorder { return upsert(s, prodKey, `{"userId":"u2"}`) },
		func() *httptest.ResponseRecorder { return do(s, http.MethodGet, "/v2/users/u1", prodKey, "") },
		func() *httptest.ResponseRecorder {
			return do(s, http.MethodPost, "/v2/purge/visitors", prodKey, `{"userIds":["u1"]}`)
		},
	} {
		w := req()
		check(t, w, 429, `{"error":"rate limit exceeded"}`)
		if ra := w.Header().Get("Retry-After"); ra != "1" {
			t.Errorf("Retry-After = %q, want 1", ra)
		}
	}
	// Requests without a valid key take no token and are not limited.
	check(t, upsert(s, "bad", `{"userId":"u1"}`), 401, `{"error":"missing or invalid API key (expected Authorization: API-Key <key>)"}`)
	if n := len(s.Users("production")); n != 1 {
		t.Errorf("a 429 stored a user: %d users", n)
	}
	st := s.Stats()
	wantInjected := map[string]map[int]int64{EndpointUpsert: {429: 1}, EndpointGetUser: {429: 1}, EndpointPurge: {429: 1}}
	if diff := cmp.Diff(wantInjected, st.Injected); diff != "" {
		t.Errorf("injected (-want +got):\n%s", diff)
	}
	if st.Requests[EndpointUpsert][429] != 0 {
		t.Errorf("429s counted as real: %v", st.Requests)
	}

	for _, tt := range []struct {
		retryAfter time.Duration
		want       string
	}{{2500 * time.Millisecond, "3"}, {10 * time.Second, "10"}, {-1, ""}} {
		s := New(Options{Keys: map[string]string{prodKey: "p"}, RateLimit: 0.001, Burst: 1, RetryAfter: tt.retryAfter})
		upsert(s, prodKey, `{"userId":"u"}`)
		w := upsert(s, prodKey, `{"userId":"u"}`)
		if _, has := w.Header()["Retry-After"]; w.Code != 429 || w.Header().Get("Retry-After") != tt.want || (tt.want == "" && has) {
			t.Errorf("RetryAfter %s: %d Retry-After %q, want %q", tt.retryAfter, w.Code, w.Header().Get("Retry-After"), tt.want)
		}
	}
}

// mustGet builds the expected GET /v2/users/u1 response body from the store
// of s, without taking a rate-limit token.
func mustGet(t *testing.T, s *Server) string {
	t.Helper()
	u, ok := s.User("production", "u1")
	if !ok {
		t.Fatal("u1 missing")
	}
	return fmt.Sprintf(`{"id":%q,"externalUserId":"u1","attributes":{},"createdAt":%q,"events":[]}`,
		u.VisitorID, u.CreatedAt.UTC().Format(time.RFC3339Nano))
}

// faultPattern returns which of n sequential upserts got an injected 500.
func faultPattern(t *testing.T, opts Options, n int) []int {
	t.Helper()
	s := New(opts)
	var failed []int
	for i := range n {
		w := upsert(s, prodKey, fmt.Sprintf(`{"userId":"u%d"}`, i))
		switch w.Code {
		case 202:
		case 500:
			if w.Body.String() != `{"error":"internal server error"}` || w.Header().Get("X-Standin-Injected") != "true" {
				t.Errorf("injected 500 = %s %v", w.Body.String(), w.Header())
			}
			failed = append(failed, i)
		default:
			t.Fatalf("status %d", w.Code)
		}
	}
	st := s.Stats()
	if st.Injected[EndpointUpsert][500] != int64(len(failed)) || st.Requests[EndpointUpsert][500] != 0 ||
		st.UpsertsAccepted != int64(n-len(failed)) || len(s.Users("production")) != n-len(failed) {
		t.Errorf("stats %+v for %d faults", st, len(failed))
	}
	return failed
}

func TestInjectedServerErrors(t *testing.T) {
	opts := Options{Keys: map[string]string{prodKey: "production"}, ServerErrorShare: 0.3, Seed: 42}

	a := faultPattern(t, opts, 400)
	b := faultPattern(t, opts, 400)
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different faults:\n%v\n%v", a, b)
	}
	// The pattern is a fixed function of the seed: 116 of 400 (29%) at
	// share 0.3 with seed 42.
	if len(a) != 116 {
		t.Errorf("%d of 400 failed with seed 42 at share 0.3, want 116", len(a))
	}
	if diff := cmp.Diff([]int{1, 2, 4, 6, 10, 15, 16, 18}, a[:8]); diff != "" {
		t.Errorf("first faults (-want +got):\n%s", diff)
	}

	opts.Seed = 43
	if c := faultPattern(t, opts, 400); slices.Equal(a, c) {
		t.Error("different seeds, same faults")
	}

	opts.ServerErrorShare = 0
	if f := faultPattern(t, opts, 100); len(f) != 0 {
		t.Errorf("share 0: %d faults", len(f))
	}
	opts.ServerErrorShare = 1
	if f := faultPattern(t, opts, 100); len(f) != 100 {
		t.Errorf("share 1: %d faults", len(f))
	}

	// SetOptions restarts the sequence.
	opts.ServerErrorShare, opts.Seed = 0.3, 42
	s := New(opts)
	for i := range 50 {
		upsert(s, prodKey, fmt.Sprintf(`{"userId":"x%d"}`, i))
	}
	s.SetOptions(opts)
	var again []int
	for i := range 400 {
		if upsert(s, prodKey, fmt.Sprintf(`{"userId":"u%d"}`, i)).Code == 500 {
			again = append(again, i)
		}
	}
	if !slices.Equal(a, again) {
		t.Error("SetOptions did not restart the fault sequence")
	}
}

func TestRejectList(t *testing.T) {
	s := New(Options{Keys: map[string]string{prodKey: "production"}, RejectUserIDs: map[string]string{"bad-user": "user is blocked"}})
	check(t, upsert(s, prodKey, `{"userId":"bad-user","attributes":{"a":1}}`), 422, `{"error":"user is blocked"}`)
	check(t, upsert(s, prodKey, `{"userId":"bad-user","attributes":{"a":null}}`), 400, `{"error":"attribute \"a\" is null: null values are not accepted"}`)
	check(t, upsert(s, prodKey, `{"userId":"good-user"}`), 202, `{}`)
	if _, ok := s.User("production", "bad-user"); ok {
		t.Error("rejected user stored")
	}
	if st := s.Stats(); st.Requests[EndpointUpsert][422] != 1 || st.Requests[EndpointUpsert][400] != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestStats(t *testing.T) {
	s := New(testOptions())
	upsert(s, prodKey, `{"userId":"u1"}`)
	upsert(s, prodKey, `{"userId":"u1"}`)                                       // same body again
	upsert(s, devKey, `{"userId":"u1"}`)                                        // same body, other environment
	upsert(s, prodKey, `{"userId":"u1","attributes":{"a":1}}`)                  // new body
	upsert(s, prodKey, `{"userId":""}`)                                         // 400
	upsert(s, "nope", `{"userId":"u1"}`)                                        // 401
	do(s, http.MethodGet, "/v2/users/u1", prodKey, "")                          // 200
	do(s, http.MethodGet, "/v2/users/zz", prodKey, "")                          // 404
	do(s, http.MethodGet, "/v2/users", prodKey, "")                             // 405 other
	do(s, http.MethodGet, "/v3/whatever", prodKey, "")                          // 404 other
	do(s, http.MethodGet, "/standin/stats", "", "")                             // not counted
	do(s, http.MethodPost, "/v2/purge/visitors", prodKey, `{"userIds":["u1"]}`) // 200
	want := Stats{
		Requests: map[string]map[int]int64{
			EndpointUpsert:  {202: 4, 400: 1, 401: 1},
			EndpointGetUser: {200: 1, 404: 1},
			EndpointPurge:   {200: 1},
			EndpointOther:   {404: 1, 405: 1},
		},
		Injected:                map[string]map[int]int64{},
		UpsertsAccepted:         4,
		DistinctUpsertsAccepted: 3,
	}
	got := s.Stats()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Stats() (-want +got):\n%s", diff)
	}
	if got.Total() != 11 || got.Count(EndpointUpsert, 202) != 4 {
		t.Errorf("Total %d Count %d", got.Total(), got.Count(EndpointUpsert, 202))
	}
	w := do(s, http.MethodGet, "/standin/stats", "", "")
	check(t, w, 200, `{"requests":{"GET /v2/users/{userId}":{"200":1,"404":1},"POST /v2/purge/visitors":{"200":1},"POST /v2/users":{"202":4,"400":1,"401":1},"other":{"404":1,"405":1}},"injected":{},"upsertsAccepted":4,"distinctUpsertsAccepted":3}`)

	do(s, http.MethodPost, "/standin/reset", "", "")
	if st := s.Stats(); st.Total() != 0 || st.UpsertsAccepted != 0 || len(s.Users("production")) != 0 {
		t.Errorf("after reset: %+v", st)
	}
	upsert(s, prodKey, `{"userId":"u1"}`)
	if st := s.Stats(); st.DistinctUpsertsAccepted != 1 {
		t.Errorf("reset kept the seen bodies: %+v", st)
	}
}

func TestGetUser(t *testing.T) {
	s := New(testOptions())
	s.now = func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC) }
	check(t, upsert(s, prodKey, `{"userId":"a/b c","emailAddress":"a@b.co","attributes":{"n":1.0,"s":"<x>"},"events":[{"event":"e","timestamp":5}]}`), 202, `{}`)
	check(t, do(s, http.MethodGet, "/v2/users/a%2Fb%20c", prodKey, ""), 200,
		`{"id":"standin-visitor-1","externalUserId":"a/b c","attributes":{"n":1.0,"s":"<x>"},"createdAt":"2025-01-02T03:04:05Z","events":[{"event":"e","timestamp":5}]}`)
	check(t, do(s, http.MethodGet, "/v2/users/a/b%20c", prodKey, ""), 404, `{"error":"not found"}`)
	check(t, do(s, http.MethodGet, "/v2/users/nobody", prodKey, ""), 404, `{"error":"user not found"}`)
	check(t, do(s, http.MethodPost, "/v2/users/nobody", prodKey, "{}"), 405, `{"error":"method not allowed"}`)
	check(t, do(s, http.MethodDelete, "/v2/users", prodKey, ""), 405, `{"error":"method not allowed"}`)
	check(t, do(s, http.MethodGet, "/v1/users", prodKey, ""), 404, `{"error":"not found"}`)
	if w := do(s, http.MethodPut, "/v2/purge/visitors", prodKey, "{}"); w.Code != 405 || w.Header().Get("Allow") != "POST" {
		t.Errorf("PUT purge: %d Allow %q", w.Code, w.Header().Get("Allow"))
	}
}

func TestPurge(t *testing.T) {
	s := New(testOptions())
	for i := range 5 {
		upsert(s, prodKey, fmt.Sprintf(`{"userId":"u%d","emailAddress":"u%d@x.io"}`, i, i))
	}
	ids := make([]string, 101)
	for i := range ids {
		ids[i] = fmt.Sprintf(`"id%d"`, i)
	}
	tests := []struct {
		name, body string
		status     int
		want       string
	}{
		{"empty object", `{}`, 400, `{"error":"at least one of userIds, emails or visitorIds must be a non-empty array"}`},
		{"empty arrays", `{"userIds":[],"emails":[]}`, 400, `{"error":"at least one of userIds, emails or visitorIds must be a non-empty array"}`},
		{"null array", `{"userIds":null}`, 400, `{"error":"userIds must be an array of strings"}`},
		{"string not array", `{"emails":"a@b.co"}`, 400, `{"error":"emails must be an array of strings"}`},
		{"numbers", `{"visitorIds":[1,2]}`, 400, `{"error":"visitorIds must be an array of strings"}`},
		{"empty id", `{"userIds":["u1",""]}`, 400, `{"error":"userIds[1] must be a non-empty string"}`},
		{"101", `{"userIds":[` + strings.Join(ids, ",") + `]}`, 400, `{"error":"too many users: 101 (at most 100 per request)"}`},
		{"101 across arrays", `{"userIds":[` + strings.Join(ids[:60], ",") + `],"emails":[` + strings.Join(ids[60:], ",") + `]}`, 400, `{"error":"too many users: 101 (at most 100 per request)"}`},
		{"negative delay", `{"userIds":["u1"],"delaySeconds":-1}`, 400, `{"error":"delaySeconds must be a non-negative integer"}`},
		{"float delay", `{"userIds":["u1"],"delaySeconds":1.5}`, 400, `{"error":"delaySeconds must be a non-negative integer"}`},
		{"string delay", `{"userIds":["u1"],"delaySeconds":"10"}`, 400, `{"error":"delaySeconds must be a non-negative integer"}`},
		{"unknown field", `{"userIds":["u1"],"reason":"gdpr"}`, 400, `{"error":"unknown field \"reason\""}`},
		{"malformed", `{"userIds":[`, 400, `{"error":"request body is not valid JSON"}`},
		{"none exist", `{"userIds":["ghost"],"emails":["ghost@x.io"],"visitorIds":["v-ghost"]}`, 400, `{"error":"none of the users exist"}`},
		{"100 ok", `{"userIds":["u0",` + strings.Join(ids[:99], ",") + `]}`, 200, `{"requestId":"standin-purge-000001"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, do(s, http.MethodPost, "/v2/purge/visitors", prodKey, tt.body), tt.status, tt.want)
		})
	}

	if n := len(s.Users("production")); n != 5 {
		t.Fatalf("a delayed purge deleted users: %d left", n)
	}

	u3, _ := s.User("production", "u3")
	check(t, do(s, http.MethodPost, "/v2/purge/visitors", prodKey, `{"userIds":["u1"],"emails":["u2@x.io"],"visitorIds":["`+u3.VisitorID+`"],"delaySeconds":0}`),
		200, `{"requestId":"standin-purge-000002"}`)
	left := s.Users("production")
	if len(left) != 2 || left["u0"].UserID == "" || left["u4"].UserID == "" {
		t.Errorf("after immediate purge: %v", left)
	}

	zero := int64(0)
	wantRecords := []PurgeRecord{
		{RequestID: "standin-purge-000001", Environment: "production", Matched: []string{"u0"}},
		{RequestID: "standin-purge-000002", Environment: "production", UserIDs: []string{"u1"},
			Emails: []string{"u2@x.io"}, VisitorIDs: []string{u3.VisitorID}, DelaySeconds: &zero,
			Matched: []string{"u1", "u2", "u3"}, Executed: true},
	}
	ignore := cmpopts.IgnoreFields(PurgeRecord{}, "ReceivedAt", "UserIDs")
	if diff := cmp.Diff(wantRecords, s.Purges("production"), ignore); diff != "" {
		t.Errorf("purge records (-want +got):\n%s", diff)
	}
	if got := s.Purges("production")[1].UserIDs; !slices.Equal(got, []string{"u1"}) {
		t.Errorf("second purge userIds = %v, want [u1]", got)
	}
	// Purges only see their own environment.
	check(t, do(s, http.MethodPost, "/v2/purge/visitors", devKey, `{"userIds":["u0"]}`), 400, `{"error":"none of the users exist"}`)
	check(t, do(s, http.MethodGet, "/standin/purges?environment=development", "", ""), 200, `[]`)
	if w := do(s, http.MethodGet, "/standin/purges?environment=production", "", ""); !strings.Contains(w.Body.String(), `"requestId":"standin-purge-000002"`) {
		t.Errorf("/standin/purges = %s", w.Body.String())
	}
}

func TestConfigEndpoint(t *testing.T) {
	s := New(testOptions())
	get := func() string { return do(s, http.MethodGet, "/standin/config", "", "").Body.String() }
	const initial = `{"environments":["development","production"],"keyCount":2,"rateLimit":0,"burst":0,"retryAfter":"0s","serverErrorShare":0,"latency":"0s","rejectUserIds":{},"seed":0}`
	if got := get(); got != initial {
		t.Errorf("GET /standin/config = %s", got)
	}
	w := do(s, http.MethodPost, "/standin/config", "", `{"keys":{"new-secret-key":"staging"},"rateLimit":50,"burst":5,"retryAfter":"2s","serverErrorShare":0.25,"latency":0.001,"rejectUserIds":{"x":"no"},"seed":7}`)
	const changed = `{"environments":["staging"],"keyCount":1,"rateLimit":50,"burst":5,"retryAfter":"2s","serverErrorShare":0.25,"latency":"1ms","rejectUserIds":{"x":"no"},"seed":7}`
	check(t, w, 200, changed)
	if got := get(); got != changed {
		t.Errorf("GET after POST = %s", got)
	}
	o := s.Options()
	if o.Keys["new-secret-key"] != "staging" || len(o.Keys) != 1 || o.RateLimit != 50 || o.Burst != 5 || o.RetryAfter != 2*time.Second ||
		o.ServerErrorShare != 0.25 || o.Latency != time.Millisecond || o.RejectUserIDs["x"] != "no" || o.Seed != 7 {
		t.Errorf("options = %+v", o)
	}
	if w := upsert(s, prodKey, `{"userId":"u"}`); w.Code != 401 {
		t.Errorf("old key still accepted: %d", w.Code)
	}
	// Partial update keeps the rest.
	check(t, do(s, http.MethodPost, "/standin/config", "", `{"serverErrorShare":0,"latency":"0s"}`), 200,
		`{"environments":["staging"],"keyCount":1,"rateLimit":50,"burst":5,"retryAfter":"2s","serverErrorShare":0,"latency":"0s","rejectUserIds":{"x":"no"},"seed":7}`)
	if w := upsert(s, "new-secret-key", `{"userId":"u"}`); w.Code != 202 {
		t.Errorf("new key not accepted: %d %s", w.Code, w.Body.String())
	}

	bad := []struct{ body, want string }{
		{`{"keys":{"leaky-key":5}}`, `{"error":"invalid config: keys has the wrong type"}`},
		{`{"keys":{"leaky-key":""}}`, `{"error":"invalid config: an API key has an empty environment name"}`},
		{`{"serverErrorShare":1.5}`, `{"error":"invalid config: serverErrorShare 1.5 must be between 0 and 1"}`},
		{`{"rateLimit":-1}`, `{"error":"invalid config: rateLimit -1 must be a finite number >= 0"}`},
		{`{"latency":"soon"}`, `{"error":"invalid config: a value is invalid (durations are strings such as \"250ms\" or numbers of seconds)"}`},
		{`{"rate":5}`, `{"error":"invalid config: unknown field \"rate\""}`},
		{`{"keys":`, `{"error":"invalid config: the body is empty or cut short"}`},
		{`[]`, `{"error":"invalid config: the body must be a JSON object"}`},
	}
	for _, b := range bad {
		w := do(s, http.MethodPost, "/standin/config", "", b.body)
		check(t, w, 400, b.want)
	}
	if got := s.Options(); len(got.Keys) != 1 || got.Keys["new-secret-key"] == "" {
		t.Errorf("a rejected config changed the keys: %v", got)
	}
	check(t, do(s, http.MethodDelete, "/standin/config", "", ""), 405, `{"error":"method not allowed"}`)
}

func TestOptionsNeverPrintKeys(t *testing.T) {
	o := Options{Keys: map[string]string{"super-secret-key": "production"}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		if s := fmt.Sprintf(verb, o); strings.Contains(s, "super-secret") || strings.Contains(s, fmt.Sprintf("%x", "super-secret")) {
			t.Errorf("%s reveals the key: %s", verb, s)
		}
	}
	if s := o.String(); !strings.Contains(s, "production") {
		t.Errorf("String() = %s, want the environment", s)
	}
}

func TestLatencyWaits(t *testing.T) {
	s := New(Options{Keys: map[string]string{prodKey: "p"}, Latency: 60 * time.Millisecond})
	var waited []time.Duration
	s.wait = func(_ context.Context, d time.Duration) bool {
		waited = append(waited, d)
		return true
	}
	check(t, upsert(s, prodKey, `{"userId":"u"}`), 202, `{}`)
	check(t, upsert(s, "bad-key", `{"userId":"u"}`), 401,
		`{"error":"missing or invalid API key (expected Authorization: API-Key <key>)"}`)
	do(s, http.MethodGet, "/standin/stats", "", "")
	if diff := cmp.Diff([]time.Duration{60 * time.Millisecond, 60 * time.Millisecond}, waited); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

func TestLatencyClientGone(t *testing.T) {
	s := New(Options{Keys: map[string]string{prodKey: "p"}, Latency: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/v2/users", strings.NewReader(`{"userId":"u"}`))
	r.Header.Set("Authorization", "API-Key "+prodKey)
	r.Header.Set("Content-Type", "application/json")
	s.ServeHTTP(httptest.NewRecorder(), r)
	if n := len(s.Users("p")); n != 0 {
		t.Errorf("%d users stored for a request whose client left during the latency", n)
	}
	if total := s.Stats().Total(); total != 0 {
		t.Errorf("%d answers counted, want 0", total)
	}
}

func TestSetOptionsWhileServing(t *testing.T) {
	s := New(testOptions())
	srv := httptest.NewServer(s)
	defer srv.Close()
	post := func(key string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v2/users", strings.NewReader(`{"userId":"u"}`))
		req.Header.Set("Authorization", "API-Key "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post(prodKey); c != 202 {
		t.Fatalf("%d", c)
	}
	s.SetOptions(Options{Keys: map[string]string{"rotated": "production"}, ServerErrorShare: 1})
	if c := post(prodKey); c != 401 {
		t.Errorf("old key after SetOptions: %d", c)
	}
	if c := post("rotated"); c != 500 {
		t.Errorf("fault after SetOptions: %d", c)
	}
	if n := len(s.Users("production")); n != 1 {
		t.Errorf("SetOptions lost users: %d", n)
	}
}

func TestNormalize(t *testing.T) {
	keys := map[string]string{"k": "e"}
	o := normalize(Options{Keys: keys, RateLimit: 2.5, ServerErrorShare: 3, Latency: -1})
	keys["k2"] = "x"
	if len(o.Keys) != 1 || o.Burst != 3 || o.ServerErrorShare != 1 || o.Latency != 0 {
		t.Errorf("normalize = %+v", o)
	}
	if err := (Options{ServerErrorShare: 2}).Validate(); err == nil {
		t.Error("Validate accepted share 2")
	}
	if err := (Options{Keys: map[string]string{" ": "e"}}).Validate(); err == nil {
		t.Error("Validate accepted an empty key")
	}
}
