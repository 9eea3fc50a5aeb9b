package usergen

import (
	"strconv"
	"strings"
	"time"
)

// FirstUserID is the user_id of row 0. Row i of a table holds user
// FirstUserID+i, so ids are unique and increase with the row number.
const FirstUserID = 1_000_000

// plans are the values of the plan column, from the cheapest to the most
// expensive.
var plans = []string{"free", "starter", "pro", "enterprise"}

// user is one row of the table. A field named xxxNull is true when the
// column xxx is null in that row.
type user struct {
	id          int64
	email       string
	plan        int // index into plans
	seats       int32
	seatsNull   bool
	mrr         int64 // cents: DECIMAL(18,2) stores the value times 100
	mrrNull     bool
	score       float64
	scoreNull   bool
	isAdmin     bool
	isAdminNull bool
	signupAt    int64 // microseconds since 1970-01-01T00:00:00Z
	lastSeen    int32 // days since 1970-01-01
	country     int   // index into countries
	utmSource   int   // index into utmSources
	utmNull     bool
	first, last int // indexes into firstNames and lastNames
	domain      int // index into emailDomains
}

// personName is a name as shown and as written in the local part of an email
// address (ASCII letters only).
type personName struct {
	display, ascii string
}

var firstNames = []personName{
	{"Amara", "amara"}, {"Zoë", "zoe"}, {"José", "jose"}, {"Søren", "soren"},
	{"Aiko", "aiko"}, {"Léa", "lea"}, {"Mateus", "mateus"}, {"Priya", "priya"},
	{"Kwame", "kwame"}, {"Olga", "olga"}, {"Inès", "ines"}, {"Noah", "noah"},
	{"Mei", "mei"}, {"Ömer", "omer"}, {"Chloé", "chloe"}, {"Yusuf", "yusuf"},
	{"Anja", "anja"}, {"Diego", "diego"}, {"Fatima", "fatima"}, {"Lars", "lars"},
	{"Hannah", "hannah"}, {"Ravi", "ravi"}, {"Sofia", "sofia"}, {"Tomás", "tomas"},
	{"Emma", "emma"}, {"Liam", "liam"}, {"Nadia", "nadia"}, {"Jonas", "jonas"},
	{"Camille", "camille"}, {"Björn", "bjorn"}, {"Hana", "hana"}, {"Kofi", "kofi"},
}

var lastNames = []personName{
	{"Okafor", "okafor"}, {"Müller", "muller"}, {"García", "garcia"},
	{"Nguyễn", "nguyen"}, {"Kowalski", "kowalski"}, {"Tanaka", "tanaka"},
	{"Silva", "silva"}, {"O'Brien", "obrien"}, {"Andersson", "andersson"},
	{"Rossi", "rossi"}, {"Dubois", "dubois"}, {"Novák", "novak"},
	{"Haddad", "haddad"}, {"Kim", "kim"}, {"Patel", "patel"}, {"Schmidt", "schmidt"},
	{"Jensen", "jensen"}, {"Costa", "costa"}, {"Ivanova", "ivanova"},
	{"Yılmaz", "yilmaz"}, {"Smith", "smith"}, {"Chen", "chen"}, {"Mensah", "mensah"},
	{"Larsen", "larsen"}, {"Moreau", "moreau"}, {"Fernández", "fernandez"},
	{"Kaur", "kaur"}, {"Sato", "sato"}, {"Walker", "walker"}, {"Van der Berg", "vanderberg"},
}

// emailDomains are reserved names (RFC 2606: example.com, example.org,
// example.net and the .example top-level domain), so no generated address
// can reach a real mailbox.
var emailDomains = []string{
	"example.com", "example.org", "example.net", "mail.example.com",
	"acme.example", "globex.example", "initech.example", "umbrella.example",
}

// countries are written in their own languages, so the column holds
// accents, curly apostrophes and non-Latin scripts.
var countries = []string{
	"United States", "Deutschland", "France", "日本", "Brasil", "India",
	"United Kingdom", "Canada", "España", "México", "Côte d’Ivoire", "Nigeria",
	"مصر", "Türkiye", "Polska", "Sverige", "Österreich", "Việt Nam", "대한민국",
	"Ελλάδα", "Україна", "São Tomé and Príncipe", "Ísland", "Australia",
}

var utmSources = []string{
	"google", "newsletter", "linkedin", "twitter", "facebook", "partner",
	"bing", "producthunt",
}

// Time ranges of the generated values: sign-ups from 2016 to 2025, last
// seen on or after the sign-up day and at most on 2026-01-31.
var (
	signupStart  = time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	signupEnd    = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	lastSeenLast = int32(time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC).Unix() / 86400)
)

const microsPerDay = 86_400_000_000

// mix64 is the finalizer of the splitmix64 generator: a bijection on uint64
// that spreads every input bit over the whole output.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// golden is 2^64 divided by the golden ratio, the splitmix64 increment.
const golden = 0x9e3779b97f4a7c15

// stream is a splitmix64 sequence of hashes for one row.
type stream uint64

func newStream(seed uint64, row int64, salt uint64) stream {
	return stream(mix64(mix64(seed^salt) + uint64(row)*golden))
}

func (s *stream) next() uint64 {
	*s += golden
	return mix64(uint64(*s))
}

// below returns a value in [0, n) from the next hash.
func (s *stream) below(n int) int {
	return int(s.next() % uint64(n))
}

// chance returns true with probability percent/100.
func (s *stream) chance(percent int) bool {
	return s.below(100) < percent
}

// unit returns a float64 in [0, 1) with 53 random bits.
func (s *stream) unit() float64 {
	return float64(s.next()>>11) / (1 << 53)
}

// saltRows separates the hashes of table rows from those that pick changes.
const saltRows = 0x7573657267656e31

// newUser returns row of the table generated from seed. It depends on seed
// and row only. Every row takes the same draws in the same order, whatever
// its values, so each column's draws sit at fixed places in the stream.
func newUser(seed uint64, row int64) user {
	s := newStream(seed, row, saltRows)
	u := user{id: FirstUserID + row}

	// Plan shares: free 50%, starter 25%, pro 18%, enterprise 7%.
	switch p := s.below(100); {
	case p < 50:
		u.plan = 0
	case p < 75:
		u.plan = 1
	case p < 93:
		u.plan = 2
	default:
		u.plan = 3
	}

	seatDraw := s.below(1976)
	seats := [...]int{1, 1 + seatDraw%5, 2 + seatDraw%49, 25 + seatDraw}[u.plan]
	u.seats = int32(seats)
	u.seatsNull = s.chance(4)

	// List prices per seat and month in cents, less a discount in percent.
	discount := s.below(36)
	switch u.plan {
	case 1:
		u.mrr = int64(seats) * 1200
	case 2:
		u.mrr = int64(seats) * 29 * int64(100-[...]int{0, 10, 15, 20}[discount%4])
	case 3:
		u.mrr = int64(seats) * 45 * int64(100-discount)
	}
	u.mrrNull = s.chance(3)

	u.score = s.unit() * 100
	u.scoreNull = s.chance(10)

	u.isAdmin = s.chance(12)
	u.isAdminNull = s.chance(6)

	u.signupAt = signupStart + int64(s.next()%uint64(signupEnd-signupStart))
	signupDay := int32(u.signupAt / microsPerDay)
	u.lastSeen = signupDay + int32(s.next()%uint64(lastSeenLast-signupDay+1))

	// About a third of the users are in the United States, and the rest are
	// spread evenly.
	u.country = s.below(len(countries))
	if s.chance(33) {
		u.country = 0
	}

	u.utmSource = s.below(len(utmSources))
	u.utmNull = s.chance(35) // users who came without a campaign link

	u.first = s.below(len(firstNames))
	u.last = s.below(len(lastNames))
	u.domain = s.below(len(emailDomains))
	u.email = emailAddress(u.first, u.last, u.domain, row)
	return u
}

// emailAddress returns first.lastN@domain, where N is the row number. The
// local part is letters, one dot, then the digits of N, so two rows never
// share an address.
func emailAddress(first, last, domain int, row int64) string {
	f, l, d := firstNames[first].ascii, lastNames[last].ascii, emailDomains[domain]
	var digits [20]byte
	n := strconv.AppendInt(digits[:0], row, 10)
	var b strings.Builder
	b.Grow(len(f) + 1 + len(l) + len(n) + 1 + len(d))
	b.WriteString(f)
	b.WriteByte('.')
	b.WriteString(l)
	b.Write(n)
	b.WriteByte('@')
	b.WriteString(d)
	return b.String()
}

// displayNames holds "First Last" for every pair of first and last names,
// indexed by first*len(lastNames)+last, so rows share these strings.
var displayNames = func() []string {
	names := make([]string, 0, len(firstNames)*len(lastNames))
	for _, f := range firstNames {
		for _, l := range lastNames {
			names = append(names, f.display+" "+l.display)
		}
	}
	return names
}()

// nameIndex returns the index of the user's "First Last" in displayNames.
func (u *user) nameIndex() int {
	return u.first*len(lastNames) + u.last
}
