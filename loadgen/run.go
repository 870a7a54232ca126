package loadgen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// drainGrace bounds the wait for attempts to notice a cancelled context.
const drainGrace = 5 * time.Second

// Run executes the plan and returns its result. onSample, if not nil, is
// called once per tick (and once for the final partial tick) from a single
// goroutine while the run goes on; it must return quickly.
//
// Run returns after the last phase and after every attempt has ended; they
// are bounded by the plan's timeouts. When ctx is cancelled, attempts in
// flight end as OutcomeCancelled and Run returns the partial result (every
// phase listed, later ones empty) with an error wrapping ctx.Err(). An
// invalid plan or an unsupported socket option returns a nil result.
//
// Run checks its result before it returns it: Result.CheckFinished after a
// run that was not cancelled, Result.Check after one that was (stragglers
// past the drain grace stay in flight). A result that fails comes with an
// error saying so: it is a bug in loadgen's accounting.
func Run(ctx context.Context, p Plan, onSample func(Sample)) (*Result, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("run: invalid plan: %w", err)
	}
	p = p.WithDefaults()
	rec := newRecorder(p)
	cd, err := newConduit(p, rec)
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	r := &runner{plan: p, rec: rec, cd: cd}
	start := time.Now()
	smp := &sampler{rec: rec, start: start}

	stopSampling := make(chan struct{})
	sampling := make(chan struct{})
	go func() {
		defer close(sampling)
		t := time.NewTicker(p.Tick)
		defer t.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case now := <-t.C:
				// Stamped with the tick's time, so that every agent's
				// samples fall on the run's grid of ticks even when this
				// goroutine reads them a little late.
				s := smp.take(now, p.Phases[r.phase.Load()].Name)
				if onSample != nil {
					onSample(s)
				}
			}
		}
	}()

	at := start
	for i, ph := range p.Phases {
		if ctx.Err() != nil {
			break
		}
		r.phase.Store(int64(i))
		at = at.Add(ph.Duration)
		r.runPhase(ctx, ph, rec.phases[i], at)
	}
	r.drain(ctx)
	close(stopSampling)
	<-sampling
	end := time.Now()
	if s := smp.take(end, p.Phases[r.phase.Load()].Name); onSample != nil && s.Interval > 0 {
		onSample(s)
	}
	cd.close()
	res := rec.result(start, end.Sub(start))
	if err := ctx.Err(); err != nil {
		if cerr := res.Check(); cerr != nil {
			return res, errors.Join(fmt.Errorf("run stopped early: %w", err), fmt.Errorf("run: accounting: %w", cerr))
		}
		return res, fmt.Errorf("run stopped early: %w", err)
	}
	if err := res.CheckFinished(); err != nil {
		return res, fmt.Errorf("run: accounting: %w", err)
	}
	return res, nil
}

// runner holds the state shared by the phases of one run.
type runner struct {
	plan     Plan
	rec      *recorder
	cd       conduit
	phase    atomic.Int64
	wg       sync.WaitGroup // every attempt goroutine and worker
	inFlight atomic.Int64   // attempts of arrival-rate schedules
}

// drain waits for attempts to end; after a cancel it waits at most
// drainGrace, leaving stragglers counted as in flight.
func (r *runner) drain(ctx context.Context) {
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	select {
	case <-done:
	case <-time.After(drainGrace):
	}
}

// runPhase drives one phase until end (or ctx is done).
func (r *runner) runPhase(ctx context.Context, ph Phase, pr *phaseRec, end time.Time) {
	start := end.Add(-ph.Duration)
	switch ph.Schedule.Kind {
	case ScheduleClosed:
		r.closed(ctx, ph.Schedule.Concurrency, pr, end)
	case ScheduleHold:
		r.hold(ctx, ph.Schedule.Hold, ph.Schedule.HoldRamp, pr, start, end)
	default:
		r.open(ctx, newPacer(ph), pr, start, end)
	}
}

// attempt makes the attempt a (begun) and ends it; latency counts from t0.
func (r *runner) attempt(ctx context.Context, a *attempt, t0 time.Time) {
	o, err := r.cd.do(ctx, a.ph)
	r.rec.end(a, o, err, time.Since(t0))
}

// sleepUntil waits for t; false if ctx ended first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}
