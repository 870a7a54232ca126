package runner

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/reports"
	"github.com/natlab/natlab/scenario"
	"github.com/natlab/natlab/testbed"
)

// planAppLoad plans a load on an app tier: it runs on the client hosts of
// the app's block (the internal load balancer's node in that zone), each
// spreading its share evenly over the app's hosts, which it reaches on
// their own link, not through the NAT.
func planAppLoad(sc *scenario.Scenario, l *testbed.Layout, ph scenario.Phase, ld scenario.LoadSpec) ([]plannedLoad, error) {
	var app *testbed.AppSpec
	for i := range sc.Testbed.Apps {
		if sc.Testbed.Apps[i].Name == ld.Target {
			app = &sc.Testbed.Apps[i]
		}
	}
	if app == nil {
		return nil, fmt.Errorf("phase %s: unknown app %q", ph.Name, ld.Target)
	}
	var targets []string
	for _, name := range app.HostNames() {
		for _, h := range l.Hosts {
			if h.Name == name {
				targets = append(targets, fmt.Sprintf("%s:%d", h.Link, app.Port))
			}
		}
	}
	var out []plannedLoad
	for _, h := range l.Hosts {
		if h.Role != "" || h.Block != app.Block || ld.Client != "" && ld.Client != h.Name {
			continue
		}
		p := ld.Plan(ph.Name, ph.Duration, sc.Tick)
		p.Sources = h.Sources
		for i, part := range loadgen.Split(p, len(targets)) {
			part.Target = targets[i]
			out = append(out, plannedLoad{client: h.Name, target: app.Name, plan: part})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("phase %s: app %s has no client host in its block %s to call it", ph.Name, app.Name, app.Block)
	}
	return out, nil
}

// appEvent is one thing the supervisor saw or did to an app host.
type appEvent struct {
	at   time.Duration
	app  string
	host string
	kind string // "check_failed", "restart"
	err  string
}

// supervisor is the cloud's auto-recovery: it health-checks every app
// host through its NAT, and restarts a host (its agent processes end,
// with their connections, and a fresh agent boots) after the app's
// Check.Failures failed checks in a row. A host that boots is not
// checked until it serves again (a health check grace period), so one
// outage restarts a host once.
type supervisor struct {
	tb    *testbed.Testbed
	start time.Time
	note  func(at time.Duration, msg string)

	mu     sync.Mutex
	events []appEvent
	// boots are the stats of the agents that ended (restarted hosts), so
	// their boot attempts still count.
	ended map[string][]hostStats
}

type hostStats struct {
	bootAttempts int
	timeToServe  time.Duration
}

func (s *supervisor) record(e appEvent) {
	s.mu.Lock()
	s.events = append(s.events, e)
	s.mu.Unlock()
	msg := fmt.Sprintf("app %s: %s", e.host, e.kind)
	if e.err != "" {
		msg += ": " + e.err
	}
	s.note(e.at, msg)
}

// run checks every app host until ctx ends.
func (s *supervisor) run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, a := range s.tb.Run.Spec.Apps {
		for _, h := range a.HostNames() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.watch(ctx, a, h)
			}()
		}
	}
	wg.Wait()
}

// watch checks one host every interval, on the run's clock.
func (s *supervisor) watch(ctx context.Context, a testbed.AppSpec, host string) {
	failed := 0
	for n := 1; ; n++ {
		next := s.start.Add(time.Duration(n) * a.Check.Interval)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		st, err := s.tb.AppStats(ctx, host)
		if err != nil || !st.Serving {
			continue // booting: its grace period
		}
		res, err := s.tb.HealthCheck(ctx, host)
		if ctx.Err() != nil {
			return
		}
		if err == nil && res.OK {
			failed = 0
			continue
		}
		why := res.Err
		if err != nil {
			why = err.Error()
		}
		failed++
		s.record(appEvent{at: time.Since(s.start), app: a.Name, host: host, kind: "check_failed", err: why})
		if failed < a.Check.Failures {
			continue
		}
		failed = 0
		s.restart(ctx, a, host, st)
	}
}

// restart kills every agent of host and boots a fresh one, as a reboot.
func (s *supervisor) restart(ctx context.Context, a testbed.AppSpec, host string, last wire.AppStats) {
	at := time.Since(s.start)
	err := s.tb.Host(host).Kill()
	if err == nil {
		err = s.tb.Restart(context.WithoutCancel(ctx), host)
	}
	s.mu.Lock()
	if s.ended == nil {
		s.ended = map[string][]hostStats{}
	}
	s.ended[host] = append(s.ended[host], hostStats{bootAttempts: last.BootAttempts, timeToServe: last.TimeToServe})
	s.mu.Unlock()
	e := appEvent{at: at, app: a.Name, host: host, kind: "restart"}
	if err != nil {
		e.err = err.Error()
	}
	s.record(e)
}

// supervise runs the supervisor from the start of the run until the
// returned stop is called; without apps it does nothing.
func (r *run) supervise(ctx context.Context) func() {
	r.sup = &supervisor{tb: r.tb, start: r.start, note: r.opts.Progress.Event}
	if len(r.tb.Run.Spec.Apps) == 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.sup.run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// appStats are the figures of every app over (from, to] of the run; the
// boot figures are of the whole run, read from the hosts' agents (the
// current ones, and those the supervisor restarted away).
func (r *run) appStats(ctx context.Context, phases []phaseRun, from, to time.Duration) map[string]scenario.AppStats {
	if len(r.sc.Testbed.Apps) == 0 {
		return nil
	}
	out := map[string]scenario.AppStats{}
	r.sup.mu.Lock()
	events := append([]appEvent(nil), r.sup.events...)
	ended := map[string][]hostStats{}
	for k, v := range r.sup.ended {
		ended[k] = append([]hostStats(nil), v...)
	}
	r.sup.mu.Unlock()
	for _, a := range r.sc.Testbed.Apps {
		var s scenario.AppStats
		for _, p := range phases {
			if p.start >= from && p.end <= to {
				s.Counts.Add(p.targets[a.Name])
			}
		}
		for _, e := range events {
			if e.app != a.Name || e.at <= from || e.at > to {
				continue
			}
			switch e.kind {
			case "check_failed":
				s.HealthCheckFailures++
			case "restart":
				s.Restarts++
			}
		}
		for _, h := range a.HostNames() {
			for _, st := range ended[h] {
				s.BootAttempts += uint64(st.bootAttempts)
			}
			restarted := len(ended[h]) > 0
			if cur, ok := r.finalApps[h]; ok {
				s.BootAttempts += uint64(cur.BootAttempts)
				if cur.Serving {
					s.Serving++
					if restarted {
						s.TimeToServe = max(s.TimeToServe, cur.TimeToServe)
					}
				}
			}
			// A host that restarted more than once: its earlier boots.
			for _, st := range ended[h][min(1, len(ended[h])):] {
				s.TimeToServe = max(s.TimeToServe, st.timeToServe)
			}
		}
		out[a.Name] = s
	}
	return out
}

// readApps reads every app host's current agent once the run is over.
func (r *run) readApps(ctx context.Context) {
	r.finalApps = map[string]wire.AppStats{}
	for _, a := range r.sc.Testbed.Apps {
		for _, h := range a.HostNames() {
			if st, err := r.tb.AppStats(context.WithoutCancel(ctx), h); err == nil {
				r.finalApps[h] = st
			}
		}
	}
}

// appReports are the app tiers' figures of the whole run for the report.
func (r *run) appReports(o *scenario.Observed) []reports.App {
	if len(r.sc.Testbed.Apps) == 0 {
		return nil
	}
	r.sup.mu.Lock()
	events := append([]appEvent(nil), r.sup.events...)
	r.sup.mu.Unlock()
	var out []reports.App
	for _, a := range r.sc.Testbed.Apps {
		st := o.Run.Apps[a.Name]
		c := st.Counts
		ended := c.Ended() - c.Of(loadgen.OutcomeCancelled)
		errs := ended - c.Of(loadgen.OutcomeOK)
		rate := 0.0
		if ended+c.InFlight > 0 {
			rate = float64(errs+c.InFlight) / float64(ended+c.InFlight)
		}
		nat := ""
		for _, b := range r.sc.Testbed.Blocks {
			if b.Name == a.Block {
				nat = b.NAT
			}
		}
		ra := reports.App{Name: a.Name, Zone: a.Zone, Block: a.Block, NAT: nat, Hosts: a.Hosts,
			Attempts: c.Attempts, Errors: errs, ErrorRate: rate, HealthCheckFailures: st.HealthCheckFailures,
			Restarts: st.Restarts, BootAttempts: st.BootAttempts, TimeToServe: reports.Seconds(st.TimeToServe), Serving: st.Serving}
		for _, e := range events {
			if e.app == a.Name && e.kind == "restart" {
				ra.Restarted = append(ra.Restarted, reports.AppRestart{Host: e.host, At: r.at(e.at), Error: e.err})
			}
		}
		out = append(out, ra)
	}
	return out
}
