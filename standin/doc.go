// Package standin is a local STAND-IN for Sprig's V2 API, for tests, demos
// and load runs. It is not Sprig and is not affiliated with Sprig. It
// implements what Sprig's public API reference documents, no more. Where
// Sprig's behaviour is not documented, it picks the strictest safe
// behaviour and states it below, so that a sync which passes against the
// stand-in does not rely on anything Sprig has not promised.
//
// # Sprig endpoints
//
// All three need "Authorization: API-Key <key>". The scheme name is matched
// case-insensitively. "Bearer" is not accepted, because Sprig does not
// document it for V2. The key decides the environment, and every
// environment has its own user store. A missing or unknown key gets
// 401 {"error": ...} on the users endpoints and 403 with no body on the
// purge endpoint, as Sprig's reference pages document. Every error body is
// {"error": "<message>"}, with the exact messages listed in validate.go.
//
// POST /v2/users upserts one user. Content-Type must be application/json
// (a stand-in check, since Sprig documents none). The body is a JSON object
// with only these fields, and any other field is 400:
//   - userId: required, a string that is not empty or only spaces.
//   - emailAddress: optional, a string that is a valid address by the
//     stand-in's rule. The rule accepts valid UTF-8, so internationalized
//     addresses such as josé@exämple.com pass. It requires exactly one '@',
//     a non-empty local part, and a domain that contains a '.' and has no
//     empty label (no leading, trailing or doubled dot). It rejects any
//     whitespace or control character.
//   - attributes: optional, an object of at most 100 values, each a string,
//     number or boolean, with non-empty names. A JSON null value is
//     rejected with 400, because what Sprig does with null is not documented
//     (it might store it, ignore it or delete the attribute). Open-source
//     integrations drop nulls before sending, and so should a sync.
//   - events: optional, an array of {event, timestamp}, with event a
//     non-empty string and timestamp integer epoch milliseconds. The last
//     100 events per user are stored. Sprig rejects unknown event names,
//     but the stand-in has no event catalogue and accepts any name.
//
// JSON null is also rejected for userId, emailAddress, attributes and
// events. Malformed JSON, a body that is not one object, and bodies over
// 1 MiB (a stand-in limit, since Sprig documents none) are 400. A
// well-formed body whose userId is in Options.RejectUserIDs is 422 with the
// configured message. Success is 202 with the body {}.
//
// An upsert MERGES. Named attributes are created or overwritten, and the
// others are kept, so an upsert never deletes an attribute (only a purge
// deletes a whole user). emailAddress is replaced only when sent. Sprig's
// limit of "100 values in total" is enforced both per request and per
// stored user: an upsert that would leave the user with more than 100
// attributes is 400 and changes nothing. Numbers are stored exactly as
// sent (json.Number: "1.50" stays "1.50"). Unlike Sprig, where 202 only
// means queued, an accepted upsert is visible at once.
//
// GET /v2/users/{userId} (userId path-escaped) returns 200 with
// {id, externalUserId, attributes, createdAt, events} — id is the
// stand-in's visitor id, createdAt RFC 3339 — or 404 {"error": ...}.
//
// POST /v2/purge/visitors takes {userIds, emails, visitorIds,
// delaySeconds}. The arrays contain non-empty strings, at least one and at
// most 100 in total, and delaySeconds is a non-negative integer. Any other
// field is 400. When none of the named users exist in the key's
// environment, the response is 400. Otherwise it is 200
// {"requestId": "..."} and the request is recorded. With "delaySeconds": 0
// the matched users are deleted at once. With any other delay (Sprig's
// default is 10 days) they are kept, and the request is only recorded.
//
// Other paths are 404 {"error": ...}, and a wrong method is 405 {"error": ...}.
//
// # Faults
//
// Options.RateLimit is one token bucket over all requests with a valid key,
// on all Sprig endpoints, because Sprig's limit is per account. Without a
// token the response is 429 {"error": ...} with Retry-After in whole
// seconds, at once: requests are never queued. Options.ServerErrorShare
// fails that share of POST /v2/users with 500
// {"error": "internal server error"} and the header
// X-Standin-Injected: true. Which requests fail is a function of
// Options.Seed and of the request's sequence number since the options were
// last set, so a sequential test sees the same faults on every run.
// Options.Latency delays every response of the Sprig endpoints.
//
// # Control endpoints (no key, not counted in Stats)
//
//	GET  /standin/users?environment=NAME   users of NAME (see below)
//	GET  /standin/stats                    Stats as JSON
//	GET  /standin/purges?environment=NAME  recorded purge requests of NAME
//	GET  /standin/config                   options in force, keys left out
//	POST /standin/config                   change options at run time (ConfigUpdate)
//	POST /standin/reset                    delete users, purges and stats
//
// GET /standin/users returns a JSON object keyed by userId, each value
// {userId, emailAddress, attributes} with the merged attributes.
//
// The control endpoints have no authentication, so serve the stand-in on a
// loopback address only.
package standin
