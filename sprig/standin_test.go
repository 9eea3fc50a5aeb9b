package sprig_test

// Tests of the client against the local Sprig stand-in (package standin)
// over a real loopback listener.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sprigsync/sprigsync/sprig"
	"github.com/sprigsync/sprigsync/standin"
)

func startStandin(t *testing.T, opts standin.Options) (*standin.Server, *httptest.Server) {
	t.Helper()
	if opts.Keys == nil {
		opts.Keys = map[string]string{testKey: "production"}
	}
	s := standin.New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func TestAgainstStandin(t *testing.T) {
	s, srv := startStandin(t, standin.Options{RejectUserIDs: map[string]string{"blocked": "user is blocked"}})
	c := newClient(t, srv.URL)
	ctx := context.Background()

	if err := c.CheckKey(ctx); err != nil {
		t.Fatalf("CheckKey with a valid key: %v", err)
	}
	bad, err := sprig.NewClient(sprig.Options{BaseURL: srv.URL, APIKey: "revoked-key"})
	if err != nil {
		t.Fatal(err)
	}
	err = bad.CheckKey(ctx)
	if sprig.Classify(err) != sprig.AuthFailed || !strings.Contains(err.Error(), "Integrations > Enrichment > Data Import API") {
		t.Errorf("CheckKey with a bad key: %v (%s)", err, sprig.Classify(err))
	}
	if err := bad.UpsertUser(ctx, []byte(`{"userId":"u"}`)); sprig.Classify(err) != sprig.AuthFailed {
		t.Errorf("upsert with a bad key: %v", err)
	}
	if _, err := bad.PurgeVisitors(ctx, sprig.PurgeRequest{UserIDs: []string{"u"}}); sprig.Classify(err) != sprig.AuthFailed {
		t.Errorf("purge with a bad key: %v", err)
	}

	body := `{"userId":"user/1","emailAddress":"josé@exämple.com","attributes":{"plan":"pro","mrr":1234.50,"beta":true}}`
	if err := c.UpsertUser(ctx, []byte(body)); err != nil {
		t.Fatalf("UpsertUser: %v", err)
	}
	if err := c.UpsertUser(ctx, []byte(`{"userId":"user/1","attributes":{"plan":"enterprise"}}`)); err != nil {
		t.Fatalf("UpsertUser: %v", err)
	}
	u, err := c.GetUser(ctx, "user/1")
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	if u.ExternalUserID != "user/1" || u.ID == "" || u.CreatedAt == "" ||
		u.Attributes["plan"] != "enterprise" || u.Attributes["mrr"] != json.Number("1234.50") || u.Attributes["beta"] != true {
		t.Errorf("GetUser = %+v", u)
	}
	if _, err := c.GetUser(ctx, "nobody"); !errors.Is(err, sprig.ErrUserNotFound) {
		t.Errorf("GetUser(nobody) = %v", err)
	}

	rejections := []struct {
		body, message string
		status        int
	}{
		{`{"userId":"u2","emailAddress":"not-an-email"}`, "emailAddress is not a valid email address", 400},
		{`{"userId":"u2","attributes":{"a":null}}`, `attribute "a" is null: null values are not accepted`, 400},
		{`{"userId":"u2","name":"x"}`, `unknown field "name"`, 400},
		{`{"userId":"u2"`, "request body is not valid JSON", 400},
		{`{"userId":"blocked"}`, "user is blocked", 422},
	}
	for _, r := range rejections {
		err := c.UpsertUser(ctx, []byte(r.body))
		apiErr, ok := errors.AsType[*sprig.APIError](err)
		if sprig.Classify(err) != sprig.Rejected || !ok || apiErr.StatusCode != r.status || apiErr.Message != r.message {
			t.Errorf("%s: err = %v", r.body, err)
		}
	}

	_, err = c.PurgeVisitors(ctx, sprig.PurgeRequest{UserIDs: []string{"ghost"}})
	if apiErr, ok := errors.AsType[*sprig.APIError](err); !ok || apiErr.StatusCode != 400 || apiErr.Message != "none of the users exist" {
		t.Errorf("purge of nobody: %v", err)
	}
	zero := 0
	id, err := c.PurgeVisitors(ctx, sprig.PurgeRequest{Emails: []string{"josé@exämple.com"}, DelaySeconds: &zero})
	if err != nil || id == "" {
		t.Fatalf("PurgeVisitors = %q, %v", id, err)
	}
	if _, err := c.GetUser(ctx, "user/1"); !errors.Is(err, sprig.ErrUserNotFound) {
		t.Errorf("user still there after an immediate purge: %v", err)
	}
	if st := s.Stats(); st.UpsertsAccepted != 2 || st.Requests[standin.EndpointUpsert][400] != 4 {
		t.Errorf("stand-in stats = %+v", st)
	}
}

func TestAgainstStandinFaults(t *testing.T) {
	ctx := context.Background()
	t.Run("rate limited", func(t *testing.T) {
		_, srv := startStandin(t, standin.Options{RateLimit: 0.001, Burst: 1})
		c := newClient(t, srv.URL)
		if err := c.UpsertUser(ctx, []byte(`{"userId":"u"}`)); err != nil {
			t.Fatal(err)
		}
		err := c.UpsertUser(ctx, []byte(`{"userId":"u"}`))
		apiErr, ok := errors.AsType[*sprig.APIError](err)
		if sprig.Classify(err) != sprig.RateLimited || !ok || apiErr.RetryAfter != time.Second || apiErr.Message != "rate limit exceeded" {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("server error", func(t *testing.T) {
		_, srv := startStandin(t, standin.Options{ServerErrorShare: 1})
		err := newClient(t, srv.URL).UpsertUser(ctx, []byte(`{"userId":"u"}`))
		if sprig.Classify(err) != sprig.ServerError || !sprig.Classify(err).Retryable() {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("slow", func(t *testing.T) {
		_, srv := startStandin(t, standin.Options{Latency: 2 * time.Second})
		c := newClient(t, srv.URL, func(o *sprig.Options) { o.Timeout = 100 * time.Millisecond })
		err := c.UpsertUser(ctx, []byte(`{"userId":"u"}`))
		if sprig.Classify(err) != sprig.NetworkError || !errors.Is(err, sprig.ErrTimeout) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("gone", func(t *testing.T) {
		_, srv := startStandin(t, standin.Options{})
		c := newClient(t, srv.URL)
		if err := c.UpsertUser(ctx, []byte(`{"userId":"u"}`)); err != nil {
			t.Fatal(err)
		}
		srv.Close()
		err := c.UpsertUser(ctx, []byte(`{"userId":"u"}`))
		if sprig.Classify(err) != sprig.NetworkError {
			t.Errorf("err = %v (%s)", err, sprig.Classify(err))
		}
	})
}

func TestAgainstStandinConcurrent(t *testing.T) {
	s, srv := startStandin(t, standin.Options{})
	c := newClient(t, srv.URL)
	const workers, each = 16, 100
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				body := fmt.Sprintf(`{"userId":"u%d","attributes":{"worker":%d,"i":%d}}`, w*each+i, w, i)
				if err := c.UpsertUser(context.Background(), []byte(body)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(s.Users("production")); n != workers*each {
		t.Errorf("%d users stored, want %d", n, workers*each)
	}
	if st := s.Stats(); st.UpsertsAccepted != workers*each || st.DistinctUpsertsAccepted != workers*each {
		t.Errorf("stats = %+v", st)
	}
}
