// Package runner plays a scenario: it builds the testbed, runs the load of
// each phase on the client agents, injects and reverts faults on one
// timeline, samples the NAT boxes every tick, judges the assertions and
// writes the reports.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
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

// Options tune a run.
type Options struct {
	// Backend builds the testbed.
	Backend testbed.Backend
	// NATSysctls is a candidate sysctl.conf applied to every NAT box after
	// its own sysctls, before any load: how a config change is gated.
	NATSysctls []natcfg.Sysctl
	// Candidates are candidate sysctl.conf files, each for one NAT box or
	// (NAT "") for all, applied after NATSysctls; the report lists them.
	Candidates []Candidate
	// Log receives the agents' log lines; nil discards them.
	Log io.Writer
	// Progress shows the run live; nil shows nothing.
	Progress Progress
	// OutDir receives the reports; empty writes none.
	OutDir string
	// OnStage hears every change of what the run is busy with, so that a
	// caller can say what an interrupted run still waits for. It must
	// return quickly.
	OnStage func(Stage)
	// Watch sees the run live (the metrics endpoint); nil sees nothing.
	Watch Watcher
}

// Stage is what a run is busy with.
type Stage string

// The stages of a run, in order.
const (
	StageSetup    Stage = "building the testbed"
	StagePlay     Stage = "playing the scenario"
	StageRevert   Stage = "reverting faults"
	StageReports  Stage = "writing the reports"
	StageTeardown Stage = "removing the testbed"
)

// Result is the outcome of a run.
type Result struct {
	Report   *reports.Report
	Verdicts []scenario.Verdict
	// Passed is true when every assertion held and the run completed.
	Passed bool
	// Incomplete says why the run stopped early; empty when it did not.
	Incomplete string
}

// Summary is a one-line verdict for the terminal.
func (r *Result) Summary() string {
	failed := 0
	for _, v := range r.Verdicts {
		if !v.Passed {
			failed++
		}
	}
	switch {
	case r.Incomplete != "":
		return fmt.Sprintf("INCOMPLETE: %s (%d of %d assertions failed so far)", r.Incomplete, failed, len(r.Verdicts))
	case failed > 0:
		return fmt.Sprintf("FAIL: %d of %d assertions failed", failed, len(r.Verdicts))
	}
	return fmt.Sprintf("PASS: all %d assertions held", len(r.Verdicts))
}

// Run plays sc. Errors are about the testbed or environment (a
// *testbed.InputError for bad input); failed assertions are in the Result.
// When ctx ends (Ctrl-C) the loads stop, faults are reverted, the testbed
// comes down and the Result is marked incomplete; once the last phase has
// ended, the run is whole and ctx no longer matters: the cleanup runs on
// a context of its own. A teardown that fails is an error beside the
// Result.
func Run(ctx context.Context, sc *scenario.Scenario, opts Options) (*Result, error) {
	if opts.Progress == nil {
		opts.Progress = nopProgress{}
	}
	if opts.Watch == nil {
		opts.Watch = nopWatcher{}
	}
	spec := sc.Testbed
	spec.NATs = append([]testbed.NATSpec(nil), spec.NATs...)
	for i := range spec.NATs {
		spec.NATs[i].Sysctls = append(append([]natcfg.Sysctl(nil), spec.NATs[i].Sysctls...), opts.NATSysctls...)
		for _, c := range opts.Candidates {
			if c.NAT == "" || c.NAT == spec.NATs[i].Name {
				spec.NATs[i].Sysctls = append(spec.NATs[i].Sysctls, c.Sysctls...)
			}
		}
	}
	if err := checkCandidateNATs(spec, opts.Candidates); err != nil {
		return nil, &testbed.InputError{Err: err}
	}
	scheduled, err := buildFaults(sc)
	if err != nil {
		return nil, &testbed.InputError{Err: err}
	}
	tick := sc.Tick
	if tick <= 0 {
		tick = loadgen.DefaultTick
	}
	r := &run{sc: sc, opts: opts, tick: tick, series: newSeries(tick, opts.Watch.Sample)}
	if err := context.Cause(ctx); err != nil {
		return nil, fmt.Errorf("not started: %w", err)
	}
	r.stage(StageSetup)
	opts.Progress.Note(fmt.Sprintf("building the testbed (%s)", opts.Backend.Name()))
	tb, err := testbed.Up(ctx, spec, opts.Backend, testbed.Options{Log: opts.Log, OnEvent: r.series.onEvent})
	if err != nil {
		return nil, err // Up removed what it had made
	}
	r.tb = tb
	bg := context.WithoutCancel(ctx)
	defer tb.Down(bg) // also when play panics; Down runs once
	opts.Watch.Begin(r.runInfo())
	res, err := r.play(ctx, scheduled)
	r.stage(StageTeardown)
	if downErr := tb.Down(bg); downErr != nil {
		err = errors.Join(err, fmt.Errorf("tear down the testbed of run %s (natlab clean %s removes what is left): %w", tb.Run.ID, tb.Run.ID, downErr))
	}
	return res, err
}

func (r *run) stage(s Stage) {
	if r.opts.OnStage != nil {
		r.opts.OnStage(s)
	}
}

func buildFaults(sc *scenario.Scenario) ([]chaos.Scheduled, error) {
	var out []chaos.Scheduled
	var errs []error
	for _, f := range sc.Faults {
		// The parser built and checked the fault already.
		fault, ok := f.Built.(chaos.Fault)
		if !ok {
			errs = append(errs, fmt.Errorf("%s:%s: fault %s was not built by the chaos catalog: parse the scenario with chaos.Catalog{}", sc.File, f.Pos, f.Name))
			continue
		}
		out = append(out, chaos.Scheduled{Name: f.Name, At: f.At, For: f.For, Fault: fault})
	}
	return out, errors.Join(errs...)
}

// run is the state of one run.
type run struct {
	sc     *scenario.Scenario
	opts   Options
	tick   time.Duration
	tb     *testbed.Testbed
	series *series
	start  time.Time
	sup    *supervisor
	// finalApps are the app hosts' counters read after the last phase.
	finalApps map[string]wire.AppStats

	mu      sync.Mutex
	phases  []phaseRun
	markers []chaos.Marker
}

// phaseRun is one phase as it ran.
type phaseRun struct {
	name       string
	start, end time.Duration
	result     *loadgen.Result
	backends   map[string]scenario.BackendStats
	// targets are the client counts per load target (backend or app),
	// clients per client host.
	targets, clients map[string]loadgen.Counts
}

func (r *run) play(ctx context.Context, scheduled []chaos.Scheduled) (*Result, error) {
	bg := context.WithoutCancel(ctx)
	timeline, err := chaos.NewTimeline(chaos.TestbedEnv(r.tb), scheduled, r.onMarker)
	if err != nil {
		return nil, &testbed.InputError{Err: err}
	}
	r.stage(StagePlay)
	r.opts.Progress.Start(r.sc.Name, r.tb.Run.ID, r.sc.Duration())
	defer r.opts.Progress.Stop() // when play returns early; Stop is idempotent

	r.start = time.Now()
	alarms := newAlarms(r.sc.Alarms)
	nat, err := r.newSampler(alarms)
	if err != nil {
		return nil, err
	}
	stopSampling := r.sample(ctx, nat)
	stopSupervisor := r.supervise(ctx)

	clock := newPhaseClock(r.sc.Phases)
	tlCtx, stopTimeline := context.WithCancel(ctx)
	timelineDone := make(chan struct{})
	go func() {
		defer close(timelineDone)
		_ = timeline.RunOn(tlCtx, r.start, clock) // failures are in the markers
	}()

	w := &workers{tb: r.tb, onEvent: r.series.onEvent}
	var runErr error
	for i, ph := range r.sc.Phases {
		if ctx.Err() != nil {
			break
		}
		if err := r.playPhase(ctx, w, ph, func(t time.Time) { clock.begin(i, t) }); err != nil {
			runErr = err
			break
		}
	}
	// Whether the run is whole is settled here: an interrupt from now on
	// cuts nothing short, and the cleanup below no longer heeds ctx.
	interrupted := context.Cause(ctx)
	stopSupervisor()
	stopSampling()
	stopTimeline()
	<-timelineDone
	r.opts.Progress.Stop() // the live view ends with the last phase
	r.stage(StageRevert)
	r.opts.Progress.Note("cleaning up: reverting faults, writing the reports, removing the testbed")
	revertErr := timeline.RevertAll(bg)

	r.readApps(bg)
	r.stage(StageReports)
	incomplete := ""
	switch {
	case interrupted != nil:
		incomplete = "interrupted (" + interrupted.Error() + ")"
	case runErr != nil:
		incomplete = runErr.Error()
	case revertErr != nil:
		incomplete = "a fault could not be reverted: " + revertErr.Error()
	}
	obs := r.observe(bg, nat, alarms)
	verdicts := scenario.Evaluate(r.sc, obs)
	res := &Result{Verdicts: verdicts, Incomplete: incomplete, Passed: incomplete == ""}
	for _, v := range verdicts {
		res.Passed = res.Passed && v.Passed
	}
	res.Report = r.report(res, obs, nat, alarms)
	if r.opts.OutDir != "" {
		if err := reports.Write(r.opts.OutDir, res.Report); err != nil {
			return res, fmt.Errorf("write reports: %w", err)
		}
	}
	return res, nil
}

// playPhase runs the loads of one phase (or idles through it) for its
// whole duration. A phase starts once the one before has ended and that
// one's attempts in flight are in, which is late by a few milliseconds,
// or up to the attempts' connect timeout when a fault stalled them
// (ip_forward off). It still runs its whole duration: the 400/s for 8 s a
// user wrote are 3,200 attempts, whenever they start. began hears when
// the phase begins, so that the faults in it keep their place in it
// (phaseClock): the timeline shifts with the phases, never cuts them.
func (r *run) playPhase(ctx context.Context, w *workers, ph scenario.Phase, began func(time.Time)) error {
	now := time.Now()
	begin := now.Sub(r.start)
	began(now)
	r.series.phaseStarted(ph.Name, begin)
	r.opts.Progress.Event(begin, fmt.Sprintf("phase %s (%s)", ph.Name, ph.Duration))
	before := r.backendStats(ctx)
	loads, err := planPhase(r.sc, r.tb.Run.Layout, ph)
	if err != nil {
		return err
	}
	var res *loadgen.Result
	var split phaseCounts
	if len(loads) == 0 {
		select {
		case <-ctx.Done():
		case <-time.After(ph.Duration):
		}
	} else if res, split, err = runPhase(ctx, w, loads); err != nil {
		return fmt.Errorf("phase %s: %w", ph.Name, err)
	}
	after := r.backendStats(ctx)
	delta := map[string]scenario.BackendStats{}
	for name, a := range after {
		delta[name] = a.Since(before[name])
	}
	r.mu.Lock()
	r.phases = append(r.phases, phaseRun{name: ph.Name, start: begin, end: time.Since(r.start), result: res, backends: delta, targets: split.targets, clients: split.clients})
	r.mu.Unlock()
	return nil
}

// backendStats sums the counters of every server of each backend.
func (r *run) backendStats(ctx context.Context) map[string]scenario.BackendStats {
	out := map[string]scenario.BackendStats{}
	for _, b := range r.tb.Run.Spec.Backends {
		st, err := r.tb.BackendWindowStats(context.WithoutCancel(ctx), b.Name) // every server process, merged
		if err != nil {
			continue // a killed backend has no counters to give
		}
		var sum scenario.BackendStats
		for _, s := range st {
			sum.Accepted += s.Accepted
			sum.RegistrationsFailedClosed += s.Registrations.FailedClosed
			sum.PeerResets += s.PeerResets
			sum.ListenDrops = max(sum.ListenDrops, s.ListenDrops) // namespace-wide: the same in every server
			sum.Registrations += s.Registrations.OK
			sum.HolepunchRequests += s.Holepunch.Requests
			sum.Verifications += s.Holepunch.Verified
			sum.MappingChanged += s.Holepunch.MappingChanged
			sum.FailedClients += s.Holepunch.FailedClients
			sum.DependencyTimeouts += s.Holepunch.DependencyTimeouts
			sum.ProbeTimeouts += s.Holepunch.ProbeTimeouts
			sum.DependencyPeakInUse += uint64(max(s.Dependency.PeakInFlight, 0))
			sum.DependencyPeakQueue += uint64(max(s.Dependency.PeakWaiting, 0))
		}
		out[b.Name] = sum
	}
	return out
}

func (r *run) onMarker(m chaos.Marker) {
	r.mu.Lock()
	r.markers = append(r.markers, m)
	r.mu.Unlock()
	r.opts.Watch.Marker(m)
	msg := fmt.Sprintf("%s %s: %s", m.Event, m.Fault, m.Description)
	if m.Err != "" {
		msg += " FAILED: " + m.Err
	}
	if len(m.Report) > 0 {
		msg += fmt.Sprintf(" %v", m.Report)
	}
	r.opts.Progress.Event(m.At, msg)
}

// newSampler reads every NAT box and backend once a tick; on each sample
// it judges the alarms (which may mix client and NAT metrics, as a
// monitoring system would) and feeds the progress view.
func (r *run) newSampler(alarms *alarmSet) (*sampler.Sampler, error) {
	var nats, backends []string
	for _, n := range r.tb.Run.Spec.NATs {
		nats = append(nats, n.Name)
	}
	for _, b := range r.tb.Run.Spec.Backends {
		backends = append(backends, b.Name)
	}
	return sampler.New(r.tb, sampler.Options{Tick: r.tick, NATs: nats, Backends: backends, OnSample: func(n sampler.Sample) {
		client := r.series.at(n.At)
		r.opts.Watch.Tick(client, n)
		for _, name := range alarms.check(n.At, client, n) {
			r.opts.Progress.Event(n.At, "alarm "+name+" fired")
		}
		util, _ := n.Metric("nat.port_utilization")
		conntrack, _ := n.Metric("nat.conntrack")
		missing := false
		for _, rd := range n.NATs {
			missing = missing || rd.Err != ""
		}
		live := Live{At: n.At, Phase: client.Phase,
			OKPerSec: float64(client.OK()) / r.tick.Seconds(), ErrorsPerSec: float64(client.Errors()) / r.tick.Seconds(),
			OpenConns: client.OpenConns, PortUtilization: util, Conntrack: uint64(conntrack), NATMissing: missing}
		if epa, ok := n.Metric("nat.ErrorPortAllocation"); ok {
			idle, _ := n.Metric("nat.IdleTimeoutCount")
			live.AWS = &LiveAWS{ErrorPortAllocation: uint64(epa), IdleTimeoutCount: uint64(idle)}
		}
		if alloc, ok := n.Metric("nat.allocated_ports"); ok {
			usage, _ := n.Metric("nat.port_usage")
			oor, _ := n.Metric("nat.dropped_sent_packets_count." + natcfg.ReasonOutOfResources)
			eic, _ := n.Metric("nat.dropped_sent_packets_count." + natcfg.ReasonEndpointIndependenceConflict)
			live.GCP = &LiveGCP{AllocatedPorts: int(alloc), PortUsage: int(usage),
				OutOfResources: uint64(oor), EndpointIndependenceConflict: uint64(eic)}
		}
		r.opts.Progress.Tick(live)
	}})
}

// sample runs the sampler from the start of the run until the returned
// stop is called. It returns once the sampler has its baseline (or ctx
// ended): a count the NAT rose by before the baseline was read, such as
// a phase's first connections on a quick machine, would be in no tick.
func (r *run) sample(ctx context.Context, s *sampler.Sampler) func() {
	ctx, cancel := context.WithCancel(ctx)
	done, based := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Run(ctx, r.start, based)
	}()
	select {
	case <-based:
	case <-done:
	}
	return func() {
		cancel()
		<-done
	}
}

type nopProgress struct{}

func (nopProgress) Start(string, string, time.Duration) {}
func (nopProgress) Tick(Live)                           {}
func (nopProgress) Event(time.Duration, string)         {}
func (nopProgress) Note(string)                         {}
func (nopProgress) Stop()                               {}
