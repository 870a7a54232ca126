package loadgen

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// Bounds of Result.Errors: distinct texts kept per outcome class, and for
// class other (whose texts are the only clue to what happened).
const (
	MaxErrorSamplesPerClass = 2
	MaxOtherErrorSamples    = 16
)

// Result is the outcome of a run (or the merge of several runs).
type Result struct {
	// Start is when the run began; Elapsed how long it took. Merged results
	// keep the earliest start and the longest elapsed.
	Start   time.Time     `json:"start"`
	Elapsed time.Duration `json:"elapsed"`
	// Processes is the number of runs merged into this result (1 for a run).
	Processes int `json:"processes"`
	// Phases are in plan order.
	Phases []PhaseResult `json:"phases"`
	// Total is the sum of all phases.
	Total PhaseResult `json:"total"`
	// Errors samples distinct raw error texts with their counts: up to
	// MaxErrorSamplesPerClass per outcome class, MaxOtherErrorSamples for
	// OutcomeOther.
	Errors []ErrorSample `json:"errors,omitempty"`
	// ErrorsNotKept counts errors whose text was not kept.
	ErrorsNotKept uint64 `json:"errors_not_kept,omitempty"`
}

// PhaseResult holds the counts and latencies of one phase.
type PhaseResult struct {
	Name   string `json:"name"`
	Counts Counts `json:"counts"`
	// Connect records successful handshakes; Request records ok attempts;
	// Failed records attempts that were made and failed (see the package
	// doc for what they measure).
	Connect *Histogram `json:"connect"`
	Request *Histogram `json:"request"`
	Failed  *Histogram `json:"failed"`
}

// ErrorSample is one distinct raw error text.
type ErrorSample struct {
	Outcome Outcome `json:"outcome"`
	Error   string  `json:"error"`
	Count   uint64  `json:"count"`
}

func newPhaseResult(name string) PhaseResult {
	return PhaseResult{Name: name, Connect: NewHistogram(), Request: NewHistogram(), Failed: NewHistogram(),
		Counts: Counts{Outcomes: map[Outcome]uint64{}}}
}

func (pr *PhaseResult) merge(o PhaseResult) error {
	if err := pr.Counts.addChecked(o.Counts); err != nil {
		return err
	}
	if pr.Connect == nil {
		pr.Connect = NewHistogram()
	}
	if pr.Request == nil {
		pr.Request = NewHistogram()
	}
	if pr.Failed == nil {
		pr.Failed = NewHistogram()
	}
	return errors.Join(pr.Connect.Merge(o.Connect), pr.Request.Merge(o.Request), pr.Failed.Merge(o.Failed))
}

// Check verifies the accounting of every phase and of the total (see
// Counts.Check) and that the total is the sum of the phases. It holds for
// any Result of Run, also the partial one of a cancelled run, whose
// stragglers are still in flight.
func (r *Result) Check() error { return r.check(Counts.Check) }

// CheckFinished is Check for the Result of a run that was not cancelled:
// every attempt has ended, so no phase may have one in flight. Run returns
// such a Result only when it passes.
func (r *Result) CheckFinished() error { return r.check(Counts.CheckFinished) }

func (r *Result) check(counts func(Counts) error) error {
	var sum Counts
	var errs []error
	for _, p := range r.Phases {
		if err := counts(p.Counts); err != nil {
			errs = append(errs, fmt.Errorf("phase %s: %w", p.Name, err))
		}
		sum.Add(p.Counts)
	}
	if err := counts(r.Total.Counts); err != nil {
		errs = append(errs, fmt.Errorf("total: %w", err))
	}
	if t := r.Total.Counts; !sum.equal(t) {
		errs = append(errs, fmt.Errorf("check result: the phases sum to %d attempts, outcomes %v, %d in flight, %d new conns, %d lost; the total says %d, %v, %d, %d, %d",
			sum.Attempts, sum.Outcomes, sum.InFlight, sum.NewConns, sum.Lost, t.Attempts, t.Outcomes, t.InFlight, t.NewConns, t.Lost))
	}
	return errors.Join(errs...)
}

// Merge adds o (a run of the same plan's phases, e.g. another process of a
// Split) into r. Counts and histograms merge exactly. Phases are matched by
// position and must have the same names.
func (r *Result) Merge(o *Result) error {
	if o == nil {
		return nil
	}
	if len(r.Phases) != len(o.Phases) {
		return fmt.Errorf("merge result: %d phases vs %d", len(r.Phases), len(o.Phases))
	}
	for i := range r.Phases {
		if r.Phases[i].Name != o.Phases[i].Name {
			return fmt.Errorf("merge result: phase %d is %q here and %q there", i, r.Phases[i].Name, o.Phases[i].Name)
		}
	}
	for i := range r.Phases {
		if err := r.Phases[i].merge(o.Phases[i]); err != nil {
			return fmt.Errorf("merge phase %s: %w", r.Phases[i].Name, err)
		}
	}
	if err := r.Total.merge(o.Total); err != nil {
		return fmt.Errorf("merge total: %w", err)
	}
	if r.Start.IsZero() || (!o.Start.IsZero() && o.Start.Before(r.Start)) {
		r.Start = o.Start
	}
	r.Elapsed = max(r.Elapsed, o.Elapsed)
	r.Processes += o.Processes
	es := errorSet{samples: r.Errors, notKept: r.ErrorsNotKept + o.ErrorsNotKept}
	for _, e := range o.Errors {
		es.add(e.Outcome, e.Error, e.Count)
	}
	r.Errors, r.ErrorsNotKept = es.sorted(), es.notKept
	return nil
}

// errorSet keeps a bounded sample of distinct error texts.
type errorSet struct {
	samples []ErrorSample
	notKept uint64
}

func (s *errorSet) add(o Outcome, text string, n uint64) {
	inClass := 0
	for i := range s.samples {
		if s.samples[i].Outcome == o {
			if s.samples[i].Error == text {
				s.samples[i].Count += n
				return
			}
			inClass++
		}
	}
	limit := MaxErrorSamplesPerClass
	if o == OutcomeOther {
		limit = MaxOtherErrorSamples
	}
	if inClass >= limit {
		s.notKept += n
		return
	}
	s.samples = append(s.samples, ErrorSample{Outcome: o, Error: text, Count: n})
}

func (s *errorSet) sorted() []ErrorSample {
	out := append([]ErrorSample(nil), s.samples...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Outcome != out[j].Outcome {
			return out[i].Outcome < out[j].Outcome
		}
		return out[i].Count > out[j].Count
	})
	return out
}
