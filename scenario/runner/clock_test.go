package runner

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/natlab/natlab/scenario"
)

func threePhases() []scenario.Phase {
	return []scenario.Phase{{Name: "before", Duration: 5 * time.Second}, {Name: "outage", Duration: 8 * time.Second}, {Name: "after", Duration: 10 * time.Second}}
}

// A time on a boundary starts the phase after it (an inject) and ends the
// phase before it (a revert): ip-forward-off's fault from 5 s for 8 s is
// the outage phase, all of it, however late that phase starts.
func TestPhaseClockPhaseOf(t *testing.T) {
	c := newPhaseClock(threePhases())
	for _, tc := range []struct {
		at   time.Duration
		end  bool
		want int
	}{
		{0, false, 0}, {0, true, 0},
		{4 * time.Second, false, 0},
		{5 * time.Second, false, 1}, {5 * time.Second, true, 0},
		{13 * time.Second, false, 2}, {13 * time.Second, true, 1},
		{23 * time.Second, true, 2}, {23 * time.Second, false, 2},
		{time.Minute, false, 2}, {time.Minute, true, 2},
	} {
		if got := c.phaseOf(tc.at, tc.end); got != tc.want {
			t.Errorf("phaseOf(%s, end=%v) = %d, want %d", tc.at, tc.end, got, tc.want)
		}
	}
}

// A time in a phase waits for that phase to begin, whatever the wall
// clock says, and then comes at its offset into the phase.
func TestPhaseClockWaitsForItsPhase(t *testing.T) {
	c := newPhaseClock(threePhases())
	c.begin(0, time.Now().Add(-time.Hour)) // the run began long ago

	// The outage has not begun: a time in it does not come.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Wait(ctx, 7*time.Second, false) }()
	// A revert at the end of before is due (an hour ago) and comes.
	if err := c.Wait(context.Background(), 5*time.Second, true); err != nil {
		t.Fatalf("the end of a phase that began an hour ago: %v", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("a time in a phase not begun (7 s: an hour past the run's start) must wait for the phase, ending with its context; got %v", err)
	}

	// The outage begins late; 2 s into it is 2 s after it began, not 7 s
	// after the run's start.
	began := time.Now().Add(-1900 * time.Millisecond)
	c.begin(1, began)
	if err := c.Wait(context.Background(), 7*time.Second, false); err != nil {
		t.Fatal(err)
	}
	if since := time.Since(began); since < 2*time.Second {
		t.Errorf("7 s on the schedule is 2 s into the outage: came %s after it began", since)
	}
}
