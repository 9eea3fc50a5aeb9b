package sprig

import (
	"fmt"
	"io"
	"log/slog"
)

// redacted is the text that every printed form of a secret shows.
const redacted = "[redacted]"

// secret is a credential. Every way of printing it — String, GoString,
// any fmt verb, slog, JSON — shows "[redacted]". Only value() reveals it.
// The value sits behind a func, so that even fmt's reflection over
// unexported fields (which cannot call these methods) prints an address.
type secret struct{ get func() string }

func newSecret(v string) secret { return secret{get: func() string { return v }} }

func (s secret) value() string {
	if s.get == nil {
		return ""
	}
	return s.get()
}

func (s secret) String() string               { return redacted }
func (s secret) GoString() string             { return redacted }
func (s secret) Format(f fmt.State, _ rune)   { _, _ = io.WriteString(f, redacted) }
func (s secret) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (s secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// redactKey is how an API key is shown in String output: whether it is set,
// never what it is.
func redactKey(k string) string {
	if k == "" {
		return `""`
	}
	return redacted
}
