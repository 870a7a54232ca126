package chaos_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/chaos"
)

// fakeFault logs its calls.
type fakeFault struct {
	name      string
	log       *callLog
	injectErr error
	verifyErr error
}

type callLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *callLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, s)
}

func (l *callLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.calls...)
}

func (f *fakeFault) Describe() string { return "fake " + f.name }
func (f *fakeFault) Inject(context.Context, chaos.Env) error {
	f.log.add("inject " + f.name)
	return f.injectErr
}
func (f *fakeFault) Revert(context.Context, chaos.Env) error {
	f.log.add("revert " + f.name)
	return nil
}
func (f *fakeFault) Verify(context.Context, chaos.Env) error {
	f.log.add("verify " + f.name)
	return f.verifyErr
}

func TestTimelineOrderAndMarkers(t *testing.T) {
	t.Parallel()
	log := &callLog{}
	ms := make(chan chaos.Marker, 100)
	tl, err := chaos.NewTimeline(nil, []chaos.Scheduled{
		{Name: "b", At: 100 * time.Millisecond, For: 100 * time.Millisecond, Fault: &fakeFault{name: "b", log: log}},
		{Name: "a", At: 0, For: 100 * time.Millisecond, Fault: &fakeFault{name: "a", log: log}},
		{Name: "c", At: 150 * time.Millisecond, Fault: &fakeFault{name: "c", log: log}},
		{Name: "d", At: 160 * time.Millisecond, Fault: &fakeFault{name: "d", log: log}},
	}, func(m chaos.Marker) { ms <- m })
	require.NoError(t, err)
	start := time.Now()
	require.NoError(t, tl.Run(context.Background(), start))
	assert.Equal(t, []string{"inject a", "revert a", "verify a", "inject b", "inject c", "inject d", "revert b", "verify b"}, log.get(),
		"a revert comes before an inject due at the same time")
	assert.ElementsMatch(t, []string{"c", "d"}, tl.Active(), "faults without For stay")
	require.NoError(t, tl.RevertAll(context.Background()))
	require.NoError(t, tl.RevertAll(context.Background()), "RevertAll is idempotent")
	assert.Equal(t, []string{"revert d", "verify d", "revert c", "verify c"}, log.get()[8:], "last injected, first reverted")
	assert.Empty(t, tl.Active())

	markers := tl.Markers()
	require.Len(t, markers, 12)
	assert.Len(t, ms, 12, "every marker reaches the callback")
	b := markers[3]
	assert.Equal(t, chaos.Marker{Fault: "b", Description: "fake b", Event: chaos.EventInject, Planned: 100 * time.Millisecond, At: b.At}, b)
	// Never early; how late depends on the machine, so that is not judged.
	assert.GreaterOrEqual(t, b.At, b.Planned, "a fault is injected no sooner than planned")
	for _, m := range markers {
		assert.GreaterOrEqual(t, m.At, m.Planned, "%s %s no sooner than planned", m.Event, m.Fault)
	}
}

func TestTimelineFailures(t *testing.T) {
	t.Parallel()
	log := &callLog{}
	tl, err := chaos.NewTimeline(nil, []chaos.Scheduled{
		{Name: "broken", Fault: &fakeFault{name: "broken", log: log, injectErr: errors.New("boom")}},
		{Name: "drifted", For: 10 * time.Millisecond, Fault: &fakeFault{name: "drifted", log: log, verifyErr: errors.New("x is 2, was 1")}},
	}, nil)
	require.NoError(t, err)
	err = tl.Run(context.Background(), time.Now())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "inject broken (fake broken): boom")
	assert.Contains(t, err.Error(), "verify drifted (fake drifted): x is 2, was 1")
	assert.Equal(t, []string{"inject broken", "revert broken", "verify broken", "inject drifted", "revert drifted", "verify drifted"}, log.get(),
		"a failed inject is reverted at once")
	assert.Equal(t, "boom", tl.Markers()[0].Err)

	_, err = chaos.NewTimeline(nil, []chaos.Scheduled{{Name: "x", At: -time.Second, Fault: &fakeFault{}}, {Name: "x"}}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "must not be negative")
	assert.Contains(t, err.Error(), "x: name used twice")
	assert.Contains(t, err.Error(), "x: no fault")
}

// Ctrl-C: Run stops at once, RevertAll reverts what is active and no
// later inject happens.
func TestTimelineCancel(t *testing.T) {
	t.Parallel()
	log := &callLog{}
	tl, err := chaos.NewTimeline(nil, []chaos.Scheduled{
		{Name: "now", Fault: &fakeFault{name: "now", log: log}},
		{Name: "later", At: time.Hour, Fault: &fakeFault{name: "later", log: log}},
	}, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tl.Run(ctx, time.Now()) }()
	require.Eventually(t, func() bool { return len(tl.Active()) == 1 }, 10*time.Second, time.Millisecond)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.NoError(t, tl.RevertAll(context.Background()))
	assert.Equal(t, []string{"inject now", "revert now", "verify now"}, log.get())
}
