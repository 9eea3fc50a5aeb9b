package mapping

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/sprigsync/sprigsync/snapshot"
)

var null = parquet.Value{}

func opt(n parquet.Node) parquet.Node { return parquet.Optional(n) }

func i32(v int32) parquet.Value   { return parquet.Int32Value(v) }
func i64(v int64) parquet.Value   { return parquet.Int64Value(v) }
func f64(v float64) parquet.Value { return parquet.DoubleValue(v) }
func str(s string) parquet.Value  { return parquet.ByteArrayValue([]byte(s)) }
func fixed(b ...byte) parquet.Value {
	return parquet.FixedLenByteArrayValue(b)
}

// int96 returns an INT96 value for an instant: nanoseconds of the day, then
// the Julian day number.
func int96(t time.Time) parquet.Value {
	days := t.Unix() / 86400
	if t.Unix() < 0 && t.Unix()%86400 != 0 {
		days--
	}
	nod := uint64(t.Sub(time.Unix(days*86400, 0)).Nanoseconds())
	return parquet.Int96Value(deprecated.Int96{uint32(nod), uint32(nod >> 32), uint32(days + 2440588)})
}

// be returns v as n big-endian two's complement bytes.
func be(v int64, n int) []byte {
	b := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	return b
}

var (
	utc   = time.UTC
	day1  = time.Date(2023, 1, 8, 12, 34, 56, 123456789, utc)
	ymax  = time.Date(9999, 12, 31, 23, 59, 59, 999999999, utc)
	ymin  = time.Date(1, 1, 1, 0, 0, 0, 0, utc)
	epoch = time.Unix(0, 0).UTC()
)

func daysOf(t time.Time) int32 { return int32(t.Unix() / 86400) }

// typeMappingTests are the rows of docs/type-mapping.md: a column of one
// Parquet type, its values, and the exact attribute JSON of each value (""
// when the attribute is left out).
var typeMappingTests = []struct {
	name   string
	node   parquet.Node
	values []parquet.Value
	want   []string
}{
	{"BOOLEAN", opt(parquet.Leaf(parquet.BooleanType)),
		[]parquet.Value{parquet.BooleanValue(true), parquet.BooleanValue(false), null},
		[]string{"true", "false", ""}},
	{"INT32", opt(parquet.Leaf(parquet.Int32Type)),
		[]parquet.Value{i32(0), i32(-2147483648), i32(2147483647)},
		[]string{"0", "-2147483648", "2147483647"}},
	{"INT32 INT(8, signed)", opt(parquet.Int(8)),
		[]parquet.Value{i32(-128), i32(127)},
		[]string{"-128", "127"}},
	{"INT32 UINT(32)", opt(parquet.Uint(32)),
		[]parquet.Value{i32(-1), i32(7)},
		[]string{"4294967295", "7"}},
	{"INT64", opt(parquet.Leaf(parquet.Int64Type)),
		[]parquet.Value{i64(1 << 53), i64(-1 << 53), i64(1<<53 + 1), i64(-1<<53 - 1),
			i64(math.MaxInt64), i64(math.MinInt64)},
		[]string{"9007199254740992", "-9007199254740992", `"9007199254740993"`,
			`"-9007199254740993"`, `"9223372036854775807"`, `"-9223372036854775808"`}},
	{"INT64 UINT(64)", opt(parquet.Uint(64)),
		[]parquet.Value{i64(1 << 53), i64(-1)},
		[]string{"9007199254740992", `"18446744073709551615"`}},
	{"DOUBLE", opt(parquet.Leaf(parquet.DoubleType)),
		[]parquet.Value{f64(0.1), f64(23.100615624516628), f64(1e21), f64(1e20), f64(1e-7),
			f64(0.000001), f64(-2.5), f64(math.Copysign(0, -1)), f64(5e-324),
			f64(math.MaxFloat64), f64(math.NaN()), f64(math.Inf(1)), f64(math.Inf(-1))},
		[]string{"0.1", "23.100615624516628", "1e+21", "100000000000000000000", "1e-7",
			"0.000001", "-2.5", "0", "5e-324", "1.7976931348623157e+308", "", "", ""}},
	{"FLOAT", opt(parquet.Leaf(parquet.FloatType)),
		[]parquet.Value{parquet.FloatValue(1.1), parquet.FloatValue(16777216),
			parquet.FloatValue(float32(math.NaN()))},
		[]string{"1.1", "16777216", ""}},
	{"INT32 DECIMAL(9,2)", opt(parquet.Decimal(2, 9, parquet.Int32Type)),
		[]parquet.Value{i32(-1250), i32(5), i32(0), i32(999999999)},
		[]string{"-12.50", "0.05", "0.00", "9999999.99"}},
	{"INT64 DECIMAL(18,2)", opt(parquet.Decimal(2, 18, parquet.Int64Type)),
		[]parquet.Value{i64(999999999999999), i64(9999999999999999), i64(999999999999999999),
			i64(-999999999999999999)},
		[]string{"9999999999999.99", `"99999999999999.99"`, `"9999999999999999.99"`,
			`"-9999999999999999.99"`}},
	{"INT64 DECIMAL(18,0)", opt(parquet.Decimal(0, 18, parquet.Int64Type)),
		[]parquet.Value{i64(42), i64(123456789012345678), i64(1000000000000000), i64(9007199254740993)},
		[]string{"42", `"123456789012345678"`, "1000000000000000", `"9007199254740993"`}},
	{"FIXED_LEN_BYTE_ARRAY(16) DECIMAL(38,10)", opt(parquet.Decimal(10, 38, parquet.FixedLenByteArrayType(16))),
		[]parquet.Value{fixed(be(15, 16)...), fixed(be(-15, 16)...),
			fixed(0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
			fixed(0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)},
		[]string{"0.0000000015", "-0.0000000015",
			`"17014118346046923173168730371.5884105727"`, `"-17014118346046923173168730371.5884105728"`}},
	{"BYTE_ARRAY DECIMAL(4,2)", opt(parquet.Decimal(2, 4, parquet.ByteArrayType)),
		[]parquet.Value{str("\x04\xd2"), str("\xfb\x2e"), str("\x00")},
		[]string{"12.34", "-12.34", "0.00"}},
	{"INT32 DATE", opt(parquet.Date()),
		[]parquet.Value{i32(0), i32(-165), i32(24856), i32(daysOf(ymax)), i32(daysOf(ymin)), i32(daysOf(ymax) + 1)},
		[]string{`"1970-01-01"`, `"1969-07-20"`, `"2038-01-20"`, `"9999-12-31"`, `"0001-01-01"`, "invalid"}},
	{"INT64 TIMESTAMP(MILLIS, UTC)", opt(parquet.Timestamp(parquet.Millisecond)),
		[]parquet.Value{i64(day1.UnixMilli()), i64(-1), i64(0)},
		[]string{`"2023-01-08T12:34:56.123Z"`, `"1969-12-31T23:59:59.999Z"`, `"1970-01-01T00:00:00Z"`}},
	{"INT64 TIMESTAMP(MICROS, UTC)", opt(parquet.Timestamp(parquet.Microsecond)),
		[]parquet.Value{i64(day1.UnixMicro()), i64(ymax.UnixMicro()), i64(ymin.UnixMicro()),
			i64(ymax.UnixMicro() + 1), i64(1_500_000)},
		[]string{`"2023-01-08T12:34:56.123456Z"`, `"9999-12-31T23:59:59.999999Z"`,
			`"0001-01-01T00:00:00Z"`, "invalid", `"1970-01-01T00:00:01.5Z"`}},
	{"INT64 TIMESTAMP(MICROS, local)", opt(parquet.TimestampAdjusted(parquet.Microsecond, false)),
		[]parquet.Value{i64(day1.UnixMicro())},
		[]string{`"2023-01-08T12:34:56.123456Z"`}},
	{"INT64 TIMESTAMP(NANOS, UTC)", opt(parquet.Timestamp(parquet.Nanosecond)),
		[]parquet.Value{i64(day1.UnixNano()), i64(math.MaxInt64), i64(math.MinInt64)},
		[]string{`"2023-01-08T12:34:56.123456789Z"`, `"2262-04-11T23:47:16.854775807Z"`,
			`"1677-09-21T00:12:43.145224192Z"`}},
	{"INT96", opt(parquet.Leaf(parquet.Int96Type)),
		[]parquet.Value{int96(day1), int96(ymax), int96(epoch.Add(-time.Nanosecond))},
		[]string{`"2023-01-08T12:34:56.123456789Z"`, `"9999-12-31T23:59:59.999999999Z"`,
			`"1969-12-31T23:59:59.999999999Z"`}},
	{"INT32 TIME(MILLIS)", opt(parquet.Time(parquet.Millisecond)),
		[]parquet.Value{i32(45296789), i32(0), i32(86399999), i32(86400000)},
		[]string{`"12:34:56.789"`, `"00:00:00"`, `"23:59:59.999"`, "invalid"}},
	{"INT64 TIME(MICROS)", opt(parquet.Time(parquet.Microsecond)),
		[]parquet.Value{i64(45296000001)},
		[]string{`"12:34:56.000001"`}},
	{"INT64 TIME(NANOS)", opt(parquet.Time(parquet.Nanosecond)),
		[]parquet.Value{i64(45296123456789), i64(-1)},
		[]string{`"12:34:56.123456789"`, "invalid"}},
	{"BYTE_ARRAY STRING", opt(parquet.String()),
		[]parquet.Value{str(""), str("Côte d’Ivoire 日本 🇫🇷"), str("a\"b\\c/d\n\t\r\b\f\x01\x7f"),
			str("\u2028\u2029<&>"), str("bad \xff utf-8")},
		[]string{`""`, `"Côte d’Ivoire 日本 🇫🇷"`, `"a\"b\\c/d\n\t\r\b\f\u0001` + "\x7f" + `"`,
			`"\u2028\u2029<&>"`, "invalid"}},
	{"BYTE_ARRAY ENUM", opt(parquet.Enum()),
		[]parquet.Value{str("pro")},
		[]string{`"pro"`}},
	{"BYTE_ARRAY JSON", opt(parquet.JSON()),
		[]parquet.Value{str(`{"a":1}`)},
		[]string{`"{\"a\":1}"`}},
	{"FIXED_LEN_BYTE_ARRAY(16) UUID", opt(parquet.UUID()),
		[]parquet.Value{fixed(0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3, 0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x00)},
		[]string{`"123e4567-e89b-12d3-a456-426614174000"`}},
}

func TestTypeMapping(t *testing.T) {
	for _, tt := range typeMappingTests {
		t.Run(tt.name, func(t *testing.T) {
			path := tempPath(t, "types.parquet")
			writeParquet(t, path, []testColumn{
				idColumn(len(tt.values)),
				{name: "v", node: tt.node, values: tt.values},
			})
			got, _ := scanAll(t, path, Config{})

			var want []record
			for i, w := range tt.want {
				id := strconv.Itoa(i + 1)
				r := record{File: path, Row: int64(i), UserID: id}
				switch w {
				case "":
					r.Body = `{"userId":"` + id + `","attributes":{}}`
				case "invalid":
					r.Invalid = invalidReason(tt.name)
				default:
					r.Body = `{"userId":"` + id + `","attributes":{"v":` + w + `}}`
				}
				want = append(want, r)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
		})
	}
}

// invalidReason returns the reason for an invalid value of column "v" of
// the named type.
func invalidReason(typeName string) string {
	switch {
	case strings.Contains(typeName, "TIMESTAMP"):
		return `timestamp in column "v" is outside the years 0000 to 9999`
	case strings.Contains(typeName, "DATE"):
		return `date in column "v" is outside the years 0000 to 9999`
	case strings.Contains(typeName, "TIME"):
		return `time of day in column "v" is outside 00:00:00 to 23:59:59.999999999`
	}
	return `invalid UTF-8 in column "v"`
}

func TestFloat16Text(t *testing.T) {
	tests := []struct {
		bits uint16
		want string
	}{
		{0x3c00, "1"},
		{0xc000, "-2"},
		{0x3555, "0.3333"},
		{0x3e00, "1.5"},
		{0x7bff, "65500"},
		{0x2400, "0.01563"}, // 0.015625, a power of two: the shortest text is below it
		{0xa400, "-0.01563"},
		{0x0001, "6e-8"},
		{0x0400, "0.00006104"},
		{0x8000, "0"},
		{0x7c00, ""},
		{0x7e00, ""},
	}
	for _, tt := range tests {
		got, ok := appendFloat16(nil, snapshot.Float16(tt.bits))
		if string(got) != tt.want || ok != (tt.want != "") {
			t.Errorf("FLOAT16 %#04x: got %q, %v; want %q", tt.bits, got, ok, tt.want)
		}
	}
}

func TestUserIDTypes(t *testing.T) {
	tests := []struct {
		name   string
		node   parquet.Node
		values []parquet.Value
		want   []string // UserID, or "" for an invalid row
	}{
		{"INT32", parquet.Leaf(parquet.Int32Type), []parquet.Value{i32(-7), i32(2147483647)},
			[]string{"-7", "2147483647"}},
		{"INT64", parquet.Leaf(parquet.Int64Type), []parquet.Value{i64(math.MaxInt64), i64(1<<53 + 1)},
			[]string{"9223372036854775807", "9007199254740993"}},
		{"UINT64", parquet.Uint(64), []parquet.Value{i64(-1)}, []string{"18446744073709551615"}},
		{"STRING", opt(parquet.String()), []parquet.Value{str("9007199254740993"), str(" "), null, str("a\"b")},
			[]string{"9007199254740993", "", "", "a\"b"}},
		{"DECIMAL(38,0)", parquet.Decimal(0, 38, parquet.FixedLenByteArrayType(16)),
			[]parquet.Value{fixed(be(-42, 16)...),
				fixed(0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)},
			[]string{"-42", "170141183460469231731687303715884105727"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tempPath(t, "ids.parquet")
			writeParquet(t, path, []testColumn{{name: "id", node: tt.node, values: tt.values}})
			got, _ := scanAll(t, path, Config{UserIDColumn: "id"})
			var ids []string
			for _, r := range got {
				ids = append(ids, r.UserID)
				if r.Invalid == "" && r.Body != `{"userId":`+jsonString(r.UserID)+`,"attributes":{}}` {
					t.Errorf("body %s does not match user id %q", r.Body, r.UserID)
				}
			}
			if diff := cmp.Diff(tt.want, ids); diff != "" {
				t.Errorf("user ids (-want +got):\n%s", diff)
			}
		})
	}
}

func jsonString(s string) string {
	b, _ := appendString(nil, []byte(s))
	return string(b)
}

func TestEmail(t *testing.T) {
	tests := []struct {
		value string
		want  string // emailAddress sent, "" for none, "invalid" for an invalid row
	}{
		{"user@example.com", "user@example.com"},
		{"  Padded.User@Example.COM \t", "Padded.User@Example.COM"},
		{"josé@exämple.com", "josé@exämple.com"},
		{"", ""},
		{"   ", ""},
		{"not-an-email", "invalid"},
		{"user@", "invalid"},
		{"@example.com", "invalid"},
		{"a@b@c.com", "invalid"},
		{"a@localhost", "invalid"},
		{"a@b..com", "invalid"},
		{"a@.b.com", "invalid"},
		{"a@b.com.", "invalid"},
		{"a b@c.com", "invalid"},
		{"a@b\u00a0c.com", "invalid"},
		{"a\x01@b.com", "invalid"},
		{"a\xff@b.com", "invalid"},
	}
	values := make([]parquet.Value, len(tests))
	for i, tt := range tests {
		values[i] = str(tt.value)
	}
	values = append(values, null)
	path := tempPath(t, "email.parquet")
	writeParquet(t, path, []testColumn{
		idColumn(len(values)),
		{name: "email", node: opt(parquet.String()), values: values},
	})
	got, _ := scanAll(t, path, Config{EmailColumn: "email"})
	for i, tt := range tests {
		id := got[i].UserID
		var want record
		switch tt.want {
		case "":
			want = record{Body: `{"userId":"` + id + `","attributes":{}}`}
		case "invalid":
			want = record{Invalid: `invalid email address in column "email"`}
		default:
			want = record{Body: `{"userId":"` + id + `","emailAddress":` + jsonString(tt.want) +
				`,"attributes":{}}`}
		}
		if diff := cmp.Diff(want, record{Body: got[i].Body, Invalid: got[i].Invalid}); diff != "" {
			t.Errorf("email %q (-want +got):\n%s", tt.value, diff)
		}
	}
	if last := got[len(got)-1]; last.Body != `{"userId":"18","attributes":{}}` {
		t.Errorf("null email: body %s", last.Body)
	}
}

func TestAttributeOrderAndNames(t *testing.T) {
	path := tempPath(t, "attrs.parquet")
	writeParquet(t, path, []testColumn{
		idColumn(2),
		{name: "b", node: opt(parquet.Leaf(parquet.Int32Type)), values: []parquet.Value{i32(1), null}},
		{name: "a", node: opt(parquet.String()), values: []parquet.Value{str("x"), str("y")}},
		{name: "C", node: opt(parquet.Leaf(parquet.Int32Type)), values: []parquet.Value{i32(3), i32(4)}},
		{name: "skip", node: opt(parquet.Leaf(parquet.Int32Type)), values: []parquet.Value{i32(5), i32(6)}},
	})
	cfg := Config{Attributes: map[string]string{"a": "zeta", "b": "alpha \"quoted\"", "C": "Mid"}}
	got, _ := scanAll(t, path, cfg)
	want := []string{
		`{"userId":"1","attributes":{"Mid":3,"alpha \"quoted\"":1,"zeta":"x"}}`,
		`{"userId":"2","attributes":{"Mid":4,"zeta":"y"}}`,
	}
	if diff := cmp.Diff(want, []string{got[0].Body, got[1].Body}); diff != "" {
		t.Errorf("bodies (-want +got):\n%s", diff)
	}
}

func TestTooManyAttributes(t *testing.T) {
	cols := []testColumn{idColumn(2)}
	for i := range MaxAttributes + 1 {
		name := "c" + string(rune('A'+i/26)) + string(rune('a'+i%26))
		second := null // row 2 has one null, so exactly MaxAttributes values
		if i > 0 {
			second = i32(int32(i))
		}
		cols = append(cols, testColumn{name: name, node: opt(parquet.Leaf(parquet.Int32Type)),
			values: []parquet.Value{i32(int32(i)), second}})
	}
	path := tempPath(t, "wide.parquet")
	writeParquet(t, path, cols)
	got, st := scanAll(t, path, Config{})
	if st.Users != 1 || st.Invalid != 1 {
		t.Fatalf("stats = %+v, want 1 user and 1 invalid", st)
	}
	if want := "too many attributes: 101 with values, Sprig accepts at most 100"; got[0].Invalid != want {
		t.Errorf("reason %q, want %q", got[0].Invalid, want)
	}
	if got[0].UserID != "1" {
		t.Errorf("UserID %q, want 1", got[0].UserID)
	}
}

func TestScanConfigErrors(t *testing.T) {
	dir := t.TempDir()
	good := dir + "/a.parquet"
	writeParquet(t, good, []testColumn{
		idColumn(1),
		{name: "email", node: opt(parquet.String()), values: []parquet.Value{str("a@b.co")}},
		{name: "seats", node: opt(parquet.Leaf(parquet.Int32Type)), values: []parquet.Value{i32(1)}},
		{name: "raw", node: opt(parquet.Leaf(parquet.ByteArrayType)), values: []parquet.Value{str("x")}},
		{name: "ts", node: opt(parquet.Leaf(parquet.DoubleType)), values: []parquet.Value{f64(1)}},
	})
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"missing user id", Config{UserIDColumn: "User_ID"},
			`user-id column "User_ID" not found (set UserIDColumn to the column that holds user ids);` +
				` the file's columns are "user_id", "email"`},
		{"default user id missing", Config{UserIDColumn: "id"}, `user-id column "id" not found`},
		{"user id of wrong type", Config{UserIDColumn: "ts"}, `user-id column "ts" has type DOUBLE`},
		{"missing email", Config{EmailColumn: "mail"}, `email column "mail" not found`},
		{"email not a string", Config{EmailColumn: "seats"}, `email column "seats" has type INT32`},
		{"missing attribute", Config{Attributes: map[string]string{"seat": "seats"}},
			`attribute column "seat" not found (remove the column from Attributes)`},
		{"binary attribute", Config{Attributes: map[string]string{"raw": "raw"}},
			`attribute column "raw" has type BYTE_ARRAY, raw bytes with no STRING annotation`},
		{"nested by default", Config{EmailColumn: "email"},
			`attribute column "raw" has type BYTE_ARRAY`},
		{"duplicate attribute name", Config{Attributes: map[string]string{"seats": "x", "ts": "x"}},
			`columns "seats" and "ts" are both mapped to attribute "x"`},
		{"empty attribute name", Config{Attributes: map[string]string{"seats": ""}},
			`Attributes maps column "seats" to an empty attribute name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c collector
			_, err := Scan(context.Background(), good, tt.cfg, &c)
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error %v does not wrap ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if len(c.records) != 0 {
				t.Errorf("handler received %d rows", len(c.records))
			}
		})
	}
}

func TestScanNestedColumnRejected(t *testing.T) {
	path := testdata + "/upstream/datapage_v2.snappy.parquet"
	var c collector
	_, err := Scan(context.Background(), path, Config{UserIDColumn: "b"}, &c)
	want := `file "` + path + `": attribute column "e" cannot be sent: nested columns (group LIST)` +
		` are not supported; Sprig attributes are strings, numbers or booleans; list the columns` +
		` to send in Attributes, leaving this one out`
	if !errors.Is(err, ErrInvalidConfig) || err.Error() != "invalid mapping: "+want {
		t.Errorf("error %v\nwant ErrInvalidConfig: %s", err, want)
	}
	got, _ := scanAll(t, path, Config{UserIDColumn: "b", Attributes: map[string]string{"a": "a", "d": "d"}})
	if want := `{"userId":"1","attributes":{"a":"abc","d":true}}`; got[0].Body != want {
		t.Errorf("body %s, want %s", got[0].Body, want)
	}
}

func TestScanSchemasDisagree(t *testing.T) {
	dir := t.TempDir()
	writeParquet(t, dir+"/a.parquet", []testColumn{idColumn(1),
		{name: "score", node: opt(parquet.Leaf(parquet.DoubleType)), values: []parquet.Value{f64(1)}}})
	writeParquet(t, dir+"/b.parquet", []testColumn{idColumn(1),
		{name: "score", node: opt(parquet.String()), values: []parquet.Value{str("1")}}})
	var c collector
	_, err := Scan(context.Background(), dir, Config{}, &c)
	want := `column "score" is double in file "` + dir + `/a.parquet" but string in file "` + dir + `/b.parquet"`
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want ErrInvalidConfig containing %q", err, want)
	}
	if len(c.records) != 0 {
		t.Errorf("handler received %d rows", len(c.records))
	}

	// Extra columns in a later file are an error when every column is sent.
	writeParquet(t, dir+"/b.parquet", []testColumn{idColumn(1),
		{name: "score", node: opt(parquet.Leaf(parquet.DoubleType)), values: []parquet.Value{f64(1)}},
		{name: "extra", node: opt(parquet.Leaf(parquet.DoubleType)), values: []parquet.Value{f64(1)}}})
	_, err = Scan(context.Background(), dir, Config{}, &c)
	if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), `has column "extra"`) {
		t.Errorf("error %v, want ErrInvalidConfig about column extra", err)
	}
	// Listing the attributes makes the extra column harmless.
	if _, err := Scan(context.Background(), dir, Config{Attributes: map[string]string{"score": "score"}},
		&c); err != nil {
		t.Errorf("Scan with listed attributes: %v", err)
	}
}

func TestScanHandlerErrorStops(t *testing.T) {
	stop := errors.New("stop here")
	h := &failingHandler{after: 3, err: stop}
	st, err := Scan(context.Background(), testdata+"/users/users.duckdb.snappy.parquet", usersConfig, h)
	if !errors.Is(err, stop) {
		t.Errorf("error %v, want the handler's error", err)
	}
	if h.calls != 4 || st.Rows != 4 {
		t.Errorf("handler called %d times, %d rows counted; want 4 and 4", h.calls, st.Rows)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Scan(ctx, testdata+"/users/users.duckdb.snappy.parquet", usersConfig, &collector{}); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

type failingHandler struct {
	after, calls int
	err          error
}

func (h *failingHandler) User(*User) error {
	h.calls++
	if h.calls > h.after {
		return h.err
	}
	return nil
}

func (h *failingHandler) Invalid(InvalidRow) error { return h.User(nil) }
