package sprig

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// Documented defaults used for zero Options fields.
const (
	DefaultBaseURL      = "https://api.sprig.com"
	DefaultTimeout      = 30 * time.Second
	DefaultMaxIdleConns = 64
	DefaultUserAgent    = "sprigsync (+https://github.com/sprigsync/sprigsync)"
)

// Options configures a Client. Zero values mean the documented defaults.
//
// Options never prints its API key: String, GoString, every fmt verb
// (%v, %+v, %#v, %s, %x, ...) and its slog value show "[redacted]", and
// the key is left out of JSON. (fmt cannot call these methods on an
// Options stored in an unexported field of another struct, so do not
// print such a struct.)
type Options struct {
	// BaseURL is Sprig's API root. Default DefaultBaseURL. It must be
	// https://, except that http:// is accepted for loopback hosts
	// (127.0.0.0/8, ::1, localhost) so tests can use the local stand-in.
	// A path prefix is kept; a trailing slash is ignored; user info, query
	// and fragment are rejected.
	BaseURL string

	// APIKey is the key of one Sprig environment (Sprig: Integrations >
	// Enrichment > Data Import API). Required. Surrounding whitespace is
	// trimmed (keys pasted from files often end in a newline).
	APIKey string `json:"-"`

	// Timeout bounds each request, from sending it to reading its response.
	// Default DefaultTimeout. It applies even with a custom HTTPClient.
	Timeout time.Duration

	// MaxIdleConns is how many idle keep-alive connections to Sprig are kept
	// for reuse. Default DefaultMaxIdleConns. Size it to at least the
	// number of concurrent requests. Ignored when HTTPClient is set.
	MaxIdleConns int

	// UserAgent is sent as User-Agent. Default DefaultUserAgent.
	UserAgent string

	// HTTPClient, when set, is used as is (its transport, redirect policy
	// and Timeout), e.g. to record traffic in tests. MaxIdleConns is then
	// ignored; Timeout still applies to every request.
	HTTPClient *http.Client `json:"-"`
}

// String describes the options with the API key redacted.
func (o Options) String() string {
	hc := "nil"
	if o.HTTPClient != nil {
		hc = fmt.Sprintf("%p", o.HTTPClient)
	}
	return fmt.Sprintf("sprig.Options{BaseURL:%q, APIKey:%s, Timeout:%s, MaxIdleConns:%d, "+
		"UserAgent:%q, HTTPClient:%s}",
		o.BaseURL, redactKey(o.APIKey), o.Timeout, o.MaxIdleConns, o.UserAgent, hc)
}

// GoString is String, so %#v does not reveal the key.
func (o Options) GoString() string { return o.String() }

// Format writes String for every fmt verb, so no verb reveals the key.
func (o Options) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, o.String()) }

// LogValue is the slog form of the options, with the key redacted.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("baseURL", o.BaseURL),
		slog.String("apiKey", redactKey(o.APIKey)),
		slog.Duration("timeout", o.Timeout),
		slog.Int("maxIdleConns", o.MaxIdleConns),
		slog.String("userAgent", o.UserAgent),
	)
}

// checkAPIKey trims k and checks that it can be sent in a header. Its
// errors never contain the key.
func checkAPIKey(k string) (string, error) {
	k = strings.TrimSpace(k)
	if k == "" {
		return "", fmt.Errorf("sprig: missing API key: copy the key of the Sprig environment "+
			"to sync to (in Sprig: %s) into the sync's configuration", DataImportAPIPath)
	}
	for _, r := range k {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r > unicode.MaxASCII {
			return "", fmt.Errorf("sprig: invalid API key: it contains spaces, control or "+
				"non-ASCII characters; copy it again from Sprig (%s)", DataImportAPIPath)
		}
	}
	return k, nil
}

// checkBaseURL parses raw (DefaultBaseURL when empty) and returns it without
// a trailing slash. Errors quote the URL with any password masked.
func checkBaseURL(raw string) (string, error) {
	if raw == "" {
		raw = DefaultBaseURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("sprig: invalid base URL %q: %w; use an absolute URL such as %s",
			raw, unwrapURLError(err), DefaultBaseURL)
	}

	shown := u.Redacted()
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return "", fmt.Errorf("sprig: invalid base URL %q: not an absolute https:// URL; "+
			"use one such as %s", shown, DefaultBaseURL)
	case u.Opaque != "" || u.Hostname() == "":
		return "", fmt.Errorf("sprig: invalid base URL %q: missing host; use a URL such as %s",
			shown, DefaultBaseURL)
	case u.User != nil:
		return "", fmt.Errorf("sprig: invalid base URL %q: remove the user info, "+
			"because the API key is sent in the Authorization header", shown)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("sprig: invalid base URL %q: remove the query or fragment", shown)
	case u.Scheme == "http" && !IsLoopbackHost(u.Hostname()):
		https := *u
		https.Scheme = "https"
		return "", fmt.Errorf("sprig: invalid base URL %q: Sprig rejects plain http, so use %q. "+
			"Plain http is accepted only for loopback hosts such as http://127.0.0.1:PORT "+
			"(a local stand-in)", shown, https.Redacted())
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// IsLoopbackHost reports whether host (a host name or IP address without
// port or brackets) is "localhost" or an address in 127.0.0.0/8 or ::1,
// the only hosts to which NewClient sends plain http.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" {
		return false
	}
	return ip.Unmap().IsLoopback()
}

func unwrapURLError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}
