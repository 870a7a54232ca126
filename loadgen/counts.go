package loadgen

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// Counts is the exact accounting of a phase, a run, or a tick.
//
// Attempts, Outcomes and InFlight are counted apart (see the package doc):
// Attempts when an attempt begins, its outcome when it ends, InFlight up on
// begin and down on end. Check verifies that they agree, Attempts ==
// sum(Outcomes) + InFlight; CheckFinished also wants InFlight == 0, as in
// the Result of a run that was not cancelled.
type Counts struct {
	// Attempts started (a hold schedule: connections tried).
	Attempts uint64 `json:"attempts"`
	// Outcomes of the attempts that ended; absent classes are zero.
	Outcomes map[Outcome]uint64 `json:"outcomes"`
	// InFlight attempts had started and not ended when counted.
	InFlight uint64 `json:"in_flight"`
	// NewConns counts connections established (UDP: sockets set up).
	NewConns uint64 `json:"new_conns"`
	// Lost counts held connections that ended before the end of their
	// hold phase; they had already counted as ok. LostBy says how each
	// ended (reset, closed, ...): Lost == sum(LostBy), so no early end goes
	// unexplained.
	Lost   uint64             `json:"lost"`
	LostBy map[Outcome]uint64 `json:"lost_by,omitempty"`
}

// Ended returns the number of attempts with an outcome (math.MaxUint64
// if the outcomes overflow, which Check reports).
func (c Counts) Ended() uint64 {
	n, ok := c.ended()
	if !ok {
		return math.MaxUint64
	}
	return n
}

// ended sums the outcomes; false if the sum overflows.
func (c Counts) ended() (uint64, bool) {
	var n uint64
	for _, v := range c.Outcomes {
		var carry uint64
		if n, carry = bits.Add64(n, v, 0); carry != 0 {
			return 0, false
		}
	}
	return n, true
}

// Of returns the count of one outcome.
func (c Counts) Of(o Outcome) uint64 { return c.Outcomes[o] }

// Errors returns the attempts that ended in anything but ok.
func (c Counts) Errors() uint64 { return c.Ended() - c.Outcomes[OutcomeOK] } // ok is a summand of Ended (which saturates)

// Check verifies that every attempt started has exactly one outcome or is
// in flight: Attempts == sum(Outcomes) + InFlight, with no sum wrapping
// around. More outcomes than that means an attempt ended twice; fewer, that
// an attempt ended without an outcome. Counts read while attempts run pass
// it too (the recorder snapshots a phase whole); see CheckFinished for the
// counts of a run that is over.
func (c Counts) Check() error {
	ended, ok := c.ended()
	if !ok {
		return fmt.Errorf("check counts: the outcomes %v overflow a uint64", c.Outcomes)
	}
	accounted, carry := bits.Add64(ended, c.InFlight, 0)
	switch {
	case carry != 0:
		return fmt.Errorf("check counts: outcomes %d + in flight %d overflow a uint64", ended, c.InFlight)
	case accounted > c.Attempts:
		return fmt.Errorf("check counts: attempts %d < outcomes %d + in flight %d: %d more outcomes than attempts (an attempt ended twice)",
			c.Attempts, ended, c.InFlight, accounted-c.Attempts)
	case accounted < c.Attempts:
		return fmt.Errorf("check counts: attempts %d > outcomes %d + in flight %d: %d attempts neither ended nor in flight (an attempt without an outcome)",
			c.Attempts, ended, c.InFlight, c.Attempts-accounted)
	}
	var by uint64
	for _, v := range c.LostBy {
		var carry uint64
		if by, carry = bits.Add64(by, v, 0); carry != 0 {
			return fmt.Errorf("check counts: the early ends %v overflow a uint64", c.LostBy)
		}
	}
	if by != c.Lost {
		return fmt.Errorf("check counts: %d held connections lost, but %d early ends have a class (%v)", c.Lost, by, c.LostBy)
	}
	return nil
}

// CheckFinished is Check for the counts of a run that is over: no attempt
// may still be in flight either.
func (c Counts) CheckFinished() error {
	err := c.Check()
	if c.InFlight != 0 {
		err = errors.Join(err, fmt.Errorf("check counts: %d attempts still in flight in a finished run (an attempt without an outcome)", c.InFlight))
	}
	return err
}

// addChecked adds o to c, or leaves c alone and fails if a sum would
// overflow.
func (c *Counts) addChecked(o Counts) error {
	sum := func(a, b uint64) bool { _, carry := bits.Add64(a, b, 0); return carry == 0 }
	ok := sum(c.Attempts, o.Attempts) && sum(c.InFlight, o.InFlight) && sum(c.NewConns, o.NewConns) && sum(c.Lost, o.Lost)
	for k, v := range o.Outcomes {
		ok = ok && sum(c.Outcomes[k], v)
	}
	for k, v := range o.LostBy {
		ok = ok && sum(c.LostBy[k], v)
	}
	if !ok {
		return fmt.Errorf("add counts: a sum overflows a uint64")
	}
	c.Add(o)
	return nil
}

// Add adds o to c (Result.Merge checks the sums for overflow first).
func (c *Counts) Add(o Counts) {
	c.Attempts += o.Attempts
	c.InFlight += o.InFlight
	c.NewConns += o.NewConns
	c.Lost += o.Lost
	for k, v := range o.Outcomes {
		if v == 0 {
			continue
		}
		if c.Outcomes == nil {
			c.Outcomes = make(map[Outcome]uint64)
		}
		c.Outcomes[k] += v
	}
	for k, v := range o.LostBy {
		if v == 0 {
			continue
		}
		if c.LostBy == nil {
			c.LostBy = make(map[Outcome]uint64)
		}
		c.LostBy[k] += v
	}
}

// equal reports whether c and o hold the same counts (zero outcomes and
// absent ones alike).
func (c Counts) equal(o Counts) bool {
	return c.Attempts == o.Attempts && c.InFlight == o.InFlight && c.NewConns == o.NewConns && c.Lost == o.Lost &&
		sameCounts(c.Outcomes, o.Outcomes) && sameCounts(c.LostBy, o.LostBy)
}

// sameCounts compares two per-outcome counts, zero and absent alike.
func sameCounts(a, b map[Outcome]uint64) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}
