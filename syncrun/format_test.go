package syncrun

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sprigsync/sprigsync/delivery"
	"github.com/sprigsync/sprigsync/mapping"
	"github.com/sprigsync/sprigsync/plan"
	"github.com/sprigsync/sprigsync/workflows"
)

func TestFormat(t *testing.T) {
	s := workflows.Summary{SyncID: "nightly", RunID: "r-1", Snapshot: "/data/users.parquet",
		Environment: "production", Status: workflows.StatusCompletedWithRejections,
		Counts: plan.Counts{Files: 1, Rows: 12, Added: 3, Changed: 4, Unchanged: 4, Removed: 2,
			Invalid: 1},
		Changes: 7, Accepted: 6, Rejected: 1, Requests: 9, Batches: 4, BatchAttempts: 5,
		Retries:       delivery.Retries{RateLimited: 1, ServerError: 1},
		BaselineUsers: 14, Duration: delivery.Duration(1500 * time.Millisecond),
		Rejections:  []delivery.Rejection{{UserID: "42", Status: 400, Reason: "Invalid email"}},
		InvalidRows: []mapping.InvalidRow{{File: "/data/users.parquet", Row: 7, Reason: "user id is null"}},
	}
	var b strings.Builder
	Format(&b, s)
	want := `Sync nightly, run r-1: completed_with_rejections
  snapshot:  /data/users.parquet (1 file, 12 rows)
  diff:      3 added, 4 changed, 4 unchanged, 2 removed, 1 invalid, 0 duplicate
  upserts:   7 to send to production: 6 accepted, 1 rejected, 0 not sent
  requests:  9 in 4 batches (5 attempts); retries: 1 rate limited, 1 server errors, 0 network errors
  baseline:  14 users
  duration:  1.5s
  rejected users (first 1 of 1):
    42: 400 Invalid email
  rows not sent (first 1 of 1):
    /data/users.parquet row 7, (no user id): user id is null
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Fatalf("Format (-want +got):\n%s", diff)
	}
}
