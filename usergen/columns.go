package usergen

import (
	"fmt"

	"github.com/xitongsys/parquet-go/common"
	"github.com/xitongsys/parquet-go/layout"
	"github.com/xitongsys/parquet-go/parquet"
	"github.com/xitongsys/parquet-go/schema"
)

// Column names of the table, in file order. They match the user table of
// the project's Parquet test files, including a dot and a space in the last
// two names.
const (
	ColUserID       = "user_id"
	ColEmail        = "email"
	ColPlan         = "plan"
	ColSeats        = "seats"
	ColMRR          = "mrr"
	ColScore        = "score"
	ColIsAdmin      = "is_admin"
	ColSignupAt     = "signup_at"
	ColLastSeenDate = "last_seen_date"
	ColCountry      = "country"
	ColUTMSource    = "utm.source"
	ColDisplayName  = "display name"
)

// columnNames lists the column names in file order.
var columnNames = [numColumns]string{
	ColUserID, ColEmail, ColPlan, ColSeats, ColMRR, ColScore, ColIsAdmin,
	ColSignupAt, ColLastSeenDate, ColCountry, ColUTMSource, ColDisplayName,
}

// Column positions in columnNames and in the schema.
const (
	colUserID = iota
	colEmail
	colPlan
	colSeats
	colMRR
	colScore
	colIsAdmin
	colSignupAt
	colLastSeenDate
	colCountry
	colUTMSource
	colDisplayName
	numColumns
)

// schemaElements returns the Parquet schema: the root, then one leaf per
// column with the physical and converted types of the project's user-table
// test files (written by DuckDB), plus the matching logical types. user_id
// and plan are REQUIRED. The rest are OPTIONAL, as in those files, even
// where this generator writes no nulls.
func schemaElements() []*parquet.SchemaElement {
	required := parquet.FieldRepetitionType_REQUIRED
	optional := parquet.FieldRepetitionType_OPTIONAL
	leaf := func(name string, t parquet.Type, rep parquet.FieldRepetitionType) *parquet.SchemaElement {
		return &parquet.SchemaElement{Name: name, Type: &t, RepetitionType: &rep}
	}
	converted := func(e *parquet.SchemaElement, ct parquet.ConvertedType) *parquet.SchemaElement {
		e.ConvertedType = &ct
		return e
	}
	text := func(name string, rep parquet.FieldRepetitionType) *parquet.SchemaElement {
		e := converted(leaf(name, parquet.Type_BYTE_ARRAY, rep), parquet.ConvertedType_UTF8)
		e.LogicalType = &parquet.LogicalType{STRING: &parquet.StringType{}}
		return e
	}

	mrr := converted(leaf(ColMRR, parquet.Type_INT64, optional), parquet.ConvertedType_DECIMAL)
	scale, precision := int32(2), int32(18)
	mrr.Scale, mrr.Precision = &scale, &precision
	mrr.LogicalType = &parquet.LogicalType{
		DECIMAL: &parquet.DecimalType{Scale: scale, Precision: precision},
	}

	signup := converted(leaf(ColSignupAt, parquet.Type_INT64, optional),
		parquet.ConvertedType_TIMESTAMP_MICROS)
	signup.LogicalType = &parquet.LogicalType{TIMESTAMP: &parquet.TimestampType{
		IsAdjustedToUTC: true,
		Unit:            &parquet.TimeUnit{MICROS: &parquet.MicroSeconds{}},
	}}

	lastSeen := converted(leaf(ColLastSeenDate, parquet.Type_INT32, optional),
		parquet.ConvertedType_DATE)
	lastSeen.LogicalType = &parquet.LogicalType{DATE: &parquet.DateType{}}

	children := int32(numColumns)
	root := &parquet.SchemaElement{Name: "schema", RepetitionType: &required, NumChildren: &children}
	return []*parquet.SchemaElement{
		root,
		converted(leaf(ColUserID, parquet.Type_INT64, required), parquet.ConvertedType_INT_64),
		text(ColEmail, optional),
		text(ColPlan, required),
		converted(leaf(ColSeats, parquet.Type_INT32, optional), parquet.ConvertedType_INT_32),
		mrr,
		leaf(ColScore, parquet.Type_DOUBLE, optional),
		leaf(ColIsAdmin, parquet.Type_BOOLEAN, optional),
		signup,
		lastSeen,
		text(ColCountry, optional),
		text(ColUTMSource, optional),
		text(ColDisplayName, optional),
	}
}

// boxed returns the strings of values as interface values, made once so
// that filling a column does not allocate for them.
func boxed(values []string) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}

var (
	boxedPlans        = boxed(plans)
	boxedCountries    = boxed(countries)
	boxedUTMSources   = boxed(utmSources)
	boxedDisplayNames = boxed(displayNames)
)

// batchTables holds one batch of rows as xitongsys column tables, the form
// its page encoder takes: one interface value per row, nil for a null,
// with definition level 1 for a value and 0 for a null in OPTIONAL columns.
type batchTables struct {
	tables [numColumns]*layout.Table
	nulls  [numColumns]int64 // null count per column
}

// newBatchTables makes empty tables for up to n rows, shaped after the
// schema handler's leaves.
func newBatchTables(sh *schema.SchemaHandler, n int) (*batchTables, error) {
	if len(sh.ValueColumns) != numColumns {
		return nil, fmt.Errorf("internal error: the schema handler has %d leaf columns, not %d",
			len(sh.ValueColumns), numColumns)
	}
	b := &batchTables{}
	noRepetition := make([]int32, n) // flat columns: every repetition level is 0
	for c, path := range sh.ValueColumns {
		index := sh.MapIndex[path]
		el := sh.SchemaElements[index]
		t := layout.NewEmptyTable()
		t.Path = common.StrToPath(path)
		t.Schema = el
		t.Info = sh.Infos[index]
		t.RepetitionType = el.GetRepetitionType()
		if t.RepetitionType == parquet.FieldRepetitionType_OPTIONAL {
			t.MaxDefinitionLevel = 1
		}
		t.Values = make([]any, 0, n)
		t.DefinitionLevels = make([]int32, 0, n)
		t.RepetitionLevels = noRepetition[:0]
		b.tables[c] = t
	}
	return b, nil
}

// reset empties the tables for reuse. Call it only after xitongsys has made
// the tables' pages, because only then does it hold no reference to them.
func (b *batchTables) reset() {
	for _, t := range b.tables {
		clear(t.Values) // lets the collector free the values now
		t.Values = t.Values[:0]
		t.DefinitionLevels = t.DefinitionLevels[:0]
		t.RepetitionLevels = t.RepetitionLevels[:0]
	}
	b.nulls = [numColumns]int64{}
}

// capacity returns the number of rows b has room for.
func (b *batchTables) capacity() int {
	return cap(b.tables[0].Values)
}

// add appends v to column c; a nil v is a null.
func (b *batchTables) add(c int, v any) {
	t := b.tables[c]
	t.Values = append(t.Values, v)
	t.RepetitionLevels = t.RepetitionLevels[:len(t.Values)]
	if v == nil {
		t.DefinitionLevels = append(t.DefinitionLevels, 0)
		b.nulls[c]++
	} else {
		t.DefinitionLevels = append(t.DefinitionLevels, t.MaxDefinitionLevel)
	}
}

// addUser appends the values of u to every column.
func (b *batchTables) addUser(u *user) {
	for c, v := range u.values() {
		b.add(c, v)
	}
}

// values returns the column values of u in the types xitongsys encodes
// (int32, int64, float64, bool, string), nil for a null.
func (u *user) values() [numColumns]any {
	var v [numColumns]any
	v[colUserID] = u.id
	v[colEmail] = u.email
	v[colPlan] = boxedPlans[u.plan]
	if !u.seatsNull {
		v[colSeats] = u.seats
	}
	if !u.mrrNull {
		v[colMRR] = u.mrr
	}
	if !u.scoreNull {
		v[colScore] = u.score
	}
	if !u.isAdminNull {
		v[colIsAdmin] = u.isAdmin
	}
	v[colSignupAt] = u.signupAt
	v[colLastSeenDate] = u.lastSeen
	v[colCountry] = boxedCountries[u.country]
	if !u.utmNull {
		v[colUTMSource] = boxedUTMSources[u.utmSource]
	}
	v[colDisplayName] = boxedDisplayNames[u.nameIndex()]
	return v
}

// tableMap returns the tables keyed by the schema handler's column paths,
// as a xitongsys MarshalFunc returns them.
func (b *batchTables) tableMap(sh *schema.SchemaHandler) *map[string]*layout.Table {
	m := make(map[string]*layout.Table, numColumns)
	for c, path := range sh.ValueColumns {
		m[path] = b.tables[c]
	}
	return &m
}
