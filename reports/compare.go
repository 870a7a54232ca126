package reports

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// CompareSchemaVersion names the compare.json schema. Fields may be added
// within a version; renaming or removing one needs a new version.
const CompareSchemaVersion = "natlab.compare/v1"

// Comparison is one scenario played by several variants (the scenario
// with different overrides) on identical schedules, one after another on
// fresh testbeds: what `natlab compare` writes. The JSON field order is
// the struct order and is part of the schema.
type Comparison struct {
	// Schema is CompareSchemaVersion; WriteComparison sets it,
	// ReadComparison checks it.
	Schema   string   `json:"schema"`
	Scenario Scenario `json:"scenario"`
	// Verdict is pass when every gated variant passed, fail when one
	// failed, incomplete when one did not complete (interrupted, testbed
	// error).
	Verdict Verdict `json:"verdict"`
	// Gate names the variants whose verdicts make the comparison's; empty
	// means every variant.
	Gate    []string  `json:"gate"`
	Started time.Time `json:"started"`
	// Duration is the wall time of all variants together.
	Duration Seconds `json:"duration_s"`
	// Varied are the overrides that tell the variants apart, as given.
	Varied []string `json:"varied"`
	// Phases and Faults are the schedule every variant played, in seconds
	// since the start of a variant's run (from the first variant that ran).
	Phases   []TimelinePhase `json:"phases"`
	Faults   []TimelineFault `json:"faults"`
	Variants []Variant       `json:"variants"`
}

// TimelinePhase is one phase of the shared schedule.
type TimelinePhase struct {
	Name  string  `json:"name"`
	Start float64 `json:"start_s"`
	End   float64 `json:"end_s"`
}

// TimelineFault is one fault window of the shared schedule; To is the end
// of the run when the fault was not reverted.
type TimelineFault struct {
	Name string  `json:"name"`
	Kind string  `json:"kind"`
	From float64 `json:"from_s"`
	To   float64 `json:"to_s"`
}

// Variant is one run of a comparison and its figures.
type Variant struct {
	Name string `json:"name"`
	// Sets are the --set overrides the variant adds to the scenario.
	Sets []string `json:"sets"`
	// Dir is the variant's run directory, relative to the comparison's.
	Dir     string  `json:"dir"`
	Verdict Verdict `json:"verdict"`
	// Incomplete says why the variant did not complete (empty unless
	// its verdict is incomplete).
	Incomplete string  `json:"incomplete,omitempty"`
	RunID      string  `json:"run_id"`
	Duration   Seconds `json:"duration_s"`
	Attempts   uint64  `json:"attempts"`
	OK         uint64  `json:"ok"`
	Errors     uint64  `json:"errors"`
	// Throughput is ok attempts per second over the run.
	Throughput float64 `json:"throughput_ok_per_s"`
	// ErrorRate is as in Totals.
	ErrorRate float64 `json:"error_rate"`
	// Latency of the whole run (connect, request of ok attempts, failed).
	Latency Timings `json:"latency"`
	// NewConnsPerRequest is new connections over attempts: 1 unpooled,
	// near 0 pooled.
	NewConnsPerRequest float64 `json:"new_conns_per_request"`
	// The NAT figures are the highest (peaks) or the sum (failures) over
	// NAT boxes.
	PeakPortsInUse      uint64      `json:"peak_ports_in_use"`
	PeakPortUtilization float64     `json:"peak_port_utilization"`
	PeakConntrack       uint64      `json:"peak_conntrack"`
	AllocationFailures  uint64      `json:"allocation_failures"`
	Assertions          []Assertion `json:"assertions"`
	// Series is the variant's time series, for the overlaid charts.
	Series []VariantSample `json:"series"`
}

// VariantSample is one tick of a variant's run.
type VariantSample struct {
	T            float64 `json:"t_s"`
	OKPerSec     float64 `json:"ok_per_s"`
	ErrorsPerSec float64 `json:"errors_per_s"`
	// PortUtilization is the highest over NAT boxes (0..1); absent in a
	// tick without a reading of any box.
	PortUtilization *float64 `json:"port_utilization"`
	// AllocationFailures is the rise over the tick, summed over NAT boxes.
	AllocationFailures uint64 `json:"allocation_failures"`
}

// VariantOf summarises the report of a variant's run.
func VariantOf(name string, sets []string, dir string, r *Report) Variant {
	v := Variant{Name: name, Sets: sets, Dir: dir, Verdict: r.Verdict, Incomplete: r.Incomplete,
		RunID: r.Testbed.RunID, Duration: r.Duration, Attempts: r.Totals.Attempts, OK: r.Totals.OK,
		Errors: r.Totals.Errors, ErrorRate: r.Totals.ErrorRate, Latency: r.Latency.Total,
		Assertions: append([]Assertion{}, r.Assertions...), Series: []VariantSample{}}
	if v.Sets == nil {
		v.Sets = []string{}
	}
	// The duration as report.json keeps it (to the microsecond), so that
	// a comparison derived again from the variants' report.json (natlab
	// report) has the same figures.
	if d := r.Duration.D().Round(time.Microsecond).Seconds(); d > 0 {
		v.Throughput = float64(r.Totals.OK) / d
	}
	if r.Totals.Attempts > 0 {
		v.NewConnsPerRequest = float64(r.Totals.NewConns) / float64(r.Totals.Attempts)
	}
	for _, n := range r.NAT {
		v.PeakPortsInUse = max(v.PeakPortsInUse, n.PeakPortsInUse)
		v.PeakPortUtilization = math.Max(v.PeakPortUtilization, n.PeakPortUtilization)
		v.PeakConntrack = max(v.PeakConntrack, n.PeakConntrack)
		v.AllocationFailures += n.AllocationFailures
	}
	for _, s := range r.Samples {
		vs := VariantSample{T: s.T, OKPerSec: s.OKPerSec, ErrorsPerSec: s.ErrorsPerSec}
		for _, n := range s.NAT {
			u := n.PortUtilization
			if vs.PortUtilization == nil || u > *vs.PortUtilization {
				vs.PortUtilization = &u
			}
			vs.AllocationFailures += n.AllocationFailures
		}
		v.Series = append(v.Series, vs)
	}
	return v
}

// FailedVariant is a variant that produced no report (its testbed did not
// come up, or the comparison stopped before it): incomplete, with why.
func FailedVariant(name string, sets []string, dir, why string) Variant {
	if sets == nil {
		sets = []string{}
	}
	return Variant{Name: name, Sets: sets, Dir: dir, Verdict: VerdictIncomplete, Incomplete: why,
		Assertions: []Assertion{}, Series: []VariantSample{}}
}

// TimelineOf is the schedule a report's run played, for a Comparison.
func TimelineOf(r *Report) ([]TimelinePhase, []TimelineFault) {
	phases := []TimelinePhase{}
	for _, p := range r.Phases {
		phases = append(phases, TimelinePhase{Name: p.Name, Start: r.offset(p.Start), End: r.offset(p.End)})
	}
	faults := []TimelineFault{}
	kinds := map[string]string{}
	for _, f := range r.Faults {
		kinds[f.Name] = f.Kind
	}
	for _, w := range r.faultWindows() {
		faults = append(faults, TimelineFault{Name: w.name, Kind: kinds[w.name], From: w.from, To: w.to})
	}
	return phases, faults
}

// Gated reports whether v's verdict counts towards the comparison's.
func (c *Comparison) Gated(v Variant) bool {
	return len(c.Gate) == 0 || slices.Contains(c.Gate, v.Name)
}

// Judge sets the comparison's verdict from its gated variants'.
func (c *Comparison) Judge() {
	c.Verdict = VerdictPass
	for _, v := range c.Variants {
		if !c.Gated(v) {
			continue
		}
		switch v.Verdict {
		case VerdictIncomplete:
			c.Verdict = VerdictIncomplete
		case VerdictFail:
			if c.Verdict == VerdictPass {
				c.Verdict = VerdictFail
			}
		}
	}
}

// Validate reports what makes c unfit to be written.
func (c *Comparison) Validate() error {
	if c == nil {
		return errors.New("validate comparison: no comparison")
	}
	var errs []error
	if c.Scenario.Name == "" {
		errs = append(errs, errors.New("scenario name is empty"))
	}
	if len(c.Variants) == 0 {
		errs = append(errs, errors.New("no variants"))
	}
	want := *c
	want.Judge()
	if len(c.Variants) > 0 && c.Verdict != want.Verdict {
		errs = append(errs, fmt.Errorf("verdict %q but the variants say %q", c.Verdict, want.Verdict))
	}
	seen := map[string]bool{}
	for i, v := range c.Variants {
		if v.Name == "" {
			errs = append(errs, fmt.Errorf("variant %d has no name", i))
		}
		if seen[v.Name] {
			errs = append(errs, fmt.Errorf("variant name %q is used twice", v.Name))
		}
		seen[v.Name] = true
		switch v.Verdict {
		case VerdictPass, VerdictFail:
		case VerdictIncomplete:
			if v.Incomplete == "" {
				errs = append(errs, fmt.Errorf("variant %s: verdict incomplete needs a reason", v.Name))
			}
		default:
			errs = append(errs, fmt.Errorf("variant %s: verdict %q is not one of pass, fail, incomplete", v.Name, v.Verdict))
		}
		for what, f := range map[string]float64{"throughput": v.Throughput, "error_rate": v.ErrorRate,
			"new_conns_per_request": v.NewConnsPerRequest, "peak_port_utilization": v.PeakPortUtilization} {
			if math.IsNaN(f) || math.IsInf(f, 0) {
				errs = append(errs, fmt.Errorf("variant %s: %s is %v", v.Name, what, f))
			}
		}
	}
	for _, g := range c.Gate {
		if !seen[g] {
			errs = append(errs, fmt.Errorf("gate %q names no variant", g))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("validate comparison: %w", err)
	}
	return nil
}
