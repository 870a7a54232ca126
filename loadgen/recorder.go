package loadgen

import (
	"sync"
	"sync/atomic"
	"time"
)

// phaseRec accumulates one phase. Attempts is incremented before the
// outcome, and snapshots read outcomes before attempts, so a snapshot never
// sees more outcomes than attempts.
type phaseRec struct {
	name     string
	attempts atomic.Uint64
	outcomes [numOutcomes]atomic.Uint64
	newConns atomic.Uint64
	lost     atomic.Uint64
	connect  *Histogram // guarded by recorder.histMu
	request  *Histogram // guarded by recorder.histMu
}

// recorder accumulates a whole run: phases, the current tick's latencies,
// the open-connection gauge and the error sample.
type recorder struct {
	phases    []*phaseRec
	openConns atomic.Int64

	histMu      sync.Mutex
	tickConnect *Histogram
	tickRequest *Histogram

	errMu sync.Mutex
	errs  errorSet
}

func newRecorder(p Plan) *recorder {
	r := &recorder{tickConnect: NewHistogram(), tickRequest: NewHistogram()}
	for _, ph := range p.Phases {
		r.phases = append(r.phases, &phaseRec{name: ph.Name, connect: NewHistogram(), request: NewHistogram()})
	}
	return r
}

// begin counts a new attempt of the phase.
func (ph *phaseRec) begin() { ph.attempts.Add(1) }

// end records the outcome of an attempt begun with begin. lat is recorded
// in the request histograms for ok attempts.
func (r *recorder) end(ph *phaseRec, o Outcome, err error, lat time.Duration) {
	if o == OutcomeOK {
		r.histMu.Lock()
		ph.request.Record(lat)
		r.tickRequest.Record(lat)
		r.histMu.Unlock()
	} else if err != nil {
		r.errMu.Lock()
		r.errs.add(o, err.Error(), 1)
		r.errMu.Unlock()
	}
	ph.outcomes[o].Add(1)
}

// connected records a new connection and its handshake time.
func (r *recorder) connected(ph *phaseRec, d time.Duration) {
	ph.newConns.Add(1)
	r.histMu.Lock()
	ph.connect.Record(d)
	r.tickConnect.Record(d)
	r.histMu.Unlock()
}

// counts returns a consistent snapshot of one phase's counts.
func (ph *phaseRec) counts() Counts {
	c := Counts{Outcomes: make(map[Outcome]uint64)}
	var ended uint64
	for i := range ph.outcomes {
		if v := ph.outcomes[i].Load(); v != 0 {
			c.Outcomes[Outcome(i)] = v
			ended += v
		}
	}
	c.Attempts = ph.attempts.Load()
	c.InFlight = c.Attempts - ended
	c.NewConns = ph.newConns.Load()
	c.Lost = ph.lost.Load()
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

// takeTick returns the latencies recorded since the last call and starts anew.
func (r *recorder) takeTick() (connect, request Percentiles) {
	r.histMu.Lock()
	defer r.histMu.Unlock()
	connect, request = r.tickConnect.Summary(), r.tickRequest.Summary()
	r.tickConnect.Reset()
	r.tickRequest.Reset()
	return connect, request
}

// result builds the Result from the current state.
func (r *recorder) result(start time.Time, elapsed time.Duration) *Result {
	res := &Result{Start: start, Elapsed: elapsed, Processes: 1, Total: newPhaseResult("total")}
	r.histMu.Lock()
	for _, ph := range r.phases {
		pr := PhaseResult{Name: ph.name, Counts: ph.counts(), Connect: ph.connect.Clone(), Request: ph.request.Clone()}
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
