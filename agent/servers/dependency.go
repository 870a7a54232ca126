package servers

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/natlab/natlab/testbed/service"
)

// errServerClosed is returned by waits cut short because the server closed.
var errServerClosed = errors.New("server closed")

// dependency models a saturable backing store: at most limit lookups run
// at once, each takes latency.
type dependency struct {
	cfg      atomic.Pointer[depConfig]
	inFlight atomic.Int64
	waiting  atomic.Int64
	lookups  atomic.Uint64
	timedOut atomic.Uint64

	peakInFlight atomic.Int64
	peakWaiting  atomic.Int64
}

// raise adds one to g and lifts peak to the new value if it is higher.
func raise(g, peak *atomic.Int64) {
	v := g.Add(1)
	for {
		p := peak.Load()
		if v <= p || peak.CompareAndSwap(p, v) {
			return
		}
	}
}

// resetPeaks starts a new window for the peak gauges: they restart from
// the current values.
func (d *dependency) resetPeaks() {
	d.peakInFlight.Store(d.inFlight.Load())
	d.peakWaiting.Store(d.waiting.Load())
}

// depConfig is one saturation setting; Saturate swaps in a new one, and
// lookups started under the old one finish under it.
type depConfig struct {
	limit   int
	latency time.Duration
	slots   chan struct{} // nil when unlimited
}

// saturate sets the concurrency limit and per-lookup latency; values
// below zero count as zero (unlimited, no latency).
func (d *dependency) saturate(limit int, latency time.Duration) {
	c := &depConfig{limit: max(limit, 0), latency: max(latency, 0)}
	if c.limit > 0 {
		c.slots = make(chan struct{}, c.limit)
	}
	d.cfg.Store(c)
}

// config returns the current setting (unlimited when never set).
func (d *dependency) config() *depConfig {
	if c := d.cfg.Load(); c != nil {
		return c
	}
	return &depConfig{}
}

// lookup performs one verification lookup. It returns ctx's error when
// the caller's deadline passes first, and errServerClosed when stop closes.
// A lookup that got a slot keeps it for the full latency even when its
// caller gave up, so an overloaded dependency stays overloaded.
func (d *dependency) lookup(ctx context.Context, stop <-chan struct{}) error {
	c := d.config()
	if c.slots != nil {
		// A free slot is taken at once; only a lookup that finds none
		// waits (and counts as waiting). Waiters are served in order: a
		// freed slot goes to the oldest, never to a newcomer.
		select {
		case c.slots <- struct{}{}:
		default:
			raise(&d.waiting, &d.peakWaiting)
			select {
			case c.slots <- struct{}{}:
				d.waiting.Add(-1)
			case <-ctx.Done():
				d.waiting.Add(-1)
				d.timedOut.Add(1)
				return ctx.Err()
			case <-stop:
				d.waiting.Add(-1)
				return errServerClosed
			}
		}
	}
	raise(&d.inFlight, &d.peakInFlight)
	// Out of flight before the slot is freed: the waiter that takes it
	// counts itself in after, so InFlight never exceeds the limit.
	release := func() {
		d.inFlight.Add(-1)
		if c.slots != nil {
			<-c.slots
		}
	}
	if c.latency <= 0 {
		release()
		d.lookups.Add(1)
		return nil
	}
	start := time.Now()
	t := time.NewTimer(c.latency)
	defer t.Stop()
	select {
	case <-t.C:
		release()
		d.lookups.Add(1)
		return nil
	case <-ctx.Done():
		d.timedOut.Add(1)
		// The query keeps running without its caller.
		time.AfterFunc(c.latency-time.Since(start), release)
		return ctx.Err()
	case <-stop:
		release()
		return errServerClosed
	}
}

// stats returns the dependency's counters now.
func (d *dependency) stats() service.DependencyStats {
	c := d.config()
	return service.DependencyStats{
		Limit:    c.limit,
		Latency:  c.latency,
		InFlight: d.inFlight.Load(),
		Waiting:  d.waiting.Load(),
		Lookups:  d.lookups.Load(),
		TimedOut: d.timedOut.Load(),

		PeakInFlight: d.peakInFlight.Load(),
		PeakWaiting:  d.peakWaiting.Load(),
	}
}
