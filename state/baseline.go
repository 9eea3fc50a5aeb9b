package state

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/zeebo/xxh3"
)

// Key identifies a user: the 128-bit XXH3 hash of its Sprig userId. At
// 128 bits a collision among even billions of users has a probability
// below 1e-20, so two users are never confused in practice.
type Key struct {
	Hi, Lo uint64
}

// KeyOf returns the key of a userId.
func KeyOf(userID string) Key {
	h := xxh3.HashString128(userID)
	return Key{Hi: h.Hi, Lo: h.Lo}
}

// Compare orders keys; it returns -1, 0 or +1.
func (k Key) Compare(o Key) int {
	switch {
	case k.Hi < o.Hi:
		return -1
	case k.Hi > o.Hi:
		return 1
	case k.Lo < o.Lo:
		return -1
	case k.Lo > o.Lo:
		return 1
	}
	return 0
}

// Fingerprint is the 64-bit XXH3 hash of the exact request body that Sprig
// accepted for a user. A changed body means a changed user.
type Fingerprint uint64

// FingerprintOf returns the fingerprint of a request body.
func FingerprintOf(body []byte) Fingerprint { return Fingerprint(xxh3.Hash(body)) }

// Entry is one user in a baseline.
type Entry struct {
	Key         Key
	Fingerprint Fingerprint
}

// Baseline is the last state Sprig accepted for every user of a sync,
// sorted by key. Lookups go through a table of the first index of each
// key prefix, so a lookup touches a handful of entries.
type Baseline struct {
	entries []Entry
	buckets []uint32 // buckets[p] is the first index whose key has prefix >= p
	shift   uint
}

const baselineMagic = "SPRGBL01"

// NewBaseline builds a baseline from entries, which it sorts in place. It
// returns an error when a key occurs twice.
func NewBaseline(entries []Entry) (*Baseline, error) {
	slices.SortFunc(entries, func(a, b Entry) int { return a.Key.Compare(b.Key) })
	for i := 1; i < len(entries); i++ {
		if entries[i].Key == entries[i-1].Key {
			return nil, fmt.Errorf("baseline has key %016x%016x twice",
				entries[i].Key.Hi, entries[i].Key.Lo)
		}
	}
	b := &Baseline{entries: entries}
	b.index()
	return b, nil
}

// index builds the prefix table: about one bucket per two entries, at
// least 2^8 and at most 2^24 buckets.
func (b *Baseline) index() {
	bits := uint(8)
	for bits < 24 && (1<<bits) < len(b.entries)/2 {
		bits++
	}
	b.shift = 64 - bits
	b.buckets = make([]uint32, (1<<bits)+1)
	i := 0
	for p := range 1 << bits {
		for i < len(b.entries) && b.entries[i].Key.Hi>>b.shift < uint64(p) {
			i++
		}
		b.buckets[p] = uint32(i)
	}
	b.buckets[1<<bits] = uint32(len(b.entries))
}

// Len returns the number of users in the baseline.
func (b *Baseline) Len() int { return len(b.entries) }

// Entries returns the entries sorted by key. The caller must not modify them.
func (b *Baseline) Entries() []Entry { return b.entries }

// Find returns the index of key and true, or false when key is absent.
func (b *Baseline) Find(key Key) (int, bool) {
	p := key.Hi >> b.shift
	lo, hi := int(b.buckets[p]), int(b.buckets[p+1])
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		switch b.entries[mid].Key.Compare(key) {
		case 0:
			return mid, true
		case -1:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return 0, false
}

// WriteTo writes the baseline in its binary form: a magic string, the entry
// count, the entries, and an XXH3 checksum of everything before it.
func (b *Baseline) WriteTo(w io.Writer) (int64, error) {
	h := xxh3.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, h), 1<<20)
	var buf [24]byte
	bw.WriteString(baselineMagic)
	binary.LittleEndian.PutUint64(buf[:8], uint64(len(b.entries)))
	bw.Write(buf[:8])
	for _, e := range b.entries {
		putEntry(buf[:], e)
		bw.Write(buf[:])
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	binary.LittleEndian.PutUint64(buf[:8], h.Sum64())
	if _, err := w.Write(buf[:8]); err != nil {
		return 0, err
	}
	return int64(len(baselineMagic) + 16 + 24*len(b.entries)), nil
}

func putEntry(buf []byte, e Entry) {
	binary.LittleEndian.PutUint64(buf[0:], e.Key.Hi)
	binary.LittleEndian.PutUint64(buf[8:], e.Key.Lo)
	binary.LittleEndian.PutUint64(buf[16:], uint64(e.Fingerprint))
}

func getEntry(buf []byte) Entry {
	return Entry{
		Key: Key{
			Hi: binary.LittleEndian.Uint64(buf[0:]),
			Lo: binary.LittleEndian.Uint64(buf[8:]),
		},
		Fingerprint: Fingerprint(binary.LittleEndian.Uint64(buf[16:])),
	}
}

// ReadBaseline reads a baseline written by WriteTo. It checks the size and
// the checksum, so a damaged file is an error, never a wrong baseline.
func ReadBaseline(r Reader) (*Baseline, error) {
	const header = len(baselineMagic) + 8
	size := r.Size()
	if size < int64(header+8) {
		return nil, fmt.Errorf("baseline is %d bytes, shorter than its header", size)
	}
	br := bufio.NewReaderSize(io.NewSectionReader(r, 0, size-8), 1<<20)
	h := xxh3.New()
	tee := io.TeeReader(br, h)
	var buf [24]byte
	if _, err := io.ReadFull(tee, buf[:header]); err != nil {
		return nil, fmt.Errorf("read baseline header: %w", err)
	}
	if string(buf[:len(baselineMagic)]) != baselineMagic {
		return nil, errors.New("baseline has an unknown format")
	}
	n := binary.LittleEndian.Uint64(buf[len(baselineMagic):header])
	if int64(header)+int64(n)*24+8 != size {
		return nil, fmt.Errorf("baseline header lists %d entries but is %d bytes", n, size)
	}
	entries := make([]Entry, n)
	for i := range entries {
		if _, err := io.ReadFull(tee, buf[:]); err != nil {
			return nil, fmt.Errorf("read baseline entry %d: %w", i, err)
		}
		entries[i] = getEntry(buf[:])
	}
	if _, err := r.ReadAt(buf[:8], size-8); err != nil {
		return nil, fmt.Errorf("read baseline checksum: %w", err)
	}
	if binary.LittleEndian.Uint64(buf[:8]) != h.Sum64() {
		return nil, errors.New("baseline checksum does not match: the file is damaged")
	}
	for i := 1; i < len(entries); i++ {
		if entries[i-1].Key.Compare(entries[i].Key) >= 0 {
			return nil, fmt.Errorf("baseline entries are not sorted at entry %d", i)
		}
	}
	b := &Baseline{entries: entries}
	b.index()
	return b, nil
}
