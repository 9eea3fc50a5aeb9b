package mapping

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/sprigsync/sprigsync/snapshot"
)

// DefaultUserIDColumn is the user-id column used when Config.UserIDColumn is
// empty.
const DefaultUserIDColumn = "user_id"

// MaxAttributes is the number of attribute values Sprig accepts in one user.
const MaxAttributes = 100

// valueFormat selects how one column's values are written as JSON.
type valueFormat uint8

const (
	fmtBool valueFormat = iota + 1
	fmtInt
	fmtUint
	fmtFloat32
	fmtFloat16
	fmtDouble
	fmtDecimalInt
	fmtDecimalBytes
	fmtString
	fmtUUID
	fmtDate
	fmtTime
	fmtTimestamp
	fmtInt96
)

// column is one column of the mapping as found in one file.
type column struct {
	name   string // column name in the file
	index  int    // index in snapshot.File.Columns
	format valueFormat
	scale  int   // decimals
	ticks  int64 // TIME and TIMESTAMP: units per second
	class  string
}

// attribute is a column sent as an attribute.
type attribute struct {
	column
	attr string // attribute name
	key  []byte // `,"attr":` with the name escaped
	// keyBlock is key padded to a block that build copies as four words,
	// when key fits in it.
	keyBlock [32]byte
	// reasons for rows this column makes invalid, built once
	badUTF8, badRange string
}

// filePlan is the mapping resolved against one file's schema.
type filePlan struct {
	path  string
	rows  int64
	id    column
	email *column
	attrs []attribute // sorted by attribute name
}

// configError returns an error wrapping ErrInvalidConfig.
func configError(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
}

// checkConfig checks what can be checked in cfg without a file.
func checkConfig(cfg Config) error {
	seen := make(map[string]string, len(cfg.Attributes))
	for _, col := range slices.Sorted(maps.Keys(cfg.Attributes)) {
		name := cfg.Attributes[col]
		switch {
		case col == "":
			return configError("Attributes has an empty column name; remove that entry")
		case name == "":
			return configError("Attributes maps column %q to an empty attribute name;"+
				" give the attribute a name", col)
		case !utf8.ValidString(name):
			return configError("attribute name for column %q is not valid UTF-8;"+
				" rename the attribute", col)
		}
		if other, dup := seen[name]; dup {
			return configError("columns %q and %q are both mapped to attribute %q;"+
				" map each attribute from one column", other, col, name)
		}
		seen[name] = col
	}
	return nil
}

// planFile resolves cfg against the schema of f.
func planFile(f *snapshot.File, cfg Config) (*filePlan, error) {
	p := &filePlan{path: f.Path, rows: f.NumRows}
	if err := checkUniqueNames(f); err != nil {
		return nil, err
	}

	idName := cfg.UserIDColumn
	if idName == "" {
		idName = DefaultUserIDColumn
	}
	id, err := resolveColumn(f, idName, "user-id column", "set UserIDColumn to the column that holds user ids")
	if err != nil {
		return nil, err
	}
	if !isUserIDKind(&f.Columns[id.index]) {
		c := &f.Columns[id.index]
		return nil, configError("file %q: user-id column %q has type %s; a user id must be an"+
			" integer, a decimal with scale 0 or a string: set UserIDColumn to such a column"+
			" or cast the column in the export", f.Path, c.Name, c.Type)
	}
	p.id = id

	if cfg.EmailColumn != "" {
		email, err := resolveColumn(f, cfg.EmailColumn, "email column",
			"set EmailColumn to the column that holds email addresses, or leave it empty")
		if err != nil {
			return nil, err
		}
		if email.format != fmtString {
			c := &f.Columns[email.index]
			return nil, configError("file %q: email column %q has type %s; it must be a string"+
				" column: set EmailColumn to a string column or leave it empty", f.Path, c.Name, c.Type)
		}
		p.email = &email
	}

	mapped := cfg.Attributes
	if len(mapped) == 0 {
		mapped = make(map[string]string, len(f.Columns))
		for _, c := range f.Columns {
			if c.Name != idName && c.Name != cfg.EmailColumn {
				mapped[c.Name] = c.Name
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(mapped)) {
		fix := "remove the column from Attributes"
		if len(cfg.Attributes) == 0 {
			fix = "list the columns to send in Attributes, leaving this one out"
		}
		c, err := resolveColumn(f, name, "attribute column", fix)
		if err != nil {
			return nil, err
		}
		p.attrs = append(p.attrs, newAttribute(c, mapped[name]))
	}
	sort.Slice(p.attrs, func(i, j int) bool { return p.attrs[i].attr < p.attrs[j].attr })
	return p, nil
}

func checkUniqueNames(f *snapshot.File) error {
	seen := make(map[string]bool, len(f.Columns))
	for _, c := range f.Columns {
		if seen[c.Name] {
			return fmt.Errorf("%w: file %q has two columns named %q; columns are matched by name,"+
				" so export the snapshot with unique column names", ErrInvalidSnapshot, f.Path, c.Name)
		}
		seen[c.Name] = true
	}
	return nil
}

// resolveColumn finds the column called name in f and checks that it can be
// read and sent. role and fix word the error.
func resolveColumn(f *snapshot.File, name, role, fix string) (column, error) {
	i := f.Column(name)
	if i < 0 {
		return column{}, configError("file %q: %s %q not found (%s); the file's columns are %s",
			f.Path, role, name, fix, columnList(f, name))
	}
	c := &f.Columns[i]
	if c.Kind == snapshot.KindUnsupported {
		return column{}, configError("file %q: %s %q cannot be sent: %s; %s",
			f.Path, role, name, c.Unsupported, fix)
	}
	if c.Kind == snapshot.KindBinary {
		return column{}, configError("file %q: %s %q has type %s, raw bytes with no STRING"+
			" annotation, which are not sent (Sprig cannot delete an attribute written by"+
			" mistake); %s, or export the column as a string", f.Path, role, name, c.Type, fix)
	}
	if c.Unreadable != "" {
		return column{}, fmt.Errorf("%w: file %q: column %q: %s",
			ErrInvalidSnapshot, f.Path, name, c.Unreadable)
	}
	return newColumn(c, i), nil
}

// columnList lists the names of f's columns for an error message, putting
// first any that differ from name only in case.
func columnList(f *snapshot.File, name string) string {
	var near, rest []string
	for _, c := range f.Columns {
		q := fmt.Sprintf("%q", c.Name)
		if strings.EqualFold(c.Name, name) {
			near = append(near, q)
		} else {
			rest = append(rest, q)
		}
	}
	all := append(near, rest...)
	const maxListed = 30
	if len(all) > maxListed {
		return strings.Join(all[:maxListed], ", ") + fmt.Sprintf(" and %d more", len(all)-maxListed)
	}
	return strings.Join(all, ", ")
}

func isUserIDKind(c *snapshot.Column) bool {
	switch c.Kind {
	case snapshot.KindInt, snapshot.KindUint, snapshot.KindString:
		return true
	case snapshot.KindDecimal:
		return c.Scale == 0
	}
	return false
}

func newColumn(c *snapshot.Column, index int) column {
	col := column{name: c.Name, index: index, scale: c.Scale}
	switch c.Kind {
	case snapshot.KindBool:
		col.format, col.class = fmtBool, "boolean"
	case snapshot.KindInt:
		col.format, col.class = fmtInt, "integer"
	case snapshot.KindUint:
		col.format, col.class = fmtUint, "integer"
	case snapshot.KindFloat:
		col.format, col.class = fmtFloat32, "float"
	case snapshot.KindFloat16:
		col.format, col.class = fmtFloat16, "float16"
	case snapshot.KindDouble:
		col.format, col.class = fmtDouble, "double"
	case snapshot.KindDecimal:
		col.format = fmtDecimalInt
		if c.Storage == snapshot.StorageBytes {
			col.format = fmtDecimalBytes
		}
		col.class = fmt.Sprintf("decimal with scale %d", c.Scale)
		if c.Scale == 0 {
			col.class = "integer" // same text as an integer column
		}
	case snapshot.KindString:
		col.format, col.class = fmtString, "string"
	case snapshot.KindUUID:
		col.format, col.class = fmtUUID, "uuid"
	case snapshot.KindDate:
		col.format, col.class = fmtDate, "date"
	case snapshot.KindTime:
		col.format, col.class = fmtTime, "time"
		col.ticks = unitsPerSecond[c.Unit]
	case snapshot.KindTimestamp:
		col.format, col.class = fmtTimestamp, "timestamp"
		if c.Unit == snapshot.UnitInt96 {
			col.format = fmtInt96
		} else {
			col.ticks = unitsPerSecond[c.Unit]
		}
	}
	return col
}

func newAttribute(c column, name string) attribute {
	a := attribute{column: c, attr: name}
	a.key, _ = appendString([]byte(","), []byte(name))
	a.key = append(a.key, ':')
	copy(a.keyBlock[:], a.key)
	a.badUTF8 = fmt.Sprintf("invalid UTF-8 in column %q", c.name)
	switch c.format {
	case fmtDate:
		a.badRange = fmt.Sprintf("date in column %q is outside the years 0000 to 9999", c.name)
	case fmtTimestamp, fmtInt96:
		a.badRange = fmt.Sprintf("timestamp in column %q is outside the years 0000 to 9999", c.name)
	case fmtTime:
		a.badRange = fmt.Sprintf("time of day in column %q is outside 00:00:00 to 23:59:59.999999999", c.name)
	case fmtDecimalBytes:
		a.badRange = fmt.Sprintf("empty decimal value in column %q", c.name)
	}
	return a
}

// checkSameTypes checks that p maps the same columns as first, with values of
// the same class, so that all files give the same JSON for the same data.
func checkSameTypes(first, p *filePlan) error {
	mismatch := func(a, b column) error {
		return configError("column %q is %s in file %q but %s in file %q; all files of a"+
			" snapshot must give a mapped column the same type: export them with one schema",
			a.name, a.class, first.path, b.class, p.path)
	}
	if first.id.class != p.id.class && !(isIDText(first.id) && isIDText(p.id)) {
		return mismatch(first.id, p.id)
	}
	if p.email != nil && first.email.class != p.email.class {
		return mismatch(*first.email, *p.email)
	}
	if len(first.attrs) != len(p.attrs) {
		return extraColumnError(first, p)
	}
	for i := range first.attrs {
		a, b := first.attrs[i], p.attrs[i]
		if a.name != b.name {
			return extraColumnError(first, p)
		}
		if a.class != b.class {
			return mismatch(a.column, b.column)
		}
	}
	return nil
}

// isIDText reports whether a user-id column's text is the same for the same
// digits: integer and string ids both are.
func isIDText(c column) bool {
	return c.class == "integer" || c.class == "string"
}

func extraColumnError(first, p *filePlan) error {
	have := make(map[string]bool)
	for _, a := range first.attrs {
		have[a.name] = true
	}
	for _, a := range p.attrs {
		if !have[a.name] {
			return configError("file %q has column %q, which file %q lacks; with Attributes"+
				" empty every column is sent, so all files must have the same columns: list"+
				" the columns to send in Attributes", p.path, a.name, first.path)
		}
	}
	return configError("file %q lacks columns that file %q has; list the columns to send in"+
		" Attributes", p.path, first.path)
}
