package runner

import (
	"context"
	"math"
	"time"

	"github.com/natlab/natlab/chaos"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/reports"
	"github.com/natlab/natlab/scenario"
	"github.com/natlab/natlab/testbed/sampler"
)

// observe gathers what the run measured into the shape assertions judge.
func (r *run) observe(ctx context.Context, nat *sampler.Sampler, alarms *alarmSet) *scenario.Observed {
	r.mu.Lock()
	phases := append([]phaseRun(nil), r.phases...)
	markers := append([]chaos.Marker(nil), r.markers...)
	r.mu.Unlock()
	ticks := nat.Samples()

	o := &scenario.Observed{
		Phases:     map[string]scenario.Window{},
		FaultTimes: map[string]scenario.FaultTime{},
		Alarms:     alarms.states(),
	}
	whole := scenario.Window{Connect: loadgen.NewHistogram(), Request: loadgen.NewHistogram(), Backends: map[string]scenario.BackendStats{},
		Clients: map[string]loadgen.Counts{}}
	var runEnd time.Duration
	for _, p := range phases {
		w := scenario.Window{Duration: p.end - p.start, NAT: natStats(ticks, "", p.start, p.end, r.tick), Backends: p.backends, Clients: p.clients}
		for name, c := range p.clients {
			sum := whole.Clients[name]
			sum.Add(c)
			whole.Clients[name] = sum
		}
		if p.result != nil {
			w.Counts = p.result.Total.Counts
			w.Connect, w.Request = p.result.Total.Connect, p.result.Total.Request
			whole.Counts.Add(w.Counts)
			_ = whole.Connect.Merge(w.Connect)
			_ = whole.Request.Merge(w.Request)
		}
		for name, b := range p.backends {
			sum := whole.Backends[name]
			sum.Add(b)
			whole.Backends[name] = sum
		}
		w.Apps = r.appStats(ctx, phases, p.start, p.end)
		o.Phases[p.name] = w
		runEnd = p.end
	}
	whole.Duration = runEnd
	whole.NAT = natStats(ticks, "", -1, wholeRun, r.tick)
	whole.Apps = r.appStats(ctx, phases, -1, wholeRun)
	o.Run = whole

	for _, t := range r.series.all() {
		errs := t.Errors() - t.Outcomes[loadgen.OutcomeCancelled]
		o.Series = append(o.Series, scenario.Point{At: t.At, Attempts: t.Attempts, OK: t.OK(), Errors: errs})
		if errs > 0 && o.FirstFailure == nil {
			first := t.At - t.Interval
			o.FirstFailure = &first
		}
	}
	effects := map[string]*reports.ConnectionEffects{}
	for _, m := range markers {
		if e := effectsOf(effects[m.Fault], m); e != nil {
			effects[m.Fault] = e
		}
		if v, ok := vmStartOf(m); ok {
			if o.VMStarts == nil {
				o.VMStarts = map[string]scenario.VMStart{}
			}
			o.VMStarts[m.Fault] = v
		}
		ft := o.FaultTimes[m.Fault]
		switch {
		case m.Event == chaos.EventInject && m.Err == "":
			ft.Injected = m.At
		case m.Event == chaos.EventRevert && m.Err == "":
			ft.Reverted = m.At
		}
		o.FaultTimes[m.Fault] = ft
	}
	for name, e := range effects {
		if o.Effects == nil {
			o.Effects = map[string]scenario.FaultEffects{}
		}
		o.Effects[name] = scenario.FaultEffects{PredictedResets: e.PredictedResets, PredictedDropped: e.PredictedDropped,
			ObservedResets: e.ObservedResets, ObservedDropped: e.ObservedDropped}
	}
	return o
}

// wholeRun is the end of a window that takes every tick.
const wholeRun = time.Duration(math.MaxInt64)

// natStats sums the NAT readings in (from, to] of one NAT box, or with
// host "" of every box (per tick: failures and conntrack entries added,
// the highest utilization, forwarding off when any box has it off; Cloud
// NAT's metrics as addGCP says, NAT gateway's as addAWS). A box that gave no reading in a tick is
// a gap, not zeros.
func natStats(ticks []sampler.Sample, host string, from, to, tick time.Duration) scenario.NATStats {
	var s scenario.NATStats
	for _, t := range ticks {
		var conntrack uint64
		open, active := 0, 0
		off, in := false, false
		for _, rd := range t.NATs {
			if rd.Err != "" || (host != "" && rd.Host != host) {
				continue
			}
			// A reading belongs to the window in which the box read its
			// counters: one that started in a phase's last tick but read
			// after the next phase began holds that phase's failures.
			if at := readAt(t, rd); at <= from || at > to {
				continue
			}
			in = true
			s.AllocationFailures += rd.AllocationFailuresDelta
			s.PeakPortUtilization = max(s.PeakPortUtilization, rd.PortUtilization)
			conntrack += uint64(rd.ConntrackEntries)
			off = off || !rd.IPForward
			if rd.GCP != nil {
				if s.GCP == nil {
					s.GCP = &scenario.GCPStats{DroppedSent: map[string]uint64{}}
				}
				addGCP(s.GCP, rd.GCP)
				open += rd.GCP.OpenConnections
			}
			if rd.AWS != nil {
				if s.AWS == nil {
					s.AWS = &scenario.AWSStats{}
				}
				addAWS(s.AWS, rd.AWS)
				active += rd.AWS.ActiveConnectionCount
			}
		}
		if !in {
			continue
		}
		s.PeakConntrack = max(s.PeakConntrack, conntrack)
		if s.GCP != nil {
			s.GCP.OpenConnections = max(s.GCP.OpenConnections, open)
		}
		if s.AWS != nil {
			s.AWS.ActiveConnectionCount = max(s.AWS.ActiveConnectionCount, active)
		}
		if off {
			s.IPForwardOff += tick
		}
	}
	return s
}

// readAt is when a tick's NAT reading read its counters: ReadAt, or the
// tick's time for readings that do not say.
func readAt(t sampler.Sample, rd sampler.NATSample) time.Duration {
	if rd.ReadAt > 0 {
		return rd.ReadAt
	}
	return t.At
}

// addGCP adds one box's Cloud NAT reading of a tick to a window: the
// highest allocation and usage, any failure, the counts' rise.
func addGCP(w *scenario.GCPStats, g *sampler.GCPSample) {
	w.AllocatedPorts = max(w.AllocatedPorts, g.MaxAllocatedPorts())
	w.PortUsage = max(w.PortUsage, g.MaxPortUsage())
	w.AllocationFailed = w.AllocationFailed || g.AllocationFailed
	for reason, n := range g.DroppedSentDelta {
		w.DroppedSent[reason] += n
	}
	w.NewConnections += g.NewConnectionsDelta
}

// addAWS adds one box's NAT gateway reading of a tick to a window: the
// counts' rise (ActiveConnectionCount is taken per tick by the caller).
func addAWS(w *scenario.AWSStats, a *sampler.AWSSample) {
	w.ErrorPortAllocation += a.ErrorPortAllocationDelta
	w.PacketsDropCount += a.PacketsDropCountDelta
	w.ConnectionAttemptCount += a.ConnectionAttemptCountDelta
	w.ConnectionEstablishedCount += a.ConnectionEstablishedCountDelta
	w.IdleTimeoutCount += a.IdleTimeoutCountDelta
}
