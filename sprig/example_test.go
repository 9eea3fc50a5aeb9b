package sprig_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/sprigsync/sprigsync/sprig"
	"github.com/sprigsync/sprigsync/standin"
)

// NewClient rejects plain http to any host but a loopback address, and
// says how to fix the URL.
func ExampleNewClient() {
	_, err := sprig.NewClient(sprig.Options{BaseURL: "http://api.sprig.com", APIKey: "key"})
	fmt.Println(err)

	c, err := sprig.NewClient(sprig.Options{APIKey: "key"})
	fmt.Println(c, err)
	// Output:
	// sprig: invalid base URL "http://api.sprig.com": Sprig rejects plain http, so use "https://api.sprig.com". Plain http is accepted only for loopback hosts such as http://127.0.0.1:PORT (a local stand-in)
	// sprig.Client{BaseURL:"https://api.sprig.com", APIKey:[redacted], Timeout:30s} <nil>
}

// Classify tells a sender what to do with each outcome. The local stand-in
// answers here in place of Sprig.
func ExampleClassify() {
	srv := httptest.NewServer(standin.New(standin.Options{
		Keys:          map[string]string{"dev-key": "development"},
		RejectUserIDs: map[string]string{"blocked": "user is blocked"},
	}))
	defer srv.Close()
	ctx := context.Background()

	c, _ := sprig.NewClient(sprig.Options{BaseURL: srv.URL, APIKey: "dev-key"})
	for _, body := range []string{
		`{"userId":"u1","attributes":{"plan":"pro"}}`,
		`{"userId":"u2","emailAddress":"not-an-email"}`,
		`{"userId":"blocked"}`,
	} {
		err := c.UpsertUser(ctx, []byte(body))
		fmt.Printf("%s: %v\n", sprig.Classify(err), err)
	}

	revoked, _ := sprig.NewClient(sprig.Options{BaseURL: srv.URL, APIKey: "old-key"})
	err := revoked.CheckKey(ctx)
	fmt.Printf("%s: %v\n", sprig.Classify(err), err)
	// Output:
	// accepted: <nil>
	// rejected: sprig: POST /v2/users: HTTP 400 Bad Request: emailAddress is not a valid email address
	// rejected: sprig: POST /v2/users: HTTP 422 Unprocessable Entity: user is blocked
	// auth_failed: sprig: GET /v2/users/{userId}: the Sprig API key is invalid or revoked (HTTP 401 Unauthorized: missing or invalid API key (expected Authorization: API-Key <key>)); create a new key in Sprig under Integrations > Enrichment > Data Import API and configure the sync with it
}

// A sender retries the retryable classes with backoff, waits at least
// RetryAfter on a 429, and stops on AuthFailed and Canceled. Here the
// stand-in fails the first attempt with an injected 500.
func ExampleClient_UpsertUser() {
	srv := httptest.NewServer(standin.New(standin.Options{
		Keys:             map[string]string{"dev-key": "development"},
		ServerErrorShare: 0.5,
		Seed:             3, // with this seed the first request fails, the second succeeds
	}))
	defer srv.Close()
	c, _ := sprig.NewClient(sprig.Options{BaseURL: srv.URL, APIKey: "dev-key"})

	send := func(ctx context.Context, body []byte) (sprig.Class, error) {
		backoff := 10 * time.Millisecond
		for attempt := 1; ; attempt++ {
			err := c.UpsertUser(ctx, body)
			class := sprig.Classify(err)
			fmt.Printf("attempt %d: %s\n", attempt, class)
			if !class.Retryable() || attempt == 5 {
				return class, err
			}
			wait := backoff
			if apiErr, ok := errors.AsType[*sprig.APIError](err); ok && apiErr.RetryAfter > wait {
				wait = apiErr.RetryAfter
			}
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return sprig.Canceled, ctx.Err()
			}
			backoff *= 2
		}
	}
	class, err := send(context.Background(), []byte(`{"userId":"u1","attributes":{"seats":12}}`))
	fmt.Println(class, err)
	// Output:
	// attempt 1: server_error
	// attempt 2: accepted
	// accepted <nil>
}
