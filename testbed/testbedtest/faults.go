package testbedtest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/chaos"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed/natcfg"
)

// NewFault builds a fault of kind on host from params, as a scenario
// would.
func NewFault(t testing.TB, env chaos.Env, kind, host string, params map[string]any) chaos.Fault {
	t.Helper()
	f, err := chaos.New(kind, host, env.Spec(), params)
	require.NoError(t, err)
	return f
}

// Inject injects f and makes sure it is reverted when the test ends.
func Inject(t testing.TB, env chaos.Env, f chaos.Fault) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, f.Inject(ctx, env), f.Describe())
	t.Cleanup(func() { _ = f.Revert(ctx, env) })
}

// Revert reverts f and verifies the recorded state is back (a failed
// Verify does not stop the test: what traffic does next still tells).
func Revert(t testing.TB, env chaos.Env, f chaos.Fault) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, f.Revert(ctx, env), f.Describe())
	assert.NoError(t, f.Verify(ctx, env), "after the revert of %s", f.Describe())
}

// RunTimeline plays faults from start and reverts what is left; it
// returns the markers.
func RunTimeline(t testing.TB, env chaos.Env, start time.Time, faults ...chaos.Scheduled) []chaos.Marker {
	t.Helper()
	tl, err := chaos.NewTimeline(env, faults, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tl.RevertAll(context.Background()) })
	require.NoError(t, tl.Run(context.Background(), start))
	require.NoError(t, tl.RevertAll(context.Background()))
	return tl.Markers()
}

// PhaseOf returns the result of the named phase.
func PhaseOf(t testing.TB, r *loadgen.Result, name string) loadgen.PhaseResult {
	t.Helper()
	for _, p := range r.Phases {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no phase %q", name)
	return loadgen.PhaseResult{}
}

// Phases builds consecutive phases of one schedule, one per name, with
// the durations in order.
func Phases(s loadgen.Schedule, names []string, ds ...time.Duration) []loadgen.Phase {
	out := make([]loadgen.Phase, len(names))
	for i, n := range names {
		out[i] = loadgen.Phase{Name: n, Duration: ds[i], Schedule: s}
	}
	return out
}

// Sysctl reads key on host through its agent.
func Sysctl(t testing.TB, env chaos.Env, host, key string) string {
	t.Helper()
	var got map[string]string
	require.NoError(t, env.Agent(host).Call(context.Background(), wire.OpSysctlGet, []string{key}, &got))
	return got[key]
}

// SetSysctl sets key on host through its agent, behind any fault's back.
func SetSysctl(t testing.TB, env chaos.Env, host, key, value string) {
	t.Helper()
	require.NoError(t, env.Agent(host).Call(context.Background(), wire.OpSysctlSet, []natcfg.Sysctl{{Key: key, Value: value}}, nil))
}
