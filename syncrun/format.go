package syncrun

import (
	"fmt"
	"io"
	"strings"

	"github.com/sprigsync/sprigsync/workflows"
)

// Format writes a summary for a person to read.
func Format(w io.Writer, s workflows.Summary) {
	var b strings.Builder
	fmt.Fprintf(&b, "Sync %s, run %s: %s\n", s.SyncID, s.RunID, s.Status)
	if s.Error != "" {
		fmt.Fprintf(&b, "  error:     %s\n", s.Error)
	}
	if s.Status == workflows.StatusCanceled || s.Status == workflows.StatusTerminated {
		// Such a run returned no counts.
		io.WriteString(w, b.String())
		return
	}
	fmt.Fprintf(&b, "  snapshot:  %s (%s, %s)\n", s.Snapshot, plural(s.Files, "file"),
		plural(int(s.Rows), "row"))
	fmt.Fprintf(&b, "  diff:      %d added, %d changed, %d unchanged, %d removed, "+
		"%d invalid, %d duplicate\n", s.Added, s.Changed, s.Unchanged, s.Removed, s.Invalid,
		s.Duplicate)
	fmt.Fprintf(&b, "  upserts:   %d to send to %s: %d accepted, %d rejected, %d not sent\n",
		s.Changes, s.Environment, s.Accepted, s.Rejected, s.Unsent)
	fmt.Fprintf(&b, "  requests:  %d in %d batches (%d attempts); retries: %d rate limited, "+
		"%d server errors, %d network errors\n", s.Requests, s.Batches, s.BatchAttempts,
		s.Retries.RateLimited, s.Retries.ServerError, s.Retries.Network)
	fmt.Fprintf(&b, "  baseline:  %d users\n", s.BaselineUsers)
	fmt.Fprintf(&b, "  duration:  %s\n", s.Duration)
	if len(s.Rejections) > 0 {
		fmt.Fprintf(&b, "  rejected users (first %d of %d):\n", len(s.Rejections), s.Rejected)
		for _, r := range s.Rejections {
			fmt.Fprintf(&b, "    %s: %d %s\n", r.UserID, r.Status, r.Reason)
		}
	}
	if len(s.InvalidRows) > 0 {
		fmt.Fprintf(&b, "  rows not sent (first %d of %d):\n", len(s.InvalidRows),
			s.Invalid+s.Duplicate)
		for _, r := range s.InvalidRows {
			id := r.UserID
			if id == "" {
				id = "(no user id)"
			}
			fmt.Fprintf(&b, "    %s row %d, %s: %s\n", r.File, r.Row, id, r.Reason)
		}
	}
	io.WriteString(w, b.String())
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
