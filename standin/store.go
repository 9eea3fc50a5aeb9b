package standin

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// StoredUser is a user as the stand-in stores it after merging every
// accepted upsert. The JSON form (GET /standin/users) has userId,
// emailAddress (left out when never sent) and attributes.
type StoredUser struct {
	UserID       string `json:"userId"`
	EmailAddress string `json:"emailAddress,omitempty"`
	// Attributes values are string, json.Number (exactly as sent) or bool.
	Attributes map[string]any `json:"attributes"`

	// VisitorID is the stand-in's own id of the user ("id" in GET
	// /v2/users/{userId}, "visitorIds" in a purge).
	VisitorID string `json:"-"`
	// CreatedAt is when the first upsert was accepted; UpdatedAt the last.
	CreatedAt time.Time `json:"-"`
	UpdatedAt time.Time `json:"-"`
	// Upserts counts the accepted upserts of this user.
	Upserts int `json:"-"`
	// Events are the last events sent for this user, oldest first.
	Events []Event `json:"-"`
}

func (u *StoredUser) clone() StoredUser {
	c := *u
	c.Attributes = maps.Clone(u.Attributes)
	c.Events = slices.Clone(u.Events)
	return c
}

// PurgeRecord is one accepted POST /v2/purge/visitors request.
type PurgeRecord struct {
	RequestID   string    `json:"requestId"`
	Environment string    `json:"environment"`
	ReceivedAt  time.Time `json:"receivedAt"`
	UserIDs     []string  `json:"userIds,omitempty"`
	Emails      []string  `json:"emails,omitempty"`
	VisitorIDs  []string  `json:"visitorIds,omitempty"`
	// DelaySeconds is as sent; nil means Sprig's default of 10 days.
	DelaySeconds *int64 `json:"delaySeconds,omitempty"`
	// Matched are the userIds of the existing users the request named.
	Matched []string `json:"matched"`
	// Executed is true when the users were deleted at once (delaySeconds 0).
	Executed bool `json:"executed"`
}

// envStore is the user store of one environment. One mutex per
// environment: the critical sections are a map lookup and a merge.
type envStore struct {
	mu     sync.Mutex
	users  map[string]*StoredUser
	seen   map[uint64]struct{} // hashes of accepted upsert bodies
	purges []PurgeRecord
}

func newEnvStore() *envStore {
	return &envStore{users: map[string]*StoredUser{}, seen: map[uint64]struct{}{}}
}

// stores contains the environments, created on first use.
type stores struct {
	mu       sync.RWMutex
	envs     map[string]*envStore
	visitors atomic.Int64
	purges   atomic.Int64
}

func (s *stores) get(env string) *envStore {
	s.mu.RLock()
	e := s.envs[env]
	s.mu.RUnlock()
	if e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e = s.envs[env]; e == nil {
		if s.envs == nil {
			s.envs = map[string]*envStore{}
		}
		e = newEnvStore()
		s.envs[env] = e
	}
	return e
}

// lookup returns env's store or nil, without creating it.
func (s *stores) lookup(env string) *envStore {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.envs[env]
}

func (s *stores) reset() {
	s.mu.Lock()
	s.envs = nil
	s.mu.Unlock()
}

// upsert merges req into env's store. bodyHash identifies the exact body;
// distinct is false when the same body was accepted before. On a 400
// (too many attributes in total) nothing changes.
func (s *stores) upsert(env string, req *upsertRequest, bodyHash uint64,
	now time.Time) (distinct bool, err error) {
	e := s.get(env)
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.users[req.userID]
	if u != nil {
		n := len(u.Attributes)
		for k := range req.attributes {
			if _, ok := u.Attributes[k]; !ok {
				n++
			}
		}
		if n > MaxAttributes {
			return false, badf(msgUserAttrs, n)
		}
	} else {
		u = &StoredUser{
			UserID:     req.userID,
			Attributes: make(map[string]any, len(req.attributes)),
			VisitorID:  fmt.Sprintf("standin-visitor-%d", s.visitors.Add(1)),
			CreatedAt:  now,
		}
		e.users[req.userID] = u
	}
	maps.Copy(u.Attributes, req.attributes)
	if req.hasEmail {
		u.EmailAddress = req.email
	}
	if len(req.events) > 0 {
		u.Events = append(u.Events, req.events...)
		if over := len(u.Events) - maxEventsKept; over > 0 {
			u.Events = slices.Delete(u.Events, 0, over)
		}
	}
	u.UpdatedAt = now
	u.Upserts++
	if _, dup := e.seen[bodyHash]; !dup {
		e.seen[bodyHash] = struct{}{}
		distinct = true
	}
	return distinct, nil
}

// user returns a copy of one user.
func (s *stores) user(env, userID string) (StoredUser, bool) {
	e := s.lookup(env)
	if e == nil {
		return StoredUser{}, false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.users[userID]
	if u == nil {
		return StoredUser{}, false
	}
	return u.clone(), true
}

// users returns a copy of every user of env.
func (s *stores) users(env string) map[string]StoredUser {
	out := map[string]StoredUser{}
	e := s.lookup(env)
	if e == nil {
		return out
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, u := range e.users {
		out[id] = u.clone()
	}
	return out
}

// purge records req for env. It returns false (nothing recorded) when
// none of the named users exist.
func (s *stores) purge(env string, req *purgeRequest, now time.Time) (PurgeRecord, bool) {
	e := s.get(env)
	e.mu.Lock()
	defer e.mu.Unlock()
	matched := map[string]bool{}
	for _, id := range req.userIDs {
		if e.users[id] != nil {
			matched[id] = true
		}
	}
	if len(req.emails) > 0 || len(req.visitorIDs) > 0 {
		for id, u := range e.users {
			if (u.EmailAddress != "" && slices.Contains(req.emails, u.EmailAddress)) ||
				slices.Contains(req.visitorIDs, u.VisitorID) {
				matched[id] = true
			}
		}
	}
	if len(matched) == 0 {
		return PurgeRecord{}, false
	}
	rec := PurgeRecord{
		RequestID:    fmt.Sprintf("standin-purge-%06d", s.purges.Add(1)),
		Environment:  env,
		ReceivedAt:   now,
		UserIDs:      req.userIDs,
		Emails:       req.emails,
		VisitorIDs:   req.visitorIDs,
		DelaySeconds: req.delaySeconds,
		Matched:      slices.Sorted(maps.Keys(matched)),
	}
	if req.delaySeconds != nil && *req.delaySeconds == 0 {
		for id := range matched {
			delete(e.users, id)
		}
		rec.Executed = true
	}
	e.purges = append(e.purges, rec)
	return rec, true
}

// purgeRecords returns a copy of env's purge records, oldest first.
func (s *stores) purgeRecords(env string) []PurgeRecord {
	e := s.lookup(env)
	if e == nil {
		return []PurgeRecord{}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]PurgeRecord{}, e.purges...)
}
