package standin

import (
	"context"
	"encoding/json"
	"errors"
	"hash/maphash"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is the stand-in, an http.Handler. Create it with New; all methods
// are safe for concurrent use while it serves.
type Server struct {
	cfgMu    sync.Mutex // serializes option changes; readers use cfg
	cfg      atomic.Pointer[config]
	store    stores
	stats    counters
	hashSeed maphash.Seed
	now      func() time.Time
	// wait blocks for d or until ctx ends, and reports whether d passed.
	// Tests replace it to check Options.Latency without timing.
	wait func(ctx context.Context, d time.Duration) bool
}

// New returns a stand-in configured by opts (see Options; values out of
// range are clamped, Options.Validate reports them).
func New(opts Options) *Server {
	s := &Server{hashSeed: maphash.MakeSeed(), now: time.Now, wait: waitContext}
	s.cfg.Store(newConfig(opts))
	return s
}

// SetOptions replaces the options in force (keys, faults, latency) for the
// requests that arrive from now on. It resets the rate limiter's bucket and
// the sequence that ServerErrorShare and Seed draw from. Users and stats are
// kept.
func (s *Server) SetOptions(opts Options) {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	s.cfg.Store(newConfig(opts))
}

// Options returns a copy of the options in force.
func (s *Server) Options() Options {
	o := s.cfg.Load().opts
	return normalize(o) // deep copy
}

// Users returns a copy of every user of the environment env, keyed by
// userId, with merged attributes. Unknown environments have no users.
func (s *Server) Users(env string) map[string]StoredUser { return s.store.users(env) }

// User returns a copy of one user of env.
func (s *Server) User(env, userID string) (StoredUser, bool) { return s.store.user(env, userID) }

// Purges returns the purge requests recorded for env, oldest first.
func (s *Server) Purges(env string) []PurgeRecord { return s.store.purgeRecords(env) }

// Stats returns the counts of responses so far.
func (s *Server) Stats() Stats { return s.stats.snapshot() }

// Reset deletes every user, purge record and count, and restarts the rate
// limiter and the fault sequence. The options stay.
func (s *Server) Reset() {
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	s.store.reset()
	s.stats.reset()
	s.cfg.Store(newConfig(s.cfg.Load().opts))
}

// ServeHTTP routes the Sprig endpoints and the /standin/ control endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	switch {
	case path == "/v2/users":
		s.sprig(w, r, epUpsert, http.MethodPost, s.upsert)
	case strings.HasPrefix(path, "/v2/users/"):
		s.sprig(w, r, epGetUser, http.MethodGet, s.getUser)
	case path == "/v2/purge/visitors":
		s.sprig(w, r, epPurge, http.MethodPost, s.purge)
	case strings.HasPrefix(path, "/standin/"):
		s.control(w, r, path)
	default:
		s.reply(w, r, epOther, http.StatusNotFound, false, errorBody("not found"))
	}
}

// handler serves one Sprig endpoint for an authenticated request of env.
type handler func(w http.ResponseWriter, r *http.Request, cfg *config, env string)

// sprig runs the steps that every Sprig endpoint shares (method, latency,
// key, rate limit) and then h.
func (s *Server) sprig(w http.ResponseWriter, r *http.Request, ep endpoint, method string,
	h handler) {
	if r.Method != method {
		w.Header().Set("Allow", method)
		s.reply(w, r, epOther, http.StatusMethodNotAllowed, false, errorBody("method not allowed"))
		return
	}
	cfg := s.cfg.Load()
	if d := cfg.opts.Latency; d > 0 && !s.wait(r.Context(), d) {
		return // The client has disconnected, so no response is sent.
	}
	env, ok := authenticate(cfg, r.Header.Get("Authorization"))
	if !ok {
		if ep == epPurge {
			// Sprig's purge page documents 403 with no body.
			s.reply(w, r, ep, http.StatusForbidden, false, nil)
			return
		}
		s.reply(w, r, ep, http.StatusUnauthorized, false,
			errorBody("missing or invalid API key (expected Authorization: API-Key <key>)"))
		return
	}
	if cfg.limiter != nil && !cfg.limiter.Allow() {
		if cfg.retryAfter != "" {
			w.Header().Set("Retry-After", cfg.retryAfter)
		}
		w.Header().Set("X-Standin-Injected", "true")
		s.reply(w, r, ep, http.StatusTooManyRequests, true, errorBody("rate limit exceeded"))
		return
	}
	h(w, r, cfg, env)
}

// authenticate returns the environment of the key in an
// "API-Key <key>" Authorization header.
func authenticate(cfg *config, header string) (string, bool) {
	scheme, key, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "API-Key") {
		return "", false
	}
	env, ok := cfg.opts.Keys[strings.TrimSpace(key)]
	return env, ok
}

var acceptedBody = []byte("{}")

func (s *Server) upsert(w http.ResponseWriter, r *http.Request, cfg *config, env string) {
	body, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, epUpsert, err)
		return
	}
	if share := cfg.opts.ServerErrorShare; share > 0 {
		n := cfg.faultSeq.Add(1) - 1
		if faulty(cfg.opts.Seed, n, share) {
			w.Header().Set("X-Standin-Injected", "true")
			s.reply(w, r, epUpsert, http.StatusInternalServerError, true, errorBody("internal server error"))
			return
		}
	}
	req, err := parseUpsert(body)
	if err != nil {
		s.fail(w, r, epUpsert, err)
		return
	}
	if msg, ok := cfg.opts.RejectUserIDs[req.userID]; ok {
		s.reply(w, r, epUpsert, http.StatusUnprocessableEntity, false, errorBody(msg))
		return
	}
	distinct, err := s.store.upsert(env, req, maphash.Bytes(s.hashSeed, body), s.now())
	if err != nil {
		s.fail(w, r, epUpsert, err)
		return
	}
	s.stats.accepted.Add(1)
	if distinct {
		s.stats.distinct.Add(1)
	}
	s.reply(w, r, epUpsert, http.StatusAccepted, false, acceptedBody)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, _ *config, env string) {
	rest := strings.TrimPrefix(r.URL.EscapedPath(), "/v2/users/")
	userID, err := url.PathUnescape(rest)
	if rest == "" || strings.Contains(rest, "/") || err != nil {
		s.reply(w, r, epGetUser, http.StatusNotFound, false, errorBody("not found"))
		return
	}
	u, ok := s.store.user(env, userID)
	if !ok {
		s.reply(w, r, epGetUser, http.StatusNotFound, false, errorBody("user not found"))
		return
	}
	events := u.Events
	if events == nil {
		events = []Event{}
	}
	body, err := marshal(struct {
		ID             string         `json:"id"`
		ExternalUserID string         `json:"externalUserId"`
		Attributes     map[string]any `json:"attributes"`
		CreatedAt      string         `json:"createdAt"`
		Events         []Event        `json:"events"`
	}{u.VisitorID, u.UserID, u.Attributes, u.CreatedAt.UTC().Format(time.RFC3339Nano), events})
	if err != nil {
		s.fail(w, r, epGetUser, err)
		return
	}
	s.reply(w, r, epGetUser, http.StatusOK, false, body)
}

func (s *Server) purge(w http.ResponseWriter, r *http.Request, _ *config, env string) {
	body, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, epPurge, err)
		return
	}
	req, err := parsePurge(body)
	if err != nil {
		s.fail(w, r, epPurge, err)
		return
	}
	rec, ok := s.store.purge(env, req, s.now())
	if !ok {
		s.reply(w, r, epPurge, http.StatusBadRequest, false, errorBody(msgPurgeNoUsers))
		return
	}
	out, _ := marshal(map[string]string{"requestId": rec.RequestID})
	s.reply(w, r, epPurge, http.StatusOK, false, out)
}

// fail responds to a handler error: 400 with its message for a badRequest, a
// real 500 otherwise.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, ep endpoint, err error) {
	if b, ok := errors.AsType[badRequest](err); ok {
		s.reply(w, r, ep, http.StatusBadRequest, false, errorBody(string(b)))
		return
	}
	s.cfg.Load().log.Error("handling a Sprig request failed", "endpoint", endpointNames[ep], "err", err)
	s.reply(w, r, ep, http.StatusInternalServerError, false, errorBody("internal server error"))
}

// reply writes one response and counts it. A nil body sends no body and no
// Content-Type.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, ep endpoint, status int,
	injected bool, body []byte) {
	if body != nil {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	if body != nil {
		_, _ = w.Write(body)
	}
	s.stats.count(ep, status, injected)
	if log := s.cfg.Load().log; log.Enabled(r.Context(), slog.LevelDebug) {
		log.LogAttrs(r.Context(), slog.LevelDebug, "sprig request",
			slog.String("endpoint", endpointNames[ep]), slog.String("method", r.Method),
			slog.Int("status", status), slog.Bool("injected", injected))
	}
}

// errorBody is Sprig's error shape, {"error": msg}.
func errorBody(msg string) []byte {
	b, _ := marshal(map[string]string{"error": msg})
	return b
}

// marshal is json.Marshal without HTML escaping (so "<" stays "<").
func marshal(v any) ([]byte, error) {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(sb.String(), "\n")), nil
}

// waitContext blocks for d or until ctx ends, and reports whether d passed.
func waitContext(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// faulty reports whether request n (0-based) of the fault sequence gets an
// injected 500: a splitmix64 hash of seed and n, as a number in [0, 1), is
// below share.
func faulty(seed int64, n uint64, share float64) bool {
	if share >= 1 {
		return true
	}
	x := uint64(seed) + (n+1)*0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11)/(1<<53) < share
}
