package chaos

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Scheduled is one fault on a timeline.
type Scheduled struct {
	// Name identifies the fault in markers (e.g. "faults[0]").
	Name string
	// At is when to inject, since the start of the run.
	At time.Duration
	// For is how long the fault lasts; 0 keeps it until RevertAll.
	For time.Duration
	// Fault is what to inject.
	Fault Fault
}

// Marker events.
const (
	EventInject = "inject"
	EventRevert = "revert"
	EventVerify = "verify"
)

// Marker records one thing the timeline did, for samples and reports.
type Marker struct {
	// Fault is the Scheduled name; Description what the fault does.
	Fault       string `json:"fault"`
	Description string `json:"description"`
	// Event is EventInject, EventRevert or EventVerify.
	Event string `json:"event"`
	// Planned is when the event was due and At when it happened (after
	// the action completed), both since the start.
	Planned time.Duration `json:"planned"`
	At      time.Duration `json:"at"`
	// Err is the failure of the action, or the difference Verify found.
	Err string `json:"error,omitempty"`
	// Report holds the fault's figures (Reporter), if any.
	Report map[string]any `json:"report,omitempty"`
}

type state int

const (
	pending state = iota
	active
	done
)

type item struct {
	Scheduled
	state state
	seq   int // order of injection
}

// Timeline injects and reverts faults at their times relative to a start.
type Timeline struct {
	env      Env
	items    []*item
	onMarker func(Marker)

	// exec serializes actions on faults (Run and RevertAll).
	exec    sync.Mutex
	mu      sync.Mutex
	start   time.Time
	markers []Marker
	closed  bool
	seq     int
}

// NewTimeline checks the schedule. onMarker (may be nil) receives every
// marker as it is recorded.
func NewTimeline(env Env, faults []Scheduled, onMarker func(Marker)) (*Timeline, error) {
	var errs []error
	names := map[string]bool{}
	t := &Timeline{env: env, onMarker: onMarker}
	for i, f := range faults {
		label := f.Name
		if label == "" {
			label = fmt.Sprintf("faults[%d]", i)
			f.Name = label
		}
		if names[label] {
			errs = append(errs, fmt.Errorf("timeline: %s: name used twice", label))
		}
		names[label] = true
		if f.At < 0 || f.For < 0 {
			errs = append(errs, fmt.Errorf("timeline: %s: at %s and for %s must not be negative", label, f.At, f.For))
		}
		if f.Fault == nil {
			errs = append(errs, fmt.Errorf("timeline: %s: no fault", label))
		}
		t.items = append(t.items, &item{Scheduled: f})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t, nil
}

type event struct {
	at     time.Duration
	revert bool
	it     *item
}

// Clock says when a time of a timeline's schedule comes. The scenario
// runner's clock follows its phases, so that a fault keeps its place in a
// phase that started late.
type Clock interface {
	// Wait returns once the scheduled time at has come, or with ctx's
	// error. end says that at ends a fault (a revert), so that a time on
	// a boundary between two stretches is the end of the first; an inject
	// there is the start of the second.
	Wait(ctx context.Context, at time.Duration, end bool) error
}

// WallClock is a schedule played on the wall clock from Start.
type WallClock struct{ Start time.Time }

// Wait waits until Start + at.
func (c WallClock) Wait(ctx context.Context, at time.Duration, _ bool) error {
	timer := time.NewTimer(time.Until(c.Start.Add(at)))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// Run injects and reverts on schedule from start, and returns once every
// timed event is done (faults without For stay active) or ctx ends. It
// returns the failures of injects, reverts and verifies, joined. Call
// RevertAll afterwards in any case, with a context that is still live.
func (t *Timeline) Run(ctx context.Context, start time.Time) error {
	return t.RunOn(ctx, start, WallClock{Start: start})
}

// RunOn is Run with the schedule's times coming as clock says; markers
// still say when things happened since start, and were planned at their
// scheduled time.
func (t *Timeline) RunOn(ctx context.Context, start time.Time, clock Clock) error {
	t.mu.Lock()
	t.start = start
	t.mu.Unlock()
	var evs []event
	for _, it := range t.items {
		evs = append(evs, event{at: it.At, it: it})
		if it.For > 0 {
			evs = append(evs, event{at: it.At + it.For, revert: true, it: it})
		}
	}
	// Reverts first at equal times, so back-to-back faults do not overlap.
	sort.SliceStable(evs, func(i, j int) bool {
		if evs[i].at != evs[j].at {
			return evs[i].at < evs[j].at
		}
		return evs[i].revert && !evs[j].revert
	})
	var errs []error
	for _, ev := range evs {
		if err := clock.Wait(ctx, ev.at, ev.revert); err != nil {
			return errors.Join(append(errs, err)...)
		}
		var err error
		if ev.revert {
			err = t.revert(ctx, ev.it, ev.at)
		} else {
			err = t.inject(ctx, ev.it)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (t *Timeline) inject(ctx context.Context, it *item) error {
	t.exec.Lock()
	defer t.exec.Unlock()
	if t.closed || it.state != pending {
		return nil
	}
	err := it.Fault.Inject(ctx, t.env)
	t.seq++
	it.seq = t.seq
	it.state = active
	t.mark(it, EventInject, it.At, err)
	if err != nil {
		// Inject records before it changes anything: undo what it did.
		rerr := t.revertLocked(ctx, it, it.At)
		return errors.Join(fmt.Errorf("inject %s (%s): %w", it.Name, it.Fault.Describe(), err), rerr)
	}
	return nil
}

func (t *Timeline) revert(ctx context.Context, it *item, planned time.Duration) error {
	t.exec.Lock()
	defer t.exec.Unlock()
	return t.revertLocked(ctx, it, planned)
}

// revertLocked reverts an active fault and verifies the revert. A revert
// once begun is not cut short by the end of ctx (a Ctrl-C): half a revert
// would leave the host in neither state.
func (t *Timeline) revertLocked(ctx context.Context, it *item, planned time.Duration) error {
	if it.state != active {
		return nil
	}
	ctx = context.WithoutCancel(ctx)
	if err := it.Fault.Revert(ctx, t.env); err != nil {
		t.mark(it, EventRevert, planned, err)
		return fmt.Errorf("revert %s (%s): %w", it.Name, it.Fault.Describe(), err)
	}
	it.state = done
	t.mark(it, EventRevert, planned, nil)
	err := it.Fault.Verify(ctx, t.env)
	t.mark(it, EventVerify, planned, err)
	if err != nil {
		return fmt.Errorf("verify %s (%s): %w", it.Name, it.Fault.Describe(), err)
	}
	return nil
}

// RevertAll reverts every fault still active, the last injected first,
// and stops Run from injecting more. It is safe to call more than once
// and from a signal handler's goroutine while Run is going on.
func (t *Timeline) RevertAll(ctx context.Context) error {
	t.exec.Lock()
	defer t.exec.Unlock()
	t.closed = true
	var live []*item
	for _, it := range t.items {
		if it.state == active {
			live = append(live, it)
		}
	}
	sort.Slice(live, func(i, j int) bool { return live[i].seq > live[j].seq })
	var errs []error
	for _, it := range live {
		if err := t.revertLocked(ctx, it, t.since()); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Active names the faults injected and not yet reverted.
func (t *Timeline) Active() []string {
	t.exec.Lock()
	defer t.exec.Unlock()
	var out []string
	for _, it := range t.items {
		if it.state == active {
			out = append(out, it.Name)
		}
	}
	return out
}

// Markers returns what the timeline did so far, in order.
func (t *Timeline) Markers() []Marker {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Marker(nil), t.markers...)
}

func (t *Timeline) since() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.start.IsZero() {
		return 0
	}
	return time.Since(t.start)
}

func (t *Timeline) mark(it *item, ev string, planned time.Duration, err error) {
	m := Marker{Fault: it.Name, Description: it.Fault.Describe(), Event: ev, Planned: planned, At: t.since()}
	if err != nil {
		m.Err = err.Error()
	}
	if r, ok := it.Fault.(Reporter); ok {
		m.Report = r.Report()
	}
	t.mu.Lock()
	t.markers = append(t.markers, m)
	t.mu.Unlock()
	if t.onMarker != nil {
		t.onMarker(m)
	}
}
