package loadgen

import (
	"context"
	"net"
	"sync"
	"time"
)

// closed runs n workers that send back to back until end. Their last
// attempts may finish after end; they stay counted in this phase.
func (r *runner) closed(ctx context.Context, n int, pr *phaseRec, end time.Time) {
	for range n {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(end) {
					return
				}
				r.attempt(ctx, pr.begin(), t0)
			}
		}()
	}
	sleepUntil(ctx, end)
}

// open starts attempts at the pacer's arrival times. Latency is measured
// from the intended arrival time, so a late start (a stalled client or a
// slow pool) shows as latency. Arrivals beyond MaxInFlight outstanding
// attempts end at once as OutcomeDropped.
func (r *runner) open(ctx context.Context, p pacer, pr *phaseRec, start, end time.Time) {
	span := end.Sub(start)
	limit := int64(r.plan.MaxInFlight)
	for i := uint64(0); ; i++ {
		off, ok := arrival(p, i, span)
		if !ok {
			break
		}
		due := start.Add(off)
		if !sleepUntil(ctx, due) {
			return
		}
		a := pr.begin()
		if r.inFlight.Add(1) > limit {
			r.inFlight.Add(-1)
			r.rec.end(a, OutcomeDropped, nil, 0)
			continue
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer r.inFlight.Add(-1)
			r.attempt(ctx, a, due)
		}()
	}
	sleepUntil(ctx, end)
}

// hold opens n connections (at most MaxInFlight dials at once), keeps the
// established ones open until end and then closes them. A held connection
// that ends before that counts as lost, classed by how it ended. With a
// ramp the i-th dial starts no earlier than start + i/ramp, so attempts
// arrive at the ramp's rate (while MaxInFlight dials leave room); an
// attempt begins when its dial starts, as in every schedule; a dial still
// under way when the phase ends is cancelled (OutcomeCancelled).
func (r *runner) hold(ctx context.Context, n int, ramp Rate, pr *phaseRec, start, end time.Time) {
	hctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	hs := &heldSet{stopped: ctx.Done()}
	sem := make(chan struct{}, max(1, min(n, r.plan.MaxInFlight)))
launch:
	for i := range n {
		if !ramp.IsZero() && !sleepUntil(hctx, start.Add(rampSpan(i, ramp))) {
			break
		}
		select {
		case sem <- struct{}{}:
		case <-hctx.Done():
			break launch
		}
		a := pr.begin()
		r.wg.Add(1)
		t0 := time.Now()
		go func() {
			defer r.wg.Done()
			// The dial lives in the phase: one still under way when
			// the phase ends held nothing and is cancelled, rather
			// than taking, after the phase, a port that the phase's
			// closing connections just gave back. The connection it
			// made lives in the run, until closeAll.
			c, o, err := r.cd.hold(withDialContext(ctx, hctx), pr)
			<-sem
			r.rec.end(a, o, err, time.Since(t0))
			if c != nil {
				hs.keep(c, pr, &r.wg)
			}
		}()
	}
	<-hctx.Done()
	hs.closeAll() // dials still under way close their connection themselves
}

// heldSet keeps the connections of a hold phase.
type heldSet struct {
	mu     sync.Mutex
	conns  []net.Conn
	closed bool
	// stopped is the run's end: a cancelled run ends its connections'
	// reads at once (the dialer's deadline), which is no loss.
	stopped <-chan struct{}
}

// keep holds c and watches it: a read error before closeAll, while the
// run goes on, is a loss, classed like an attempt's error after connect
// (reset, closed, ...).
func (h *heldSet) keep(c net.Conn, pr *phaseRec, wg *sync.WaitGroup) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		_ = c.Close()
		return
	}
	h.conns = append(h.conns, c)
	h.mu.Unlock()
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 512)
		for {
			if _, err := c.Read(buf); err != nil {
				h.mu.Lock()
				lost := !h.closed
				h.mu.Unlock()
				select {
				case <-h.stopped:
					lost = false
				default:
				}
				if lost {
					pr.lose(Classify(err, StageRequest))
					_ = c.Close()
				}
				return
			}
		}
	}()
}

// closeAll closes every held connection.
func (h *heldSet) closeAll() {
	h.mu.Lock()
	h.closed = true
	conns := h.conns
	h.conns = nil
	h.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// rampSpan is when the i-th connection of a hold ramping at r is due,
// since the phase start (and so how long r takes to open i).
func rampSpan(i int, r Rate) time.Duration {
	if r.IsZero() {
		return 0
	}
	return time.Duration(float64(i) * float64(r.Per) / float64(r.Freq))
}
