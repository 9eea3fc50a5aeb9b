package standin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// control serves the /standin/ endpoints. They need no key and are not
// counted in Stats.
func (s *Server) control(w http.ResponseWriter, r *http.Request, path string) {
	switch path {
	case "/standin/users":
		if !allow(w, r, http.MethodGet) {
			return
		}
		env, ok := environment(w, r)
		if !ok {
			return
		}
		writeJSON(w, http.StatusOK, s.Users(env))
	case "/standin/purges":
		if !allow(w, r, http.MethodGet) {
			return
		}
		env, ok := environment(w, r)
		if !ok {
			return
		}
		writeJSON(w, http.StatusOK, s.Purges(env))
	case "/standin/stats":
		if allow(w, r, http.MethodGet) {
			writeJSON(w, http.StatusOK, s.Stats())
		}
	case "/standin/config":
		s.config(w, r)
	case "/standin/reset":
		if allow(w, r, http.MethodPost) {
			s.Reset()
			writeJSON(w, http.StatusOK, struct{}{})
		}
	default:
		writeError(w, http.StatusNotFound, "not found")
	}
}

// config serves GET /standin/config (the options in force, without keys)
// and POST /standin/config (a ConfigUpdate, with the same response as GET).
func (s *Server) config(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, viewOf(s.Options()))
	case http.MethodPost:
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			writeError(w, http.StatusBadRequest, "reading the body failed: "+err.Error())
			return
		}
		var u ConfigUpdate
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&u); err != nil {
			writeError(w, http.StatusBadRequest, "invalid config: "+configError(err))
			return
		}
		if dec.More() {
			writeError(w, http.StatusBadRequest, "invalid config: more than one JSON value")
			return
		}
		s.cfgMu.Lock()
		next := u.apply(s.cfg.Load().opts)
		if err := next.Validate(); err != nil {
			s.cfgMu.Unlock()
			writeError(w, http.StatusBadRequest, "invalid config: "+err.Error())
			return
		}
		s.cfg.Store(newConfig(next))
		s.cfgMu.Unlock()
		writeJSON(w, http.StatusOK, viewOf(s.Options()))
	default:
		w.Header().Set("Allow", "GET, POST")
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

// configError describes a decoding error of a ConfigUpdate without quoting
// any part of the body: a map entry's path could contain an API key.
func configError(err error) string {
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		field, _, _ := strings.Cut(te.Field, ".")
		if field == "" {
			return "the body must be a JSON object"
		}
		return fmt.Sprintf("%s has the wrong type", field)
	}
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Sprintf("malformed JSON at byte %d", se.Offset)
	}
	if strings.HasPrefix(err.Error(), "json: unknown field ") {
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "the body is empty or cut short"
	}
	return "a value is invalid (durations are strings such as \"250ms\" or numbers of seconds)"
}

func allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	writeError(w, http.StatusMethodNotAllowed, "method not allowed")
	return false
}

func environment(w http.ResponseWriter, r *http.Request) (string, bool) {
	env := r.URL.Query().Get("environment")
	if env == "" {
		writeError(w, http.StatusBadRequest, "the environment query parameter is required")
		return "", false
	}
	return env, true
}

// writeError writes {"error": msg} with status.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(errorBody(msg))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, errorBody("encoding the response failed: "+err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
