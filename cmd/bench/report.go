package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/sprigsync/sprigsync/plan"
)

// Targets.
const (
	targetScanRowsPerCPUSecond = 2_000_000
	targetIncrementalUsers     = 10_000_000
	targetIncrementalWall      = 10 * time.Second
	targetIncrementalRSS       = 1 << 30
	targetRateError            = 1.0 // percent
	targetCPUPerThousand       = 250 * time.Millisecond
	targetEventsPerThousand    = 1.0
)

// machine describes the computer the bench ran on.
type machine struct {
	CPU    string
	Cores  int
	Memory int64 // bytes
	Go     string
}

func (m machine) String() string {
	return fmt.Sprintf("%s, %d cores, %.1f GiB, %s %s/%s", m.CPU, m.Cores,
		float64(m.Memory)/(1<<30), m.Go, runtime.GOOS, runtime.GOARCH)
}

// readMachine reads the CPU model and memory size from /proc.
func readMachine() machine {
	m := machine{CPU: "unknown CPU", Cores: runtime.NumCPU(), Go: runtime.Version()}
	if v, ok := procField("/proc/cpuinfo", "model name"); ok {
		m.CPU = v
	}
	if v, ok := procField("/proc/meminfo", "MemTotal"); ok {
		kb, err := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
		if err == nil {
			m.Memory = kb * 1024
		}
	}
	return m
}

// procField returns the value of the first "name: value" line of a /proc file.
func procField(path, name string) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(key) == name {
			return strings.TrimSpace(value), true
		}
	}
	return "", false
}

// buildRevision returns the VCS revision that `go build` stamped into this
// binary, marked when the working tree had uncommitted changes. Without a
// stamp (GOFLAGS=-buildvcs=false, or a test binary) it returns the commit
// that .git/HEAD names, read without running git.
func buildRevision() string {
	revision, modified := "", false
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	switch {
	case revision != "" && modified:
		return revision + " with uncommitted changes"
	case revision != "":
		return revision
	}
	if head, ok := gitHead(".git"); ok {
		return "HEAD " + head + " (uncommitted changes not checked)"
	}
	return "unknown"
}

// gitHead returns the commit that HEAD names in the git directory dir.
func gitHead(dir string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "HEAD"))
	if err != nil {
		return "", false
	}
	head := strings.TrimSpace(string(b))
	ref, isRef := strings.CutPrefix(head, "ref: ")
	if !isRef {
		return head, true
	}
	if b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(ref))); err == nil {
		return strings.TrimSpace(string(b)), true
	}
	// A packed ref is a line "<commit> <ref>".
	b, err = os.ReadFile(filepath.Join(dir, "packed-refs"))
	if err != nil {
		return "", false
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if commit, name, ok := strings.Cut(strings.TrimSpace(line), " "); ok && name == ref {
			return commit, true
		}
	}
	return "", false
}

// report is the result of one benchmark run.
type report struct {
	Date          time.Time
	Machine       machine
	Command       string
	Revision      string // read when the run starts, close to when make built the binary
	Sizes         []sizeResult
	Delivery      *deliveryResult
	Orchestration *orchestrationResult
}

// failures joins every failed measurement and wrong count, or returns nil.
func (r *report) failures() error {
	var errs []error
	for _, s := range r.Sizes {
		errs = append(errs, s.checks()...)
	}
	if r.Delivery != nil {
		errs = append(errs, r.Delivery.checks()...)
	}
	if r.Orchestration != nil {
		errs = append(errs, r.Orchestration.checks()...)
	}
	return errors.Join(errs...)
}

// row is one line of the table. Empty cells print as a dash.
type row struct {
	name, wall, cpu, rss, rate, result string
	load                               *load
}

// write prints the report as one markdown table.
func (r *report) write(w io.Writer) {
	rows := []row{
		{name: "date", result: r.Date.Format("2006-01-02 15:04 MST")},
		{name: "machine", result: r.Machine.String()},
		{name: "command", result: "`" + r.Command + "`"},
		{name: "build", result: r.Revision},
	}
	for _, s := range r.Sizes {
		rows = append(rows, s.rows()...)
	}
	if r.Delivery != nil {
		rows = append(rows, r.Delivery.row())
	}
	if r.Orchestration != nil {
		rows = append(rows, r.Orchestration.row())
	}
	rows = append(rows, r.targets()...)

	fmt.Fprintln(w, "| measurement | wall | CPU | peak RSS | rate | result | load (1 min, before → after) |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | --- | --- |")
	for _, x := range rows {
		loadText := ""
		if x.load != nil {
			loadText = fmt.Sprintf("%.2f → %.2f", x.load.Before, x.load.After)
			if x.load.paused() {
				loadText += fmt.Sprintf("; wall clock jumped %s (machine paused?)",
					x.load.Jump.Round(100*time.Millisecond))
			}
		}
		cells := []string{x.name, x.wall, x.cpu, x.rss, x.rate, x.result, loadText}
		for i, c := range cells {
			if c == "" {
				cells[i] = "–"
			}
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
}

// rows returns the table rows of one size.
func (s sizeResult) rows() []row {
	n := shortCount(s.Users)
	scan := func(name string, m measurement) row {
		x := measurementRow(name, m)
		if m.Err == nil {
			x.rate = rowsRate(m.rowsPerSecond())
			x.result = fmt.Sprintf("%s rows per CPU-second; %s rows", group(int64(m.rowsPerCPUSecond())),
				group(m.Out.Rows))
			if len(m.Runs) > 1 {
				x.result += fmt.Sprintf("; best of %d runs (%s)", len(m.Runs), runRates(m))
			}
		}
		return x
	}
	planRow := func(name string, m measurement, want plan.Counts) row {
		x := measurementRow(name, m)
		if m.Err == nil {
			x.rate = rowsRate(m.rowsPerSecond())
			x.result = countsText(m.counts(), want)
		}
		return x
	}
	return []row{
		scan(fmt.Sprintf("read %s: every column, 1 core", n), s.Read),
		scan(fmt.Sprintf("read + body + xxh3 %s (mapping.Scan), 1 core", n), s.Scan),
		planRow(fmt.Sprintf("plan %s, first sync", n), s.First, s.WantFirst),
		planRow(fmt.Sprintf("plan %s, incremental", n), s.Incremental, s.WantIncremental),
	}
}

// runRates lists the rows per CPU-second of every run of m.
func runRates(m measurement) string {
	rates := make([]string, len(m.Runs))
	for i, cpu := range m.Runs {
		rates[i] = group(int64(perSecond(m.Out.Rows, cpu)))
	}
	return strings.Join(rates, ", ")
}

// measurementRow fills the name, wall, CPU, RSS and load of a child
// measurement, or the error in place of the result.
func measurementRow(name string, m measurement) row {
	x := row{name: name, load: &m.Load}
	if m.Err != nil {
		x.result = "FAILED: " + oneLine(m.Err.Error())
		if errors.Is(m.Err, errNotRun) {
			x.result, x.load = "not run: an earlier step failed", nil
		}
		return x
	}
	x.wall, x.cpu, x.rss = seconds(m.Wall), seconds(m.CPU), mebibytes(m.PeakRSS)
	return x
}

// countsText shows plan counts and whether they are the expected ones.
func countsText(got, want plan.Counts) string {
	text := fmt.Sprintf("added %s, changed %s, unchanged %s, removed %s", group(got.Added),
		group(got.Changed), group(got.Unchanged), group(got.Removed))
	if got.Invalid+got.Duplicate > 0 {
		text += fmt.Sprintf(", invalid %s, duplicate %s", group(got.Invalid), group(got.Duplicate))
	}
	if got == want {
		return text + " (as expected)"
	}
	return text + fmt.Sprintf(" (WRONG: expected added %s, changed %s, unchanged %s, removed %s)",
		group(want.Added), group(want.Changed), group(want.Unchanged), group(want.Removed))
}

// row returns the delivery's table row.
func (d *deliveryResult) row() row {
	name := fmt.Sprintf("delivery: %s users at %s requests/s", group(int64(d.Users)),
		group(int64(d.Rate)))
	x := syncRow(name, d.syncResult)
	if d.Err != nil {
		return x
	}
	x.result = fmt.Sprintf("%+.2f%% from the rate limit (%s accepted upserts in %s); "+
		"worker CPU %s ms per 1,000 requests (%.3f core); %d × 429; %s accepted, %d missing",
		d.rateError(), group(d.Accepted), seconds(d.Span), msText(d.cpuPerThousand()),
		d.cpuPerThousand().Seconds(), d.TooMany, group(d.Summary.Accepted), d.Missing)
	return x
}

// row returns the orchestration's table row.
func (o *orchestrationResult) row() row {
	name := fmt.Sprintf("orchestration: first sync of %s users at %s requests/s, parallelism %d",
		group(int64(o.Users)), group(int64(o.Rate)), o.Parallelism)
	x := syncRow(name, o.syncResult)
	var parts []string
	if o.Err != nil {
		parts = append(parts, x.result)
	} else {
		parts = append(parts, fmt.Sprintf("%s accepted in %d batches", group(o.Summary.Accepted),
			o.Summary.Batches))
	}
	if o.HistoryErr != nil {
		parts = append(parts, "history FAILED: "+oneLine(o.HistoryErr.Error()))
	} else {
		parts = append(parts, fmt.Sprintf("%s history events in %d run(s) = %.2f per 1,000 users "+
			"sent; largest payload %s bytes (%s)", group(int64(o.History.Events)), o.History.Runs,
			o.eventsPerThousand(), group(int64(o.History.LargestPayload)), o.History.LargestEvent))
	}
	x.result = strings.Join(parts, "; ")
	return x
}

// syncRow fills the columns that delivery and orchestration share. CPU and
// RSS are the worker's.
func syncRow(name string, r syncResult) row {
	x := row{name: name, load: &r.Load}
	if r.Wall > 0 {
		x.wall = seconds(r.Wall)
	}
	if r.WorkerCPU > 0 {
		x.cpu = seconds(r.WorkerCPU) + " (worker)"
	}
	if r.WorkerPeakRSS > 0 {
		x.rss = mebibytes(r.WorkerPeakRSS) + " (worker)"
	}
	if r.Achieved > 0 {
		x.rate = fmt.Sprintf("%s requests/s", group(int64(math.Round(r.Achieved))))
	}
	if r.Err != nil {
		x.result = "FAILED: " + oneLine(r.Err.Error())
	}
	return x
}

// targets returns one row per target with met or not met.
func (r *report) targets() []row {
	target := func(name string, met bool, measured bool, detail string) row {
		verdict := "not measured"
		switch {
		case measured && met:
			verdict = "**met**: " + detail
		case measured:
			verdict = "**not met**: " + detail
		}
		return row{name: "target: " + name, result: verdict}
	}
	var rows []row

	// Read, body and fingerprint on one core, at every size measured.
	minScan, scanned := math.Inf(1), false
	for _, s := range r.Sizes {
		if s.Scan.Err == nil {
			minScan, scanned = math.Min(minScan, s.Scan.rowsPerCPUSecond()), true
		}
	}
	scanDetail := ""
	if scanned {
		scanDetail = fmt.Sprintf("lowest %s rows per CPU-second", group(int64(minScan)))
	}
	rows = append(rows, target("read + body + fingerprint ≥ 2,000,000 rows/s on one core",
		minScan >= targetScanRowsPerCPUSecond, scanned, scanDetail))

	// The 10M incremental plan.
	var inc *measurement
	for i := range r.Sizes {
		if r.Sizes[i].Users == targetIncrementalUsers && r.Sizes[i].Incremental.Err == nil {
			inc = &r.Sizes[i].Incremental
		}
	}
	if inc != nil {
		rows = append(rows, target("10M incremental plan ≤ 10 s and ≤ 1 GB RSS",
			inc.Wall <= targetIncrementalWall && inc.PeakRSS <= targetIncrementalRSS, true,
			fmt.Sprintf("%s, %s", seconds(inc.Wall), mebibytes(inc.PeakRSS))))
	} else {
		rows = append(rows, target("10M incremental plan ≤ 10 s and ≤ 1 GB RSS", false, false, ""))
	}

	// Delivery.
	d := r.Delivery
	delivered := d != nil && d.Err == nil
	var deliveryMet bool
	var deliveryDetail string
	if delivered {
		deliveryMet = math.Abs(d.rateError()) <= targetRateError &&
			d.cpuPerThousand() <= targetCPUPerThousand && d.TooMany == 0
		deliveryDetail = fmt.Sprintf("%+.2f%% from %s requests/s, %s ms CPU per 1,000 requests, %d × 429",
			d.rateError(), group(int64(d.Rate)), msText(d.cpuPerThousand()), d.TooMany)
	}
	rows = append(rows, target("delivery within 1% of 1,000 requests/s using ≤ 0.25 core "+
		"(250 ms CPU per 1,000 requests)", deliveryMet, delivered, deliveryDetail))

	// History.
	o := r.Orchestration
	historyRead := o != nil && o.HistoryErr == nil && o.Summary.Accepted > 0
	var eventsDetail, payloadDetail string
	if historyRead {
		eventsDetail = fmt.Sprintf("%.2f events per 1,000 users sent", o.eventsPerThousand())
		payloadDetail = fmt.Sprintf("largest %s bytes", group(int64(o.History.LargestPayload)))
	}
	rows = append(rows,
		target("≤ 1 history event per 1,000 users sent",
			historyRead && o.eventsPerThousand() <= targetEventsPerThousand, historyRead, eventsDetail),
		target("no payload over 256 KB", historyRead && o.History.LargestPayload <= maxPayloadBytes,
			historyRead, payloadDetail))
	return rows
}

// seconds formats d in seconds with two decimals.
func seconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// msText formats d in whole milliseconds.
func msText(d time.Duration) string {
	return strconv.FormatInt(d.Round(time.Millisecond).Milliseconds(), 10)
}

// mebibytes formats a byte count in MiB.
func mebibytes(b int64) string { return fmt.Sprintf("%s MiB", group(b>>20)) }

func rowsRate(v float64) string { return group(int64(math.Round(v))) + " rows/s" }

// shortCount writes a user count as 10M, 60k or 2,500.
func shortCount(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return group(int64(n))
}

// group writes n with commas between groups of three digits.
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// oneLine makes text fit a table cell.
func oneLine(text string) string {
	text = strings.ReplaceAll(text, "\n", " ")
	return strings.ReplaceAll(text, "|", "/")
}
