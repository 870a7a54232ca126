package servers

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// stallGate holds work back until a stall window ends.
type stallGate struct {
	until   atomic.Int64 // unix nanoseconds the stall ends; 0 = none
	mu      sync.Mutex
	changed chan struct{} // closed and replaced whenever the window changes
}

// set starts a stall that ends d from now, replacing any current one;
// d <= 0 ends the current stall at once.
func (g *stallGate) set(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if d <= 0 {
		g.until.Store(0)
	} else {
		g.until.Store(time.Now().Add(d).UnixNano())
	}
	if g.changed != nil {
		close(g.changed)
	}
	g.changed = make(chan struct{})
}

// active reports whether a stall is in force now.
func (g *stallGate) active() bool {
	u := g.until.Load()
	return u != 0 && time.Now().UnixNano() < u
}

// wait blocks until no stall is in force, ctx is done or stop is closed.
// It reports whether it had to wait at all.
func (g *stallGate) wait(ctx context.Context, stop <-chan struct{}) (stalled bool) {
	for {
		if !g.active() {
			return stalled
		}
		stalled = true
		g.mu.Lock()
		changed := g.changed
		g.mu.Unlock()
		rem := time.Until(time.Unix(0, g.until.Load()))
		if rem <= 0 {
			continue
		}
		t := time.NewTimer(rem)
		select {
		case <-t.C:
		case <-changed:
		case <-ctx.Done():
		case <-stop:
		}
		t.Stop()
		if ctx.Err() != nil || isClosed(stop) {
			return stalled
		}
	}
}

// isClosed reports whether ch is closed, without blocking.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
