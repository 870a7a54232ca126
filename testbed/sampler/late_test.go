package sampler

import (
	"context"
	"testing"
	"time"
)

func TestLateTicks(t *testing.T) {
	tick := time.Second
	ss := []Sample{{Late: 0}, {Late: 200 * time.Millisecond}, {Late: 201 * time.Millisecond}, {Late: 1500 * time.Millisecond}}
	late, worst := LateTicks(ss, tick)
	if late != 2 || worst != 1500*time.Millisecond {
		t.Errorf("LateTicks = %d, %s; want 2 (more than 20%% of the tick), 1.5s", late, worst)
	}
}

// A sampler whose readings overrun the tick records how late each one
// started.
func TestRunRecordsLateness(t *testing.T) {
	s, err := New(nil, Options{Tick: 20 * time.Millisecond, OnSample: func(Sample) { time.Sleep(50 * time.Millisecond) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_ = s.Run(ctx, time.Now())
	late, worst := LateTicks(s.Samples(), 20*time.Millisecond)
	if late == 0 || worst < 20*time.Millisecond {
		t.Errorf("readings of 50ms on a 20ms tick: %d late, latest %s; want late ticks", late, worst)
	}
}
