package runner

import (
	"encoding/json"
	"maps"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/loadgen"
)

// ClientTick is what every client agent did during one tick of the run,
// summed over agents (latencies: the worst agent's percentile).
type ClientTick struct {
	// At is the end of the tick since the start of the run; Interval its
	// length.
	At       time.Duration
	Interval time.Duration
	Phase    string
	Attempts uint64
	Outcomes map[loadgen.Outcome]uint64
	NewConns uint64
	Lost     uint64
	// OpenConns and InFlight are gauges summed over agents.
	OpenConns  int64
	InFlight   uint64
	ConnectP99 time.Duration
	RequestP99 time.Duration
	FailedP99  time.Duration
}

// OK is the tick's ok outcomes.
func (t ClientTick) OK() uint64 { return t.Outcomes[loadgen.OutcomeOK] }

// Errors is the tick's outcomes other than ok.
func (t ClientTick) Errors() uint64 {
	var n uint64
	for o, c := range t.Outcomes {
		if o != loadgen.OutcomeOK {
			n += c
		}
	}
	return n
}

// series gathers the samples agents stream into ticks of the run's timeline.
type series struct {
	tick time.Duration
	// watch sees every sample as it arrives.
	watch func(loadgen.Sample)

	mu     sync.Mutex
	starts map[string]time.Duration // phase -> its start since the run's start
	ticks  map[int]*ClientTick
}

func newSeries(tick time.Duration, watch func(loadgen.Sample)) *series {
	return &series{tick: tick, watch: watch, starts: map[string]time.Duration{}, ticks: map[int]*ClientTick{}}
}

// phaseStarted records when a phase began, so its samples land at the right
// place of the run's timeline.
func (s *series) phaseStarted(name string, at time.Duration) {
	s.mu.Lock()
	s.starts[name] = at
	s.mu.Unlock()
}

// onEvent takes agent events; samples are added to their tick.
func (s *series) onEvent(ev wire.Event) {
	if ev.Name != wire.EventSample {
		return
	}
	var smp loadgen.Sample
	if json.Unmarshal(ev.Data, &smp) != nil {
		return
	}
	if s.watch != nil {
		s.watch(smp)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	at := s.starts[smp.Phase] + smp.At
	i := int(math.Round(float64(at) / float64(s.tick)))
	t := s.ticks[i]
	if t == nil {
		t = &ClientTick{At: time.Duration(i) * s.tick, Interval: s.tick, Phase: smp.Phase, Outcomes: map[loadgen.Outcome]uint64{}}
		s.ticks[i] = t
	}
	t.Attempts += smp.Attempts
	for o, n := range smp.Outcomes {
		t.Outcomes[o] += n
	}
	t.NewConns += smp.NewConns
	t.Lost += smp.Lost
	t.OpenConns += smp.OpenConns
	t.InFlight += smp.InFlight
	t.ConnectP99 = max(t.ConnectP99, smp.Connect.P99)
	t.RequestP99 = max(t.RequestP99, smp.Request.P99)
	t.FailedP99 = max(t.FailedP99, smp.Failed.P99)
}

// at returns the tick before the one ending near at: the latest tick all
// agents have surely reported (they tick at about the same moment).
func (s *series) at(at time.Duration) ClientTick {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := int(math.Round(float64(at)/float64(s.tick))) - 1
	if t := s.ticks[i]; t != nil {
		c := *t
		c.Outcomes = maps.Clone(t.Outcomes)
		return c
	}
	return ClientTick{At: time.Duration(i) * s.tick, Interval: s.tick}
}

// all returns the ticks in time order.
func (s *series) all() []ClientTick {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]int, 0, len(s.ticks))
	for k := range s.ticks {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	out := make([]ClientTick, 0, len(keys))
	for _, k := range keys {
		t := *s.ticks[k]
		t.Outcomes = maps.Clone(t.Outcomes)
		out = append(out, t)
	}
	return out
}
