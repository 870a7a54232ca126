package reports

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/natlab/natlab/loadgen"
)

// Totals are exact attempt counts, as loadgen.Counts, with the derived
// figures a reader wants first.
type Totals struct {
	Attempts uint64 `json:"attempts"`
	OK       uint64 `json:"ok"`
	// Errors is the number of ended attempts that were not ok.
	Errors uint64 `json:"errors"`
	// ErrorRate is Errors / ended attempts (0 when none ended).
	ErrorRate float64 `json:"error_rate"`
	InFlight  uint64  `json:"in_flight"`
	NewConns  uint64  `json:"new_conns"`
	Lost      uint64  `json:"lost"`
	// Outcomes has every outcome name, zeros included, in loadgen order.
	Outcomes OutcomeCounts `json:"outcomes"`
}

// TotalsOf derives Totals from loadgen counts.
func TotalsOf(c loadgen.Counts) Totals {
	t := Totals{Attempts: c.Attempts, OK: c.Of(loadgen.OutcomeOK), Errors: c.Errors(),
		InFlight: c.InFlight, NewConns: c.NewConns, Lost: c.Lost, Outcomes: OutcomeCounts{}}
	if ended := c.Ended(); ended > 0 {
		t.ErrorRate = float64(t.Errors) / float64(ended)
	}
	for o, n := range c.Outcomes {
		if n != 0 {
			t.Outcomes[o] = n
		}
	}
	return t
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
