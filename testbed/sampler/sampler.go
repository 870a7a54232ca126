package sampler

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natcfg"
	"github.com/natlab/natlab/testbed/service"
)

// Defaults of Options.
const (
	DefaultTick        = time.Second
	DefaultCallTimeout = time.Second
)

// Agents finds the current agent of a host (chaos.Env and
// *testbed.Testbed both have this method).
type Agents interface {
	Agent(host string) *wire.Conn
}

// AllAgents is an Agents that also knows every agent process of a host
// (*testbed.Testbed): a backend served by several processes is read from
// each and its figures merged.
type AllAgents interface {
	Agents(host string) []*wire.Conn
}

// Options say what to sample and how often.
type Options struct {
	// Tick is the interval (default DefaultTick).
	Tick time.Duration
	// NATs and Backends are the hosts read every tick.
	NATs, Backends []string
	// OnSample receives every sample as it is taken (must not block long).
	OnSample func(Sample)
	// CallTimeout bounds one host's reading. By default a tick's
	// readings have until the next tick is due (at least half a tick
	// from when they start; with a tick under DefaultCallTimeout,
	// DefaultCallTimeout). A reading that takes longer is recorded as
	// missing, with its error, so a slow host does not make the next
	// tick late.
	CallTimeout time.Duration
}

// Sampler reads the hosts every tick and keeps the series.
type Sampler struct {
	agents Agents
	opts   Options

	mu       sync.Mutex
	start    time.Time
	samples  []Sample
	firstNAT map[string]natcfg.Metrics // baseline per NAT
	lastNAT  map[string]natcfg.Metrics
	lastAcc  map[string]uint64
	firstBk  map[string][2]uint64 // listen overflows and drops at the first reading
}

// New returns a sampler, or an error for a tick too short to keep.
func New(agents Agents, opts Options) (*Sampler, error) {
	if opts.Tick == 0 {
		opts.Tick = DefaultTick
	}
	if opts.Tick < 10*time.Millisecond {
		return nil, fmt.Errorf("sampler tick %s: want at least 10ms", opts.Tick)
	}
	s := &Sampler{agents: agents, opts: opts, firstNAT: map[string]natcfg.Metrics{}, lastNAT: map[string]natcfg.Metrics{}, lastAcc: map[string]uint64{}, firstBk: map[string][2]uint64{}}
	return s, nil
}

// Run samples every tick from start until ctx ends, then returns nil.
// The first sample is taken at once (the baseline); a sample under way
// when ctx ends is completed, not cut short. based, when not nil, is
// closed once the baseline is taken: counts are rises from it, so load
// that must be counted starts after it.
func (s *Sampler) Run(ctx context.Context, start time.Time, based chan<- struct{}) error {
	s.mu.Lock()
	s.start = start
	s.mu.Unlock()
	t := time.NewTicker(s.opts.Tick)
	defer t.Stop()
	due := time.Now()
	for {
		s.take(context.WithoutCancel(ctx), due)
		if based != nil {
			close(based)
			based = nil
		}
		select {
		case <-ctx.Done():
			return nil
		case due = <-t.C:
			// A reading that overran its tick makes the ticker drop the
			// ticks it missed: due is then the oldest one not dropped,
			// and the next sample records how late it started.
		}
	}
}

// Take reads every host once, records the sample and hands the sample to OnSample.
func (s *Sampler) Take(ctx context.Context) Sample { return s.take(ctx, time.Now()) }

// take is Take for a reading that was due at due.
func (s *Sampler) take(ctx context.Context, due time.Time) Sample {
	now := time.Now()
	s.mu.Lock()
	if s.start.IsZero() {
		s.start = now
	}
	start := s.start
	s.mu.Unlock()
	smp := Sample{At: now.Sub(start), Time: now, Late: max(0, now.Sub(due)),
		NATs: make([]NATSample, len(s.opts.NATs)), Backends: make([]BackendSample, len(s.opts.Backends))}
	ctx, cancel := context.WithDeadline(ctx, s.deadline(due, now))
	defer cancel()
	var wg sync.WaitGroup
	for i, h := range s.opts.NATs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			smp.NATs[i] = s.readNAT(ctx, h, start, smp.At)
		}()
	}
	for i, h := range s.opts.Backends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			smp.Backends[i] = s.readBackend(ctx, h)
		}()
	}
	wg.Wait()
	s.mu.Lock()
	s.samples = append(s.samples, smp)
	s.mu.Unlock()
	if s.opts.OnSample != nil {
		s.opts.OnSample(smp)
	}
	return smp
}

// deadline is when the readings of the tick due at due, started at now,
// are given up (Options.CallTimeout).
func (s *Sampler) deadline(due, now time.Time) time.Time {
	switch {
	case s.opts.CallTimeout > 0:
		return now.Add(s.opts.CallTimeout)
	case s.opts.Tick < DefaultCallTimeout:
		return now.Add(DefaultCallTimeout)
	}
	next := due.Add(s.opts.Tick)
	if least := now.Add(s.opts.Tick / 2); next.Before(least) {
		return least
	}
	return next
}

func (s *Sampler) call(ctx context.Context, host, op string, result any) error {
	conn := s.agents.Agent(host)
	if conn == nil {
		return fmt.Errorf("host %q has no agent", host)
	}
	return conn.Call(ctx, op, nil, result)
}

// readNAT reads one NAT box for the tick at since start.
func (s *Sampler) readNAT(ctx context.Context, host string, start time.Time, at time.Duration) NATSample {
	out := NATSample{Host: host, ReadAt: at}
	var m natcfg.Metrics
	if err := s.call(ctx, host, wire.OpNATMetrics, &m); err != nil {
		out.Err = err.Error()
		return out
	}
	if !m.ReadAt.IsZero() {
		// The box's clock is the sampler's (one kernel); a reading is
		// never placed before its tick.
		out.ReadAt = max(at, m.ReadAt.Sub(start))
	}
	s.mu.Lock()
	first, seen := s.firstNAT[host]
	if !seen {
		first = m
		s.firstNAT[host] = m
	}
	last, hadLast := s.lastNAT[host]
	if !hadLast {
		last = m
	}
	s.lastNAT[host] = m
	s.mu.Unlock()
	out.ConntrackEntries = m.ConntrackEntries
	out.AllocationFailures = sub(m.AllocationFailures, first.AllocationFailures)
	out.AllocationFailuresDelta = sub(m.AllocationFailures, last.AllocationFailures)
	out.IPForward = m.IPForward
	out.ForwardedPackets = m.ForwardedPackets
	out.ForwardedDelta = sub(m.ForwardedPackets, last.ForwardedPackets)
	out.IPUtilization, out.PoolUtilization = m.IPUtilization, m.PoolUtilization
	for _, mp := range m.Mappings {
		out.PortsInUse += mp.Count
	}
	for _, v := range m.IPUtilization {
		out.PortUtilization = max(out.PortUtilization, v)
	}
	for _, v := range m.PoolUtilization {
		out.PortUtilization = max(out.PortUtilization, v)
	}
	if m.GCP != nil {
		out.GCP = gcpSample(m.GCP, first.GCP, last.GCP)
	}
	if m.AWS != nil {
		out.AWS = awsSample(m.AWS, last.AWS)
	}
	return out
}

// gcpSample turns a Cloud NAT reading into a sample: counts since first,
// deltas since last (either may be nil: a reading before the profile).
func gcpSample(m, first, last *natcfg.GCPMetrics) *GCPSample {
	g := &GCPSample{AllocatedPorts: map[string]int{}, PortUsage: map[string]int{},
		DroppedSent: map[string]uint64{}, DroppedSentDelta: map[string]uint64{},
		AllocationFailed: m.AllocationFailed, OpenConnections: m.OpenConnections}
	for _, vm := range m.VMs {
		g.AllocatedPorts[vm.VM.String()] = vm.AllocatedPorts
		g.PortUsage[vm.VM.String()] = vm.PortUsage
	}
	var f, l natcfg.GCPMetrics
	if first != nil {
		f = *first
	}
	if last != nil {
		l = *last
	}
	for reason, n := range m.DroppedSent {
		g.DroppedSent[reason] = sub(n, f.DroppedSent[reason])
		g.DroppedSentDelta[reason] = sub(n, l.DroppedSent[reason])
	}
	g.NewConnections = sub(m.NewConnections, f.NewConnections)
	g.NewConnectionsDelta = sub(m.NewConnections, l.NewConnections)
	return g
}

// sub is a-b for counters, 0 when a counter went back (a restarted
// source).
func sub(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}

func (s *Sampler) readBackend(ctx context.Context, host string) BackendSample {
	out := BackendSample{Host: host}
	var st []service.Stats
	var err error
	if all, ok := s.agents.(AllAgents); ok {
		st, err = testbed.BackendStatsOf(ctx, all.Agents(host))
	} else {
		err = s.call(ctx, host, wire.OpBackendStats, &st)
	}
	if err != nil {
		out.Err = err.Error()
		return out
	}
	var ovf, drops uint64
	for _, x := range st {
		out.Accepted += x.Accepted
		out.Active += x.Active
		out.Processes = max(out.Processes, x.Processes, 1)
		ovf, drops = max(ovf, x.ListenOverflows), max(drops, x.ListenDrops) // namespace-wide
	}
	s.mu.Lock()
	last, ok := s.lastAcc[host]
	s.lastAcc[host] = out.Accepted
	first, seen := s.firstBk[host]
	if !seen {
		first = [2]uint64{ovf, drops}
		s.firstBk[host] = first
	}
	s.mu.Unlock()
	out.ListenOverflows, out.ListenDrops = sub(ovf, first[0]), sub(drops, first[1])
	if ok {
		out.AcceptedDelta = sub(out.Accepted, last)
	}
	return out
}

// LateTicks counts the samples that started more than 20% of tick after
// they were due, and gives the latest start.
func LateTicks(samples []Sample, tick time.Duration) (late int, worst time.Duration) {
	for _, s := range samples {
		if s.Late > tick/5 {
			late++
		}
		worst = max(worst, s.Late)
	}
	return late, worst
}

// Samples returns the series so far.
func (s *Sampler) Samples() []Sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sample(nil), s.samples...)
}
