package reports

import (
	"fmt"
	"strings"
)

// Rows shared by compare.md and compare.html. esc escapes the free text of
// the target format.

// variantHead is the header of the variants table.
var variantHead = []string{"Variant", "Verdict", "ok/s", "Error rate", "Connect p50", "Connect p99",
	"Request p50", "Request p99", "Failed p99", "New conns/request", "Peak NAT ports in use",
	"Peak port utilization", "Peak conntrack", "Allocation failures"}

// variantRows are one row per variant of the variants table.
func (c *Comparison) variantRows(esc func(string) string) [][]string {
	rows := make([][]string, 0, len(c.Variants))
	for _, v := range c.Variants {
		verdict := verdictWord(v.Verdict)
		if !c.Gated(v) {
			verdict += " (not gated)"
		}
		row := []string{esc(v.Name), verdict}
		if v.RunID == "" && v.Attempts == 0 { // never ran
			for range variantHead[2:] {
				row = append(row, "-")
			}
			rows = append(rows, row)
			continue
		}
		l := v.Latency
		row = append(row, num(v.Throughput, 1), humanPct(v.ErrorRate),
			humanDur(l.Connect.P50), humanDur(l.Connect.P99), humanDur(l.Request.P50), humanDur(l.Request.P99),
			failedP99(l.Failed), num(v.NewConnsPerRequest, 3), humanCount(v.PeakPortsInUse),
			humanPct(v.PeakPortUtilization), humanCount(v.PeakConntrack), humanCount(v.AllocationFailures))
		rows = append(rows, row)
	}
	return rows
}

// assertionNames lists the assertions of every variant, in the order they
// first appear.
func (c *Comparison) assertionNames() []string {
	var names []string
	seen := map[string]bool{}
	for _, v := range c.Variants {
		for _, a := range v.Assertions {
			if !seen[a.Name] {
				seen[a.Name] = true
				names = append(names, a.Name)
			}
		}
	}
	return names
}

// assertionCell is how a variant fared on an assertion: its result and
// what was observed, "-" when the variant did not judge it.
func assertionCell(v Variant, name string) (text string, passed, judged bool) {
	for _, a := range v.Assertions {
		if a.Name == name {
			return result(a.Passed) + " " + a.Observed, a.Passed, true
		}
	}
	return "-", false, false
}

// failedVariants lists the gated variants that did not pass, and counts
// the gated ones.
func (c *Comparison) failedVariants() (failed []string, gated int) {
	for _, v := range c.Variants {
		if !c.Gated(v) {
			continue
		}
		gated++
		if v.Verdict != VerdictPass {
			failed = append(failed, v.Name)
		}
	}
	return failed, gated
}

// Summary is the one-sentence verdict of the comparison.
func (c *Comparison) Summary() string { return c.summaryLine() }

// summaryLine is the one-sentence verdict of the comparison.
func (c *Comparison) summaryLine() string {
	failed, gated := c.failedVariants()
	what := "variants"
	if len(c.Gate) > 0 {
		what = fmt.Sprintf("gated variants (%s; %d not gated)", strings.Join(c.Gate, ", "), len(c.Variants)-gated)
	}
	switch {
	case len(failed) == 0:
		return fmt.Sprintf("PASS: all %d %s passed", gated, what)
	default:
		return fmt.Sprintf("%s: %d of %d %s did not pass (%s)", verdictWord(c.Verdict), len(failed),
			gated, what, strings.Join(failed, ", "))
	}
}

// aboutLine says what was compared and how.
func (c *Comparison) aboutLine() string {
	s := fmt.Sprintf("%d variants of %s on identical schedules, one after another on fresh testbeds",
		len(c.Variants), c.Scenario.Name)
	if !c.Started.IsZero() {
		s += ", started " + humanTime(c.Started)
	}
	return s + ", lasted " + humanDur(c.Duration)
}

// runRows are one row per variant: its overrides, run id, directory and
// what stopped it.
func (c *Comparison) runRows(esc, code func(string) string) [][]string {
	rows := make([][]string, 0, len(c.Variants))
	for _, v := range c.Variants {
		sets := make([]string, len(v.Sets))
		for i, s := range v.Sets {
			sets[i] = code("--set " + s)
		}
		rows = append(rows, []string{esc(v.Name), strings.Join(sets, " "), code(v.RunID), code(v.Dir), esc(v.Incomplete)})
	}
	return rows
}

var runHead = []string{"Variant", "Overrides", "Run", "Directory", "Problem"}
