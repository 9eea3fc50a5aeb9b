package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sprigsync/sprigsync/mapping"
	"github.com/sprigsync/sprigsync/standin"
	"github.com/sprigsync/sprigsync/usergen"
	"github.com/sprigsync/sprigsync/workflows"
)

// sentUser is a user as the stand-in stores it, or as a request body sends it.
type sentUser struct {
	Email      string
	Attributes map[string]any
}

// collector gathers the request bodies mapping.Scan builds for a snapshot.
type collector struct {
	users   map[string]sentUser
	invalid []mapping.InvalidRow
}

func (c *collector) User(u *mapping.User) error {
	var body struct {
		UserID       string         `json:"userId"`
		EmailAddress string         `json:"emailAddress"`
		Attributes   map[string]any `json:"attributes"`
	}
	dec := json.NewDecoder(bytes.NewReader(u.Body))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		return err
	}
	c.users[body.UserID] = sentUser{Email: body.EmailAddress, Attributes: body.Attributes}
	return nil
}

func (c *collector) Invalid(r mapping.InvalidRow) error {
	c.invalid = append(c.invalid, r)
	return nil
}

func expectedUsers(t *testing.T, snapshot string) *collector {
	t.Helper()
	c := &collector{users: map[string]sentUser{}}
	_, err := mapping.Scan(context.Background(), snapshot,
		mapping.Config{UserIDColumn: "user_id", EmailColumn: "email"}, c)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func storedUsers(s *standin.Server) map[string]sentUser {
	out := map[string]sentUser{}
	for id, u := range s.Users("production") {
		out[id] = sentUser{Email: u.EmailAddress, Attributes: u.Attributes}
	}
	return out
}

// TestSyncRealProducerFiles syncs DuckDB's export of the user table, then
// its second snapshot, and checks every user the stand-in holds.
func TestSyncRealProducerFiles(t *testing.T) {
	// The stand-in rejects two users on the first run only.
	rejected := map[string]string{"1000012": "user is locked", "1000024": "user is locked"}
	h := newHarness(t, standin.Options{RejectUserIDs: rejected})
	first := testdata("parquet", "users", "users.duckdb.snappy.parquet")
	second := testdata("parquet", "users", "snapshot2", "users.parquet")
	in := workflows.SyncInput{SyncID: "producers", Snapshot: first,
		Config: mapping.Config{UserIDColumn: "user_id", EmailColumn: "email"}, RateLimit: 2000}

	sum, err := h.run(in)
	if err != nil {
		t.Fatalf("first run failed: %v", err)
	}
	want1 := expectedUsers(t, first)
	if sum.Status != workflows.StatusCompletedWithRejections || sum.Rows != 2000 ||
		sum.Added != int64(len(want1.users)) || sum.Invalid != int64(len(want1.invalid)) ||
		sum.Accepted != int64(len(want1.users)-2) || sum.Rejected != 2 {
		t.Fatalf("first summary = %+v\nwant %d users sent, 2 rejected, %d invalid", sum,
			len(want1.users), len(want1.invalid))
	}
	gotRejected := map[string]string{}
	for _, r := range sum.Rejections {
		gotRejected[r.UserID] = r.Reason
	}
	if diff := cmp.Diff(rejected, gotRejected); diff != "" {
		t.Fatalf("rejections (-want +got):\n%s", diff)
	}
	for id := range rejected {
		delete(want1.users, id)
	}
	if diff := cmp.Diff(want1.users, storedUsers(h.standin)); diff != "" {
		t.Fatalf("stand-in after the first run (-want +got):\n%s", diff)
	}
	if got := h.baselineLen("producers"); got != len(want1.users) {
		t.Fatalf("baseline has %d users, want %d (accepted only)", got, len(want1.users))
	}

	// One user checked field by field against the reference values.
	wantUser := sentUser{Email: "user9007199254740993@example.com", Attributes: map[string]any{
		"plan": "pro", "seats": json.Number("249"), "mrr": json.Number("222.57"),
		"score": json.Number("59.66667429592971"), "is_admin": false,
		"signup_at": "2018-03-15T22:41:00.959542Z", "last_seen_date": "2019-02-27",
		"country": "Deutschland", "utm.source": "linkedin", "display name": "Ana Smith",
	}}
	if diff := cmp.Diff(wantUser, storedUsers(h.standin)["9007199254740993"]); diff != "" {
		t.Fatalf("user 9007199254740993 (-want +got):\n%s", diff)
	}

	// Second run: 37 changed and 8 added users, plus the 2 rejected before.
	h.standin.SetOptions(standin.Options{Keys: map[string]string{h.key: "production"}})
	before := h.upserts.Load()
	in.Snapshot = second
	sum, err = h.run(in)
	if err != nil {
		t.Fatalf("second run failed: %v", err)
	}
	// The users rejected before never entered the baseline, so they count
	// as added.
	if sum.Changed != 37 || sum.Added != 8+2 || sum.Removed != 5 || sum.Accepted != 47 ||
		sum.Rejected != 0 {
		t.Fatalf("second summary = %+v\nwant 37 changed, 10 added (8 + 2 rejected before), "+
			"5 removed, 47 accepted", sum)
	}
	if got := h.upserts.Load() - before; got != 47 {
		t.Fatalf("second run sent %d requests, want 47", got)
	}
	// Sprig merges an upsert into the stored user and keeps removed users,
	// so the stand-in holds the first run's users overlaid with the second
	// run's bodies. A value that became null (user 1017861's email) is left
	// out of the body and so stays as it was.
	want2 := map[string]sentUser{}
	for id, u := range want1.users {
		want2[id] = u
	}
	for id, u := range expectedUsers(t, second).users {
		merged := sentUser{Email: want2[id].Email, Attributes: map[string]any{}}
		for k, v := range want2[id].Attributes {
			merged.Attributes[k] = v
		}
		if u.Email != "" {
			merged.Email = u.Email
		}
		for k, v := range u.Attributes {
			merged.Attributes[k] = v
		}
		want2[id] = merged
	}
	if diff := cmp.Diff(want2, storedUsers(h.standin)); diff != "" {
		t.Fatalf("stand-in after the second run (-want +got):\n%s", diff)
	}
	// The removed users left the baseline; every accepted one is in it.
	if got, want := h.baselineLen("producers"), len(want2)-5; got != want {
		t.Fatalf("baseline has %d users, want %d", got, want)
	}

	// A third run of the same snapshot sends nothing.
	before = h.upserts.Load()
	sum, err = h.run(in)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Changes != 0 || h.upserts.Load() != before {
		t.Fatalf("third run sent %d users, want 0", sum.Changes)
	}
}

func TestSyncInvalidKeyStopsRun(t *testing.T) {
	h := newHarness(t, standin.Options{})
	h.standin.SetOptions(standin.Options{Keys: map[string]string{"another-key": "production"}})
	sum, err := h.run(workflows.SyncInput{SyncID: "badkey",
		Snapshot: testdata("parquet", "users", "users.duckdb.snappy.parquet"),
		Config:   mapping.Config{EmailColumn: "email"}})
	if err == nil {
		t.Fatal("the run succeeded with a revoked key")
	}
	for _, want := range []string{"invalid or revoked", "Integrations > Enrichment > Data Import API"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), h.key) || strings.Contains(sum.Error, h.key) {
		t.Fatal("the error shows the API key")
	}
	if sum.Status != workflows.StatusFailed {
		t.Fatalf("status = %q, want failed", sum.Status)
	}
	if got := h.baselineLen("badkey"); got != 0 {
		t.Fatalf("baseline has %d users after a failed run, want 0", got)
	}
	if h.upserts.Load() != 0 {
		t.Fatalf("%d upserts were sent with a bad key, want 0", h.upserts.Load())
	}
}

func TestSyncAlreadyRunning(t *testing.T) {
	h := newHarness(t, standin.Options{})
	in := workflows.SyncInput{SyncID: "busy", RateLimit: 20,
		Snapshot: testdata("parquet", "users", "users.duckdb.snappy.parquet"),
		Config:   mapping.Config{EmailColumn: "email"}}
	ctx := context.Background()
	run, err := startRun(h, in)
	if err != nil {
		t.Fatal(err)
	}
	_, err = startRun(h, in)
	if err == nil || !strings.Contains(err.Error(), run.GetRunID()) {
		t.Fatalf("second start error = %v, want one naming run %s", err, run.GetRunID())
	}
	if err := h.client.CancelWorkflow(ctx, "busy", ""); err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err == nil {
		t.Fatal("the canceled run completed")
	}
}

// TestSyncTenThousandThenHundredChanged syncs a generated 10,000-user
// snapshot, then a second snapshot in which exactly 100 users changed: the
// second run sends exactly 100 requests, by the stand-in's own count.
func TestSyncTenThousandThenHundredChanged(t *testing.T) {
	h := newHarness(t, standin.Options{})
	dir := t.TempDir()
	base := usergen.Options{Rows: 10_000, Seed: 10}
	first := filepath.Join(dir, "users-1.parquet")
	second := filepath.Join(dir, "users-2.parquet")
	if err := usergen.WriteFile(first, base); err != nil {
		t.Fatal(err)
	}
	changes, err := usergen.WriteNextFile(second, base, usergen.Changes{ChangedShare: 0.01, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	if len(changes.Changed) != 100 || len(changes.Added) != 0 || len(changes.Removed) != 0 {
		t.Fatalf("generated changes = %d changed, %d added, %d removed; want 100, 0, 0",
			len(changes.Changed), len(changes.Added), len(changes.Removed))
	}

	in := workflows.SyncInput{SyncID: "ten-thousand", Snapshot: first, RateLimit: 5000,
		Config: mapping.Config{UserIDColumn: "user_id", EmailColumn: "email"}}
	sum, err := h.run(in)
	if err != nil {
		t.Fatal(err)
	}
	if st := h.standin.Stats(); sum.Accepted != 10_000 || upsertRequests(st) != 10_000 ||
		len(h.standin.Users("production")) != 10_000 {
		t.Fatalf("first run accepted %d, the stand-in served %d upserts and holds %d users; "+
			"want 10000", sum.Accepted, upsertRequests(st), len(h.standin.Users("production")))
	}

	before := upsertRequests(h.standin.Stats())
	in.Snapshot = second
	sum, err = h.run(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := upsertRequests(h.standin.Stats()) - before; sum.Changed != 100 || got != 100 {
		t.Fatalf("second run: %d changed, the stand-in served %d upserts; want 100 and 100",
			sum.Changed, got)
	}
	var changed []string
	for _, id := range changes.Changed {
		changed = append(changed, fmt.Sprint(id))
	}
	if diff := cmp.Diff(want100(changed), sentIDs(t, h, second, changed)); diff != "" {
		t.Fatalf("changed users in the stand-in (-want +got):\n%s", diff)
	}
}

// want100 returns ids as a set.
func want100(ids []string) map[string]bool {
	out := map[string]bool{}
	for _, id := range ids {
		out[id] = true
	}
	return out
}

// sentIDs returns which of ids the stand-in holds with exactly the values
// of the snapshot.
func sentIDs(t *testing.T, h *harness, snapshot string, ids []string) map[string]bool {
	t.Helper()
	want := expectedUsers(t, snapshot)
	stored := storedUsers(h.standin)
	out := map[string]bool{}
	for _, id := range ids {
		out[id] = cmp.Equal(want.users[id], stored[id])
	}
	return out
}

// upsertRequests counts every POST /v2/users the stand-in served, whatever
// its status.
func upsertRequests(st standin.Stats) int64 {
	var n int64
	for _, count := range st.Requests[standin.EndpointUpsert] {
		n += count
	}
	for _, count := range st.Injected[standin.EndpointUpsert] {
		n += count
	}
	return n
}
