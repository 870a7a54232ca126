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
	_ = s.Run(ctx, time.Now(), nil)
	late, worst := LateTicks(s.Samples(), 20*time.Millisecond)
	if late == 0 || worst < 20*time.Millisecond {
		t.Errorf("readings of 50ms on a 20ms tick: %d late, latest %s; want late ticks", late, worst)
	}
}

// Run says when the baseline is in: the load a run counts starts after
// it, so a count that rose before the first reading is not lost. The
// baseline is the first sample, recorded before based is closed.
func TestRunSignalsTheBaseline(t *testing.T) {
	release := make(chan struct{})
	s, err := New(nil, Options{Tick: 20 * time.Millisecond, OnSample: func(Sample) { <-release }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	based, done := make(chan struct{}), make(chan error)
	go func() { done <- s.Run(ctx, time.Now(), based) }()
	select {
	case <-based:
		t.Fatal("based closed while the first reading was still under way")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	select {
	case <-based:
	case <-time.After(5 * time.Second):
		t.Fatal("based not closed after the first reading")
	}
	if n := len(s.Samples()); n < 1 {
		t.Errorf("%d samples when based closed, want the baseline", n)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
