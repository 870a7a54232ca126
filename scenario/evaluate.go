package scenario

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/natlab/natlab/loadgen"
)

// Evaluate judges every assertion of s against what the run observed, in
// the order they were written. A metric without data (no attempt ended, no
// latency recorded, a phase that did not run) fails its assertion.
func Evaluate(s *Scenario, o *Observed) []Verdict {
	if o == nil {
		o = &Observed{}
	}
	out := make([]Verdict, 0, len(s.Asserts))
	for _, a := range s.Asserts {
		v := Verdict{Name: a.Name, Pos: a.Pos, Expected: a.Expect.Text}
		if a.Recovery != nil {
			v.Passed, v.Observed, v.Expected = recovered(a, o)
		} else {
			v.Passed, v.Observed = judge(a, o)
		}
		out = append(out, v)
	}
	return out
}

// judge evaluates an expression over a phase or the whole run.
func judge(a Assertion, o *Observed) (bool, string) {
	w := o.Run
	if a.Phase != "" {
		var ok bool
		if w, ok = o.Phases[a.Phase]; !ok {
			return false, fmt.Sprintf("no data: phase %q did not run", a.Phase)
		}
	}
	v, why := windowValue(a.Expect.Metric, w, o)
	if why != "" {
		return false, "no data: " + why
	}
	return a.Expect.Holds(v), formatValue(a.Expect.kind, v)
}

// windowValue returns a metric of a window in its unit, or why it has no value.
func windowValue(metric string, w Window, o *Observed) (float64, string) {
	c := w.Counts
	switch metric {
	case "attempts", "ok", "errors", "error_rate":
		return countsValue(metric, c, "no attempt was made")
	case "throughput":
		if w.Duration <= 0 {
			return 0, "the window has no duration"
		}
		return float64(c.Of(loadgen.OutcomeOK)) / w.Duration.Seconds(), ""
	case "lost":
		return float64(c.Lost), ""
	case "new_conns":
		return float64(c.NewConns), ""
	case "first_failure", "last_failure":
		return failureTime(metric, o)
	case "nat.allocation_failures":
		return float64(w.NAT.AllocationFailures), ""
	case "nat.peak_port_utilization":
		return w.NAT.PeakPortUtilization, ""
	case "nat.peak_conntrack":
		return float64(w.NAT.PeakConntrack), ""
	case "nat.ip_forward_off_seconds":
		return float64(w.NAT.IPForwardOff), ""
	}
	if v, why, ok := gcpValue(metric, w.NAT.GCP); ok {
		return v, why
	}
	if v, why, ok := awsValue(metric, w.NAT.AWS); ok {
		return v, why
	}
	family, rest, _ := strings.Cut(metric, ".")
	switch family {
	case "outcomes", "lost":
		oc, err := loadgen.ParseOutcome(rest)
		if err != nil {
			return 0, err.Error()
		}
		if family == "lost" {
			return float64(c.LostBy[oc]), ""
		}
		return float64(c.Of(oc)), ""
	case "connect":
		return latency(w.Connect, rest, "connect")
	case "request":
		return latency(w.Request, rest, "request")
	case "backend":
		name, field, _ := strings.Cut(rest, ".")
		b, ok := w.Backends[name]
		if !ok {
			return 0, fmt.Sprintf("backend %q reported no counters", name)
		}
		v, _ := b.Field(field) // the parser checked the field
		return float64(v), ""
	case "app":
		return appValue(rest, w)
	case "client":
		return clientValue(rest, w)
	case "alarm":
		name, field, _ := strings.Cut(rest, ".")
		st := o.Alarms[name]
		switch field {
		case "fired":
			return boolValue(st.Fired), ""
		case "fired_before_first_failure":
			return boolValue(st.Fired && (o.FirstFailure == nil || st.FirstFired < *o.FirstFailure)), ""
		default:
			if !st.Fired {
				return 0, fmt.Sprintf("alarm %q never fired", name)
			}
			return float64(st.FirstFired), ""
		}
	case "fault":
		name, field, _ := strings.Cut(rest, ".")
		if field == failingAfter {
			return failingSince(name, o)
		}
		if v, ok := o.VMStarts[name]; ok {
			if field == "allocated" {
				return float64(v.Allocated), ""
			}
			return float64(v.Waiting), ""
		}
		e, ok := o.Effects[name]
		if !ok {
			return 0, fmt.Sprintf("fault %q was never injected", name)
		}
		var n *int
		switch field {
		case "predicted_resets":
			n = &e.PredictedResets
		case "predicted_dropped":
			n = &e.PredictedDropped
		case "observed_resets":
			n = e.ObservedResets
		default:
			n = e.ObservedDropped
		}
		if n == nil {
			return 0, fmt.Sprintf("fault %q was never reverted, so what it did was not read", name)
		}
		return float64(*n), ""
	}
	return 0, fmt.Sprintf("unknown metric %q", metric)
}

// failureTime is when the run's failures were seen, since its start, in
// nanoseconds: first_failure is the start of the first tick in which an
// attempt ended in failure, last_failure the end of the last one. A
// failure is seen when its attempt ends (a connect timeout its timeout
// after the attempt began), to the tick.
func failureTime(metric string, o *Observed) (float64, string) {
	if o.FirstFailure == nil {
		return 0, "no attempt failed"
	}
	if metric == "first_failure" {
		return float64(*o.FirstFailure), ""
	}
	for i := len(o.Series) - 1; i >= 0; i-- {
		if o.Series[i].Errors > 0 {
			return float64(o.Series[i].At), ""
		}
	}
	return 0, "no tick counted a failure"
}

// failingSince is how long after fault name's inject attempts still
// failed: from the inject to the end of the last tick that counted a
// failure, in nanoseconds; 0 when none failed after it.
func failingSince(name string, o *Observed) (float64, string) {
	ft, ok := o.FaultTimes[name]
	if !ok || ft.Injected == 0 {
		return 0, fmt.Sprintf("fault %q was never injected", name)
	}
	for i := len(o.Series) - 1; i >= 0; i-- {
		if o.Series[i].Errors > 0 {
			return float64(max(0, o.Series[i].At-ft.Injected)), ""
		}
	}
	return 0, ""
}

// latency returns a summary of a histogram in nanoseconds.
func latency(h *loadgen.Histogram, q, what string) (float64, string) {
	if h == nil || h.Count() == 0 {
		return 0, "no " + what + " latency was recorded"
	}
	switch q {
	case "max":
		return float64(h.Max()), ""
	case "mean":
		return float64(h.Mean()), ""
	}
	f, err := strconv.ParseFloat("0."+strings.TrimPrefix(q, "p"), 64)
	if err != nil {
		return 0, fmt.Sprintf("unknown quantile %q", q)
	}
	return float64(h.Quantile(f)), ""
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// formatValue renders a value in its metric's usual form.
func formatValue(k metricKind, v float64) string {
	switch k {
	case kindRatio:
		return strconv.FormatFloat(roundSig(v*100, 4), 'f', -1, 64) + "%"
	case kindRate:
		return strconv.FormatFloat(roundSig(v, 4), 'f', -1, 64) + "/s"
	case kindDuration:
		return time.Duration(v).Round(time.Microsecond).String()
	case kindBool:
		return strconv.FormatBool(v != 0)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// roundSig rounds v to n significant digits.
func roundSig(v float64, n int) float64 {
	f, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', n, 64), 64)
	if err != nil {
		return v
	}
	return f
}
