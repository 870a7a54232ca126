package chaos_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/natlab/natlab/agent/wire"
	"github.com/natlab/natlab/loadgen"
	"github.com/natlab/natlab/testbed"
	"github.com/natlab/natlab/testbed/service"
	tt "github.com/natlab/natlab/testbed/testbedtest"
)

// Killing a backend's agent takes its listeners with it: connects are
// refused. The revert restarts it and traffic recovers; restart does both
// at once. Verify sees a backend killed again behind its back.
func TestKillAndRestartBackend(t *testing.T) {
	t.Parallel()
	_, env := up(t, oneNAT(testbed.NATSpec{}))
	plan := tt.OpenPlan(target(t, env, "api", 8080), loadgen.Strategy{Kind: loadgen.KindTCP}, 40, 500*time.Millisecond)
	plan.ConnectTimeout = time.Second
	ctx := context.Background()
	kill := newFault(t, env, "kill", "api", nil)
	require.NoError(t, kill.Inject(ctx, env))
	t.Cleanup(func() { _ = kill.Revert(ctx, env) })
	c := load(t, env, "client", plan).Total.Counts
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeRefused), "a dead backend refuses: %s", pretty(c))

	require.NoError(t, kill.Revert(ctx, env))
	require.NoError(t, kill.Verify(ctx, env))
	c = load(t, env, "client", plan).Total.Counts
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), "restarted backend serves: %s", pretty(c))

	restart := newFault(t, env, "restart", "api", nil)
	require.NoError(t, restart.Inject(ctx, env))
	c = load(t, env, "client", plan).Total.Counts
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), "restart recovers at once: %s", pretty(c))
	require.NoError(t, restart.Revert(ctx, env))
	require.NoError(t, restart.Verify(ctx, env))

	require.NoError(t, env.Host("api").Kill())
	err := restart.Verify(ctx, env)
	require.Error(t, err, "Verify must see the agent gone")
	assert.Contains(t, err.Error(), "agent is not healthy")
	require.NoError(t, env.Restart(ctx, "api"))
}

// Killing the NAT's agent leaves its kernel state (forwarding goes on);
// the restarted agent sets the same rules up again, which Verify checks.
func TestKillNATAgent(t *testing.T) {
	t.Parallel()
	_, env := up(t, oneNAT(testbed.NATSpec{}))
	ctx := context.Background()
	f := newFault(t, env, "kill", "nat", nil)
	require.NoError(t, f.Inject(ctx, env))
	t.Cleanup(func() { _ = f.Revert(ctx, env) })
	c := load(t, env, "client", tt.OpenPlan(target(t, env, "api", 8080), loadgen.Strategy{Kind: loadgen.KindTCP}, 40, 500*time.Millisecond)).Total.Counts
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), "the kernel keeps forwarding without the agent: %s", pretty(c))
	require.NoError(t, f.Revert(ctx, env))
	require.NoError(t, f.Verify(ctx, env))
	var m map[string]any
	require.NoError(t, env.Agent("nat").Call(ctx, wire.OpNATMetrics, nil, &m))
}

// Saturating the registrar's dependency (one lookup at a time, 3 s each,
// 1 s verify timeout): registrations fail closed with 503; the revert
// lifts the cap and they succeed again.
func TestSaturateRegistrarFailsClosed(t *testing.T) {
	t.Parallel()
	_, env := up(t, oneNAT(testbed.NATSpec{}, testbed.BackendSpec{Name: "reg", Protocol: service.Registrar, Port: 8080}))
	plan := tt.OpenPlan(target(t, env, "reg", 8080), loadgen.Strategy{Kind: loadgen.KindHTTP1, Path: "/register", Payload: 16}, 20, time.Second)
	plan.RequestTimeout = 3 * time.Second
	ctx := context.Background()
	f := newFault(t, env, "saturate", "reg", map[string]any{"limit": 1, "latency": "3s"})
	require.NoError(t, f.Inject(ctx, env))
	t.Cleanup(func() { _ = f.Revert(ctx, env) })
	c := load(t, env, "client", plan).Total.Counts
	t.Logf("saturated: %s", pretty(c.Outcomes))
	// Every lookup takes 3 s, past the 1 s verify timeout, the first one
	// (which gets the slot) too: every registration fails closed.
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeHTTP5xx), "registration fails closed: %s", pretty(c))
	st := regStats(t, env)
	assert.Equal(t, c.Attempts, st.Registrations.FailedClosed)

	require.NoError(t, f.Revert(ctx, env))
	require.NoError(t, f.Verify(ctx, env))
	assert.Zero(t, regStats(t, env).Dependency.Limit, "cap lifted")
	c = load(t, env, "client", plan).Total.Counts
	assert.Equal(t, c.Attempts, c.Of(loadgen.OutcomeOK), "registrations succeed again: %s", pretty(c))

	lat := "1s"
	require.NoError(t, env.Agent("reg").Call(ctx, wire.OpBackendControl, wire.BackendControl{Saturate: &wire.Saturation{Limit: 5, Latency: lat}}, nil))
	err := f.Verify(ctx, env)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is limit 5 latency 1s, was limit 0 latency 0s")
}

func regStats(t testing.TB, env interface {
	Agent(string) *wire.Conn
}) service.Stats {
	t.Helper()
	var st []service.Stats
	require.NoError(t, env.Agent("reg").Call(context.Background(), wire.OpBackendStats, nil, &st))
	require.Len(t, st, 1)
	return st[0]
}
