package loadgen

import (
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

// Counts.Check compares three counters counted apart, so a mishandled
// attempt shows: more outcomes than attempts, fewer, or a wrapped sum.
func TestCountsCheck(t *testing.T) {
	oc := func(kv ...uint64) map[Outcome]uint64 {
		m := map[Outcome]uint64{}
		for i := 0; i < len(kv); i += 2 {
			m[Outcome(kv[i])] = kv[i+1]
		}
		return m
	}
	ok, reset := uint64(OutcomeOK), uint64(OutcomeReset)
	for _, tc := range []struct {
		name            string
		c               Counts
		check, finished string // "" passes, else part of the error
	}{
		{"empty", Counts{}, "", ""},
		{"all ended", Counts{Attempts: 5, Outcomes: oc(ok, 3, reset, 2)}, "", ""},
		{"mid-run", Counts{Attempts: 5, Outcomes: oc(ok, 3), InFlight: 2}, "", "2 attempts still in flight"},
		{"attempt without an outcome", Counts{Attempts: 5, Outcomes: oc(ok, 4)}, "1 attempts neither ended nor in flight", "neither ended"},
		{"attempt with two outcomes", Counts{Attempts: 5, Outcomes: oc(ok, 5, reset, 1)}, "1 more outcomes than attempts", "more outcomes"},
		{"two outcomes hidden by the in-flight gauge", Counts{Attempts: 5, Outcomes: oc(ok, 5), InFlight: 1}, "more outcomes", "more outcomes"},
		// What the old recorder derived for one attempt with three outcomes:
		// InFlight = 1 - 3 wrapped around.
		{"wrapped in-flight", Counts{Attempts: 1, Outcomes: oc(ok, 3), InFlight: math.MaxUint64 - 1}, "overflow", "overflow"},
		{"wrapped outcomes", Counts{Attempts: 1, Outcomes: oc(ok, math.MaxUint64, reset, 2)}, "overflow", "overflow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range []struct {
				name string
				err  error
				want string
			}{{"Check", tc.c.Check(), tc.check}, {"CheckFinished", tc.c.CheckFinished(), tc.finished}} {
				switch {
				case f.want == "" && f.err != nil:
					t.Errorf("%s: %v", f.name, f.err)
				case f.want != "" && f.err == nil:
					t.Errorf("%s passed %+v, want an error with %q", f.name, tc.c, f.want)
				case f.want != "" && !strings.Contains(f.err.Error(), f.want):
					t.Errorf("%s: %v, want %q", f.name, f.err, f.want)
				}
			}
		})
	}
	// Errors never wraps around either.
	if e := (Counts{Outcomes: oc(ok, math.MaxUint64, reset, 2)}).Errors(); e > math.MaxUint64-1 {
		t.Errorf("errors of overflowing outcomes: %d", e)
	}
}

func recorderOf(phases ...string) *recorder {
	var p Plan
	for _, n := range phases {
		p.Phases = append(p.Phases, Phase{Name: n})
	}
	return newRecorder(p)
}

// An attempt the recorder saw begin and never end stays in flight: the
// Result is a consistent snapshot (Check) but not a finished run.
func TestRecorderAttemptWithoutOutcomeFails(t *testing.T) {
	rec := recorderOf("a", "b")
	rec.end(rec.phases[0].begin(), OutcomeOK, nil, time.Millisecond)
	rec.end(rec.phases[1].begin(), OutcomeReset, errors.New("reset"), 0)
	_ = rec.phases[1].begin() // never ends
	res := rec.result(time.Now(), time.Second)
	if err := res.Check(); err != nil {
		t.Fatalf("a snapshot with an attempt in flight is consistent: %v", err)
	}
	err := res.CheckFinished()
	if err == nil {
		t.Fatalf("an attempt without an outcome passed CheckFinished: %+v", res.Total.Counts)
	}
	if !strings.Contains(err.Error(), "phase b: check counts: 1 attempts still in flight") || !strings.Contains(err.Error(), "total:") {
		t.Fatalf("error does not name phase b and the total: %v", err)
	}
	if c := res.Phases[1].Counts; c.Attempts != 2 || c.Ended() != 1 || c.InFlight != 1 {
		t.Fatalf("phase b counts %+v, want 2 attempts, 1 ended, 1 in flight", c)
	}
}

// An attempt the recorder saw end twice (or three times) has more outcomes
// than attempts: even the snapshot check fails, at once and after the run.
func TestRecorderAttemptWithTwoOutcomesFails(t *testing.T) {
	for _, ends := range []int{2, 3} {
		rec := recorderOf("a")
		ph := rec.phases[0]
		rec.end(ph.begin(), OutcomeOK, nil, time.Millisecond)
		a := ph.begin()
		for range ends {
			rec.end(a, OutcomeOK, nil, time.Millisecond)
		}
		other := ph.begin() // a legitimate attempt in flight does not hide it
		if err := rec.total().Check(); err == nil || !strings.Contains(err.Error(), "more outcomes than attempts") {
			t.Fatalf("%d outcomes for one attempt, live snapshot %+v: %v", ends, rec.total(), err)
		}
		rec.end(other, OutcomeOK, nil, time.Millisecond)
		res := rec.result(time.Now(), time.Second)
		for name, err := range map[string]error{"Check": res.Check(), "CheckFinished": res.CheckFinished()} {
			if err == nil || !strings.Contains(err.Error(), "more outcomes than attempts") {
				t.Fatalf("%d outcomes for one attempt, %s of %+v: %v", ends, name, res.Total.Counts, err)
			}
		}
		if c := res.Total.Counts; c.Attempts != 3 || c.Ended() != uint64(2+ends) || c.InFlight != 0 {
			t.Fatalf("counts %+v: want 3 attempts, %d outcomes, none in flight (the gauge does not wrap)", c, 2+ends)
		}
	}
}

// Snapshots taken while attempts begin and end on other goroutines (the
// sampler's ticks) are each consistent, and the samples add up: the
// attempts of the ticks so far equal their outcomes plus the last gauge.
func TestLiveSnapshotsAreConsistent(t *testing.T) {
	rec := recorderOf("a", "b")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// Begin in one phase, and sometimes a second before the
				// first ends, as a slow attempt overlaps the next.
				a := rec.phases[(w+i)%2].begin()
				b := rec.phases[i%2].begin()
				rec.end(a, Outcome(i%numOutcomes), nil, 0)
				rec.end(b, OutcomeOK, nil, time.Microsecond)
			}
		}()
	}
	smp := &sampler{rec: rec, start: time.Now()}
	var sum Counts
	deadline := time.Now().Add(300 * time.Millisecond)
	n := 0
	for ; time.Now().Before(deadline); n++ {
		for _, ph := range rec.phases {
			if err := ph.counts().Check(); err != nil {
				t.Fatalf("live phase snapshot: %v", err)
			}
		}
		s := smp.take(time.Now(), "a")
		sum.Add(Counts{Attempts: s.Attempts, Outcomes: s.Outcomes})
		sum.InFlight = s.InFlight
		if err := sum.Check(); err != nil {
			t.Fatalf("after %d samples: %v", n+1, err)
		}
	}
	close(stop)
	wg.Wait()
	res := rec.result(time.Now(), time.Second)
	if err := res.CheckFinished(); err != nil {
		t.Fatal(err)
	}
	if res.Total.Counts.Attempts == 0 || n < 10 {
		t.Fatalf("%d attempts over %d snapshots: the test did not run", res.Total.Counts.Attempts, n)
	}
}

// Result.Check compares the total with the sum of the phases in full, and
// Merge refuses sums that would wrap around instead of merging them.
func TestResultCheckAndMergeOverflow(t *testing.T) {
	rec := recorderOf("a")
	rec.end(rec.phases[0].begin(), OutcomeOK, nil, time.Millisecond)
	res := rec.result(time.Now(), time.Second)
	if err := res.CheckFinished(); err != nil {
		t.Fatal(err)
	}
	res.Total.Counts.InFlight, res.Total.Counts.Attempts = 1, 2 // consistent alone, not the phases' sum
	if err := res.Check(); err == nil || !strings.Contains(err.Error(), "the phases sum to") {
		t.Fatalf("total unlike its phases: %v", err)
	}

	big := recorderOf("a").result(time.Now(), time.Second)
	big.Phases[0].Counts = Counts{Attempts: math.MaxUint64, Outcomes: map[Outcome]uint64{OutcomeOK: math.MaxUint64}}
	big.Total.Counts = big.Phases[0].Counts
	one := recorderOf("a")
	one.end(one.phases[0].begin(), OutcomeOK, nil, time.Millisecond)
	if err := big.Merge(one.result(time.Now(), time.Second)); err == nil || !strings.Contains(err.Error(), "overflow") {
		t.Fatalf("merge past 2^64 attempts: %v", err)
	}
}
