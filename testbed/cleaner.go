package testbed

import (
	"context"
	"fmt"
)

// Cleaner is the removal side of a backend. `natlab clean` and `natlab
// down` decide which runs go (dead ones, or the ones named); the backend
// knows what a run made and how to remove it.
type Cleaner interface {
	// Name is the backend's name, as recorded in a run's State.
	Name() string
	// Leftovers lists the runs that have resources on this backend, one
	// State per run with ID and Backend set. PID and Start name the
	// process that made the run when the resources record it (zero
	// otherwise); Slot is the address slot the resources hold in a space
	// that runs of every registry share (docker's networks), -1 when they
	// hold none.
	Leftovers(ctx context.Context) ([]State, error)
	// Clean removes every resource of run runID on this backend, agents
	// first, and describes each thing it removed ("namespace NAME",
	// "container NAME"). A run with nothing left is no error.
	Clean(ctx context.Context, runID string) ([]string, error)
}

// CheckRunID refuses what cannot be a run id (ids are short lowercase hex,
// see Claim), so that a cleaner never matches the resources of another
// run, or of every run, by a prefix.
func CheckRunID(id string) error {
	if id == "" || len(id) > 32 {
		return fmt.Errorf("run id %q: want up to 32 lowercase letters and digits", id)
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			return fmt.Errorf("run id %q: want up to 32 lowercase letters and digits", id)
		}
	}
	return nil
}
