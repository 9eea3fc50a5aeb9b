package mapping

import "errors"

// Config says how the columns of a snapshot become Sprig users. It is part
// of the workflow input, so it stays JSON-friendly; zero values mean the
// documented defaults.
type Config struct {
	// UserIDColumn names the column whose value becomes Sprig's userId.
	// Default: "user_id".
	UserIDColumn string `json:"userIdColumn,omitempty"`

	// EmailColumn names the column sent as emailAddress. Empty means no
	// email is sent.
	EmailColumn string `json:"emailColumn,omitempty"`

	// Attributes maps a column name to the Sprig attribute name it is sent
	// as. Empty means every column other than the user-id and email columns,
	// each under its own name.
	Attributes map[string]string `json:"attributes,omitempty"`
}

// User is one snapshot row as Sprig receives it.
type User struct {
	// UserID is the userId sent to Sprig.
	UserID string

	// Body is the exact JSON body of POST /v2/users for this user. The
	// slice is reused by the next call: copy it to keep it.
	Body []byte

	// File and Row locate the row: the snapshot file's path and the row's
	// 0-based index within that file.
	File string
	Row  int64
}

// InvalidRow is a row that cannot be sent, with the reason. Reason names the
// column and the problem but never contains an email address or an
// attribute value, so it may be stored in workflow history.
type InvalidRow struct {
	File   string `json:"file"`
	Row    int64  `json:"row"`
	UserID string `json:"userId,omitempty"` // empty when the user id is missing
	Reason string `json:"reason"`
}

// Handler receives the rows of a snapshot in file order.
type Handler interface {
	User(u *User) error
	Invalid(r InvalidRow) error
}

// Stats counts what Scan read.
type Stats struct {
	Files   int   `json:"files"`
	Rows    int64 `json:"rows"`
	Users   int64 `json:"users"`
	Invalid int64 `json:"invalid"`
}

// Scan, implemented in scan.go, reads the snapshot at location (one file, a
// directory of part files, or a glob), checks cfg against its schema, and
// calls h for every row in a stable order. Errors that no retry can fix wrap
// ErrInvalidConfig (the mapping does not fit the schema) or ErrInvalidSnapshot
// (a file is unreadable, corrupt or not Parquet).

// ErrInvalidConfig marks a mapping that does not fit the snapshot's schema.
var ErrInvalidConfig = errors.New("invalid mapping")

// ErrInvalidSnapshot marks a snapshot file that cannot be read.
var ErrInvalidSnapshot = errors.New("invalid snapshot")
