package reports

import (
	"errors"
	"fmt"
	"math"

	"github.com/natlab/natlab/loadgen"
)

// Validate reports what makes r unfit to be written: a missing scenario
// name, an unknown verdict, a verdict that contradicts the assertions,
// counts that do not add up (see accounting).
func (r *Report) Validate() error {
	if r == nil {
		return errors.New("validate report: no report")
	}
	var errs []error
	if r.Scenario.Name == "" {
		errs = append(errs, errors.New("scenario name is empty"))
	}
	failed := 0
	for _, a := range r.Assertions {
		if !a.Passed {
			failed++
		}
	}
	switch r.Verdict {
	case VerdictPass:
		if failed > 0 {
			errs = append(errs, fmt.Errorf("verdict pass but %d assertions failed", failed))
		}
		if r.Incomplete != "" {
			errs = append(errs, fmt.Errorf("verdict pass but the run is incomplete (%s)", r.Incomplete))
		}
	case VerdictFail:
		if r.Incomplete != "" {
			errs = append(errs, fmt.Errorf("verdict fail but the run is incomplete (%s): use verdict incomplete", r.Incomplete))
		}
	case VerdictIncomplete:
		if r.Incomplete == "" {
			errs = append(errs, errors.New("verdict incomplete needs a reason in incomplete"))
		}
	default:
		errs = append(errs, fmt.Errorf("verdict %q is not one of pass, fail, incomplete", r.Verdict))
	}
	if r.Duration < 0 {
		errs = append(errs, fmt.Errorf("duration %v is negative", r.Duration.D()))
	}
	for i, f := range r.Faults {
		switch {
		case f.RevertedAt != nil && f.InjectedAt == nil:
			errs = append(errs, fmt.Errorf("fault %d (%s) reverted but never injected", i, f.Name))
		case f.RevertedAt != nil && f.RevertedAt.Before(*f.InjectedAt):
			errs = append(errs, fmt.Errorf("fault %d (%s) reverted before it was injected", i, f.Name))
		}
	}
	errs = append(errs, r.accounting()...)
	errs = append(errs, r.finite()...)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("validate report: %w", err)
	}
	return nil
}

// accounting reports counts that do not add up, in the totals and in every
// phase: attempts must equal the outcomes plus the attempts in flight, ok
// and errors must be what the outcomes say, and the totals the sum of the
// phases. A complete run has no attempt in flight; only an incomplete one
// (verdict incomplete) may have stragglers that never ended.
func (r *Report) accounting() []error {
	complete := r.Verdict != VerdictIncomplete && r.Incomplete == ""
	var errs []error
	check := func(what string, t Totals) {
		c := t.counts()
		err := c.Check()
		if complete {
			err = c.CheckFinished()
		}
		if err != nil {
			if complete && c.InFlight != 0 {
				err = fmt.Errorf("%w (the run is complete: an incomplete run needs verdict incomplete)", err)
			}
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
		}
		if ok := c.Of(loadgen.OutcomeOK); t.OK != ok {
			errs = append(errs, fmt.Errorf("%s: ok %d but outcome ok %d", what, t.OK, ok))
		}
		if e := c.Errors(); t.Errors != e {
			errs = append(errs, fmt.Errorf("%s: errors %d but the outcomes other than ok sum to %d", what, t.Errors, e))
		}
	}
	check("totals", r.Totals)
	var sum loadgen.Counts
	for _, p := range r.Phases {
		check("phase "+p.Name, p.Counts)
		sum.Add(p.Counts.counts())
	}
	if len(r.Phases) > 0 {
		tot := r.Totals.counts()
		same := sum.Attempts == tot.Attempts && sum.InFlight == tot.InFlight
		for _, o := range loadgen.AllOutcomes() {
			same = same && sum.Of(o) == tot.Of(o)
		}
		if !same {
			errs = append(errs, fmt.Errorf("totals (%d attempts, %d in flight, outcomes %v) are not the sum of the phases (%d, %d, %v)",
				tot.Attempts, tot.InFlight, tot.Outcomes, sum.Attempts, sum.InFlight, sum.Outcomes))
		}
	}
	return errs
}

// finite reports every NaN or infinite figure: JSON cannot encode them and a
// chart cannot draw them, so they are the runner's bug to fix.
func (r *Report) finite() []error {
	var errs []error
	check := func(what string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			errs = append(errs, fmt.Errorf("%s is %v", what, v))
		}
	}
	check("totals error_rate", r.Totals.ErrorRate)
	for _, p := range r.Phases {
		check("phase "+p.Name+" error_rate", p.Counts.ErrorRate)
	}
	for _, n := range r.NAT {
		check("nat "+n.Name+" peak_port_utilization", n.PeakPortUtilization)
	}
	for i, s := range r.Samples {
		at := fmt.Sprintf("sample %d ", i)
		check(at+"t_s", s.T)
		check(at+"attempts_per_s", s.AttemptsPerSec)
		check(at+"ok_per_s", s.OKPerSec)
		check(at+"errors_per_s", s.ErrorsPerSec)
		check(at+"new_conns_per_s", s.NewConnsPerSec)
		for o, v := range s.Outcomes {
			check(at+o.String()+"_per_s", v)
		}
		for n, v := range s.NAT {
			check(at+"nat."+n+".port_utilization", v.PortUtilization)
		}
	}
	return errs
}
