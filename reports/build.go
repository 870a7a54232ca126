package reports

import (
	"github.com/natlab/natlab/loadgen"
)

// QuantilesOf summarises a histogram (an empty summary for nil).
func QuantilesOf(h *loadgen.Histogram) Quantiles {
	if h == nil {
		return Quantiles{}
	}
	return Quantiles{Count: h.Count(), P50: Seconds(h.Quantile(0.5)), P90: Seconds(h.Quantile(0.9)),
		P99: Seconds(h.Quantile(0.99)), Max: Seconds(h.Max())}
}

// TimingsOf summarises the connect and request histograms of a phase result.
func TimingsOf(pr loadgen.PhaseResult) Timings {
	return Timings{Connect: QuantilesOf(pr.Connect), Request: QuantilesOf(pr.Request)}
}

// LatencyOf summarises the latencies of a load generator result, per phase
// and in total.
func LatencyOf(res *loadgen.Result) Latency {
	if res == nil {
		return Latency{}
	}
	l := Latency{Total: TimingsOf(res.Total)}
	for _, p := range res.Phases {
		l.Phases = append(l.Phases, PhaseTimings{Phase: p.Name, Timings: TimingsOf(p)})
	}
	return l
}

// SampleOf turns a load generator tick into a Sample row; the caller adds
// the NAT readings.
func SampleOf(s loadgen.Sample) Sample {
	var errs uint64
	out := Sample{T: s.At.Seconds(), Phase: s.Phase, AttemptsPerSec: s.AttemptsPerSec(),
		OKPerSec: s.OKPerSec(), OpenConns: s.OpenConns, NewConnsPerSec: s.PerSecond(s.NewConns),
		ConnectP99: Seconds(s.Connect.P99), RequestP99: Seconds(s.Request.P99),
		Outcomes: map[loadgen.Outcome]float64{}}
	for o, n := range s.Outcomes {
		if n == 0 {
			continue
		}
		out.Outcomes[o] = s.PerSecond(n)
		if o != loadgen.OutcomeOK {
			errs += n
		}
	}
	out.ErrorsPerSec = s.PerSecond(errs)
	return out
}
