package sprig

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

const (
	opUpsert  = "POST /v2/users"
	opGetUser = "GET /v2/users/{userId}"
	opPurge   = "POST /v2/purge/visitors"
)

// CheckKeyUserID is the user id CheckKey reads. No sync writes it, so Sprig
// returns 404 for it when the key is valid.
const CheckKeyUserID = "sprigsync-key-check-0b7e6a4c-4c1f-4f5e-9d0e-000000000000"

// UpsertUser sends body, the complete JSON of one user
// ({"userId": ..., "emailAddress": ..., "attributes": {...}}), as one
// POST /v2/users attempt with the client's API key. The body is copied, so
// the caller may reuse its slice as soon as UpsertUser returns.
//
// It returns nil when Sprig responds with any 2xx (Sprig documents 202: queued,
// not yet visible). Otherwise the error is, by Classify:
//   - *APIError for any other status: Rejected (400, 422, other 4xx),
//     AuthFailed (401, 403), RateLimited (429, with RetryAfter when Sprig
//     sent Retry-After), ServerError (5xx and unexpected statuses);
//   - a wrapped transport error, NetworkError, when no response came
//     (refused, reset, DNS, TLS, or no response within Options.Timeout:
//     errors.Is(err, ErrTimeout));
//   - the caller's context error, Canceled, when ctx ended first;
//   - ErrInvalidRequest, Rejected, for an empty body (nothing is sent).
//
// Exactly one attempt is made, except that net/http resends the request
// on a new connection when it was written to a reused keep-alive connection
// that turned out to be closed before any response. The request is marked
// idempotent for that with an Idempotency-Key header entry that is never
// sent. An upsert of the same body is idempotent, so a resend is harmless.
func (c *Client) UpsertUser(ctx context.Context, body []byte) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return fmt.Errorf("sprig: %s: %w: empty body", opUpsert, ErrInvalidRequest)
	}
	accept := func(resp *http.Response) error {
		if is2xx(resp.StatusCode) {
			return nil
		}
		return newAPIError(opUpsert, resp)
	}
	return c.call(ctx, http.MethodPost, "/v2/users", opUpsert, bytes.Clone(body), accept)
}

// User is a Sprig user as GET /v2/users/{userId} returns it. Sprig does not
// document the types of id and createdAt, so both are kept as text: a JSON
// string as is, a JSON number as its digits.
type User struct {
	// ID is Sprig's own id of the user (also called visitor id).
	ID string
	// ExternalUserID is the userId the user was upserted with.
	ExternalUserID string
	// Attributes contains values as decoded with json.Decoder.UseNumber:
	// string, json.Number (digits exactly as Sprig sent them) or bool.
	Attributes map[string]any
	// CreatedAt is as Sprig sent it (format undocumented).
	CreatedAt string
	// Events is the events array as Sprig sent it, undecoded.
	Events json.RawMessage
	// Raw is the whole response body.
	Raw json.RawMessage
}

// GetUser reads the user with the given userId (the id used to upsert it).
// A 404 returns an error matching errors.Is(err, ErrUserNotFound) that also
// wraps the *APIError (Classify: Rejected). Other failures are as for
// UpsertUser. An empty userID is ErrInvalidRequest.
//
// Sprig processes upserts asynchronously, so a user just accepted may not
// be visible yet.
func (c *Client) GetUser(ctx context.Context, userID string) (*User, error) {
	if userID == "" {
		return nil, fmt.Errorf("sprig: %s: %w: empty user id", opGetUser, ErrInvalidRequest)
	}
	var user *User
	decode := func(resp *http.Response) error {
		if resp.StatusCode == http.StatusNotFound {
			return fmt.Errorf("%w: %w", ErrUserNotFound, newAPIError(opGetUser, resp))
		}
		if !is2xx(resp.StatusCode) {
			return newAPIError(opGetUser, resp)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxUserBody+1))
		if err != nil {
			return fmt.Errorf("reading the response body failed: %w", err)
		}
		if len(data) > maxUserBody {
			return fmt.Errorf("response body is longer than the limit of %d bytes", maxUserBody)
		}
		user, err = decodeUser(data)
		return err
	}
	err := c.call(ctx, http.MethodGet, "/v2/users/"+escapeUserID(userID), opGetUser, nil, decode)
	if err != nil {
		return nil, err
	}
	return user, nil
}

// CheckKey proves that the client's key is accepted by reading a user that
// cannot exist (CheckKeyUserID): a 404 (or, improbably, a 200) means the
// key works and returns nil. A bad key returns the 401/403 *APIError
// (Classify: AuthFailed), whose message directs the user to create a new key;
// any other failure is returned as GetUser returns it.
func (c *Client) CheckKey(ctx context.Context) error {
	_, err := c.GetUser(ctx, CheckKeyUserID)
	if err == nil || errors.Is(err, ErrUserNotFound) {
		return nil
	}
	return err
}

// escapeUserID escapes id as one path segment. "." and ".." are escaped
// too, so that no server cleans them out of the path.
func escapeUserID(id string) string {
	if id == "." || id == ".." {
		return strings.Repeat("%2E", len(id))
	}
	return url.PathEscape(id)
}

func decodeUser(data []byte) (*User, error) {
	var raw struct {
		ID             json.RawMessage `json:"id"`
		ExternalUserID json.RawMessage `json:"externalUserId"`
		Attributes     json.RawMessage `json:"attributes"`
		CreatedAt      json.RawMessage `json:"createdAt"`
		Events         json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("decoding the user: %w", err)
	}
	u := &User{Events: raw.Events, Raw: json.RawMessage(data)}
	var err error
	if u.ID, err = scalarText(raw.ID); err != nil {
		return nil, fmt.Errorf("decoding the user's id: %w", err)
	}
	if u.ExternalUserID, err = scalarText(raw.ExternalUserID); err != nil {
		return nil, fmt.Errorf("decoding the user's externalUserId: %w", err)
	}
	if u.CreatedAt, err = scalarText(raw.CreatedAt); err != nil {
		return nil, fmt.Errorf("decoding the user's createdAt: %w", err)
	}
	if len(raw.Attributes) > 0 && string(raw.Attributes) != "null" {
		dec := json.NewDecoder(bytes.NewReader(raw.Attributes))
		dec.UseNumber()
		if err := dec.Decode(&u.Attributes); err != nil {
			return nil, fmt.Errorf("decoding the user's attributes: %w", err)
		}
	}
	return u, nil
}

// scalarText returns a JSON string's value or a JSON number's digits; ""
// for absent or null.
func scalarText(v json.RawMessage) (string, error) {
	if len(v) == 0 || string(v) == "null" {
		return "", nil
	}
	if v[0] == '"' {
		var s string
		err := json.Unmarshal(v, &s)
		return s, err
	}
	var n json.Number
	if err := json.Unmarshal(v, &n); err != nil {
		return "", fmt.Errorf("want a string or number, got %.20s", v)
	}
	return n.String(), nil
}
