package standin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits the stand-in enforces.
const (
	// MaxAttributes is Sprig's documented limit of attribute values, per
	// request and (stand-in reading of "in total") per stored user.
	MaxAttributes = 100
	// MaxPurgeUsers is Sprig's documented limit of users per purge request.
	MaxPurgeUsers = 100
	// MaxBodyBytes is the stand-in's own request body limit.
	MaxBodyBytes = 1 << 20
	// maxEventsKept is how many events the stand-in keeps per user.
	maxEventsKept = 100
)

// Error messages of the stand-in's 400 responses.
// Messages that name a field or attribute are built with fmt from these.
const (
	msgContentType    = "Content-Type must be application/json"
	msgTooLarge       = "request body is larger than 1 MiB"
	msgEmptyBody      = "request body is empty"
	msgMalformed      = "request body is not valid JSON"
	msgNotObject      = "request body must be a JSON object"
	msgUnknownField   = "unknown field %q"
	msgUserIDRequired = "userId is required"
	msgUserIDString   = "userId must be a string"
	msgUserIDEmpty    = "userId must not be empty"
	msgEmailString    = "emailAddress must be a string"
	msgEmailInvalid   = "emailAddress is not a valid email address"
	msgAttrsObject    = "attributes must be an object"
	msgTooManyAttrs   = "too many attributes: %d (at most 100)"
	msgUserAttrs      = "too many attributes: the user would have %d (at most 100)"
	msgAttrNameEmpty  = "attribute names must not be empty"
	msgAttrNull       = "attribute %q is null: null values are not accepted"
	msgAttrType       = "attribute %q must be a string, number or boolean"
	msgEventsArray    = "events must be an array"
	msgEventObject    = "events[%d] must be an object with event and timestamp"
	msgEventField     = "events[%d]: unknown field %q"
	msgEventName      = "events[%d].event must be a non-empty string"
	msgEventTimestamp = "events[%d].timestamp must be epoch milliseconds (an integer)"

	msgPurgeArray   = "%s must be an array of strings"
	msgPurgeID      = "%s[%d] must be a non-empty string"
	msgPurgeDelay   = "delaySeconds must be a non-negative integer"
	msgPurgeNone    = "at least one of userIds, emails or visitorIds must be a non-empty array"
	msgPurgeTooMany = "too many users: %d (at most 100 per request)"
	msgPurgeNoUsers = "none of the users exist"
)

// badRequest is a 400 with a message.
type badRequest string

func (b badRequest) Error() string { return string(b) }

func badf(format string, args ...any) badRequest { return badRequest(fmt.Sprintf(format, args...)) }

// upsertRequest is a validated POST /v2/users body.
type upsertRequest struct {
	userID     string
	email      string
	hasEmail   bool
	attributes map[string]any // string, json.Number or bool
	events     []Event
}

// Event is one event of a user, as sent.
type Event struct {
	Event     string      `json:"event"`
	Timestamp json.Number `json:"timestamp"`
}

// readBody checks the Content-Type and reads at most MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, badRequest(msgContentType)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, badRequest(msgTooLarge)
		}
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	return body, nil
}

// decodeObject parses body as exactly one JSON object and checks that its
// fields are all in allowed.
func decodeObject(body []byte, allowed ...string) (map[string]json.RawMessage, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, badRequest(msgEmptyBody)
	}
	if !json.Valid(body) {
		return nil, badRequest(msgMalformed)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return nil, badRequest(msgNotObject)
	}
	for _, k := range slices.Sorted(maps.Keys(top)) {
		if !slices.Contains(allowed, k) {
			return nil, badf(msgUnknownField, k)
		}
	}
	return top, nil
}

func isNull(v json.RawMessage) bool { return string(v) == "null" }

// jsonString decodes v as a JSON string.
func jsonString(v json.RawMessage) (string, bool) {
	if len(v) == 0 || v[0] != '"' {
		return "", false
	}
	var s string
	return s, json.Unmarshal(v, &s) == nil
}

// parseUpsert validates a POST /v2/users body. Checks run in a fixed order
// (fields, userId, emailAddress, attributes, events) so each invalid body
// has exactly one error message.
func parseUpsert(body []byte) (*upsertRequest, error) {
	top, err := decodeObject(body, "userId", "emailAddress", "attributes", "events")
	if err != nil {
		return nil, err
	}
	req := &upsertRequest{}

	raw, ok := top["userId"]
	if !ok || isNull(raw) {
		return nil, badRequest(msgUserIDRequired)
	}
	if req.userID, ok = jsonString(raw); !ok {
		return nil, badRequest(msgUserIDString)
	}
	if strings.TrimSpace(req.userID) == "" {
		return nil, badRequest(msgUserIDEmpty)
	}

	if raw, ok := top["emailAddress"]; ok {
		email, ok := jsonString(raw)
		if !ok {
			return nil, badRequest(msgEmailString)
		}
		if !validEmail(email) {
			return nil, badRequest(msgEmailInvalid)
		}
		req.email, req.hasEmail = email, true
	}

	if raw, ok := top["attributes"]; ok {
		if req.attributes, err = parseAttributes(raw); err != nil {
			return nil, err
		}
	}

	if raw, ok := top["events"]; ok {
		if req.events, err = parseEvents(raw); err != nil {
			return nil, err
		}
	}
	return req, nil
}

func parseAttributes(raw json.RawMessage) (map[string]any, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, badRequest(msgAttrsObject)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, badRequest(msgAttrsObject)
	}
	if len(m) > MaxAttributes {
		return nil, badf(msgTooManyAttrs, len(m))
	}
	attrs := make(map[string]any, len(m))
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if name == "" {
			return nil, badRequest(msgAttrNameEmpty)
		}
		v := m[name]
		switch c := v[0]; {
		case c == '"':
			s, _ := jsonString(v)
			attrs[name] = s
		case c == 't' || c == 'f':
			attrs[name] = c == 't'
		case c == '-' || (c >= '0' && c <= '9'):
			// Kept exactly as sent: "1.50" stays "1.50".
			attrs[name] = json.Number(v)
		case c == 'n':
			return nil, badf(msgAttrNull, name)
		default:
			return nil, badf(msgAttrType, name)
		}
	}
	return attrs, nil
}

func parseEvents(raw json.RawMessage) ([]Event, error) {
	if len(raw) == 0 || raw[0] != '[' {
		return nil, badRequest(msgEventsArray)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, badRequest(msgEventsArray)
	}
	events := make([]Event, 0, len(list))
	for i, item := range list {
		var m map[string]json.RawMessage
		if len(item) == 0 || item[0] != '{' || json.Unmarshal(item, &m) != nil {
			return nil, badf(msgEventObject, i)
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if k != "event" && k != "timestamp" {
				return nil, badf(msgEventField, i, k)
			}
		}
		name, ok := jsonString(m["event"])
		if !ok || strings.TrimSpace(name) == "" {
			return nil, badf(msgEventName, i)
		}
		ts := m["timestamp"]
		if len(ts) == 0 || !isNonNegativeInteger(string(ts)) {
			return nil, badf(msgEventTimestamp, i)
		}
		events = append(events, Event{Event: name, Timestamp: json.Number(ts)})
	}
	return events, nil
}

func isNonNegativeInteger(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validEmail is the stand-in's one pragmatic email rule: valid UTF-8, no
// whitespace or control characters, exactly one '@', a non-empty local
// part, and a domain with at least one '.' and no empty label. Non-ASCII
// letters are accepted anywhere (josé@exämple.com).
func validEmail(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || strings.Contains(domain, "@") || !strings.Contains(domain, ".") {
		return false
	}
	for label := range strings.SplitSeq(domain, ".") {
		if label == "" {
			return false
		}
	}
	return true
}

// purgeRequest is a validated POST /v2/purge/visitors body.
type purgeRequest struct {
	userIDs, emails, visitorIDs []string
	delaySeconds                *int64
}

func parsePurge(body []byte) (*purgeRequest, error) {
	top, err := decodeObject(body, "userIds", "emails", "visitorIds", "delaySeconds")
	if err != nil {
		return nil, err
	}
	req := &purgeRequest{}
	lists := []struct {
		name string
		dst  *[]string
	}{{"userIds", &req.userIDs}, {"emails", &req.emails}, {"visitorIds", &req.visitorIDs}}
	total := 0
	for _, l := range lists {
		raw, ok := top[l.name]
		if !ok {
			continue
		}
		var items []json.RawMessage
		if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &items) != nil {
			return nil, badf(msgPurgeArray, l.name)
		}
		for i, item := range items {
			s, ok := jsonString(item)
			if !ok {
				return nil, badf(msgPurgeArray, l.name)
			}
			if s == "" {
				return nil, badf(msgPurgeID, l.name, i)
			}
			*l.dst = append(*l.dst, s)
		}
		total += len(items)
	}
	if raw, ok := top["delaySeconds"]; ok {
		var n int64
		if !isNonNegativeInteger(string(raw)) || json.Unmarshal(raw, &n) != nil {
			return nil, badRequest(msgPurgeDelay)
		}
		req.delaySeconds = &n
	}
	switch {
	case total == 0:
		return nil, badRequest(msgPurgeNone)
	case total > MaxPurgeUsers:
		return nil, badf(msgPurgeTooMany, total)
	}
	return req, nil
}
