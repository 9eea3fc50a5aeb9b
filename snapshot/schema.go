package snapshot

import (
	"fmt"

	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"
)

// Kind is the logical type of a column, as the mapping converts it.
type Kind uint8

// Kinds of columns. The comment on each gives the [Storage] of its values.
const (
	KindUnsupported Kind = iota // no values; Column.Unsupported gives the reason
	KindBool                    // Bool
	KindInt                     // Int: signed integer
	KindUint                    // Int: unsigned integer, stored as the bits of a uint64
	KindFloat                   // Float: FLOAT widened to float64
	KindFloat16                 // Float: FLOAT16 widened to float64
	KindDouble                  // Float
	KindDecimal                 // Int (INT32, INT64) or Bytes (big-endian two's complement)
	KindString                  // Bytes: STRING, ENUM or JSON, expected to be UTF-8
	KindBinary                  // Bytes: BYTE_ARRAY or FIXED_LEN_BYTE_ARRAY with no annotation
	KindUUID                    // Bytes: 16 bytes
	KindDate                    // Int: days since 1970-01-01
	KindTime                    // Int: time of day in Column.Unit
	KindTimestamp               // Int: time since 1970-01-01T00:00:00 in Column.Unit, or Bytes for INT96
)

var kindNames = [...]string{
	KindUnsupported: "unsupported",
	KindBool:        "boolean",
	KindInt:         "integer",
	KindUint:        "unsigned integer",
	KindFloat:       "float",
	KindFloat16:     "float16",
	KindDouble:      "double",
	KindDecimal:     "decimal",
	KindString:      "string",
	KindBinary:      "binary",
	KindUUID:        "uuid",
	KindDate:        "date",
	KindTime:        "time",
	KindTimestamp:   "timestamp",
}

// String returns the kind's lower-case name, such as "timestamp".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Storage names the field of [Values] that contains a column's values.
type Storage uint8

// Storages of column values.
const (
	StorageNone  Storage = iota // unsupported column
	StorageBool                 // Values.Bool
	StorageInt                  // Values.Int
	StorageFloat                // Values.Float
	StorageBytes                // Values.Bytes
)

// Unit is the unit of a TIME or TIMESTAMP column's integer values.
type Unit uint8

// Time units.
const (
	UnitNone Unit = iota
	UnitMillis
	UnitMicros
	UnitNanos
	UnitInt96 // 12-byte INT96 values: nanoseconds of the day, then the Julian day
)

// Column describes one top-level field of a file's schema.
type Column struct {
	// Name is the field's name as written in the file; it may contain dots
	// and spaces.
	Name string

	// Kind and Storage describe how values are read. Kind is
	// KindUnsupported for columns the reader cannot deliver (nested groups,
	// repeated fields, unknown annotations), and Unsupported gives the reason.
	Kind        Kind
	Storage     Storage
	Unsupported string

	// Type is the Parquet type as text for messages, for example
	// "INT64 TIMESTAMP(MICROS, UTC)" or "FIXED_LEN_BYTE_ARRAY(16) DECIMAL(38,0)".
	Type string

	// Physical is the Parquet physical type and Length the byte length of a
	// FIXED_LEN_BYTE_ARRAY.
	Physical format.Type
	Length   int

	// Scale and Precision apply to KindDecimal.
	Scale, Precision int

	// Unit applies to KindTime and KindTimestamp. AdjustedToUTC is the
	// annotation's isAdjustedToUTC flag (true for the legacy converted types).
	Unit          Unit
	AdjustedToUTC bool

	// Optional is true when the column may hold nulls.
	Optional bool

	// Unreadable, when not empty, says why the column's data cannot be
	// decoded in this file (for example an unsupported compression codec),
	// although its type is supported.
	Unreadable string

	leaf int // index of the leaf column in the file's column chunks; -1 for groups
}

// classify fills in the type fields of c from the schema element of a
// primitive (leaf) field.
func classify(c *Column, se *format.SchemaElement) {
	c.Physical = se.Type.V
	c.Length = int(se.TypeLength.V)
	c.Type = physicalName(se)
	if a := annotationName(se); a != "" {
		c.Type += " " + a
	}

	unsupported := func(why string) {
		c.Kind, c.Storage, c.Unsupported = KindUnsupported, StorageNone, why
	}
	set := func(k Kind, s Storage) { c.Kind, c.Storage = k, s }

	lt := se.LogicalType.Value
	ct, hasCT := se.ConvertedType.V, se.ConvertedType.Valid
	switch se.Type.V {
	case format.Boolean:
		set(KindBool, StorageBool)

	case format.Int32, format.Int64:
		switch t := lt.(type) {
		case nil:
			classifyConvertedInt(c, ct, hasCT, se)
		case *format.IntType:
			if t.IsSigned {
				set(KindInt, StorageInt)
			} else {
				set(KindUint, StorageInt)
			}
		case *format.DecimalType:
			setDecimal(c, int(t.Scale), int(t.Precision), StorageInt)
		case *format.DateType:
			set(KindDate, StorageInt)
		case *format.TimeType:
			set(KindTime, StorageInt)
			c.Unit, c.AdjustedToUTC = unitOf(&t.Unit), t.IsAdjustedToUTC
		case *format.TimestampType:
			set(KindTimestamp, StorageInt)
			c.Unit, c.AdjustedToUTC = unitOf(&t.Unit), t.IsAdjustedToUTC
		default:
			unsupported("the annotation " + lt.String() + " is not supported")
		}
		if c.Kind == KindTime || c.Kind == KindTimestamp {
			if c.Unit == UnitNone {
				unsupported("the time unit of " + lt.String() + " is not supported")
			}
			if c.Kind == KindTime && (c.Physical == format.Int32) != (c.Unit == UnitMillis) {
				unsupported("a TIME column must be INT32 with MILLIS or INT64 with MICROS or NANOS")
			}
		}

	case format.Int96:
		if lt != nil || hasCT {
			unsupported("INT96 with an annotation is not supported")
			return
		}
		// INT96 is only ever written for timestamps (Impala, Hive, old Spark).
		set(KindTimestamp, StorageBytes)
		c.Unit, c.AdjustedToUTC = UnitInt96, true

	case format.Float:
		set(KindFloat, StorageFloat)

	case format.Double:
		set(KindDouble, StorageFloat)

	case format.ByteArray, format.FixedLenByteArray:
		classifyBytes(c, lt, ct, hasCT, se)

	default:
		unsupported(fmt.Sprintf("the physical type %d is not a Parquet type", se.Type.V))
	}
}

func classifyConvertedInt(c *Column, ct deprecated.ConvertedType, hasCT bool, se *format.SchemaElement) {
	set := func(k Kind) { c.Kind, c.Storage = k, StorageInt }
	if !hasCT {
		set(KindInt)
		return
	}
	switch ct {
	case deprecated.Int8, deprecated.Int16, deprecated.Int32, deprecated.Int64:
		set(KindInt)
	case deprecated.Uint8, deprecated.Uint16, deprecated.Uint32, deprecated.Uint64:
		set(KindUint)
	case deprecated.Decimal:
		setDecimal(c, int(se.Scale.V), int(se.Precision.V), StorageInt)
	case deprecated.Date:
		set(KindDate)
	case deprecated.TimeMillis:
		set(KindTime)
		c.Unit, c.AdjustedToUTC = UnitMillis, true
	case deprecated.TimeMicros:
		set(KindTime)
		c.Unit, c.AdjustedToUTC = UnitMicros, true
	case deprecated.TimestampMillis:
		set(KindTimestamp)
		c.Unit, c.AdjustedToUTC = UnitMillis, true
	case deprecated.TimestampMicros:
		set(KindTimestamp)
		c.Unit, c.AdjustedToUTC = UnitMicros, true
	default:
		c.Kind, c.Storage = KindUnsupported, StorageNone
		c.Unsupported = "the converted type " + convertedName(ct) + " is not supported on " +
			se.Type.V.String()
	}
	if c.Kind == KindTime && (c.Physical == format.Int32) != (c.Unit == UnitMillis) {
		c.Kind, c.Storage = KindUnsupported, StorageNone
		c.Unsupported = "a TIME column must be INT32 with MILLIS or INT64 with MICROS or NANOS"
	}
}

func classifyBytes(c *Column, lt format.LogicalTypeValue, ct deprecated.ConvertedType, hasCT bool,
	se *format.SchemaElement) {
	set := func(k Kind) { c.Kind, c.Storage = k, StorageBytes }
	unsupported := func(why string) {
		c.Kind, c.Storage, c.Unsupported = KindUnsupported, StorageNone, why
	}
	fixed := se.Type.V == format.FixedLenByteArray
	if fixed && c.Length <= 0 {
		unsupported("the FIXED_LEN_BYTE_ARRAY column has no valid type_length")
		return
	}

	switch t := lt.(type) {
	case *format.StringType, *format.EnumType, *format.JsonType:
		set(KindString)
	case *format.DecimalType:
		setDecimal(c, int(t.Scale), int(t.Precision), StorageBytes)
	case *format.UUIDType:
		if !fixed || c.Length != 16 {
			unsupported("a UUID column must be FIXED_LEN_BYTE_ARRAY(16)")
			return
		}
		set(KindUUID)
	case *format.Float16Type:
		if !fixed || c.Length != 2 {
			unsupported("a FLOAT16 column must be FIXED_LEN_BYTE_ARRAY(2)")
			return
		}
		c.Kind, c.Storage = KindFloat16, StorageFloat
	case nil:
		switch {
		case !hasCT:
			set(KindBinary)
		case ct == deprecated.UTF8 || ct == deprecated.Enum || ct == deprecated.Json:
			set(KindString)
		case ct == deprecated.Decimal:
			setDecimal(c, int(se.Scale.V), int(se.Precision.V), StorageBytes)
		default:
			unsupported("the converted type " + convertedName(ct) + " is not supported")
		}
	default:
		unsupported("the annotation " + lt.String() + " is not supported")
	}
}

func setDecimal(c *Column, scale, precision int, s Storage) {
	c.Kind, c.Storage = KindDecimal, s
	c.Scale, c.Precision = scale, precision
	if scale < 0 || precision <= 0 || scale > precision {
		c.Kind, c.Storage = KindUnsupported, StorageNone
		c.Unsupported = fmt.Sprintf("DECIMAL(%d,%d) has an invalid precision or scale", precision, scale)
	}
}

func unitOf(u *format.TimeUnit) Unit {
	switch u.Value.(type) {
	case *format.MilliSeconds:
		return UnitMillis
	case *format.MicroSeconds:
		return UnitMicros
	case *format.NanoSeconds:
		return UnitNanos
	}
	return UnitNone
}

func physicalName(se *format.SchemaElement) string {
	if se.Type.V == format.FixedLenByteArray {
		return fmt.Sprintf("FIXED_LEN_BYTE_ARRAY(%d)", se.TypeLength.V)
	}
	return se.Type.V.String()
}

// annotationName returns the logical type, or else the converted type, of se
// as text; "" when it has neither.
func annotationName(se *format.SchemaElement) string {
	switch t := se.LogicalType.Value.(type) {
	case nil:
	case *format.TimestampType:
		return fmt.Sprintf("TIMESTAMP(%s, %s)", &t.Unit, utcName(t.IsAdjustedToUTC))
	case *format.TimeType:
		return fmt.Sprintf("TIME(%s, %s)", &t.Unit, utcName(t.IsAdjustedToUTC))
	default:
		return t.String()
	}
	if !se.ConvertedType.Valid {
		return ""
	}
	if se.ConvertedType.V == deprecated.Decimal {
		return fmt.Sprintf("DECIMAL(%d,%d)", se.Precision.V, se.Scale.V)
	}
	return convertedName(se.ConvertedType.V)
}

var convertedNames = [...]string{
	deprecated.UTF8: "UTF8", deprecated.Map: "MAP", deprecated.MapKeyValue: "MAP_KEY_VALUE",
	deprecated.List: "LIST", deprecated.Enum: "ENUM", deprecated.Decimal: "DECIMAL",
	deprecated.Date: "DATE", deprecated.TimeMillis: "TIME_MILLIS",
	deprecated.TimeMicros: "TIME_MICROS", deprecated.TimestampMillis: "TIMESTAMP_MILLIS",
	deprecated.TimestampMicros: "TIMESTAMP_MICROS", deprecated.Uint8: "UINT_8",
	deprecated.Uint16: "UINT_16", deprecated.Uint32: "UINT_32", deprecated.Uint64: "UINT_64",
	deprecated.Int8: "INT_8", deprecated.Int16: "INT_16", deprecated.Int32: "INT_32",
	deprecated.Int64: "INT_64", deprecated.Json: "JSON", deprecated.Bson: "BSON",
	deprecated.Interval: "INTERVAL",
}

// convertedName returns the name of a legacy converted type as the Parquet
// format spells it, such as "TIMESTAMP_MICROS".
func convertedName(ct deprecated.ConvertedType) string {
	if ct >= 0 && int(ct) < len(convertedNames) {
		return convertedNames[ct]
	}
	return fmt.Sprintf("ConvertedType(%d)", ct)
}

func utcName(adjusted bool) string {
	if adjusted {
		return "UTC"
	}
	return "local"
}
