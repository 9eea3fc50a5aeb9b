package standin

import "sync/atomic"

// Endpoint names used as keys of Stats.
const (
	EndpointUpsert  = "POST /v2/users"
	EndpointGetUser = "GET /v2/users/{userId}"
	EndpointPurge   = "POST /v2/purge/visitors"
	// EndpointOther counts requests to paths or methods Sprig does not have.
	EndpointOther = "other"
)

type endpoint int

const (
	epUpsert endpoint = iota
	epGetUser
	epPurge
	epOther
	numEndpoints
)

var endpointNames = [numEndpoints]string{
	EndpointUpsert, EndpointGetUser, EndpointPurge, EndpointOther,
}

const (
	minStatus = 100
	maxStatus = 599
)

// Stats counts the responses of the Sprig endpoints since the server started
// or was reset. The /standin/ control endpoints are not counted.
type Stats struct {
	// Requests counts real responses (everything that is not an injected
	// fault) by endpoint name and status code.
	Requests map[string]map[int]int64 `json:"requests"`
	// Injected counts injected faults by endpoint name and status code:
	// 500s from ServerErrorShare and 429s from RateLimit.
	Injected map[string]map[int]int64 `json:"injected"`
	// UpsertsAccepted counts POST /v2/users requests that got 202.
	UpsertsAccepted int64 `json:"upsertsAccepted"`
	// DistinctUpsertsAccepted counts the accepted POST /v2/users requests
	// whose exact body had not been accepted before in the same
	// environment; UpsertsAccepted minus this is how many accepted upserts
	// were repeats (retries or resends of an identical body).
	DistinctUpsertsAccepted int64 `json:"distinctUpsertsAccepted"`
}

// Count returns the responses (real plus injected) of one endpoint with one
// status.
func (s Stats) Count(endpoint string, status int) int64 {
	return s.Requests[endpoint][status] + s.Injected[endpoint][status]
}

// Total returns the number of counted responses, real and injected.
func (s Stats) Total() int64 {
	var n int64
	for _, m := range []map[string]map[int]int64{s.Requests, s.Injected} {
		for _, byStatus := range m {
			for _, c := range byStatus {
				n += c
			}
		}
	}
	return n
}

// counters are lock-free: one atomic per endpoint, kind and status.
type counters struct {
	byStatus [numEndpoints][2][maxStatus - minStatus + 1]atomic.Int64 // [ep][injected][status]
	accepted atomic.Int64
	distinct atomic.Int64
}

func (c *counters) count(ep endpoint, status int, injected bool) {
	if status < minStatus || status > maxStatus {
		return
	}
	k := 0
	if injected {
		k = 1
	}
	c.byStatus[ep][k][status-minStatus].Add(1)
}

func (c *counters) snapshot() Stats {
	s := Stats{
		Requests:                map[string]map[int]int64{},
		Injected:                map[string]map[int]int64{},
		UpsertsAccepted:         c.accepted.Load(),
		DistinctUpsertsAccepted: c.distinct.Load(),
	}
	for ep := range numEndpoints {
		for k, dst := range []map[string]map[int]int64{s.Requests, s.Injected} {
			for i := range c.byStatus[ep][k] {
				if n := c.byStatus[ep][k][i].Load(); n > 0 {
					if dst[endpointNames[ep]] == nil {
						dst[endpointNames[ep]] = map[int]int64{}
					}
					dst[endpointNames[ep]][i+minStatus] = n
				}
			}
		}
	}
	return s
}

func (c *counters) reset() {
	for ep := range numEndpoints {
		for k := range 2 {
			for i := range c.byStatus[ep][k] {
				c.byStatus[ep][k][i].Store(0)
			}
		}
	}
	c.accepted.Store(0)
	c.distinct.Store(0)
}
