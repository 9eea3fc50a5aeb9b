package usergen

import (
	"fmt"
	"io"
	"math"
)

// Changes describes how a second snapshot differs from the table of a base
// Options. Each share is a fraction of the base table's row count, and the
// number of users is that product rounded to the nearest integer, so
// ChangedShare 0.01 of 1,000 rows changes exactly 10 users.
type Changes struct {
	// ChangedShare is the share of users that keep their row but get a new
	// value in exactly one column other than user_id.
	ChangedShare float64 `json:"changedShare"`

	// AddedShare is the share of new users appended at the end, with ids
	// following the base table's last id. It may exceed 1.
	AddedShare float64 `json:"addedShare"`

	// RemovedShare is the share of users left out. Changed and removed
	// users never overlap, so ChangedShare+RemovedShare must be at most 1.
	// When rounding makes the two counts exceed the row count, fewer users
	// are removed.
	RemovedShare float64 `json:"removedShare"`

	// Seed selects which users change or go, and their new values.
	Seed uint64 `json:"seed"`
}

// Summary lists the users in which a second snapshot differs from its base.
// Every id list is sorted in increasing order; a list with no users is
// empty, not nil.
type Summary struct {
	// Rows is the row count of the second snapshot: base rows, less the
	// removed ones, plus the added ones.
	Rows int `json:"rows"`

	Changed []int64 `json:"changed"` // users with a new value in one column
	Added   []int64 `json:"added"`   // users appended at the end
	Removed []int64 `json:"removed"` // users left out

	// ChangedColumn maps each changed user id to the name of the one
	// column whose value changed, such as "plan" or "utm.source".
	ChangedColumn map[int64]string `json:"changedColumn"`
}

// changePlan decides, for every row of the base table, whether it stays,
// changes or goes, and makes the rows of the second snapshot.
type changePlan struct {
	base                    Options
	seed                    uint64
	changed, removed, added int
	perm                    permutation
}

func newChangePlan(base Options, ch Changes) (*changePlan, error) {
	shares := []struct {
		name  string
		value float64
	}{{"ChangedShare", ch.ChangedShare}, {"AddedShare", ch.AddedShare}, {"RemovedShare", ch.RemovedShare}}
	for _, s := range shares {
		if math.IsNaN(s.value) || math.IsInf(s.value, 0) || s.value < 0 {
			return nil, fmt.Errorf("invalid %s %v: a share must be a finite number of 0 or more",
				s.name, s.value)
		}
	}
	if ch.ChangedShare+ch.RemovedShare > 1 {
		return nil, fmt.Errorf("invalid ChangedShare %v with RemovedShare %v: changed and removed"+
			" users are distinct, so the two shares must add up to at most 1",
			ch.ChangedShare, ch.RemovedShare)
	}
	n := float64(base.Rows)
	if added := n * ch.AddedShare; added > maxAdded {
		return nil, fmt.Errorf("invalid AddedShare %v: it adds %.0f users to %d, more than the"+
			" %d this generator supports; use a smaller share", ch.AddedShare, added, base.Rows,
			int64(maxAdded))
	}
	p := &changePlan{
		base:    base,
		seed:    ch.Seed,
		changed: int(math.Round(n * ch.ChangedShare)),
		removed: int(math.Round(n * ch.RemovedShare)),
		added:   int(math.Round(n * ch.AddedShare)),
		perm:    newPermutation(uint64(base.Rows), mix64(base.Seed)^ch.Seed),
	}
	if p.changed+p.removed > base.Rows { // rounding both up can pass the row count
		p.removed = base.Rows - p.changed
	}
	return p, nil
}

// maxAdded bounds the number of added users, so that row numbers and ids
// stay far from overflowing.
const maxAdded = 1 << 40

// Row states in the second snapshot. A base row is changed when its place
// in a seeded permutation of the rows is among the first p.changed, and
// removed when it is among the p.removed after them. This gives exact
// counts, and each row is still decided on its own.
const (
	rowKept = iota
	rowChanged
	rowRemoved
)

func (p *changePlan) state(row int64) int {
	switch rank := p.perm.at(uint64(row)); {
	case rank < uint64(p.changed):
		return rowChanged
	case rank < uint64(p.changed+p.removed):
		return rowRemoved
	}
	return rowKept
}

// refs returns the rows of the second snapshot as references for
// writeTable: the kept and changed base rows in order, then rows Rows to
// Rows+added-1 of the same generator as the added users.
func (p *changePlan) refs(yield func(int64) bool) {
	for row := range int64(p.base.Rows) {
		if p.state(row) != rowRemoved && !yield(row) {
			return
		}
	}
	for row := int64(p.base.Rows); row < int64(p.base.Rows+p.added); row++ {
		if !yield(row) {
			return
		}
	}
}

// userAt returns the user of a row reference made by refs.
func (p *changePlan) userAt(row int64) user {
	u := newUser(p.base.Seed, row)
	if row < int64(p.base.Rows) && p.state(row) == rowChanged {
		changeUser(&u, row, p.seed)
	}
	return u
}

// summary lists the rows of the second snapshot by state.
func (p *changePlan) summary() Summary {
	s := Summary{
		Rows:          p.base.Rows - p.removed + p.added,
		Changed:       make([]int64, 0, p.changed),
		Added:         make([]int64, 0, p.added),
		Removed:       make([]int64, 0, p.removed),
		ChangedColumn: make(map[int64]string, p.changed),
	}
	for row := range int64(p.base.Rows) {
		switch p.state(row) {
		case rowChanged:
			id := FirstUserID + row
			s.Changed = append(s.Changed, id)
			c, _ := changeDraws(row, p.seed)
			s.ChangedColumn[id] = columnNames[c]
		case rowRemoved:
			s.Removed = append(s.Removed, FirstUserID+row)
		}
	}
	for row := int64(p.base.Rows); row < int64(p.base.Rows+p.added); row++ {
		s.Added = append(s.Added, FirstUserID+row)
	}
	return s
}

// WriteNext writes to w a second snapshot of the table that base selects,
// changed as ch describes, and returns what changed. Rows keep their base
// order, removed rows are left out and added rows come last. It does not
// close w. The rows and the Summary depend on base.Rows, base.Seed and ch
// only. The file's bytes also depend on base.Compression and
// base.RowGroupRows.
func WriteNext(w io.Writer, base Options, ch Changes) (Summary, error) {
	base, err := base.withDefaults()
	if err != nil {
		return Summary{}, err
	}
	p, err := newChangePlan(base, ch)
	if err != nil {
		return Summary{}, err
	}
	meta, err := metadataJSON(Metadata{Rows: base.Rows, Seed: base.Seed, Next: &ch})
	if err != nil {
		return Summary{}, err
	}
	s := p.summary()
	if err := writeTable(w, base, meta, s.Rows, p.refs, p.userAt); err != nil {
		return Summary{}, err
	}
	return s, nil
}

// WriteNextFile is WriteNext to the file at path, replaced atomically as
// by WriteFile.
func WriteNextFile(path string, base Options, ch Changes) (Summary, error) {
	var s Summary
	err := writeFileAtomic(path, func(w io.Writer) error {
		var err error
		s, err = WriteNext(w, base, ch)
		return err
	})
	return s, err
}

// saltChanges separates the hashes that pick new values from the row hashes.
const saltChanges = 0x6368616e67657331

// changeColumns are the columns a change may touch, each as likely.
var changeColumns = []int{
	colEmail, colPlan, colSeats, colMRR, colScore, colIsAdmin, colLastSeenDate,
	colCountry, colUTMSource, colDisplayName,
}

// changeDraws returns the column that a change of row touches and the
// stream that draws the new value.
func changeDraws(row int64, seed uint64) (int, stream) {
	s := newStream(seed, row, saltChanges)
	return changeColumns[s.below(len(changeColumns))], s
}

// changeUser gives u, the user of row, a new value that differs from the
// old one in exactly one column, chosen by changeDraws.
func changeUser(u *user, row int64, seed uint64) {
	c, s := changeDraws(row, seed)
	h := s.next()
	switch c {
	case colEmail: // a new address at another domain
		u.domain = (u.domain + 1 + int(h%uint64(len(emailDomains)-1))) % len(emailDomains)
		u.email = emailAddress(u.first, u.last, u.domain, row)
	case colPlan:
		u.plan = (u.plan + 1 + int(h%uint64(len(plans)-1))) % len(plans)
	case colSeats:
		if u.seatsNull {
			u.seatsNull, u.seats = false, 0
		}
		u.seats += 1 + int32(h%10)
	case colMRR: // a raise of 1.00 to 100.00
		if u.mrrNull {
			u.mrrNull, u.mrr = false, 0
		}
		u.mrr += 100 * int64(1+h%100)
	case colScore:
		old := u.score
		u.scoreNull, u.score = false, s.unit()*100
		if u.score == old {
			u.score = math.Nextafter(old, 100)
		}
	case colIsAdmin:
		u.isAdmin = u.isAdminNull || !u.isAdmin
		u.isAdminNull = false
	case colLastSeenDate: // seen again 1 to 30 days later
		u.lastSeen += 1 + int32(h%30)
	case colCountry:
		u.country = (u.country + 1 + int(h%uint64(len(countries)-1))) % len(countries)
	case colUTMSource:
		if u.utmNull {
			u.utmNull, u.utmSource = false, int(h%uint64(len(utmSources)))
		} else {
			u.utmSource = (u.utmSource + 1 + int(h%uint64(len(utmSources)-1))) % len(utmSources)
		}
	case colDisplayName: // another first name, same last name
		u.first = (u.first + 1 + int(h%uint64(len(firstNames)-1))) % len(firstNames)
	}
}

// permutation is a seeded bijection of [0, n): a four-round Feistel network
// on the smallest even number of bits that covers n, with cycle walking to
// stay below n. Because that domain is less than 4n, a walk takes fewer
// than four steps on average.
type permutation struct {
	n        uint64
	halfBits uint
	mask     uint64
	keys     [4]uint64
}

func newPermutation(n, seed uint64) permutation {
	bits := uint(2)
	for bits < 64 && uint64(1)<<bits < n {
		bits += 2
	}
	p := permutation{n: n, halfBits: bits / 2, mask: uint64(1)<<(bits/2) - 1}
	for i := range p.keys {
		p.keys[i] = mix64(seed + uint64(i+1)*golden)
	}
	return p
}

// at returns the image of x, which must be below n.
func (p *permutation) at(x uint64) uint64 {
	for {
		x = p.feistel(x)
		if x < p.n {
			return x
		}
	}
}

func (p *permutation) feistel(x uint64) uint64 {
	left, right := x>>p.halfBits, x&p.mask
	for _, k := range p.keys {
		left, right = right, left^(mix64(right^k)&p.mask)
	}
	return left<<p.halfBits | right
}
