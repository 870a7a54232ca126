package scenario

import (
	"fmt"
	"time"
)

// recovered judges a recovery assertion: from the revert of its fault, it
// finds the first time t such that the condition holds on every tick of
// [t, t+window]; the assertion passes when t - revert <= within. The
// observed value is t - revert, or "never".
//
// Ticks count from the first one whose midpoint is at or after the revert
// (so a tick mostly spent under the fault is not credited to the
// recovery); t is the later of the revert and that tick's start. A tick in
// which no attempt ended has no error rate and does not count as recovered.
// A window that would end after the last tick does not count either.
// With Beyond set, t - revert must also exceed it.
func recovered(a Assertion, o *Observed) (passed bool, observed, expected string) {
	r := a.Recovery
	expected = fmt.Sprintf("%s on every tick for %s, starting within %s of the revert of %s", a.Expect.Text, r.Window, r.Within, r.After)
	if r.Beyond > 0 {
		expected = fmt.Sprintf("%s on every tick for %s, starting more than %s and within %s after the revert of %s", a.Expect.Text, r.Window, r.Beyond, r.Within, r.After)
	}
	ft, ok := o.FaultTimes[r.After]
	if !ok {
		return false, fmt.Sprintf("no data: fault %q was not injected", r.After), expected
	}
	if ft.Reverted <= 0 {
		return false, fmt.Sprintf("no data: fault %q was never reverted", r.After), expected
	}
	rev := ft.Reverted
	starts := make([]time.Duration, len(o.Series))
	var prev time.Duration
	for i, pt := range o.Series {
		starts[i] = prev
		prev = pt.At
	}
	for i, pt := range o.Series {
		if starts[i]+(pt.At-starts[i])/2 < rev {
			continue
		}
		t := max(rev, starts[i])
		if windowHolds(a.Expect, o.Series, starts, i, t+r.Window) {
			return t-rev <= r.Within && (r.Beyond == 0 || t-rev > r.Beyond), (t - rev).Round(time.Millisecond).String(), expected
		}
	}
	return false, "never", expected
}

// windowHolds reports whether the condition holds on ticks from..., up to
// the tick that reaches end, and whether the series reaches end at all.
func windowHolds(e Expr, series []Point, starts []time.Duration, from int, end time.Duration) bool {
	for j := from; j < len(series); j++ {
		if starts[j] >= end {
			return true
		}
		v, ok := tickValue(e.Metric, series[j], series[j].At-starts[j])
		if !ok || !e.Holds(v) {
			return false
		}
		if series[j].At >= end {
			return true
		}
	}
	return false
}

// tickValue returns a per-tick metric of one point.
func tickValue(metric string, p Point, interval time.Duration) (float64, bool) {
	switch metric {
	case "attempts":
		return float64(p.Attempts), true
	case "ok":
		return float64(p.OK), true
	case "errors":
		return float64(p.Errors), true
	case "error_rate":
		if p.OK+p.Errors == 0 {
			return 0, false
		}
		return float64(p.Errors) / float64(p.OK+p.Errors), true
	case "throughput":
		if interval <= 0 {
			return 0, false
		}
		return float64(p.OK) / interval.Seconds(), true
	}
	return 0, false
}
