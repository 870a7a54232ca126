package runner

import (
	"context"
	"sync"
	"time"

	"github.com/natlab/natlab/agent"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/natbox"
)

// NATReading is one NAT box at one tick.
type NATReading struct {
	Conntrack uint64
	// AllocationFailures is the rise of insert_failed + drop since the
	// previous tick.
	AllocationFailures uint64
	// PortUtilization is the highest over NAT IPs and destinations.
	PortUtilization float64
	IPForward       bool
}

// natTick is every NAT box at one tick.
type natTick struct {
	At   time.Duration
	NATs map[string]NATReading
}

func (n natTick) maxUtilization() float64 {
	m := 0.0
	for _, r := range n.NATs {
		m = max(m, r.PortUtilization)
	}
	return m
}

func (n natTick) conntrack() uint64 {
	var s uint64
	for _, r := range n.NATs {
		s += r.Conntrack
	}
	return s
}

func (n natTick) allocationFailures() uint64 {
	var s uint64
	for _, r := range n.NATs {
		s += r.AllocationFailures
	}
	return s
}

// natPoller reads every NAT box's metrics once a tick.
type natPoller struct {
	tb    *testbed.Testbed
	tick  time.Duration
	start time.Time

	mu    sync.Mutex
	last  map[string]uint64 // cumulative allocation failures
	ticks []natTick
}

func newNATPoller(tb *testbed.Testbed, tick time.Duration, start time.Time) *natPoller {
	return &natPoller{tb: tb, tick: tick, start: start, last: map[string]uint64{}}
}

func (p *natPoller) poll(ctx context.Context) natTick {
	at := time.Since(p.start).Round(p.tick)
	t := natTick{At: at, NATs: map[string]NATReading{}}
	for _, n := range p.tb.Run.Spec.NATs {
		var m natbox.Metrics
		cctx, cancel := context.WithTimeout(ctx, 2*p.tick)
		err := p.tb.Agent(n.Name).Call(cctx, agent.OpNATMetrics, nil, &m)
		cancel()
		if err != nil {
			continue // no reading this tick (agent busy or killed): a gap, not zeros
		}
		rd := NATReading{Conntrack: uint64(m.ConntrackEntries), IPForward: m.IPForward}
		for _, u := range m.IPUtilization {
			rd.PortUtilization = max(rd.PortUtilization, u)
		}
		p.mu.Lock()
		if prev, seen := p.last[n.Name]; seen && m.AllocationFailures >= prev {
			rd.AllocationFailures = m.AllocationFailures - prev
		}
		p.last[n.Name] = m.AllocationFailures
		p.mu.Unlock()
		t.NATs[n.Name] = rd
	}
	p.mu.Lock()
	p.ticks = append(p.ticks, t)
	p.mu.Unlock()
	return t
}

// all returns every tick polled so far.
func (p *natPoller) all() []natTick {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]natTick(nil), p.ticks...)
}
