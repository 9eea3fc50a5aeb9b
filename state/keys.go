package state

import (
	"encoding/binary"
	"fmt"
)

// WriteKeys stores a list of keys as the object name.
func WriteKeys(store Store, name string, keys []Key) error {
	w, err := store.Create(name)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, 16*len(keys))
	for _, k := range keys {
		buf = binary.LittleEndian.AppendUint64(buf, k.Hi)
		buf = binary.LittleEndian.AppendUint64(buf, k.Lo)
	}
	if _, err := w.Write(buf); err != nil {
		w.Abort()
		return fmt.Errorf("write %q: %w", name, err)
	}
	return w.Commit()
}

// ReadKeys reads a list of keys written by WriteKeys.
func ReadKeys(store Store, name string) ([]Key, error) {
	r, err := store.Open(name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	buf := make([]byte, r.Size())
	if _, err := r.ReadAt(buf, 0); err != nil {
		return nil, fmt.Errorf("read %q: %w", name, err)
	}
	if len(buf)%16 != 0 {
		return nil, fmt.Errorf("%q is %d bytes, not a list of 16-byte keys", name, len(buf))
	}
	keys := make([]Key, len(buf)/16)
	for i := range keys {
		keys[i] = Key{
			Hi: binary.LittleEndian.Uint64(buf[16*i:]),
			Lo: binary.LittleEndian.Uint64(buf[16*i+8:]),
		}
	}
	return keys, nil
}
