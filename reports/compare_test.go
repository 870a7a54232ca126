package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/loadgen"
)

// strategyRun is a fixed run of the pooling-strategies scenario with one
// client strategy: unpooled runs out of the managed NAT's 256 ports at
// about 13 s, the pooled ones stay near a few ports.
func strategyRun(runID string, unpooled bool, newConnsPerReq float64) *Report {
	r := &Report{
		Scenario: Scenario{Name: "pooling-strategies", File: "builtin:pooling-strategies.yaml",
			Description: "One managed NAT IP with 256 ports, held 120 s after close"},
		Testbed: Testbed{Backend: "netns", Kernel: "6.18.0-natlab", RunID: runID,
			NATs: []NATBox{{Name: "nat", IPs: []string{"198.19.0.10"}, Ports: "1024-1279", Mode: "managed", Hold: Seconds(120 * time.Second)}}},
		Verdict:  VerdictPass,
		Started:  t0,
		Duration: Seconds(20 * time.Second),
		Faults:   []Fault{{Name: "conntrack-flush", Kind: "conntrack_flush", Host: "nat", InjectedAt: atp(15), RevertedAt: atp(15.5)}},
	}
	var c loadgen.Counts
	c.Attempts = 400
	c.Outcomes = map[loadgen.Outcome]uint64{loadgen.OutcomeOK: 400}
	c.NewConns = uint64(newConnsPerReq * 400)
	util, fails := 0.02, uint64(0)
	peakPorts := uint64(4)
	if unpooled {
		c.Outcomes = map[loadgen.Outcome]uint64{loadgen.OutcomeOK: 256, loadgen.OutcomeConnectTimeout: 144}
		c.NewConns = 256
		util, fails, peakPorts = 1, 412, 256
		r.Verdict = VerdictFail
	}
	r.Totals = TotalsOf(c)
	r.Phases = []Phase{{Name: "steady", Start: at(0), End: at(20), Counts: r.Totals}}
	ok := r.Totals.OK < 300
	r.Assertions = []Assertion{
		{Name: "error_rate < 1%", Passed: !ok, Observed: humanPct(r.Totals.ErrorRate), Expected: "< 1%", Source: "pooling-strategies.yaml:20"},
		{Name: "nat.allocation_failures == 0", Passed: fails == 0, Observed: humanCount(fails), Expected: "== 0", Source: "pooling-strategies.yaml:21"},
	}
	r.Latency.Total = Timings{Connect: Quantiles{Count: c.NewConns, P50: ms(0.3), P99: ms(1.2), Max: ms(3)},
		Request: Quantiles{Count: r.Totals.OK, P50: ms(0.9), P99: ms(4), Max: ms(9)}}
	if unpooled {
		r.Latency.Total.Failed = Quantiles{Count: 144, P50: ms(2000), P90: ms(2000), P99: ms(2003), Max: ms(2004)}
	}
	r.NAT = []NATSummary{{Name: "nat", AllocationFailures: fails, PeakPortUtilization: util, PeakPortsInUse: peakPorts, PeakConntrack: peakPorts + 2}}
	for i := 1; i <= 20; i++ {
		s := Sample{T: float64(i), Phase: "steady", AttemptsPerSec: 20, OKPerSec: 20, Outcomes: map[loadgen.Outcome]float64{loadgen.OutcomeOK: 20},
			NAT: map[string]NATSample{"nat": {Conntrack: 6, PortsInUse: 4, PortUtilization: util / 2, IPForward: true}}}
		if unpooled {
			u := min(1, float64(i)*20/256)
			s.NAT["nat"] = NATSample{Conntrack: uint64(i * 20), PortsInUse: uint64(u * 256), PortUtilization: u, IPForward: true}
			if i > 13 {
				s.OKPerSec, s.ErrorsPerSec = 0, 20
				s.FailedP99 = ms(2003)
				s.NAT["nat"] = NATSample{Conntrack: 256, PortsInUse: 256, PortUtilization: 1, AllocationFailures: 58, IPForward: true}
			}
		}
		r.Samples = append(r.Samples, s)
	}
	return r
}

// compareFixture is a comparison of three pooling strategies: http1
// unpooled fails with allocation failures, keep-alive and h2c pass.
func compareFixture() *Comparison {
	runs := []struct {
		name, set, dir string
		r              *Report
	}{
		{"http1-close", "phases[*].load.pool=none", "01-http1-close", strategyRun("nl-a1", true, 1)},
		{"http1-keepalive", "phases[*].load.pool=keepalive", "02-http1-keepalive", strategyRun("nl-b2", false, 0.01)},
		{"h2c", "phases[*].load.strategy=h2c", "03-h2c", strategyRun("nl-c3", false, 0.0025)},
	}
	c := &Comparison{Scenario: runs[0].r.Scenario, Started: t0, Duration: Seconds(63 * time.Second)}
	c.Phases, c.Faults = TimelineOf(runs[0].r)
	for _, run := range runs {
		c.Varied = append(c.Varied, run.set)
		c.Variants = append(c.Variants, VariantOf(run.name, []string{run.set}, run.dir, run.r))
	}
	c.Judge()
	return c
}

// TestCompareGolden renders the comparison as compare.md and compares it
// with testdata/compare.md.golden (regenerate with go test ./reports -update).
func TestCompareGolden(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, RenderComparison(&buf, compareFixture(), "md"))
	golden := filepath.Join("testdata", "compare.md.golden")
	if *update {
		require.NoError(t, os.WriteFile(golden, buf.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err, "run go test ./reports -update to create it")
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("compare.md differs from %s (run with -update if the change is intended)\ngot:\n%s", golden, buf.String())
	}
}

// The same figures in md, html and json: the unpooled variant with
// allocation failures, the pooled ones without.
func TestCompareFormatsAgree(t *testing.T) {
	c := compareFixture()
	require.Equal(t, VerdictFail, c.Verdict)
	dir := t.TempDir()
	require.NoError(t, WriteComparison(dir, c))
	back, err := ReadComparison(filepath.Join(dir, CompareFile))
	require.NoError(t, err)
	assert.Equal(t, CompareSchemaVersion, back.Schema)
	require.Len(t, back.Variants, 3)
	assert.Equal(t, uint64(412), back.Variants[0].AllocationFailures)
	assert.Equal(t, uint64(0), back.Variants[1].AllocationFailures)
	assert.Equal(t, uint64(0), back.Variants[2].AllocationFailures)

	md, err := os.ReadFile(filepath.Join(dir, "compare.md"))
	require.NoError(t, err)
	page, err := os.ReadFile(filepath.Join(dir, "compare.html"))
	require.NoError(t, err)
	text := strings.Join(strings.Fields(textOf(t, string(page))), " ")
	for i, row := range back.variantRows(func(s string) string { return s }) {
		v := back.Variants[i]
		mdRow := "| " + strings.Join(c.variantRows(mdText)[i], " | ") + " |"
		assert.True(t, strings.Contains(string(md), mdRow), "variant %s in compare.md: %s", v.Name, mdRow)
		assert.True(t, strings.Contains(text, strings.Join(row, " ")), "variant %s in compare.html: %v", v.Name, row)
	}
	assert.Contains(t, string(md), "| http1-close | FAIL | 12.8 | 36% |")
	assert.Contains(t, string(md), "| 256 | 100% | 258 | 412 |")
}

// compare.html is well formed, self-contained, and draws one line per
// variant on each overlaid chart, with the fault window shaded.
func TestCompareHTML(t *testing.T) {
	c := compareFixture()
	var buf bytes.Buffer
	require.NoError(t, RenderComparison(&buf, c, "html"))
	page := buf.String()
	els := xmlElements(t, page)
	charts, shaded := 0, 0
	for _, se := range els {
		switch {
		case se.Name.Local == "script" || se.Name.Local == "link" || se.Name.Local == "img":
			t.Errorf("compare.html has a <%s>", se.Name.Local)
		case se.Name.Local == "svg" && attr(se, "class") == "chart":
			charts++
		case se.Name.Local == "path" && shadeStyle.MatchString(attr(se, "style")):
			shaded++
		}
	}
	assert.Equal(t, 3, charts, "ok/s, errors/s, port utilization")
	assert.Equal(t, 3, shaded, "one fault window on each chart")
	for id, svg := range pageCharts(t, page) {
		assert.Equal(t, 3, strings.Count(svg, "stroke-width:1.5"), "chart %s: a line per variant", id)
	}
	text := textOf(t, page)
	for _, s := range []string{"FAIL: 1 of 3 variants did not pass (http1-close)", "http1-keepalive", "h2c",
		"PASS 0", "FAIL 412", "--set phases[*].load.pool=none"} {
		assert.True(t, strings.Contains(text, s), "compare.html does not show %q", s)
	}
}
