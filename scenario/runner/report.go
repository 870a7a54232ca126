package runner

import (
	"cmp"
	"fmt"
	"net/netip"
	"sort"
	"time"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/chaos"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/reports"
	"github.com/natlab/natlab/scenario"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natcfg"
	"github.com/natlab/natlab/testbed/sampler"
)

// report turns the run into the report every output format is written from.
func (r *run) report(res *Result, o *scenario.Observed, nat *sampler.Sampler, alarms *alarmSet) *reports.Report {
	rep := &reports.Report{
		Scenario: reports.Scenario{Name: r.sc.Name, Description: r.sc.Description, File: r.sc.File},
		Testbed:  reports.Testbed{Backend: r.opts.Backend.Name(), Kernel: wire.Kernel(), RunID: r.tb.Run.ID},
		Verdict:  reports.VerdictPass,
		Started:  r.start.UTC(),
		Duration: reports.Seconds(o.Run.Duration),
		Totals:   reports.TotalsOf(o.Run.Counts),
	}
	if ch := r.sc.NATChange; ch != nil {
		nc := &reports.NATConfig{File: ch.File, Form: ch.Form, Resource: ch.Resource,
			Changes: []reports.NATSettingChange{}, Ignored: append([]string{}, ch.Ignored...)}
		for _, c := range ch.Changes {
			nc.Changes = append(nc.Changes, reports.NATSettingChange{NAT: c.NAT, Setting: c.Setting, Before: c.Before, After: c.After})
		}
		rep.NATConfig = nc
	}
	switch {
	case res.Incomplete != "":
		rep.Verdict, rep.Incomplete = reports.VerdictIncomplete, res.Incomplete
	case !res.Passed:
		rep.Verdict = reports.VerdictFail
	}
	for i, n := range r.tb.Run.Spec.NATs {
		box := reports.NATBox{Name: n.Name, Ports: n.Ports.String(), Mode: n.Mode, Hold: reports.Seconds(n.Hold)}
		switch n.Profile {
		case testbed.ProfileGCPCloudNAT:
			// A Cloud NAT has no natlab mode: its profile says what it is.
			box.Mode = n.Profile
			box.Hold = reports.Seconds(time.Duration(n.GCP.TCPTimeWaitTimeoutSec) * time.Second)
		case testbed.ProfileAWSNATGateway:
			box.Mode = n.Profile // holds no closed port
		}
		for _, ip := range r.tb.Run.Layout.NATs[i].IPs {
			box.IPs = append(box.IPs, ip.String())
		}
		rep.Testbed.NATs = append(rep.Testbed.NATs, box)
	}
	for _, v := range res.Verdicts {
		rep.Assertions = append(rep.Assertions, reports.Assertion{Name: v.Name, Passed: v.Passed,
			Observed: v.Observed, Expected: v.Expected, Source: fmt.Sprintf("%s:%d", r.sc.File, v.Pos.Line)})
	}

	r.mu.Lock()
	phases := append([]phaseRun(nil), r.phases...)
	markers := append([]chaos.Marker(nil), r.markers...)
	r.mu.Unlock()
	rep.Latency.Total = reports.Timings{Connect: reports.QuantilesOf(o.Run.Connect), Request: reports.QuantilesOf(o.Run.Request),
		Failed: reports.QuantilesOf(failed(phases))}
	for _, p := range phases {
		var counts loadgen.Counts
		if p.result != nil {
			counts = p.result.Total.Counts
			rep.Latency.Phases = append(rep.Latency.Phases, reports.PhaseTimings{Phase: p.name, Timings: reports.TimingsOf(p.result.Total)})
		}
		rep.Phases = append(rep.Phases, reports.Phase{Name: p.name, Start: r.at(p.start), End: r.at(p.end), Counts: reports.TotalsOf(counts)})
	}

	ticks := nat.Samples()
	for _, n := range r.tb.Run.Spec.NATs {
		st := natStats(ticks, n.Name, -1, wholeRun, r.tick)
		sum := reports.NATSummary{Name: n.Name, AllocationFailures: st.AllocationFailures,
			PeakPortUtilization: st.PeakPortUtilization, PeakConntrack: st.PeakConntrack,
			PeakPortsInUse: peakPortsInUse(ticks, n.Name), IPForwardOff: reports.Seconds(st.IPForwardOff)}
		if a := st.AWS; a != nil {
			sum.AWS = &reports.AWSMetrics{ErrorPortAllocation: a.ErrorPortAllocation, PacketsDropCount: a.PacketsDropCount,
				ActiveConnectionCount: a.ActiveConnectionCount, ConnectionAttemptCount: a.ConnectionAttemptCount,
				ConnectionEstablishedCount: a.ConnectionEstablishedCount, IdleTimeoutCount: a.IdleTimeoutCount}
		}
		if g := st.GCP; g != nil {
			sum.GCP = &reports.GCPMetrics{AllocatedPorts: g.AllocatedPorts, PortUsage: g.PortUsage,
				AllocationFailed: g.AllocationFailed, DroppedSent: dropsByReason(g.DroppedSent),
				NewConnections: g.NewConnections, OpenConnections: g.OpenConnections, VMs: gcpVMs(ticks, n.Name)}
		}
		rep.NAT = append(rep.NAT, sum)
	}

	rep.Faults = faultsOf(r.sc, markers, r.at)
	rep.Apps = r.appReports(o)
	rep.Candidates = r.candidateReports(func(nat string) time.Duration {
		return natStats(ticks, nat, -1, wholeRun, r.tick).IPForwardOff
	})
	states := alarms.states()
	for _, a := range r.sc.Alarms {
		al := reports.Alarm{Name: a.Name, Metric: a.Metric, Threshold: threshold(a)}
		if st := states[a.Name]; st.Fired {
			t := r.at(st.FirstFired)
			al.FirstFired = &t
		}
		rep.Alarms = append(rep.Alarms, al)
	}
	rep.Samples = r.samples(ticks)
	preChange(rep, ticks, markers)
	late, worst := sampler.LateTicks(ticks, r.tick)
	sm := &reports.Sampling{Tick: reports.Seconds(r.tick), LateTicks: late, MaxLate: reports.Seconds(worst)}
	for _, t := range ticks {
		for _, rd := range t.NATs {
			if rd.Err != "" {
				sm.MissingNATReadings++
			}
		}
	}
	rep.Sampling = sm
	return rep
}

// failed merges the failed-attempt histograms of the phases that ran load.
func failed(phases []phaseRun) *loadgen.Histogram {
	h := loadgen.NewHistogram()
	for _, p := range phases {
		if p.result != nil {
			_ = h.Merge(p.result.Total.Failed) // one geometry: cannot drop values
		}
	}
	return h
}

// peakPortsInUse is the most NAT ports one box had in use in any tick.
func peakPortsInUse(ticks []sampler.Sample, host string) uint64 {
	var peak int
	for _, t := range ticks {
		for _, rd := range t.NATs {
			if rd.Err == "" && rd.Host == host {
				peak = max(peak, rd.PortsInUse)
			}
		}
	}
	return uint64(peak)
}

// at turns an offset since the start into a time.
func (r *run) at(d time.Duration) time.Time { return r.start.Add(d).UTC() }

func threshold(a scenario.Alarm) string {
	op := "<"
	if a.Above {
		op = ">"
	}
	s := fmt.Sprintf("%s %g", op, a.Threshold)
	if a.For > 0 {
		s += " for " + a.For.String()
	}
	return s
}

// faultsOf lists the scenario's faults with what the timeline did to them.
func faultsOf(sc *scenario.Scenario, markers []chaos.Marker, at func(time.Duration) time.Time) []reports.Fault {
	var out []reports.Fault
	for _, f := range sc.Faults {
		rf := reports.Fault{Name: f.Name, Kind: f.Kind, Host: f.Host}
		for _, m := range markers {
			if m.Fault != f.Name {
				continue
			}
			rf.Description = m.Description
			switch m.Event {
			case chaos.EventInject:
				t := at(m.At)
				rf.InjectedAt = &t
				if m.Err != "" {
					rf.Error = "inject: " + m.Err
				}
			case chaos.EventRevert:
				if m.Err != "" {
					rf.Error = "revert: " + m.Err
				} else {
					t := at(m.At)
					rf.RevertedAt = &t
				}
			case chaos.EventVerify:
				rf.VerifyError = m.Err
			}
			if len(m.Report) > 0 && m.Event == chaos.EventInject {
				rf.Description += fmt.Sprintf(" %v", m.Report)
			}
			if f.Kind == "nat-config" {
				rf.Effects = effectsOf(rf.Effects, m)
			}
		}
		out = append(out, rf)
	}
	return out
}

// samples joins the client ticks and the NAT ticks into report rows.
func (r *run) samples(ticks []sampler.Sample) []reports.Sample {
	rows := map[time.Duration]*reports.Sample{}
	row := func(at time.Duration) *reports.Sample {
		if s := rows[at]; s != nil {
			return s
		}
		s := &reports.Sample{T: at.Seconds(), Outcomes: map[loadgen.Outcome]float64{}, NAT: map[string]reports.NATSample{}}
		rows[at] = s
		return s
	}
	per := r.tick.Seconds()
	for _, t := range r.series.all() {
		s := row(t.At)
		s.Phase = t.Phase
		s.AttemptsPerSec = float64(t.Attempts) / per
		s.OKPerSec = float64(t.OK()) / per
		s.ErrorsPerSec = float64(t.Errors()) / per
		for o, n := range t.Outcomes {
			if n > 0 {
				s.Outcomes[o] = float64(n) / per
			}
		}
		s.OpenConns = t.OpenConns
		s.NewConnsPerSec = float64(t.NewConns) / per
		s.ConnectP99 = reports.Seconds(t.ConnectP99)
		s.RequestP99 = reports.Seconds(t.RequestP99)
		s.FailedP99 = reports.Seconds(t.FailedP99)
	}
	for _, t := range ticks {
		s := row(t.At.Round(r.tick))
		for _, rd := range t.NATs {
			if rd.Err != "" {
				continue // no reading this tick: a gap, not zeros
			}
			ns := reports.NATSample{Conntrack: uint64(rd.ConntrackEntries), AllocationFailures: rd.AllocationFailuresDelta,
				PortUtilization: rd.PortUtilization, PortsInUse: uint64(max(rd.PortsInUse, 0)), IPForward: rd.IPForward}
			if a := rd.AWS; a != nil {
				ns.AWS = &reports.AWSMetrics{ErrorPortAllocation: a.ErrorPortAllocationDelta, PacketsDropCount: a.PacketsDropCountDelta,
					ActiveConnectionCount: a.ActiveConnectionCount, ConnectionAttemptCount: a.ConnectionAttemptCountDelta,
					ConnectionEstablishedCount: a.ConnectionEstablishedCountDelta, IdleTimeoutCount: a.IdleTimeoutCountDelta}
			}
			if g := rd.GCP; g != nil {
				ns.GCP = &reports.GCPMetrics{AllocatedPorts: g.MaxAllocatedPorts(), PortUsage: g.MaxPortUsage(),
					AllocationFailed: g.AllocationFailed, DroppedSent: dropsByReason(g.DroppedSentDelta),
					NewConnections: g.NewConnectionsDelta, OpenConnections: g.OpenConnections}
			}
			if prev, ok := s.NAT[rd.Host]; ok {
				// A reading that came late by over half a tick rounds
				// onto the next one's row: the row then covers both, so
				// its rises add up and its levels are their peaks.
				ns = mergeNATSamples(prev, ns)
			}
			s.NAT[rd.Host] = ns
		}
	}
	keys := make([]time.Duration, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	out := make([]reports.Sample, 0, len(keys))
	phase := ""
	for _, k := range keys {
		s := rows[k]
		if s.Phase == "" {
			s.Phase = phase
		}
		phase = s.Phase
		out = append(out, *s)
	}
	return out
}

// preChange gives each nat-config fault's effects its NAT's last reading
// before the change (the report's pre-change check): the last one the
// box took (ReadAt) before the inject was due. The inject's marker is set
// once the change is done, and a reading taken while it ran may already
// see the new config (or none: the box's control loop is stopped for it).
func preChange(rep *reports.Report, ticks []sampler.Sample, markers []chaos.Marker) {
	for i := range rep.Faults {
		f := &rep.Faults[i]
		if f.Effects == nil || f.InjectedAt == nil {
			continue
		}
		due, ok := time.Duration(0), false
		for _, m := range markers {
			if m.Fault == f.Name && m.Event == chaos.EventInject {
				due, ok = m.Planned, true
			}
		}
		if !ok {
			continue
		}
		var last *sampler.NATSample
		for j := range ticks {
			for k := range ticks[j].NATs {
				rd := &ticks[j].NATs[k]
				if rd.Host == f.Host && rd.Err == "" && rd.ReadAt < due && (last == nil || rd.ReadAt > last.ReadAt) {
					last = rd
				}
			}
		}
		if last == nil {
			continue
		}
		b := &reports.PreChange{T: last.ReadAt.Seconds(), PortUtilization: last.PortUtilization}
		if g := last.GCP; g != nil {
			usage, alloc := g.MaxPortUsage(), g.MaxAllocatedPorts()
			b.PortUsage, b.AllocatedPorts = &usage, &alloc
		}
		f.Effects.Before = b
	}
}

// effectsOf adds what marker m reports of a nat-config fault to e: the
// prediction at the inject, the observed counts at the revert.
func effectsOf(e *reports.ConnectionEffects, m chaos.Marker) *reports.ConnectionEffects {
	num := func(k string) (int, bool) { return reportInt(m.Report, k) }
	if m.Event == chaos.EventInject {
		if n, ok := num("predicted_resets"); ok {
			e = &reports.ConnectionEffects{PredictedResets: n}
			e.PredictedDropped, _ = num("predicted_dropped")
		}
		return e
	}
	if e == nil || m.Event != chaos.EventRevert {
		return e
	}
	if n, ok := num("observed_resets"); ok {
		d, _ := num("observed_dropped")
		e.ObservedResets, e.ObservedDropped = &n, &d
	}
	return e
}

// vmStartOf is what a vm-start fault's inject marker reports: how many
// of its VMs got a block, how many wait.
func vmStartOf(m chaos.Marker) (scenario.VMStart, bool) {
	if m.Event != chaos.EventInject || m.Err != "" {
		return scenario.VMStart{}, false
	}
	a, okA := reportInt(m.Report, "allocated")
	w, okW := reportInt(m.Report, "waiting")
	return scenario.VMStart{Allocated: a, Waiting: w}, okA && okW
}

// reportInt reads a whole number of a fault's report.
func reportInt(r map[string]any, k string) (int, bool) {
	switch v := r[k].(type) {
	case int:
		return v, true
	case float64:
		return int(v), true
	}
	return 0, false
}

// mergeNATSamples joins two readings of one NAT box that fall on one row.
func mergeNATSamples(a, b reports.NATSample) reports.NATSample {
	return reports.NATSample{
		Conntrack:          max(a.Conntrack, b.Conntrack),
		AllocationFailures: a.AllocationFailures + b.AllocationFailures,
		PortUtilization:    max(a.PortUtilization, b.PortUtilization),
		PortsInUse:         max(a.PortsInUse, b.PortsInUse),
		IPForward:          a.IPForward && b.IPForward,
		AWS:                mergeAWS(a.AWS, b.AWS),
		GCP:                mergeGCP(a.GCP, b.GCP),
	}
}

// mergeGCP joins the Cloud NAT metrics of two readings on one row: the
// gauges' peak, a failure in either, the counts' sum.
func mergeGCP(a, b *reports.GCPMetrics) *reports.GCPMetrics {
	if a == nil || b == nil {
		return cmp.Or(b, a)
	}
	drops := dropsByReason(a.DroppedSent)
	for reason, n := range b.DroppedSent {
		drops[reason] += n
	}
	return &reports.GCPMetrics{
		AllocatedPorts:   max(a.AllocatedPorts, b.AllocatedPorts),
		PortUsage:        max(a.PortUsage, b.PortUsage),
		AllocationFailed: a.AllocationFailed || b.AllocationFailed,
		DroppedSent:      drops,
		NewConnections:   a.NewConnections + b.NewConnections,
		OpenConnections:  max(a.OpenConnections, b.OpenConnections),
	}
}

// dropsByReason copies Cloud NAT drop counts with every reason natlab
// counts present, so that reports carry the zeros too.
func dropsByReason(m map[string]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(natcfg.DropReasons))
	for _, r := range natcfg.DropReasons {
		out[r] = 0
	}
	for r, n := range m {
		out[r] += n
	}
	return out
}

// gcpVMs is each VM's highest sampled allocated_ports and port_usage
// behind Cloud NAT box host, by address.
func gcpVMs(ticks []sampler.Sample, host string) []reports.GCPVM {
	peaks := map[string]*reports.GCPVM{}
	for _, t := range ticks {
		for _, rd := range t.NATs {
			if rd.Err != "" || rd.Host != host || rd.GCP == nil {
				continue
			}
			for vm, n := range rd.GCP.AllocatedPorts {
				p := peaks[vm]
				if p == nil {
					p = &reports.GCPVM{VM: vm}
					peaks[vm] = p
				}
				p.AllocatedPorts = max(p.AllocatedPorts, n)
			}
			for vm, n := range rd.GCP.PortUsage {
				p := peaks[vm]
				if p == nil {
					p = &reports.GCPVM{VM: vm}
					peaks[vm] = p
				}
				p.PortUsage = max(p.PortUsage, n)
			}
		}
	}
	out := make([]reports.GCPVM, 0, len(peaks))
	for _, p := range peaks {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return vmLess(out[i].VM, out[j].VM) })
	return out
}

// vmLess orders VM addresses as addresses (198.18.0.9 before
// 198.18.0.10), and anything else after them by text.
func vmLess(a, b string) bool {
	x, errX := netip.ParseAddr(a)
	y, errY := netip.ParseAddr(b)
	switch {
	case errX == nil && errY == nil:
		return x.Less(y)
	case errX == nil || errY == nil:
		return errX == nil
	}
	return a < b
}

// mergeAWS joins the NAT gateway metrics of two readings on one row.
func mergeAWS(a, b *reports.AWSMetrics) *reports.AWSMetrics {
	if a == nil || b == nil {
		return cmp.Or(b, a)
	}
	return &reports.AWSMetrics{
		ErrorPortAllocation:        a.ErrorPortAllocation + b.ErrorPortAllocation,
		PacketsDropCount:           a.PacketsDropCount + b.PacketsDropCount,
		ActiveConnectionCount:      max(a.ActiveConnectionCount, b.ActiveConnectionCount),
		ConnectionAttemptCount:     a.ConnectionAttemptCount + b.ConnectionAttemptCount,
		ConnectionEstablishedCount: a.ConnectionEstablishedCount + b.ConnectionEstablishedCount,
		IdleTimeoutCount:           a.IdleTimeoutCount + b.IdleTimeoutCount,
	}
}
