package delivery

import (
	"encoding/json"
	"slices"
	"strings"
)

// Redact returns Sprig's error message with the request's email address and
// attribute values replaced by "[redacted]", because Sprig may echo them and
// the message is stored in workflow history. Values shorter than three
// characters are left alone: replacing them would garble ordinary words
// while hiding nothing that identifies a user.
func Redact(message string, body []byte) string {
	var req struct {
		EmailAddress string                     `json:"emailAddress"`
		Attributes   map[string]json.RawMessage `json:"attributes"`
	}
	if json.Unmarshal(body, &req) != nil {
		return message
	}
	values := []string{req.EmailAddress}
	for _, raw := range req.Attributes {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			values = append(values, s)
		} else {
			values = append(values, string(raw))
		}
	}
	// Longest first, so a value that contains another is replaced whole.
	slices.SortFunc(values, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	for _, v := range values {
		if len(v) >= 3 {
			message = strings.ReplaceAll(message, v, "[redacted]")
		}
	}
	return message
}
