package loadgen

import "time"

// Sample is what happened during one tick of a run. Counts are deltas over
// the tick (attempts are counted when they start, outcomes when they end, so
// a tick's attempts need not equal its outcomes); OpenConns and InFlight are
// gauges at the tick's end.
type Sample struct {
	// At is the end of the tick since the start of the run.
	At time.Duration `json:"at"`
	// Interval is the tick's length (the last tick may be short).
	Interval time.Duration `json:"interval"`
	// Phase is the phase running at the end of the tick.
	Phase string `json:"phase"`
	// Attempts started during the tick.
	Attempts uint64 `json:"attempts"`
	// Outcomes of attempts that ended during the tick.
	Outcomes map[Outcome]uint64 `json:"outcomes"`
	// NewConns established during the tick.
	NewConns uint64 `json:"new_conns"`
	// Lost held connections during the tick.
	Lost uint64 `json:"lost"`
	// OpenConns is the number of connections (UDP sockets) open now.
	OpenConns int64 `json:"open_conns"`
	// InFlight is the number of attempts started and not yet ended.
	InFlight uint64 `json:"in_flight"`
	// Connect, Request and Failed are the latencies recorded during the
	// tick (Failed: the durations of attempts that failed).
	Connect Percentiles `json:"connect"`
	Request Percentiles `json:"request"`
	Failed  Percentiles `json:"failed"`
	// Histograms holds the same three distributions whole, exact and
	// mergeable, for a consumer that needs their buckets (a metrics
	// endpoint); nil in a Sample that did not come from Run.
	Histograms *TickHistograms `json:"histograms,omitempty"`
}

// TickHistograms are the latency histograms of one tick.
type TickHistograms struct {
	Connect *Histogram `json:"connect"`
	Request *Histogram `json:"request"`
	Failed  *Histogram `json:"failed"`
}

// PerSecond converts a count of this tick into a per-second rate.
func (s Sample) PerSecond(n uint64) float64 {
	if s.Interval <= 0 {
		return 0
	}
	return float64(n) / s.Interval.Seconds()
}

// AttemptsPerSec is the tick's attempt rate.
func (s Sample) AttemptsPerSec() float64 { return s.PerSecond(s.Attempts) }

// OKPerSec is the tick's rate of ok outcomes.
func (s Sample) OKPerSec() float64 { return s.PerSecond(s.Outcomes[OutcomeOK]) }

// sampler turns cumulative recorder state into per-tick samples.
type sampler struct {
	rec   *recorder
	start time.Time
	last  Counts
	lastT time.Duration
}

func (s *sampler) take(now time.Time, phase string) Sample {
	cur := s.rec.total()
	at := now.Sub(s.start)
	smp := Sample{At: at, Interval: at - s.lastT, Phase: phase,
		Attempts: cur.Attempts - s.last.Attempts, NewConns: cur.NewConns - s.last.NewConns,
		Lost: cur.Lost - s.last.Lost, OpenConns: s.rec.openConns.Load(), InFlight: cur.InFlight,
		Outcomes: make(map[Outcome]uint64)}
	for k, v := range cur.Outcomes {
		if d := v - s.last.Outcomes[k]; d != 0 {
			smp.Outcomes[k] = d
		}
	}
	h := s.rec.takeTick()
	smp.Connect, smp.Request, smp.Failed = h.Connect.Summary(), h.Request.Summary(), h.Failed.Summary()
	smp.Histograms = &h
	s.last, s.lastT = cur, at
	return smp
}
