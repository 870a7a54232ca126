package runner

import (
	"context"
	"sync"
	"time"

	"github.com/natlab/natlab/chaos"
	"github.com/natlab/natlab/scenario"
)

// phaseClock is the scenario's schedule as the phases play it. A phase
// runs for its whole duration from when it starts, which is when the one
// before has ended and its last attempts are in: on a loaded machine, or
// after a fault that stalled attempts, a little later than scheduled. A
// time of the schedule comes at the same offset into its phase as
// scheduled, so a fault keeps its place in the load it was written
// against (a fault 2 s into a phase comes 2 s after that phase began).
type phaseClock struct {
	// sched and dur are each phase's scheduled start and its duration.
	sched, dur []time.Duration

	mu      sync.Mutex
	began   []time.Time   // when each phase began; zero until then
	changed chan struct{} // closed (and replaced) when a phase begins
}

var _ chaos.Clock = (*phaseClock)(nil)

func newPhaseClock(phases []scenario.Phase) *phaseClock {
	c := &phaseClock{began: make([]time.Time, len(phases)), changed: make(chan struct{})}
	var at time.Duration
	for _, ph := range phases {
		c.sched = append(c.sched, at)
		c.dur = append(c.dur, ph.Duration)
		at += ph.Duration
	}
	return c
}

// begin records that phase i began at t.
func (c *phaseClock) begin(i int, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.began[i] = t
	close(c.changed)
	c.changed = make(chan struct{})
}

// phaseOf is the phase whose stretch of the schedule holds at: [start,
// end) for a start (an inject), (start, end] for an end (a revert); a
// time after the last phase belongs to the last.
func (c *phaseClock) phaseOf(at time.Duration, end bool) int {
	for i := range c.sched {
		lo, hi := c.sched[i], c.sched[i]+c.dur[i]
		if !end && at >= lo && at < hi || end && at > lo && at <= hi {
			return i
		}
	}
	if end && at == 0 {
		return 0
	}
	return len(c.sched) - 1
}

// Wait returns once the phase holding at has begun and at's offset into
// it has passed, or with ctx's error (the run ended before that phase).
func (c *phaseClock) Wait(ctx context.Context, at time.Duration, end bool) error {
	if len(c.sched) == 0 {
		return ctx.Err()
	}
	i := c.phaseOf(at, end)
	for {
		c.mu.Lock()
		began, changed := c.began[i], c.changed
		c.mu.Unlock()
		if !began.IsZero() {
			return chaos.WallClock{Start: began}.Wait(ctx, at-c.sched[i], end)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}
