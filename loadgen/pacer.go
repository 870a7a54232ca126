package loadgen

import "time"

// pacer gives the arrival times of an open, ramp or spike schedule.
type pacer interface {
	// hits is the expected number of arrivals in [0, t) of the phase; it is
	// non-decreasing in t.
	hits(t time.Duration) float64
}

// constantPacer arrives at a fixed rate.
type constantPacer struct{ perSec float64 }

func (c constantPacer) hits(t time.Duration) float64 { return c.perSec * t.Seconds() }

// rampPacer moves linearly from one rate to another over the phase.
type rampPacer struct {
	from, to float64 // per second
	dur      time.Duration
}

func (r rampPacer) hits(t time.Duration) float64 {
	s, d := t.Seconds(), r.dur.Seconds()
	if d <= 0 {
		return 0
	}
	return r.from*s + (r.to-r.from)*s*s/(2*d)
}

// spikePacer runs at a base rate with a window at a spike rate.
type spikePacer struct {
	base, spike float64 // per second
	at, span    time.Duration
}

func (p spikePacer) hits(t time.Duration) float64 {
	in := min(max(t-p.at, 0), p.span)
	return p.base*t.Seconds() + (p.spike-p.base)*in.Seconds()
}

var (
	_ pacer = constantPacer{}
	_ pacer = rampPacer{}
	_ pacer = spikePacer{}
)

// newPacer returns the pacer of an arrival-rate schedule.
func newPacer(ph Phase) pacer {
	sc := ph.Schedule
	switch sc.Kind {
	case ScheduleRamp:
		return rampPacer{from: sc.From.PerSecond(), to: sc.To.PerSecond(), dur: ph.Duration}
	case ScheduleSpike:
		return spikePacer{base: sc.Rate.PerSecond(), spike: sc.SpikeRate.PerSecond(), at: sc.SpikeAt, span: sc.SpikeFor}
	}
	return constantPacer{perSec: sc.Rate.PerSecond()}
}

// arrival returns when the i-th arrival (from 0) is due: the earliest t in
// [0, end) with hits(t) > i, found by bisection; ok is false when the
// schedule has no i-th arrival within end.
func arrival(p pacer, i uint64, end time.Duration) (time.Duration, bool) {
	want := float64(i)
	if p.hits(end) <= want {
		return 0, false
	}
	lo, hi := time.Duration(0), end
	if p.hits(0) > want {
		return 0, true
	}
	for hi-lo > time.Microsecond/4 {
		mid := lo + (hi-lo)/2
		if p.hits(mid) > want {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi, true
}
