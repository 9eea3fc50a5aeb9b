package mapping

import (
	"bytes"
	"fmt"
	"math/big"
	"unicode/utf8"

	"github.com/sprigsync/sprigsync/snapshot"
)

// encoder turns batches of one file into users. Its buffers are reused from
// batch to batch, so building a body allocates nothing. The only allocation
// per batch is the string that holds the batch's user ids.
type encoder struct {
	plan *filePlan
	h    Handler

	body     []byte
	ids      []byte   // user-id texts of the batch, back to back
	idEnd    []int    // end of each row's id in ids
	idReason []string // reason a row's id is unusable, or ""
	scratch  []byte
	big      big.Int
	user     User
	dicts    []dictText // per attribute, for string columns
	dates    *dateTexts

	reasonNullID, reasonEmptyID, reasonIDUTF8, reasonEmail string
}

func newEncoder(p *filePlan, h Handler) *encoder {
	e := &encoder{plan: p, h: h, scratch: make([]byte, 0, 64), dates: new(dateTexts)}
	e.dicts = make([]dictText, len(p.attrs))
	e.reasonNullID = fmt.Sprintf("missing user id: column %q is null", p.id.name)
	e.reasonEmptyID = fmt.Sprintf("missing user id: column %q is empty", p.id.name)
	e.reasonIDUTF8 = fmt.Sprintf("invalid UTF-8 in user-id column %q", p.id.name)
	if p.email != nil {
		e.reasonEmail = fmt.Sprintf("invalid email address in column %q", p.email.name)
	}
	e.user.File = p.path
	return e
}

// batch sends every row of b to the handler and counts them in st. The
// batch's columns are the user id, then the email column if any, then the
// attributes in plan order.
func (e *encoder) batch(b *snapshot.Batch, st *Stats) error {
	idv := &b.Columns[0]
	var email *snapshot.Values
	attrs := b.Columns[1:]
	if e.plan.email != nil {
		email = &b.Columns[1]
		attrs = b.Columns[2:]
	}

	ids := e.userIDs(idv, b.Len)
	for i := 0; i < b.Len; i++ {
		row := b.Offset + int64(i)
		st.Rows++
		if reason := e.idReason[i]; reason != "" {
			st.Invalid++
			if err := e.h.Invalid(InvalidRow{File: e.plan.path, Row: row, Reason: reason}); err != nil {
				return err
			}
			continue
		}
		start := 0
		if i > 0 {
			start = e.idEnd[i-1]
		}
		id := ids[start:e.idEnd[i]]

		reason := e.build(i, e.ids[start:e.idEnd[i]], email, attrs)
		if reason != "" {
			st.Invalid++
			err := e.h.Invalid(InvalidRow{File: e.plan.path, Row: row, UserID: id, Reason: reason})
			if err != nil {
				return err
			}
			continue
		}
		st.Users++
		e.user.UserID = id
		e.user.Body = e.body
		e.user.Row = row
		if err := e.h.User(&e.user); err != nil {
			return err
		}
	}
	return nil
}

// userIDs writes the id text of every row into e.ids and returns them as one
// string; e.idEnd and e.idReason are set per row.
func (e *encoder) userIDs(v *snapshot.Values, n int) string {
	e.ids = e.ids[:0]
	e.idEnd = resize(e.idEnd, n)
	e.idReason = resize(e.idReason, n)
	for i := 0; i < n; i++ {
		e.idReason[i] = ""
		switch {
		case v.Null[i]:
			e.idReason[i] = e.reasonNullID
		case e.plan.id.format == fmtInt:
			e.ids = appendSigned(e.ids, v.Int[i])
		case e.plan.id.format == fmtUint:
			e.ids = appendDigits(e.ids, uint64(v.Int[i]))
		case e.plan.id.format == fmtDecimalInt:
			e.ids = appendSigned(e.ids, v.Int[i])
		case e.plan.id.format == fmtDecimalBytes:
			digits, neg, ok := decimalBytes(v.Bytes[i], e.scratch, &e.big)
			e.scratch = digits
			if !ok {
				e.idReason[i] = e.reasonEmptyID
				break
			}
			if neg {
				e.ids = append(e.ids, '-')
			}
			e.ids = append(e.ids, digits...)
		default: // string
			s := v.Bytes[i]
			switch {
			case !utf8.Valid(s):
				e.idReason[i] = e.reasonIDUTF8
			case isBlank(s):
				e.idReason[i] = e.reasonEmptyID
			default:
				e.ids = append(e.ids, s...)
			}
		}
		e.idEnd[i] = len(e.ids)
	}
	return string(e.ids)
}

// build writes the body of row i into e.body, or returns why the row cannot
// be sent.
func (e *encoder) build(i int, id []byte, email *snapshot.Values, attrs []snapshot.Values) string {
	body := append(e.body[:0], `{"userId":`...)
	if e.plan.id.format == fmtString {
		body, _ = appendString(body, id)
	} else {
		// Digits and a sign need no escaping.
		body = append(body, '"')
		body = append(body, id...)
		body = append(body, '"')
	}

	if email != nil && !email.Null[i] {
		addr := email.Bytes[i]
		if n := len(addr); n > 0 && (addr[0] <= ' ' || addr[0] >= utf8.RuneSelf ||
			addr[n-1] <= ' ' || addr[n-1] >= utf8.RuneSelf) {
			addr = bytes.TrimSpace(addr) // only when an end may be white space
		}
		if len(addr) > 0 {
			valid, plain := validEmail(addr)
			if !valid {
				e.body = body
				return e.reasonEmail
			}
			body = append(body, `,"emailAddress":`...)
			if plain {
				// A valid address has no control or space characters, so
				// only '"' and '\\' would need escaping.
				body = append(body, '"')
				body = append(body, addr...)
				body = append(body, '"')
			} else {
				body, _ = appendString(body, addr)
			}
		}
	}

	// Every attribute starts with a comma; the first one's becomes the
	// object's opening brace below.
	body = append(body, `,"attributes":`...)
	open := len(body)
	count := 0
	// Locals, so that the loop does not reload them from e after every
	// append.
	plan, dicts, dates := e.plan.attrs, e.dicts, e.dates
	attrs = attrs[:len(plan)]
	dicts = dicts[:len(plan)]
	for k := range plan {
		a := &plan[k]
		v := &attrs[k]
		if v.Null[i] {
			continue
		}
		mark := len(body)
		if len(a.key) <= len(a.keyBlock) {
			body = roomFor(body, len(a.keyBlock))
			copy32(body[mark:], &a.keyBlock)
			body = body[:mark+len(a.key)]
		} else {
			body = append(body, a.key...)
		}
		ok := true
		switch a.format {
		case fmtString:
			if x := v.Index[i]; x >= 0 {
				body, ok = dicts[k].appendEntry(body, v, x)
			} else {
				body, ok = appendString(body, v.Bytes[i])
			}
		case fmtInt:
			body = appendInt(body, v.Int[i])
		case fmtUint:
			body = appendUint(body, uint64(v.Int[i]))
		case fmtDouble:
			body, ok = appendFloat(body, v.Float[i], 64)
		case fmtFloat32:
			body, ok = appendFloat(body, v.Float[i], 32)
		case fmtFloat16:
			body, ok = appendFloat16(body, v.Float[i])
		case fmtBool:
			if v.Bool[i] {
				body = append(body, "true"...)
			} else {
				body = append(body, "false"...)
			}
		case fmtDecimalInt:
			body = appendDecimalInt(body, v.Int[i], a.scale)
		case fmtDecimalBytes:
			var digits []byte
			var neg bool
			digits, neg, ok = decimalBytes(v.Bytes[i], e.scratch, &e.big)
			e.scratch = digits
			if ok {
				body = appendDecimalDigits(body, neg, digits, a.scale)
			}
		case fmtDate:
			body, ok = appendDate(body, v.Int[i], dates)
		case fmtTimestamp:
			body, ok = appendTimestampUnits(body, v.Int[i], a.ticks, dates)
		case fmtInt96:
			body, ok = appendInt96(body, v.Bytes[i], dates)
		case fmtTime:
			body, ok = appendTime(body, v.Int[i], a.ticks)
		case fmtUUID:
			body = appendUUID(body, v.Bytes[i])
		default:
			ok = false
		}
		if !ok {
			switch a.format {
			case fmtFloat32, fmtFloat16, fmtDouble:
				// NaN or infinity: left out, like a null.
				body = body[:mark]
				continue
			case fmtString:
				e.body = body
				return a.badUTF8
			default:
				e.body = body
				return a.badRange
			}
		}
		count++
	}
	if count == 0 {
		body = append(body, '{')
	} else {
		body[open] = '{'
	}
	e.body = append(body, '}', '}')
	if count > MaxAttributes {
		return fmt.Sprintf("too many attributes: %d with values, Sprig accepts at most %d",
			count, MaxAttributes)
	}
	return ""
}

// dictText holds the JSON text of the dictionary values of a string column,
// each escaped once when first used.
type dictText struct {
	id    uint64   // Values.DictID of the dictionary
	text  []byte   // escaped values back to back
	start []uint32 // start offset of each value in text
	end   []uint32 // end offset of each value in text
	state []uint8  // per value: 0 not yet escaped, 1 escaped, 2 invalid UTF-8
}

// appendEntry appends dictionary value x of v as a JSON string, or returns
// false when it is not valid UTF-8.
func (d *dictText) appendEntry(dst []byte, v *snapshot.Values, x int32) ([]byte, bool) {
	if d.id != v.DictID || d.state == nil {
		n := len(v.Dict)
		d.id = v.DictID
		d.text = d.text[:0]
		d.start = resize(d.start, n)
		d.end = resize(d.end, n)
		d.state = resize(d.state, n)
		clear(d.state)
	}
	switch d.state[x] {
	case 1:
		return append(dst, d.text[d.start[x]:d.end[x]]...), true
	case 2:
		return dst, false
	}
	start := len(d.text)
	var ok bool
	d.text, ok = appendString(d.text, v.Dict[x])
	if !ok {
		d.text = d.text[:start]
		d.state[x] = 2
		return dst, false
	}
	d.start[x], d.end[x], d.state[x] = uint32(start), uint32(len(d.text)), 1
	return append(dst, d.text[start:]...), true
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
