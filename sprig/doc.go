// Package sprig is a client for Sprig's V2 public API: upsert one user
// (POST /v2/users), read one user (GET /v2/users/{userId}) and purge users
// (POST /v2/purge/visitors). Sprig has no batch endpoint for users, so a
// batch is many UpsertUser calls.
//
// # One call, one attempt
//
// Every method makes exactly one HTTP attempt and never sleeps or retries on
// its own. The only exception is net/http's own resend of a request that
// failed on a reused keep-alive connection before any response arrived, as
// described at [Client.UpsertUser]. Pacing, backoff and retry budgets belong
// to the caller, who decides with [Classify]:
//
//	err := c.UpsertUser(ctx, body)
//	switch sprig.Classify(err) {
//	case sprig.Accepted:     // 2xx: queued by Sprig
//	case sprig.Rejected:     // this user is bad (400, 422, other 4xx): record it, go on
//	case sprig.AuthFailed:   // 401/403: stop the run, tell the user to create a new key
//	case sprig.RateLimited:  // 429: slow down; honour APIError.RetryAfter when > 0
//	case sprig.ServerError:  // 5xx (or an unexpected 1xx/3xx): retry with backoff
//	case sprig.NetworkError: // no HTTP response (timeout, refused, reset): retry with backoff
//	case sprig.Canceled:     // the caller's ctx ended: stop, do not count as a failure
//	}
//
// Retrying any class for which [Class.Retryable] is true is safe, because an
// upsert of the same body is idempotent at Sprig. Sprig keeps the last write,
// so a sender must not resend an older body of a user after a newer one was
// accepted.
//
// # Secrets
//
// The API key never appears in an error, in String/GoString/fmt output of
// [Options] or [Client], in their slog values, or in JSON of [Options]. The
// package logs nothing.
//
// # Plain HTTP
//
// Sprig only accepts HTTPS. [NewClient] accepts an http:// base URL only when
// its host is a loopback address (127.0.0.0/8, ::1 or "localhost"), which is
// how tests and scripts point the client at the local stand-in in package
// standin.
package sprig
