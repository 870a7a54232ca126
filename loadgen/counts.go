package loadgen

import "fmt"

// Counts is the exact accounting of a phase, a run, or a tick.
// Attempts == sum(Outcomes) + InFlight always holds.
type Counts struct {
	// Attempts started (a hold schedule: connections tried).
	Attempts uint64 `json:"attempts"`
	// Outcomes of the attempts that ended; absent classes are zero.
	Outcomes map[Outcome]uint64 `json:"outcomes"`
	// InFlight attempts had started and not ended when counted.
	InFlight uint64 `json:"in_flight"`
	// NewConns counts connections established (UDP: sockets set up).
	NewConns uint64 `json:"new_conns"`
	// Lost counts held connections that ended (reset, closed) before the
	// end of their hold phase; they had already counted as ok.
	Lost uint64 `json:"lost"`
}

// Ended returns the number of attempts with an outcome.
func (c Counts) Ended() uint64 {
	var n uint64
	for _, v := range c.Outcomes {
		n += v
	}
	return n
}

// Of returns the count of one outcome.
func (c Counts) Of(o Outcome) uint64 { return c.Outcomes[o] }

// Errors returns the attempts that ended in anything but ok.
func (c Counts) Errors() uint64 { return c.Ended() - c.Outcomes[OutcomeOK] }

// Check verifies Attempts == sum(Outcomes) + InFlight.
func (c Counts) Check() error {
	if e := c.Ended(); c.Attempts != e+c.InFlight {
		return fmt.Errorf("check counts: attempts %d != outcomes %d + in flight %d", c.Attempts, e, c.InFlight)
	}
	return nil
}

// Add adds o to c.
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
}
