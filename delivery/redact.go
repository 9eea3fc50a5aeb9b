package delivery

import (
	"encoding/json"
	"net/url"
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
		if len(v) < 3 {
			continue
		}
		// Sprig may echo a value in another case or URL-encoded.
		for _, form := range []string{v, url.QueryEscape(v), url.PathEscape(v)} {
			message = replaceFold(message, form, "[redacted]")
		}
	}
	return message
}

// replaceFold replaces every occurrence of old in s, ignoring case, with new.
func replaceFold(s, old, new string) string {
	var b strings.Builder
	for {
		i := indexFold(s, old)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(new)
		s = s[i+len(old):]
	}
}

// indexFold returns the byte index of the first occurrence of sub in s,
// ignoring case, or -1. It compares windows of len(sub) bytes, so a match
// whose other case has another UTF-8 length is missed.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}
