package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"reflect"
	"slices"

	sdklog "go.temporal.io/sdk/log"

	"github.com/sprigsync/sprigsync/mapping"
	"github.com/sprigsync/sprigsync/workflows"
)

func quietLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr,
		&slog.HandlerOptions{Level: slog.LevelError})))
}

// user is a user as Sprig stores it: upserts merge into it.
type user struct {
	Email      string         `json:"emailAddress"`
	Attributes map[string]any `json:"attributes"`
}

// expected collects what Sprig stores after upserting every valid row of
// the snapshots in order.
type expected struct {
	users map[string]user
	sent  int
}

func (e *expected) User(u *mapping.User) error {
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
	merged := e.users[body.UserID]
	if merged.Attributes == nil {
		merged.Attributes = map[string]any{}
	}
	if body.EmailAddress != "" {
		merged.Email = body.EmailAddress
	}
	maps.Copy(merged.Attributes, body.Attributes)
	e.users[body.UserID] = merged
	e.sent++
	return nil
}

func (e *expected) Invalid(mapping.InvalidRow) error { return nil }

// verify checks the runs' counts and that the stand-in contains exactly the
// users of the snapshots, merged as Sprig merges upserts.
func verify(ctx context.Context, standinURL string, snapshots [2]string, cfg mapping.Config,
	sums [2]workflows.Summary) error {
	want := &expected{users: map[string]user{}}
	for _, snap := range snapshots {
		if _, err := mapping.Scan(ctx, snap, cfg, want); err != nil {
			return err
		}
	}
	if sums[0].Accepted != sums[0].Changes || sums[0].Changes != sums[0].Added {
		return fmt.Errorf("the first run accepted %d of %d users, want every user",
			sums[0].Accepted, sums[0].Changes)
	}
	if sums[1].Accepted != sums[1].Added+sums[1].Changed || sums[1].Unchanged == 0 {
		return fmt.Errorf("the second run accepted %d users, want only the %d added and changed",
			sums[1].Accepted, sums[1].Added+sums[1].Changed)
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		standinURL+"/standin/users?environment=production", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("read the stand-in's users: %w", err)
	}
	defer resp.Body.Close()
	got := map[string]user{}
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if err := dec.Decode(&got); err != nil {
		return fmt.Errorf("decode the stand-in's users: %w", err)
	}
	var wrong []string
	for id, u := range want.users {
		if !reflect.DeepEqual(got[id], u) {
			wrong = append(wrong, id)
		}
	}
	for id := range got {
		if _, ok := want.users[id]; !ok {
			wrong = append(wrong, id)
		}
	}
	if len(wrong) > 0 {
		slices.Sort(wrong)
		return fmt.Errorf("the stand-in has unexpected values for %d users, first user %s",
			len(wrong), wrong[0])
	}
	fmt.Printf("Verified: the stand-in holds exactly the %d users of the snapshots; run 1 sent "+
		"%d users, run 2 sent only the %d added and %d changed.\n", len(got), sums[0].Accepted,
		sums[1].Added, sums[1].Changed)
	return nil
}
