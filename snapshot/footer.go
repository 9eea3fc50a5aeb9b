package snapshot

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// checkFooter walks the footer, a struct in Thrift's compact encoding, and
// checks that every list, set, map and binary value it announces fits in
// the bytes that are left. parquet-go's decoder allocates a list before it
// reads the list's elements, so a 32-byte footer that announced two
// billion row groups made it allocate 176 GB and end the process. Every
// element takes at least one byte, so after this check the decoder
// allocates at most one element per byte of the footer.
func checkFooter(b []byte) error {
	w := footerWalker{b: b}
	return w.skip(typeStruct, 0)
}

// The compact encoding's type codes.
const (
	typeTrue   = 1
	typeFalse  = 2
	typeByte   = 3
	typeI16    = 4
	typeI32    = 5
	typeI64    = 6
	typeDouble = 7
	typeBinary = 8
	typeList   = 9
	typeSet    = 10
	typeMap    = 11
	typeStruct = 12
)

// maxFooterDepth bounds the nesting of structs and lists. Parquet's footer
// nests five levels deep.
const maxFooterDepth = 64

type footerWalker struct {
	b   []byte
	pos int
}

var errFooterEnd = errors.New("the footer ends inside a value")

func (w *footerWalker) byte() (byte, error) {
	if w.pos >= len(w.b) {
		return 0, errFooterEnd
	}
	w.pos++
	return w.b[w.pos-1], nil
}

func (w *footerWalker) uvarint() (uint64, error) {
	v, k := binary.Uvarint(w.b[w.pos:])
	if k <= 0 {
		return 0, errFooterEnd
	}
	w.pos += k
	return v, nil
}

// fits checks that size elements of at least min bytes each fit in the
// bytes that are left.
func (w *footerWalker) fits(size uint64, min int) error {
	if size > uint64(len(w.b)-w.pos)/uint64(min) {
		return fmt.Errorf("a list announces %d elements in the footer's last %d bytes", size,
			len(w.b)-w.pos)
	}
	return nil
}

// skip skips one value of type t.
func (w *footerWalker) skip(t byte, depth int) error {
	if depth > maxFooterDepth {
		return errors.New("the footer nests values too deep")
	}
	switch t {
	case typeTrue, typeFalse, typeByte:
		// A boolean in a list, or a byte, takes one byte. (A boolean field
		// of a struct has its value in the field header: see below.)
		_, err := w.byte()
		return err
	case typeI16, typeI32, typeI64:
		_, err := w.uvarint()
		return err
	case typeDouble:
		if len(w.b)-w.pos < 8 {
			return errFooterEnd
		}
		w.pos += 8
		return nil
	case typeBinary:
		n, err := w.uvarint()
		if err != nil {
			return err
		}
		if n > uint64(len(w.b)-w.pos) {
			return fmt.Errorf("a value announces %d bytes in the footer's last %d", n, len(w.b)-w.pos)
		}
		w.pos += int(n)
		return nil
	case typeList, typeSet:
		h, err := w.byte()
		if err != nil {
			return err
		}
		size, elem := uint64(h>>4), h&0x0f
		if size == 15 {
			if size, err = w.uvarint(); err != nil {
				return err
			}
		}
		if err := w.fits(size, 1); err != nil {
			return err
		}
		for range size {
			if err := w.skip(elem, depth+1); err != nil {
				return err
			}
		}
		return nil
	case typeMap:
		size, err := w.uvarint()
		if err != nil || size == 0 {
			return err
		}
		if err := w.fits(size, 2); err != nil {
			return err
		}
		kv, err := w.byte()
		if err != nil {
			return err
		}
		for range size {
			if err := w.skip(kv>>4, depth+1); err != nil {
				return err
			}
			if err := w.skip(kv&0x0f, depth+1); err != nil {
				return err
			}
		}
		return nil
	case typeStruct:
		for {
			h, err := w.byte()
			if err != nil {
				return err
			}
			if h == 0 { // the end of the struct
				return nil
			}
			if h>>4 == 0 { // the field id follows, as a zigzag varint
				if _, err := w.uvarint(); err != nil {
					return err
				}
			}
			ft := h & 0x0f
			if ft == typeTrue || ft == typeFalse {
				continue // the value is the type
			}
			if err := w.skip(ft, depth+1); err != nil {
				return err
			}
		}
	}
	return fmt.Errorf("the footer is invalid: it contains a value of unknown type %d", t)
}
