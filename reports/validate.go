package reports

import (
	"errors"
	"fmt"
)

// Validate reports what makes r unfit to be written: a missing scenario
// name, an unknown verdict, a verdict that contradicts the assertions.
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
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("validate report: %w", err)
	}
	return nil
}
