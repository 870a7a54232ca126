package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"

	"github.com/natlab/natlab/loadgen"
)

// Totals are exact attempt counts, as loadgen.Counts, with the derived
// figures a reader wants first.
type Totals struct {
	Attempts uint64 `json:"attempts"`
	OK       uint64 `json:"ok"`
	// Errors is the number of ended attempts that were not ok.
	Errors uint64 `json:"errors"`
	// ErrorRate is the share of attempts that did not end ok: Errors and
	// the attempts still in flight (an interrupted run's) over all attempts
	// (0 when there were none). An attempt that never ended did not succeed.
	ErrorRate float64 `json:"error_rate"`
	// InFlight is the attempts that had not ended when the run stopped;
	// zero unless the run is incomplete. Attempts == sum(Outcomes) + InFlight.
	InFlight uint64 `json:"in_flight"`
	NewConns uint64 `json:"new_conns"`
	// Lost is held connections that ended before their phase did;
	// LostBy says how each ended (Lost == its sum).
	Lost   uint64                     `json:"lost"`
	LostBy map[loadgen.Outcome]uint64 `json:"lost_by,omitempty"`
	// Outcomes has every outcome name, zeros included, in loadgen order.
	Outcomes OutcomeCounts `json:"outcomes"`
}

// TotalsOf derives Totals from loadgen counts.
func TotalsOf(c loadgen.Counts) Totals {
	t := Totals{Attempts: c.Attempts, OK: c.Of(loadgen.OutcomeOK), Errors: c.Errors(),
		InFlight: c.InFlight, NewConns: c.NewConns, Lost: c.Lost, LostBy: c.LostBy, Outcomes: OutcomeCounts{}}
	t.ErrorRate = notOKRate(c.Attempts, c.Ended(), c.InFlight, t.OK)
	for o, n := range c.Outcomes {
		if n != 0 {
			t.Outcomes[o] = n
		}
	}
	return t
}

// counts returns t as the loadgen counts it was derived from.
func (t Totals) counts() loadgen.Counts {
	c := loadgen.Counts{Attempts: t.Attempts, InFlight: t.InFlight, NewConns: t.NewConns, Lost: t.Lost, LostBy: t.LostBy,
		Outcomes: map[loadgen.Outcome]uint64{}}
	for o, n := range t.Outcomes {
		c.Outcomes[o] = n
	}
	return c
}

// notOKRate is the share of attempts that did not end ok. The attempts are
// the larger of those counted and those accounted for (ended or in flight):
// an attempt without an outcome counts as not ok, and counts that do not
// add up (which Validate refuses) still give a rate in 0..1. ok <= ended
// <= the attempts, so nothing wraps around.
func notOKRate(attempts, ended, inFlight, ok uint64) float64 {
	all := attempts
	if acc, carry := bits.Add64(ended, inFlight, 0); carry != 0 {
		all = math.MaxUint64
	} else if acc > all {
		all = acc
	}
	if all == 0 {
		return 0
	}
	return float64(all-ok) / float64(all)
}

// OutcomeCounts counts attempts by outcome. It encodes every outcome of
// loadgen.AllOutcomes, zeros included, in that order, so that a reader can
// rely on each key being present.
type OutcomeCounts map[loadgen.Outcome]uint64

// MarshalJSON writes every outcome in loadgen order.
func (oc OutcomeCounts) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, o := range loadgen.AllOutcomes() {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%d", o.String(), oc[o])
	}
	for o := range oc {
		if _, err := o.MarshalText(); err != nil {
			return nil, fmt.Errorf("encode outcome counts: %w", err)
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads outcome counts, dropping zeros.
func (oc *OutcomeCounts) UnmarshalJSON(b []byte) error {
	var m map[loadgen.Outcome]uint64
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("decode outcome counts: %w", err)
	}
	out := OutcomeCounts{}
	for o, n := range m {
		if n != 0 {
			out[o] = n
		}
	}
	*oc = out
	return nil
}

// NonZero lists the outcomes with a count, in loadgen order.
func (oc OutcomeCounts) NonZero() []loadgen.Outcome {
	var out []loadgen.Outcome
	for _, o := range loadgen.AllOutcomes() {
		if oc[o] != 0 {
			out = append(out, o)
		}
	}
	return out
}
