package standin

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// DefaultRetryAfter is the Retry-After sent with a 429 when
// Options.RetryAfter is zero.
const DefaultRetryAfter = time.Second

// Options configures a Server. Zero values mean: no keys (every request is
// 401), no rate limit, no injected faults, no latency.
//
// Printing Options (any fmt verb, slog) shows the environments but never
// the keys.
type Options struct {
	// Keys maps an API key to the name of the environment it writes to.
	// Several keys may name the same environment.
	Keys map[string]string

	// RateLimit is the requests per second allowed over all Sprig
	// endpoints together, counting only requests with a valid key. 0 means
	// unlimited. Above it the response is 429.
	RateLimit float64

	// Burst is the token-bucket size for RateLimit. 0 means one second's
	// worth of RateLimit, at least 1.
	Burst int

	// RetryAfter is sent with a 429 as Retry-After, in whole seconds
	// rounded up. 0 means DefaultRetryAfter ("Retry-After: 1"); a negative
	// value sends no Retry-After at all (Sprig may not send one).
	RetryAfter time.Duration

	// ServerErrorShare is the share, 0 to 1, of POST /v2/users requests
	// failed with an injected 500. The share is drawn for every
	// POST /v2/users that passed the key and rate-limit checks, before the
	// body is validated.
	ServerErrorShare float64

	// Latency is added before responding to every Sprig-endpoint request.
	Latency time.Duration

	// RejectUserIDs maps a userId to the message of the 422 that a
	// well-formed upsert of that user gets.
	RejectUserIDs map[string]string

	// Seed makes ServerErrorShare's choice of requests deterministic.
	Seed int64

	// Logger receives one debug-level record per Sprig-endpoint request
	// and nothing at info level per request. nil discards.
	Logger *slog.Logger
}

// Environments returns the sorted, distinct environment names of Keys.
func (o Options) Environments() []string {
	envs := slices.Collect(maps.Values(o.Keys))
	slices.Sort(envs)
	return slices.Compact(envs)
}

// String describes the options without the keys.
func (o Options) String() string {
	return fmt.Sprintf("standin.Options{Keys:%d keys [redacted] for %v, RateLimit:%g, Burst:%d, "+
		"RetryAfter:%s, ServerErrorShare:%g, Latency:%s, RejectUserIDs:%d, Seed:%d}",
		len(o.Keys), o.Environments(), o.RateLimit, o.Burst, o.RetryAfter,
		o.ServerErrorShare, o.Latency, len(o.RejectUserIDs), o.Seed)
}

// GoString is String, so %#v does not reveal keys.
func (o Options) GoString() string { return o.String() }

// Format writes String for every fmt verb, so no verb reveals keys.
func (o Options) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, o.String()) }

// LogValue is the slog form of the options, without keys.
func (o Options) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Any("environments", o.Environments()),
		slog.Float64("rateLimit", o.RateLimit),
		slog.Int("burst", o.Burst),
		slog.Duration("retryAfter", o.RetryAfter),
		slog.Float64("serverErrorShare", o.ServerErrorShare),
		slog.Duration("latency", o.Latency),
		slog.Int("rejectUserIds", len(o.RejectUserIDs)),
		slog.Int64("seed", o.Seed),
	)
}

// Validate reports options that make no sense: a negative rate, burst or
// latency, a share outside 0..1, an empty key or environment name.
func (o Options) Validate() error {
	switch {
	case o.RateLimit < 0 || math.IsNaN(o.RateLimit) || math.IsInf(o.RateLimit, 0):
		return fmt.Errorf("rateLimit %g must be a finite number >= 0", o.RateLimit)
	case o.Burst < 0:
		return fmt.Errorf("burst %d must be >= 0", o.Burst)
	case !(o.ServerErrorShare >= 0 && o.ServerErrorShare <= 1):
		return fmt.Errorf("serverErrorShare %g must be between 0 and 1", o.ServerErrorShare)
	case o.Latency < 0:
		return fmt.Errorf("latency %s must be >= 0", o.Latency)
	}
	for k, env := range o.Keys {
		if strings.TrimSpace(k) == "" {
			return fmt.Errorf("an API key is empty")
		}
		if strings.TrimSpace(env) == "" {
			return fmt.Errorf("an API key has an empty environment name")
		}
	}
	return nil
}

// config is one immutable set of options in force, swapped atomically.
type config struct {
	opts       Options // deep copy
	limiter    *rate.Limiter
	retryAfter string // Retry-After header value; "" = none
	faultSeq   atomic.Uint64
	log        *slog.Logger
}

func newConfig(o Options) *config {
	o = normalize(o)
	c := &config{opts: o, log: o.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if o.RateLimit > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(o.RateLimit), o.Burst)
	}
	switch {
	case o.RetryAfter < 0:
	case o.RetryAfter == 0:
		c.retryAfter = strconv.Itoa(int(DefaultRetryAfter / time.Second))
	default:
		c.retryAfter = strconv.FormatInt(int64(math.Ceil(o.RetryAfter.Seconds())), 10)
	}
	return c
}

// normalize deep-copies o and clamps values out of range, because New and
// SetOptions return no error. Validate reports such values.
func normalize(o Options) Options {
	o.Keys = maps.Clone(o.Keys)
	o.RejectUserIDs = maps.Clone(o.RejectUserIDs)
	if !(o.RateLimit > 0) || math.IsInf(o.RateLimit, 0) {
		o.RateLimit = 0
	}
	if o.RateLimit > 0 && o.Burst <= 0 {
		o.Burst = max(1, int(math.Ceil(min(o.RateLimit, math.MaxInt32))))
	}
	if o.Burst < 0 {
		o.Burst = 0
	}
	if !(o.ServerErrorShare > 0) {
		o.ServerErrorShare = 0
	}
	o.ServerErrorShare = min(o.ServerErrorShare, 1)
	o.Latency = max(o.Latency, 0)
	return o
}

// ConfigUpdate is the JSON body of POST /standin/config. Every field is
// optional: an absent (or null) field keeps its current value, a present
// one replaces it — "keys" and "rejectUserIds" replace the whole map.
// Durations are Go duration strings ("250ms", "1s") or numbers of seconds.
// Unknown fields are rejected.
type ConfigUpdate struct {
	Keys             map[string]string `json:"keys,omitempty"`
	RateLimit        *float64          `json:"rateLimit,omitempty"`
	Burst            *int              `json:"burst,omitempty"`
	RetryAfter       *Duration         `json:"retryAfter,omitempty"`
	ServerErrorShare *float64          `json:"serverErrorShare,omitempty"`
	Latency          *Duration         `json:"latency,omitempty"`
	RejectUserIDs    map[string]string `json:"rejectUserIds,omitempty"`
	Seed             *int64            `json:"seed,omitempty"`
}

// apply returns o changed by u.
func (u ConfigUpdate) apply(o Options) Options {
	if u.Keys != nil {
		o.Keys = u.Keys
	}
	if u.RateLimit != nil {
		o.RateLimit = *u.RateLimit
	}
	if u.Burst != nil {
		o.Burst = *u.Burst
	}
	if u.RetryAfter != nil {
		o.RetryAfter = time.Duration(*u.RetryAfter)
	}
	if u.ServerErrorShare != nil {
		o.ServerErrorShare = *u.ServerErrorShare
	}
	if u.Latency != nil {
		o.Latency = time.Duration(*u.Latency)
	}
	if u.RejectUserIDs != nil {
		o.RejectUserIDs = u.RejectUserIDs
	}
	if u.Seed != nil {
		o.Seed = *u.Seed
	}
	return o
}

// ConfigView is the response of GET and POST /standin/config: the options in
// force, with the environments the keys map to but never the keys.
type ConfigView struct {
	Environments     []string          `json:"environments"`
	KeyCount         int               `json:"keyCount"`
	RateLimit        float64           `json:"rateLimit"`
	Burst            int               `json:"burst"`
	RetryAfter       Duration          `json:"retryAfter"`
	ServerErrorShare float64           `json:"serverErrorShare"`
	Latency          Duration          `json:"latency"`
	RejectUserIDs    map[string]string `json:"rejectUserIds"`
	Seed             int64             `json:"seed"`
}

func viewOf(o Options) ConfigView {
	v := ConfigView{
		Environments:     o.Environments(),
		KeyCount:         len(o.Keys),
		RateLimit:        o.RateLimit,
		Burst:            o.Burst,
		RetryAfter:       Duration(o.RetryAfter),
		ServerErrorShare: o.ServerErrorShare,
		Latency:          Duration(o.Latency),
		RejectUserIDs:    maps.Clone(o.RejectUserIDs),
		Seed:             o.Seed,
	}
	if v.Environments == nil {
		v.Environments = []string{}
	}
	if v.RejectUserIDs == nil {
		v.RejectUserIDs = map[string]string{}
	}
	return v
}

// Duration is a time.Duration that JSON writes as a Go duration string and
// reads from such a string or from a number of seconds.
type Duration time.Duration

// MarshalJSON writes the duration as a string such as "1.5s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads "1.5s"-style strings or numbers of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %q", s)
		}
		*d = Duration(v)
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("a duration must be a string such as \"1s\" or a number of seconds")
	}
	if math.IsNaN(f) || math.Abs(f) > math.MaxInt64/float64(time.Second) {
		return fmt.Errorf("duration %g seconds is out of range", f)
	}
	*d = Duration(time.Duration(f * float64(time.Second)))
	return nil
}
