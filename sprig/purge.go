package sprig

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// MaxPurgeUsers is the most users one purge request may name, counting
// userIds, emails and visitorIds together.
const MaxPurgeUsers = 100

// PurgeRequest is the body of POST /v2/purge/visitors: GDPR/CCPA deletion of
// whole users with all their data.
type PurgeRequest struct {
	// UserIDs are userIds as upserted.
	UserIDs []string `json:"userIds,omitempty"`
	// Emails are users' email addresses.
	Emails []string `json:"emails,omitempty"`
	// VisitorIDs are Sprig's own ids of users (User.ID).
	VisitorIDs []string `json:"visitorIds,omitempty"`
	// DelaySeconds is how long Sprig waits before purging, a window to
	// cancel a mistake (with Sprig's support: no API cancels a purge). nil
	// means Sprig's default of 10 days; a pointer to 0 means at once.
	DelaySeconds *int `json:"delaySeconds,omitempty"`
}

// Validate checks the request as Sprig's documentation states: at least one
// id in total, at most MaxPurgeUsers, no empty id, no negative delay. Its
// errors wrap ErrInvalidRequest.
func (r PurgeRequest) Validate() error {
	n := len(r.UserIDs) + len(r.Emails) + len(r.VisitorIDs)
	switch {
	case n == 0:
		return fmt.Errorf("%w: a purge needs at least one user id, email or visitor id",
			ErrInvalidRequest)
	case n > MaxPurgeUsers:
		return fmt.Errorf("%w: a purge names at most %d users but this one names %d; split it",
			ErrInvalidRequest, MaxPurgeUsers, n)
	case r.DelaySeconds != nil && *r.DelaySeconds < 0:
		return fmt.Errorf("%w: purge delaySeconds %d is negative", ErrInvalidRequest, *r.DelaySeconds)
	}
	for _, list := range [][]string{r.UserIDs, r.Emails, r.VisitorIDs} {
		for _, id := range list {
			if id == "" {
				return fmt.Errorf("%w: a purge request contains an empty id", ErrInvalidRequest)
			}
		}
	}
	return nil
}

// PurgeVisitors requests that Sprig delete the named users with all their data,
// after DelaySeconds (default 10 days). The request is validated first
// (PurgeRequest.Validate; nothing is sent when it fails). On any 2xx it
// returns Sprig's requestId, or "" when the response has none (the purge
// was accepted all the same). Sprig returns 400 when none of the users exist,
// and a bad key gets 403 with no body (Classify: AuthFailed). Other
// failures are as for UpsertUser. Sending the same purge twice deletes the
// same users, but makes two purge requests at Sprig (and the second may get
// a 400 once the users are gone). Like UpsertUser, net/http may resend it
// when a reused keep-alive connection turns out dead.
func (c *Client) PurgeVisitors(ctx context.Context, req PurgeRequest) (requestID string, err error) {
	if err := req.Validate(); err != nil {
		return "", fmt.Errorf("sprig: %s: %w", opPurge, err)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return "", fmt.Errorf("sprig: %s: %w: %w", opPurge, ErrInvalidRequest, err)
	}
	readID := func(resp *http.Response) error {
		if !is2xx(resp.StatusCode) {
			return newAPIError(opPurge, resp)
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		var v struct {
			RequestID json.RawMessage `json:"requestId"`
		}
		if json.Unmarshal(data, &v) == nil {
			requestID, _ = scalarText(v.RequestID)
		}
		return nil
	}
	err = c.call(ctx, http.MethodPost, "/v2/purge/visitors", opPurge, body, readID)
	return requestID, err
}
