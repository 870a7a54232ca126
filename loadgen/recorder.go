package loadgen

import (
	"sync"
	"sync/atomic"
	"time"
)

// phaseRec accumulates one phase.
//
// Attempts, outcomes and the in-flight gauge are three counters counted
// apart: begin adds an attempt and one in flight, end adds the outcome and
// takes the attempt out of flight (once: an attempt ended twice adds a
// second outcome, which Counts.Check reports). They change together under
// mu, and counts reads them under mu, so every snapshot, also one taken
// while attempts run, is of one instant: Attempts == sum(Outcomes) +
// InFlight holds in it exactly unless the recorder was misused.
type phaseRec struct {
	name string

	mu       sync.Mutex
	attempts uint64
	outcomes [numOutcomes]uint64
	inFlight uint64
	lost     [numOutcomes]uint64 // held connections that ended early, by how

	newConns atomic.Uint64
	connect  *Histogram // guarded by recorder.histMu
	request  *Histogram // guarded by recorder.histMu
	failed   *Histogram // guarded by recorder.histMu
}

// attempt is one attempt between its begin and its end.
type attempt struct {
	ph    *phaseRec
	ended bool // guarded by ph.mu
}

// recorder accumulates a whole run: phases, the current tick's latencies,
// the open-connection gauge and the error sample.
type recorder struct {
	phases    []*phaseRec
	openConns atomic.Int64

	histMu      sync.Mutex
	tickConnect *Histogram
	tickRequest *Histogram
	tickFailed  *Histogram

	errMu sync.Mutex
	errs  errorSet
}

func newRecorder(p Plan) *recorder {
	r := &recorder{tickConnect: NewHistogram(), tickRequest: NewHistogram(), tickFailed: NewHistogram()}
	for _, ph := range p.Phases {
		r.phases = append(r.phases, &phaseRec{name: ph.Name, connect: NewHistogram(), request: NewHistogram(), failed: NewHistogram()})
	}
	return r
}

// begin counts a new attempt of the phase, in flight until its end.
func (ph *phaseRec) begin() *attempt {
	ph.mu.Lock()
	ph.attempts++
	ph.inFlight++
	ph.mu.Unlock()
	return &attempt{ph: ph}
}

// end records the outcome of an attempt begun with begin. lat is recorded
// in the request histograms for ok attempts and in the failed histograms
// for attempts that were made and failed (see failedLatency). Every attempt must end exactly
// once: one that never ends stays in flight, one that ends twice has two
// outcomes, and either fails the accounting checks.
func (r *recorder) end(a *attempt, o Outcome, err error, lat time.Duration) {
	ph := a.ph
	if o == OutcomeOK {
		r.histMu.Lock()
		ph.request.Record(lat)
		r.tickRequest.Record(lat)
		r.histMu.Unlock()
	} else {
		if failedLatency(o) {
			r.histMu.Lock()
			ph.failed.Record(lat)
			r.tickFailed.Record(lat)
			r.histMu.Unlock()
		}
		if err != nil {
			r.errMu.Lock()
			r.errs.add(o, err.Error(), 1)
			r.errMu.Unlock()
		}
	}
	ph.mu.Lock()
	ph.outcomes[o]++
	if !a.ended {
		a.ended = true
		if ph.inFlight > 0 { // always, unless a was not begun: no wraparound
			ph.inFlight--
		}
	}
	ph.mu.Unlock()
}

// connected records a new connection and its handshake time.
func (r *recorder) connected(ph *phaseRec, d time.Duration) {
	ph.newConns.Add(1)
	r.histMu.Lock()
	ph.connect.Record(d)
	r.tickConnect.Record(d)
	r.histMu.Unlock()
}

// lose records a held connection of the phase that ended early, as o.
func (ph *phaseRec) lose(o Outcome) {
	ph.mu.Lock()
	ph.lost[o]++
	ph.mu.Unlock()
}

// counts returns a snapshot of one phase's counts: attempts, outcomes, in
// flight and early ends of one instant (NewConns is read just after).
func (ph *phaseRec) counts() Counts {
	c := Counts{Outcomes: make(map[Outcome]uint64)}
	ph.mu.Lock()
	for i, v := range ph.outcomes {
		if v != 0 {
			c.Outcomes[Outcome(i)] = v
		}
	}
	c.Attempts, c.InFlight = ph.attempts, ph.inFlight
	for i, v := range ph.lost {
		if v != 0 {
			if c.LostBy == nil {
				c.LostBy = make(map[Outcome]uint64)
			}
			c.LostBy[Outcome(i)] = v
			c.Lost += v
		}
	}
	ph.mu.Unlock()
	c.NewConns = ph.newConns.Load()
	return c
}

// total returns the counts of all phases.
func (r *recorder) total() Counts {
	t := Counts{Outcomes: make(map[Outcome]uint64)}
	for _, ph := range r.phases {
		t.Add(ph.counts())
	}
	return t
}

// failedLatency reports whether the duration of an attempt that ended
// with o goes into the failed histograms: every outcome but ok (which has
// the request histogram), dropped (never made: it has no duration) and
// cancelled (cut short by the end of the run, not by the target).
func failedLatency(o Outcome) bool {
	return o != OutcomeOK && o != OutcomeDropped && o != OutcomeCancelled
}

// takeTick returns the histograms recorded since the last call and starts
// anew.
func (r *recorder) takeTick() TickHistograms {
	r.histMu.Lock()
	defer r.histMu.Unlock()
	h := TickHistograms{Connect: r.tickConnect, Request: r.tickRequest, Failed: r.tickFailed}
	r.tickConnect, r.tickRequest, r.tickFailed = NewHistogram(), NewHistogram(), NewHistogram()
	return h
}

// result builds the Result from the current state.
func (r *recorder) result(start time.Time, elapsed time.Duration) *Result {
	res := &Result{Start: start, Elapsed: elapsed, Processes: 1, Total: newPhaseResult("total")}
	r.histMu.Lock()
	for _, ph := range r.phases {
		pr := PhaseResult{Name: ph.name, Counts: ph.counts(), Connect: ph.connect.Clone(), Request: ph.request.Clone(),
			Failed: ph.failed.Clone()}
		res.Phases = append(res.Phases, pr)
	}
	r.histMu.Unlock()
	for _, pr := range res.Phases {
		_ = res.Total.merge(pr) // same geometry: cannot drop values
	}
	r.errMu.Lock()
	res.Errors, res.ErrorsNotKept = r.errs.sorted(), r.errs.notKept
	r.errMu.Unlock()
	return res
}
