package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/scenario"
	"github.com/natlab/natlab/testbed"
)

// maxConnsPerAgent keeps one agent process well under the open-file limit
// of these machines (20,000): larger loads are split over more agents.
// The parser bounds loads by the same figure.
const maxConnsPerAgent = scenario.MaxConnsPerAgent

// workers hands out agent processes per client host, starting more when a
// load needs them. The first is the testbed's own agent.
type workers struct {
	tb      *testbed.Testbed
	onEvent func(wire.Event)

	mu    sync.Mutex
	extra map[string][]*wire.Conn
}

func (w *workers) get(ctx context.Context, host string, n int) ([]*wire.Conn, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.extra == nil {
		w.extra = map[string][]*wire.Conn{}
	}
	for len(w.extra[host])+1 < n {
		h := w.tb.Host(host)
		conn, err := h.StartAgent(ctx, w.onEvent)
		if err != nil {
			return nil, fmt.Errorf("start another load agent on %s: %w", host, err)
		}
		w.extra[host] = append(w.extra[host], conn)
	}
	return append([]*wire.Conn{w.tb.Agent(host)}, w.extra[host][:n-1]...), nil
}

// agentsFor is how many agent processes a plan needs.
func agentsFor(p loadgen.Plan) int {
	most := 0
	for _, ph := range p.Phases {
		s := ph.Schedule
		open := max(s.Hold, s.Concurrency)
		if s.Kind == loadgen.ScheduleOpen || s.Kind == loadgen.ScheduleRamp || s.Kind == loadgen.ScheduleSpike {
			open = p.MaxInFlight
			if open == 0 {
				open = loadgen.DefaultMaxInFlight
			}
		}
		// A hold opens connections of its own, pooled strategy or not.
		if s.Kind != loadgen.ScheduleHold && (p.Strategy.Pool == loadgen.PoolKeepAlive || p.Strategy.Kind == loadgen.KindH2C) {
			open = min(open, max(p.Strategy.PoolSize, 1))
		}
		most = max(most, open)
	}
	return max(1, (most+maxConnsPerAgent-1)/maxConnsPerAgent)
}

// plannedLoad is one load of a phase on one client host.
type plannedLoad struct {
	client string
	// target is the backend or app the load calls.
	target string
	plan   loadgen.Plan
}

// planPhase turns the loads of a phase into plans per client host, with
// targets and source addresses taken from the testbed layout.
func planPhase(sc *scenario.Scenario, l *testbed.Layout, ph scenario.Phase) ([]plannedLoad, error) {
	var out []plannedLoad
	for _, ld := range ph.Loads {
		if ld.App {
			apps, err := planAppLoad(sc, l, ph, ld)
			if err != nil {
				return nil, err
			}
			out = append(out, apps...)
			continue
		}
		be, ok := l.Backend(ld.Target)
		if !ok {
			return nil, fmt.Errorf("phase %s: unknown backend %q", ph.Name, ld.Target)
		}
		for _, h := range l.Hosts {
			if h.Role != "" || ld.Client != "" && ld.Client != h.Name {
				continue
			}
			p := ld.Plan(ph.Name, ph.Duration, sc.Tick)
			p.Target = fmt.Sprintf("%s:%d", be.Addr, ld.Port)
			p.Sources = h.Sources
			out = append(out, plannedLoad{client: h.Name, target: ld.Target, plan: p})
		}
	}
	return out, nil
}

// runPhase runs every load of a phase at once and merges their results.
// Every load ends by itself after the phase's duration (plus the time its
// last attempts take); when ctx ends first, the loads are stopped and still
// answer with exact accounting of what they did.
// phaseCounts are a phase's client counts split by load target (backend
// or app) and by client host.
type phaseCounts struct {
	targets, clients map[string]loadgen.Counts
}

func (pc phaseCounts) add(target, client string, c loadgen.Counts) {
	for _, x := range []struct {
		m map[string]loadgen.Counts
		k string
	}{{pc.targets, target}, {pc.clients, client}} {
		sum := x.m[x.k]
		sum.Add(c)
		x.m[x.k] = sum
	}
}

func runPhase(ctx context.Context, w *workers, loads []plannedLoad) (*loadgen.Result, phaseCounts, error) {
	type job struct {
		conn           *wire.Conn
		plan           loadgen.Plan
		target, client string
	}
	var jobs []job
	for _, ld := range loads {
		n := agentsFor(ld.plan)
		conns, err := w.get(ctx, ld.client, n)
		if err != nil {
			return nil, phaseCounts{}, err
		}
		for i, p := range loadgen.Split(ld.plan, n) {
			jobs = append(jobs, job{conns[i], p, ld.target, ld.client})
		}
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			for _, j := range jobs {
				_ = j.conn.Call(context.WithoutCancel(ctx), wire.OpLoadStop, nil, nil)
			}
		case <-done:
		}
	}()
	results := make([]*loadgen.Result, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var res loadgen.Result
			if errs[i] = j.conn.Call(context.WithoutCancel(ctx), wire.OpLoadRun, j.plan, &res); errs[i] == nil {
				results[i] = &res
			}
		}()
	}
	wg.Wait()
	var merged *loadgen.Result
	split := phaseCounts{targets: map[string]loadgen.Counts{}, clients: map[string]loadgen.Counts{}}
	for i, r := range results {
		if r != nil {
			split.add(jobs[i].target, jobs[i].client, r.Total.Counts)
		}
		switch {
		case r == nil:
		case merged == nil:
			merged = r
		default:
			errs = append(errs, merged.Merge(r))
		}
	}
	// The agents' results crossed the wire as JSON: check they still add
	// up. A phase that ran to its end has nothing in flight.
	if merged != nil {
		if ctx.Err() == nil {
			errs = append(errs, merged.CheckFinished())
		} else {
			errs = append(errs, merged.Check())
		}
	}
	return merged, split, errors.Join(errs...)
}
