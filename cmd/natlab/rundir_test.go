package main

import (
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/reports"
)

// checkRunDir reads the run directory a `natlab run` wrote and checks that
// its files tell one story: report.json validates, samples.csv has one row
// per tick whose rates add up to the json's totals and NAT summaries,
// junit.xml has one case per assertion with the same result, report.md
// states the same verdict and totals, and report.html is one
// self-contained page with a chart per chart of the series, each drawn
// with its data. It returns the report for the caller's own checks.
func checkRunDir(t *testing.T, dir string) *reports.Report {
	t.Helper()
	rep, err := reports.Read(filepath.Join(dir, "report.json"))
	require.NoError(t, err)
	require.NoError(t, rep.Validate(), "report.json must validate")
	assert.FileExists(t, filepath.Join(dir, "agents.log"))
	checkSamplesCSV(t, filepath.Join(dir, "samples.csv"), rep)
	checkJUnit(t, filepath.Join(dir, "junit.xml"), rep)
	checkMarkdown(t, filepath.Join(dir, "report.md"), rep)
	checkHTML(t, filepath.Join(dir, "report.html"), rep)
	return rep
}

// readFile reads a file of the run directory.
func readFile(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(raw)
}

// csvTable is samples.csv: its header and its rows, cells by column name.
type csvTable struct {
	head []string
	rows []map[string]string
}

func readCSV(t *testing.T, path string) csvTable {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err, "samples.csv must be well-formed CSV")
	require.NotEmpty(t, recs, "samples.csv has no header")
	tab := csvTable{head: recs[0]}
	seen := map[string]bool{}
	for _, h := range tab.head {
		require.False(t, seen[h], "samples.csv repeats column %q", h)
		seen[h] = true
	}
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, h := range tab.head {
			row[h] = rec[i]
		}
		tab.rows = append(tab.rows, row)
	}
	return tab
}

// float reads a numeric cell; empty cells are for ticks without a reading.
func (c csvTable) float(t *testing.T, row int, col string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(c.rows[row][col], 64)
	require.NoError(t, err, "samples.csv row %d column %s", row+1, col)
	return v
}

// checkSamplesCSV checks samples.csv against the report: one row per tick
// (the ticks evenly spaced from the start to the end of the run), the
// same rows as report.json's samples, per-tick counts that sum to the
// totals, and NAT columns whose sums, peaks and off-ticks are the NAT
// summaries.
func checkSamplesCSV(t *testing.T, path string, rep *reports.Report) {
	t.Helper()
	tab := readCSV(t, path)
	want := []string{"t_s", "phase", "attempts_per_s", "ok_per_s", "errors_per_s", "open_conns", "new_conns_per_s", "connect_p99_s", "request_p99_s"}
	for _, o := range loadgen.AllOutcomes() {
		if o != loadgen.OutcomeOK {
			want = append(want, o.String()+"_per_s")
		}
	}
	for _, n := range rep.Testbed.NATs {
		for _, c := range []string{"conntrack", "allocation_failures", "port_utilization", "ip_forward"} {
			want = append(want, "nat."+n.Name+"."+c)
		}
	}
	for _, h := range want {
		require.Contains(t, tab.head, h, "samples.csv lacks a column")
	}
	require.Equal(t, len(rep.Samples), len(tab.rows), "samples.csv has one row per sample of report.json")
	require.GreaterOrEqual(t, len(tab.rows), 2, "a run of several ticks has several rows")

	// One row per tick: the same spacing everywhere, no gap, no repeat,
	// from the start of the run to its end.
	ts := make([]float64, len(tab.rows))
	for i := range tab.rows {
		ts[i] = tab.float(t, i, "t_s")
		s := rep.Samples[i]
		assert.InDelta(t, s.T, ts[i], 0.0005, "row %d: t_s", i+1)
		assert.Equal(t, s.Phase, tab.rows[i]["phase"], "row %d: phase", i+1)
		assert.InDelta(t, s.AttemptsPerSec, tab.float(t, i, "attempts_per_s"), 0.0005, "row %d: attempts_per_s", i+1)
		assert.InDelta(t, s.OKPerSec, tab.float(t, i, "ok_per_s"), 0.0005, "row %d: ok_per_s", i+1)
		assert.InDelta(t, s.ErrorsPerSec, tab.float(t, i, "errors_per_s"), 0.0005, "row %d: errors_per_s", i+1)
	}
	tick := ts[1] - ts[0]
	require.Positive(t, tick, "rows in time order")
	for i := 1; i < len(ts); i++ {
		assert.InDelta(t, tick, ts[i]-ts[i-1], 1e-6, "rows %d and %d are not one tick apart: a tick is missing or repeated", i, i+1)
	}
	assert.LessOrEqual(t, ts[0], tick+1e-6, "the first row is the first tick")
	assert.InDelta(t, rep.Duration.Float(), ts[len(ts)-1], tick+1e-6, "the last row is the last tick of a %.3fs run", rep.Duration.Float())

	// Rates times the tick are the tick's counts; summed, the run's.
	sum := func(col string) uint64 {
		var s float64
		for i := range tab.rows {
			s += tab.float(t, i, col)
		}
		return uint64(math.Round(s * tick))
	}
	tot := rep.Totals
	assert.Equal(t, tot.Attempts, sum("attempts_per_s"), "attempts started, summed over the ticks, are the total attempts")
	assert.Equal(t, tot.OK, sum("ok_per_s"), "ok summed over the ticks is the total ok")
	assert.Equal(t, tot.Errors, sum("errors_per_s"), "errors summed over the ticks are the total errors")
	assert.Equal(t, tot.NewConns, sum("new_conns_per_s"), "new connections summed over the ticks are the total")
	for _, o := range loadgen.AllOutcomes() {
		if o != loadgen.OutcomeOK {
			assert.Equal(t, tot.Outcomes[o], sum(o.String()+"_per_s"), "outcome %s summed over the ticks is its total", o)
		}
	}

	for _, n := range rep.NAT {
		p := "nat." + n.Name + "."
		var fails, peak uint64
		var util float64
		off, read := 0, 0
		for i, row := range tab.rows {
			if row[p+"conntrack"] == "" {
				continue // no reading of this box in this tick
			}
			read++
			fails += uint64(tab.float(t, i, p+"allocation_failures"))
			peak = max(peak, uint64(tab.float(t, i, p+"conntrack")))
			util = max(util, tab.float(t, i, p+"port_utilization"))
			if row[p+"ip_forward"] == "0" {
				off++
			}
			if s, ok := rep.Samples[i].NAT[n.Name]; assert.True(t, ok, "row %d has a reading of %s that report.json lacks", i+1, n.Name) {
				assert.Equal(t, s.Conntrack, uint64(tab.float(t, i, p+"conntrack")), "row %d: %sconntrack", i+1, p)
			}
		}
		assert.Positive(t, read, "samples.csv has readings of NAT %s", n.Name)
		assert.Equal(t, n.AllocationFailures, fails, "NAT %s: allocation failures summed over the ticks are the total", n.Name)
		assert.Equal(t, n.PeakConntrack, peak, "NAT %s: peak conntrack is the highest tick", n.Name)
		assert.InDelta(t, n.PeakPortUtilization, util, 0.00005, "NAT %s: peak port utilization is the highest tick", n.Name)
		assert.InDelta(t, n.IPForwardOff.Float(), float64(off)*tick, 1e-6, "NAT %s: ip_forward off for %d ticks", n.Name, off)
		if n.GCP != nil {
			checkCloudNATColumns(t, tab, rep, n)
		}
	}
}

// checkCloudNATColumns checks a Cloud NAT's columns of samples.csv against
// report.json: each row is its sample, the drops of each reason and the
// new connections summed over the rows are the run's, the gauges' highest
// row is the run's peak, nat_allocation_failed is 1 in some row exactly
// when it was ever true, and the VM with the most ports in the summary
// has the run's peak allocation and usage.
func checkCloudNATColumns(t *testing.T, tab csvTable, rep *reports.Report, n reports.NATSummary) {
	t.Helper()
	p := "nat." + n.Name + "."
	drops := map[string]uint64{}
	var newConns uint64
	alloc, usage, open := 0, 0, 0
	failed := false
	for i, row := range tab.rows {
		if row[p+"allocated_ports"] == "" {
			continue // no reading of this box in this tick
		}
		g := rep.Samples[i].NAT[n.Name].GCP
		if !assert.NotNil(t, g, "row %d has Cloud NAT figures of %s that report.json lacks", i+1, n.Name) {
			continue
		}
		for reason := range n.GCP.DroppedSent {
			d := uint64(tab.float(t, i, p+"dropped_sent_packets_count."+reason))
			assert.Equal(t, g.DroppedSent[reason], d, "row %d: %sdropped_sent_packets_count.%s", i+1, p, reason)
			drops[reason] += d
		}
		newConns += uint64(tab.float(t, i, p+"new_connections_count"))
		alloc = max(alloc, int(tab.float(t, i, p+"allocated_ports")))
		usage = max(usage, int(tab.float(t, i, p+"port_usage")))
		open = max(open, int(tab.float(t, i, p+"open_connections")))
		failed = failed || row[p+"nat_allocation_failed"] == "1"
		assert.Equal(t, g.AllocatedPorts, int(tab.float(t, i, p+"allocated_ports")), "row %d: %sallocated_ports", i+1, p)
	}
	assert.Equal(t, n.GCP.DroppedSent, drops, "NAT %s: drops by reason summed over the ticks are the run's", n.Name)
	assert.Equal(t, n.GCP.NewConnections, newConns, "NAT %s: new_connections_count summed over the ticks is the run's", n.Name)
	assert.Equal(t, n.GCP.AllocatedPorts, alloc, "NAT %s: allocated_ports is the highest tick", n.Name)
	assert.Equal(t, n.GCP.PortUsage, usage, "NAT %s: port_usage is the highest tick", n.Name)
	assert.Equal(t, n.GCP.OpenConnections, open, "NAT %s: open_connections is the highest tick", n.Name)
	assert.Equal(t, n.GCP.AllocationFailed, failed, "NAT %s: nat_allocation_failed", n.Name)
	vmAlloc, vmUsage := 0, 0
	for _, vm := range n.GCP.VMs {
		vmAlloc, vmUsage = max(vmAlloc, vm.AllocatedPorts), max(vmUsage, vm.PortUsage)
	}
	assert.Equal(t, n.GCP.AllocatedPorts, vmAlloc, "NAT %s: the highest VM's peak allocation is the run's", n.Name)
	assert.Equal(t, n.GCP.PortUsage, vmUsage, "NAT %s: the highest VM's peak usage is the run's", n.Name)
}

type junitDoc struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Suites   []struct {
		Name       string `xml:"name,attr"`
		Tests      int    `xml:"tests,attr"`
		Failures   int    `xml:"failures,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Name    string    `xml:"name,attr"`
			Failure *struct{} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// checkJUnit checks junit.xml has exactly one test case per assertion of
// report.json, with its name and result, in order (and the failing "run
// completed" case of an incomplete run).
func checkJUnit(t *testing.T, path string, rep *reports.Report) {
	t.Helper()
	var doc junitDoc
	require.NoError(t, xml.Unmarshal([]byte(readFile(t, path)), &doc), "junit.xml must be XML")
	require.Len(t, doc.Suites, 1, "one test suite per run")
	s := doc.Suites[0]
	assert.Equal(t, rep.Scenario.Name, s.Name)
	type result struct {
		Name   string
		Passed bool
	}
	var want, got []result
	failed := 0
	for _, a := range rep.Assertions {
		want = append(want, result{a.Name, a.Passed})
		if !a.Passed {
			failed++
		}
	}
	if rep.Verdict == reports.VerdictIncomplete {
		want = append(want, result{"run completed", false})
		failed++
	}
	for _, c := range s.Cases {
		got = append(got, result{c.Name, c.Failure == nil})
	}
	assert.Equal(t, want, got, "junit.xml: one test case per assertion, same name and result")
	assert.Equal(t, len(want), s.Tests)
	assert.Equal(t, failed, s.Failures)
	assert.Equal(t, len(want), doc.Tests)
	assert.Equal(t, failed, doc.Failures)
	verdict := ""
	for _, p := range s.Properties {
		if p.Name == "verdict" {
			verdict = p.Value
		}
	}
	assert.Equal(t, string(rep.Verdict), verdict, "junit.xml's verdict property")
}

// verdictWords are how report.md and report.html state a verdict.
var verdictWords = map[reports.Verdict]string{
	reports.VerdictPass: "PASS", reports.VerdictFail: "FAIL", reports.VerdictIncomplete: "INCOMPLETE",
}

// mdUnescape undoes report.md's escapes of free text.
var mdUnescape = regexp.MustCompile(`\\(.)`)

// mdRow splits a markdown table row into its cells, unescaped ("\|" is a
// literal bar).
func mdRow(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|")
	cells := strings.Split(strings.ReplaceAll(line, `\|`, "\x00"), "|")
	for i, c := range cells {
		c = strings.ReplaceAll(strings.TrimSpace(c), "\x00", "|")
		c = mdUnescape.ReplaceAllString(c, "$1")
		cells[i] = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(c)
	}
	return cells
}

// mdCount reads a count written with thousands separators.
func mdCount(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(strings.ReplaceAll(s, ",", ""), 10, 64)
	require.NoError(t, err, "count %q", s)
	return n
}

// assertRate reads an error rate written as a percentage and checks it is
// rate, to the precision it is written with.
func assertRate(t *testing.T, rate float64, s, what string) {
	t.Helper()
	pct, ok := strings.CutSuffix(s, "%")
	require.True(t, ok, "%s: %q is not a percentage", what, s)
	v, err := strconv.ParseFloat(pct, 64)
	require.NoError(t, err, "%s: %q", what, s)
	prec := 0.05 // one decimal
	if _, frac, ok := strings.Cut(pct, "."); ok {
		prec = 0.5 * math.Pow(10, -float64(len(frac)))
	} else if v == 0 {
		prec = 0
	}
	assert.InDelta(t, rate*100, v, prec+1e-9, "%s: error rate %s against %v", what, s, rate)
}

// checkMarkdown checks report.md states the json's verdict, assertion
// results and load figures (attempts, ok, errors, error rate) for every
// phase and the total.
func checkMarkdown(t *testing.T, path string, rep *reports.Report) {
	t.Helper()
	lines := strings.Split(readFile(t, path), "\n")
	require.NotEmpty(t, lines)
	word := verdictWords[rep.Verdict]
	assert.True(t, strings.HasPrefix(lines[0], "## natlab ") && strings.HasSuffix(lines[0], ": "+word),
		"report.md's title states the verdict %s: %q", word, lines[0])
	assert.Contains(t, lines, "**"+word+": "+summaryTail(rep)+"**", "report.md's summary line")

	tables := map[string][][]string{} // by the first header cell
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "| ") || i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "|---") {
			continue
		}
		head := mdRow(lines[i])
		var rows [][]string
		for i += 2; i < len(lines) && strings.HasPrefix(lines[i], "|"); i++ {
			rows = append(rows, mdRow(lines[i]))
		}
		tables[head[0]] = rows
	}

	if len(rep.Assertions) > 0 {
		rows := tables["Result"]
		require.Len(t, rows, len(rep.Assertions), "report.md: one row per assertion")
		for i, a := range rep.Assertions {
			want := "FAIL"
			if a.Passed {
				want = "PASS"
			}
			assert.Equal(t, want, rows[i][0], "report.md: assertion %q", a.Name)
		}
	}

	load := map[string][]string{}
	for _, row := range tables["Phase"] {
		load[row[0]] = row
	}
	check := func(name string, c reports.Totals) {
		row, ok := load[name]
		if !assert.True(t, ok, "report.md has a load row %q", name) {
			return
		}
		require.GreaterOrEqual(t, len(row), 5, "report.md load row %q", name)
		assert.Equal(t, c.Attempts, mdCount(t, row[1]), "report.md %s: attempts", name)
		assert.Equal(t, c.OK, mdCount(t, row[2]), "report.md %s: ok", name)
		assert.Equal(t, c.Errors, mdCount(t, row[3]), "report.md %s: errors", name)
		assertRate(t, c.ErrorRate, row[4], "report.md "+name)
	}
	check("total", rep.Totals)
	for _, p := range rep.Phases {
		check(p.Name, p.Counts)
	}
}

// summaryTail is what follows "VERDICT: " in the summary line.
func summaryTail(rep *reports.Report) string {
	failed := 0
	for _, a := range rep.Assertions {
		if !a.Passed {
			failed++
		}
	}
	switch {
	case rep.Verdict == reports.VerdictIncomplete:
		return fmt.Sprintf("the run stopped early: %s (%d of %d assertions failed)", rep.Incomplete, failed, len(rep.Assertions))
	case len(rep.Assertions) == 0:
		return "no assertions"
	case failed == 0:
		return fmt.Sprintf("all %d assertions held", len(rep.Assertions))
	}
	return fmt.Sprintf("%d of %d assertions failed", failed, len(rep.Assertions))
}

var (
	// xmlnsAttr is a namespace declaration: a name, not a reference.
	xmlnsAttr = regexp.MustCompile(`\sxmlns(:\w+)?="[^"]*"`)
	// external is anything that would make the page load another file.
	external = regexp.MustCompile(`(?i)https?://|(src|href)\s*=\s*["']?//|url\(|@import|<link\b|<script\b|<iframe\b|<object\b|<embed\b`)
	figureRe = regexp.MustCompile(`(?s)<figure id="chart-([^"]+)">(.*?)</figure>`)
)

// checkHTML checks report.html is one self-contained page stating the
// verdict, with one chart per chart the series has (client throughput and
// latency with one line per series, NAT port utilization and conntrack
// with one line per NAT box), each an inline SVG that draws every line
// with one vertex per sample it has a value in.
func checkHTML(t *testing.T, path string, rep *reports.Report) {
	t.Helper()
	page := readFile(t, path)
	if m := external.FindAllString(xmlnsAttr.ReplaceAllString(page, ""), -1); len(m) > 0 {
		t.Errorf("report.html must be self-contained, it refers to: %q", m)
	}
	assert.Contains(t, page, `id="verdict">`+verdictWords[rep.Verdict]+`<`, "report.html states the verdict")

	n := len(rep.Samples)
	natPoints := map[string]int{}
	for _, s := range rep.Samples {
		for name := range s.NAT {
			natPoints[name]++
		}
	}
	var nat []int
	for _, b := range rep.Testbed.NATs {
		nat = append(nat, natPoints[b.Name])
	}
	want := map[string][]int{ // chart -> the points of each of its lines
		"throughput": {n, n}, "latency": {n, n, n}, "nat-ports": nat, "nat-failures": nat, "nat-conntrack": nat,
	}
	if n == 0 {
		want = map[string][]int{}
	}
	got := map[string][]int{}
	svgs := 0
	for _, m := range figureRe.FindAllStringSubmatch(page, -1) {
		id, body := m[1], m[2]
		assert.Equal(t, 1, strings.Count(body, "<svg"), "chart %s is one inline SVG", id)
		i, j := strings.Index(body, "<svg"), strings.LastIndex(body, "</svg>")
		if !assert.True(t, i >= 0 && j > i, "chart %s has an SVG", id) {
			continue
		}
		svgs++
		got[id] = dataLines(t, id, body[i:j+len("</svg>")])
	}
	assert.Equal(t, strings.Count(page, "<svg"), svgs, "every SVG of report.html is a chart")
	require.Len(t, got, len(want), "report.html: one chart per chart of the series, got %v", got)
	for id, lines := range want {
		have := got[id]
		for _, pts := range lines {
			if pts < 2 {
				continue // nothing, or a dot rather than a line
			}
			k := indexOf(have, pts)
			if assert.GreaterOrEqual(t, k, 0, "chart %s: no line of %d points drawn (lines: %v)", id, pts, have) {
				have = append(have[:k:k], have[k+1:]...)
			}
		}
	}
}

func indexOf(xs []int, x int) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// dataLines parses a chart's SVG and returns the vertex count of every
// data line in it (a path stroked 1.5 wide, not filled).
func dataLines(t *testing.T, id, svg string) []int {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	var out []int
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err, "chart %s: the SVG must parse", id)
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "path" {
			continue
		}
		var path, style string
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "d":
				path = a.Value
			case "style":
				style = a.Value
			}
		}
		if strings.Contains(style, "stroke-width:1.5") && strings.Contains(style, "fill:none") {
			out = append(out, strings.Count(path, "M")+strings.Count(path, "L"))
		}
	}
}
