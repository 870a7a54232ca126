package loadgen

import (
	"errors"
	"testing"
	"time"
)

// The failed histogram holds how long the attempts that were made and
// failed took; dropped and cancelled attempts are in neither histogram, so
// a stall that lets nothing succeed still shows its latency.
func TestFailedLatencyIsRecorded(t *testing.T) {
	rec := recorderOf("a")
	ph := rec.phases[0]
	rec.end(ph.begin(), OutcomeOK, nil, 3*time.Millisecond)
	rec.end(ph.begin(), OutcomeConnectTimeout, errors.New("i/o timeout"), 2*time.Second)
	rec.end(ph.begin(), OutcomeReset, errors.New("reset"), 40*time.Millisecond)
	rec.end(ph.begin(), OutcomeDropped, nil, 0)
	rec.end(ph.begin(), OutcomeCancelled, errors.New("context canceled"), time.Second)

	tick := rec.takeTick()
	if n := tick.Request.Count(); n != 1 {
		t.Errorf("tick request count %d, want 1 (the ok attempt)", n)
	}
	if n := tick.Failed.Count(); n != 2 {
		t.Errorf("tick failed count %d, want 2 (timeout and reset; not dropped, not cancelled)", n)
	}
	if got := tick.Failed.Max(); got < 1990*time.Millisecond || got > 2010*time.Millisecond {
		t.Errorf("tick failed max %v, want the 2s connect timeout", got)
	}
	if again := rec.takeTick(); again.Failed.Count() != 0 || again.Request.Count() != 0 {
		t.Errorf("takeTick did not start anew: %d failed, %d ok", again.Failed.Count(), again.Request.Count())
	}

	res := rec.result(time.Now(), time.Second)
	if err := res.CheckFinished(); err != nil {
		t.Fatal(err)
	}
	if n := res.Phases[0].Failed.Count(); n != 2 {
		t.Errorf("phase failed count %d, want 2", n)
	}
	if n := res.Total.Failed.Count(); n != 2 {
		t.Errorf("total failed count %d, want 2", n)
	}

	// Merged results add the failed histograms exactly.
	other := rec.result(time.Now(), time.Second)
	if err := res.Merge(other); err != nil {
		t.Fatal(err)
	}
	if n := res.Total.Failed.Count(); n != 4 {
		t.Errorf("merged failed count %d, want 4", n)
	}
}

func TestCumulativeCounts(t *testing.T) {
	h := NewHistogram()
	for _, d := range []time.Duration{500 * time.Microsecond, 2 * time.Millisecond, 2 * time.Millisecond, 40 * time.Millisecond, 3 * time.Second} {
		h.Record(d)
	}
	got := h.CumulativeCounts([]time.Duration{time.Millisecond, 10 * time.Millisecond, time.Second, 10 * time.Second})
	want := []uint64{1, 3, 4, 5}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("cumulative counts %v, want %v", got, want)
		}
	}
	if got := NewHistogram().CumulativeCounts([]time.Duration{time.Second}); got[0] != 0 {
		t.Fatalf("empty histogram: %v", got)
	}
}
