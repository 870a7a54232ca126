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

// TimingsOf summarises the connect, request and failed histograms of a
// phase result.
func TimingsOf(pr loadgen.PhaseResult) Timings {
	return Timings{Connect: QuantilesOf(pr.Connect), Request: QuantilesOf(pr.Request), Failed: QuantilesOf(pr.Failed)}
}
